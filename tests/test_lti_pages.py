"""The learner's and the assessor's pages inside the LMS frame, through HTTP (no browser):
launches signed by the development platform, forms posted as a browser without JavaScript
posts them, and the JSON autosave that attempt.js uses."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
from markupsafe import escape
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from lti import sessions
from lti.models import LtiPlatform, LtiSession
from lti.result_page import labelled_feedback, learner_wording
from service import attempts as attempt_service
from service import db
from service.identifiers import new_uuid
from service.models import Attempt, Centre, utcnow
from tests import lti_flow
from tests.choices import as_shown

ASSESSMENT = "CSC-01-A1"
_learners = itertools.count(1)


@pytest.fixture()
def lti_client(app, requests_mock):
    lti_flow.register(app)
    lti_flow.mock_platform_jwks(app, requests_mock)
    return app.test_client()


def _launch(app, client, user="learner-1", sub=None, name=None, assessment=ASSESSMENT):
    """Launch through login and a signed id_token; return (landing path, session token)."""

    def mutate(claims):
        if sub:
            claims["sub"] = sub
        if name:
            claims["name"] = name

    custom = {"assessment": assessment} if assessment else None
    response, _token, _state = lti_flow.launch(app, client, user, custom=custom, mutate=mutate)
    assert response.status_code == 303, response.get_data(as_text=True)
    location = response.headers["Location"]
    return urlsplit(location).path, parse_qs(urlsplit(location).query)["ls"][0]


def _learner(app, client, name=None, needs=()):
    """A new learner (a sub of their own) with an attempt page open; `needs` are item types
    their form must hold (forms are drawn per learner)."""
    for _ in range(30):
        sub = f"dev-page-learner-{next(_learners)}"
        path, ls = _launch(app, client, sub=sub, name=name or f"Learner {sub}")
        assert path == "/lti/attempt"
        page = client.get("/lti/attempt", query_string={"ls": ls})
        assert page.status_code == 200, page.get_data(as_text=True)
        start(app, client, ls, sub)
        page = client.get("/lti/attempt", query_string={"ls": ls})
        assert page.status_code == 200, page.get_data(as_text=True)
        items = _view(app, sub)["items"]
        if all(any(i["type"] == kind for i in items) for kind in needs):
            return {"ls": ls, "sub": sub, "page": page.get_data(as_text=True), "items": items}
    raise AssertionError(f"no form with {needs} in 30 learners")


def start(app, client, ls, sub):
    """The start page's Start button: the clock starts. A new learner's start page has no
    attempt yet (its form posts an empty attempt): Start creates it."""
    started = client.post("/lti/attempt/start", data={"ls": ls, "attempt": _form_uuid(app, sub)})
    assert started.status_code == 303, started.get_data(as_text=True)


def confirmation(client, ls) -> list[tuple[str, str]]:
    """The fields the check-your-answers page's Submit form posts (with its token)."""
    page = client.get("/lti/attempt/check", query_string={"ls": ls})
    assert page.status_code == 200, page.get_data(as_text=True)
    form = _doc(page.get_data(as_text=True)).xpath("//form[.//button[@id='confirm-submit']]")[0]
    return [(i.get("name"), i.get("value")) for i in form.xpath(".//input[@type='hidden']")]


def _attempt_row(session, sub) -> Attempt:
    platform = session.scalar(select(LtiPlatform).where(LtiPlatform.issuer == lti_flow.ISS))
    return session.scalar(
        select(Attempt)
        .where(Attempt.learner_ref == f"lti:{platform.id}:{sub}")
        .order_by(Attempt.id.desc())
    )


def _view(app, sub) -> dict:
    with app.app_context():
        session = db.session()
        row = _attempt_row(session, sub)
        return attempt_service.attempt_view(session, row, app.config["SECRET_KEY"])


def _bodies(app, sub) -> dict:
    """The items' bodies as written (with keys), for building right answers in tests."""
    with app.app_context():
        session = db.session()
        pairs = attempt_service.form_items(session, _attempt_row(session, sub))
        return {item.code: version.body for item, version in pairs}


def _any_response(item):
    kind = item["type"]
    if kind == "single_choice":
        return item["options"][0]["id"]
    if kind == "multiple_response":
        return [item["options"][0]["id"], item["options"][1]["id"]]
    if kind == "ordering":
        return [s["id"] for s in reversed(item["steps"])]
    if kind == "matching":
        return {p["id"]: item["responses"][0]["id"] for p in item["premises"]}
    if kind == "short_text":
        return "a short answer"
    return "My written answer.\nIt has two lines."


def _keyed_response(body):
    kind = body["type"]
    if kind == "single_choice":
        return next(o["id"] for o in body["options"] if o["correct"])
    if kind == "multiple_response":
        return [o["id"] for o in body["options"] if o["correct"]]
    if kind == "ordering":
        return [s["id"] for s in body["steps"]]
    if kind == "matching":
        return {p["id"]: p["match"] for p in body["premises"]}
    if kind == "short_text":
        return body["accepted_answers"][0]
    return "I named procedure BR1 and explained why it exists, as my written answer."


def _form(ls, attempt_uuid, items, responses):
    """What the no-JavaScript form posts for these responses (item id -> response)."""
    data = [("ls", ls), ("attempt", attempt_uuid)]
    for item in items:
        code = item["id"]
        if code not in responses:
            continue
        data.append((f"item-{code}", "1"))
        response = responses[code]
        kind = item["type"]
        if kind == "multiple_response":
            data += [(f"answer-{code}", option) for option in response]
        elif kind == "ordering":
            data += [(f"position-{code}-{s}", str(n)) for n, s in enumerate(response, 1)]
        elif kind == "matching":
            data += [(f"match-{code}-{p}", r) for p, r in response.items()]
        else:
            data.append((f"answer-{code}", response))
    return data


def _post(client, url, data, **kwargs):
    """Post form fields given as a list of pairs (a field may repeat)."""
    return client.post(url, data=MultiDict(data) if isinstance(data, list) else data, **kwargs)


def _uuid(app, sub):
    return _view(app, sub)["id"]


def _form_uuid(app, sub) -> str:
    """The attempt the start page's form names: none ("") before the learner's first Start."""
    with app.app_context():
        row = _attempt_row(db.session(), sub)
        return row.uuid if row is not None else ""


def _doc(html):
    return lxml.html.fromstring(html)


def _submit_keyed(app, client, learner):
    if _view(app, learner["sub"])["started_at"] is None:
        start(app, client, learner["ls"], learner["sub"])
    bodies = _bodies(app, learner["sub"])
    responses = {code: _keyed_response(body) for code, body in bodies.items()}
    shown = {item["id"]: item for item in learner["items"]}
    typed = {code: as_shown(shown[code], bodies[code], r) for code, r in responses.items()}
    data = _form(learner["ls"], _uuid(app, learner["sub"]), learner["items"], typed)
    checked = _post(client, "/lti/attempt/check", data=data)
    assert checked.status_code == 303, checked.get_data(as_text=True)
    submitted = _post(client, "/lti/attempt/submit", data=confirmation(client, learner["ls"]))
    assert submitted.status_code == 303, submitted.get_data(as_text=True)
    return typed  # as the attempt shows them: its own choice ids


# ---------------------------------------------------------------------------- learner pages


def test_attempt_page_lists_every_item_and_no_key(app, lti_client):
    learner = _learner(app, lti_client)
    html, items = learner["page"], learner["items"]
    assert '<html lang="en-GB">' in html and 'href="#main"' in html
    doc = _doc(html)
    assert len(doc.xpath("//form[@method='post']")) == 1
    fieldsets = doc.xpath("//form//fieldset[contains(@class, 'question')]")
    assert len(fieldsets) == len(items)
    for number, (item, fieldset) in enumerate(zip(items, fieldsets, strict=True), 1):
        legend = fieldset.xpath("./legend")[0].text_content()
        assert f"Question {number} of {len(items)}" in legend and item["title"] in legend
        assert item["prompt"] in fieldset.text_content()
        assert fieldset.xpath(".//div[contains(@class, 'scenario')]//h3")[0].text == "Scenario"
        kind = item["type"]
        controls = {
            "single_choice": ".//input[@type='radio']",
            "multiple_response": ".//input[@type='checkbox']",
            "ordering": ".//select",
            "matching": ".//select",
            "short_text": ".//input[@type='text']",
            "extended_response": ".//textarea",
        }[kind]
        expected = len(item.get("options") or item.get("steps") or item.get("premises") or [1])
        assert len(fieldset.xpath(controls)) == expected, (kind, item["id"])
        if kind == "multiple_response":
            assert re.search(r"Select (all that apply|\w+)\.", fieldset.text_content())
        if kind == "ordering":
            for select_box in fieldset.xpath(".//select"):
                values = select_box.xpath("./option/@value")
                assert values == [""] + [str(n) for n in range(1, expected + 1)]
        if kind == "matching":
            assert fieldset.xpath(".//select/option[1]")[0].text == "Choose"
        if kind == "extended_response":
            assert f"about {item['expected_length_words']} words" in fieldset.text_content()
    # Every control has a label.
    for control in doc.xpath("//input[not(@type='hidden')] | //select | //textarea"):
        assert doc.xpath(f"//label[@for='{control.get('id')}']"), lxml.html.tostring(control)
    # No key, feedback or guidance before submission.
    bodies = _bodies(app, learner["sub"])
    secrets = []
    for body in bodies.values():
        for part in body.get("options", []) + body.get("steps", []) + body.get("premises", []):
            secrets.append(part["feedback"])
        if isinstance(body.get("feedback"), dict):
            secrets += list(body["feedback"].values())
        if body.get("guidance"):
            secrets.append(body["guidance"])
    for secret in secrets:
        assert str(escape(secret)) not in html
    visible = html
    for item in items:
        for text in _learner_texts(item):
            visible = visible.replace(str(escape(text)), "")
    assert "correct" not in visible.lower()
    assert "feedback" not in visible.lower()
    # The time limit, in words and minutes.
    assert "You have 70 minutes" in html and "UK time" in html
    assert re.search(r"(69|70) minutes left", html)
    assert 'src="/lti/static/attempt.js"' in html and "<script>" not in html


def _learner_texts(item):
    texts = [item["title"], item["prompt"], *item["scenario"].values()]
    for key in ("options", "steps", "premises", "responses"):
        texts += [part["text"] for part in item.get(key, [])]
    return texts


def test_save_without_javascript_then_reload_shows_the_answers(app, lti_client):
    learner = _learner(app, lti_client)
    items, ls = learner["items"], learner["ls"]
    responses = {item["id"]: _any_response(item) for item in items}
    data = _form(ls, _uuid(app, learner["sub"]), items, responses)
    saved = _post(lti_client, "/lti/attempt/save", data=data)
    assert saved.status_code == 303
    assert saved.headers["Location"].startswith("/lti/attempt?ls=")
    assert _view(app, learner["sub"])["responses"] == responses
    page = lti_client.get(saved.headers["Location"])
    html = page.get_data(as_text=True)
    assert "Your answers have been saved" in html
    doc = _doc(html)
    for item in items:
        code, response = item["id"], responses[item["id"]]
        kind = item["type"]
        if kind in ("single_choice", "multiple_response"):
            checked = doc.xpath(f"//input[@name='answer-{code}'][@checked]/@value")
            assert checked == ([response] if kind == "single_choice" else response)
        elif kind == "ordering":
            for n, step in enumerate(response, 1):
                chosen = doc.xpath(f"//select[@name='position-{code}-{step}']/option[@selected]")
                assert [o.get("value") for o in chosen] == [str(n)]
        elif kind == "matching":
            for premise, match in response.items():
                chosen = doc.xpath(f"//select[@name='match-{code}-{premise}']/option[@selected]")
                assert [o.get("value") for o in chosen] == [match]
        elif kind == "short_text":
            assert doc.xpath(f"//input[@name='answer-{code}']/@value") == [response]
        else:
            assert doc.xpath(f"//textarea[@name='answer-{code}']")[0].text_content() == response


def test_json_autosave_saves_what_fits(app, lti_client):
    learner = _learner(app, lti_client, needs=("ordering",))
    items, ls = learner["items"], learner["ls"]
    ordering = next(i for i in items if i["type"] == "ordering")
    other = next(i for i in items if i["type"] != "ordering")
    uuid = _uuid(app, learner["sub"])
    data = _form(ls, uuid, items, {other["id"]: _any_response(other)})
    response = _post(
        lti_client, "/lti/attempt/save", data=data, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["saved"] is True and body["not_saved"] == []
    assert datetime.fromisoformat(body["saved_at"]) <= utcnow()
    assert _view(app, learner["sub"])["responses"] == {other["id"]: _any_response(other)}
    # Half an ordering: the rest is saved, the ordering is reported and left as it was.
    first_step = ordering["steps"][0]["id"]
    data = _form(ls, uuid, items, {other["id"]: _any_response(other)})
    data += [(f"item-{ordering['id']}", "1"), (f"position-{ordering['id']}-{first_step}", "1")]
    partial = _post(
        lti_client, "/lti/attempt/save", data=data, headers={"Accept": "application/json"}
    ).get_json()
    assert partial["saved"] is True
    assert [entry["item"] for entry in partial["not_saved"]] == [ordering["id"]]
    assert ordering["id"] not in _view(app, learner["sub"])["responses"]
    # A stale page (another attempt's id) is refused, in JSON.
    stale = _post(
        lti_client,
        "/lti/attempt/save",
        data=[("ls", ls), ("attempt", "not-this-attempt")],
        headers={"Accept": "application/json"},
    )
    assert stale.status_code == 409 and stale.get_json()["saved"] is False


def test_bad_ordering_shows_the_error_summary_and_keeps_what_was_stored(app, lti_client):
    learner = _learner(app, lti_client, needs=("ordering", "extended_response"))
    items, ls = learner["items"], learner["ls"]
    uuid = _uuid(app, learner["sub"])
    ordering = next(i for i in items if i["type"] == "ordering")
    extended = next(i for i in items if i["type"] == "extended_response")
    stored = {ordering["id"]: _any_response(ordering), extended["id"]: "First draft."}
    assert _post(lti_client, "/lti/attempt/save", data=_form(ls, uuid, items, stored)).status_code
    steps = [s["id"] for s in ordering["steps"]]
    typed = "A second draft <b>with markup</b> that must not be lost."
    data = [("ls", ls), ("attempt", uuid), (f"item-{ordering['id']}", "1")]
    data += [(f"position-{ordering['id']}-{s}", "1") for s in steps]  # every step first
    data += [(f"item-{extended['id']}", "1"), (f"answer-{extended['id']}", typed)]
    response = _post(lti_client, "/lti/attempt/save", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    doc = _doc(html)
    summary = doc.xpath("//div[@class='error-summary'][@role='alert']")[0]
    number = items.index(ordering) + 1
    link = summary.xpath(".//a")[0]
    # To the question (its legend and prompt in view, A12), not its first select.
    assert link.get("href") == f"#question-{number}"
    assert f"Question {number}: give each step a different position" in link.text_content()
    assert doc.xpath(f"//fieldset[@id='question-{number}']//select")
    assert "<title>Error: " in html
    # What the learner typed is still on the page; what was stored is unchanged.
    assert doc.xpath(f"//textarea[@name='answer-{extended['id']}']")[0].text_content() == typed
    for step in steps:
        chosen = doc.xpath(f"//select[@name='position-{ordering['id']}-{step}']/option[@selected]")
        assert [o.get("value") for o in chosen] == ["1"]
    assert _view(app, learner["sub"])["responses"] == stored
    # Submitting the same bad form does not submit.
    assert _post(lti_client, "/lti/attempt/submit", data=data).status_code == 422
    assert _view(app, learner["sub"])["status"] == "in_progress"


def test_submit_shows_the_result_once(app, lti_client):
    learner = _learner(app, lti_client)
    responses = _submit_keyed(app, lti_client, learner)
    view = _view(app, learner["sub"])
    assert view["status"] == "pending_manual" and view["responses"] == responses
    submitted_at = view["submitted_at"]
    page = lti_client.get("/lti/attempt", query_string={"ls": learner["ls"]})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Your result" in html
    result = view["result"]
    assert f"{result['score']:g} out of {result['max_score']}" in html
    assert "Waiting for your assessor to mark your written answer" in html
    doc = _doc(html)
    # One block per criterion (lti/result_page.py): its code in brackets, its decision.
    rows = {
        re.search(r"\((CSC-[^)]+)\)", block.text_content()).group(1): block.xpath(
            ".//strong[contains(@class, 'decision')]"
        )[0].text_content()
        for block in doc.xpath("//li[@class='criterion-result']")
    }
    extended = next(i for i in view["items"] if i["type"] == "extended_response")
    with app.app_context():
        from service.models import Criterion

        texts = {
            c.code: c.current.text
            for c in db.session().scalars(select(Criterion).where(Criterion.code.like("CSC-01.%")))
        }
    assert set(rows) == set(texts)
    for code, decision in rows.items():
        assert decision == ("Waiting for your assessor" if code in extended["criteria"] else "Met")
        assert str(escape(learner_wording(texts[code]))) in html
    bodies = _bodies(app, learner["sub"])
    for entry in result["items"]:
        body = bodies[entry["item_id"]]  # feedback is built from the stored (bank) answer
        for text in labelled_feedback(body, _keyed_response(body)):
            assert str(escape(text)) in html
    # Submitting again changes nothing and shows the same result.
    again = _post(
        lti_client,
        "/lti/attempt/submit",
        data=_form(learner["ls"], view["id"], view["items"], {}),
    )
    assert again.status_code == 303
    after = _view(app, learner["sub"])
    assert after["submitted_at"] == submitted_at and after["result"] == result
    with app.app_context():
        session = db.session()
        ref = _attempt_row(session, learner["sub"]).learner_ref
        assert len(session.scalars(select(Attempt).where(Attempt.learner_ref == ref)).all()) == 1
    assert (
        lti_client.get(again.headers["Location"]).get_data(as_text=True).count("Your result") >= 1
    )
    # Saving after submission does not change the stored responses.
    late = _post(
        lti_client,
        "/lti/attempt/save",
        data=_form(learner["ls"], view["id"], view["items"], {}),
        headers={"Accept": "application/json"},
    )
    assert late.status_code == 409


def test_after_the_deadline_saving_is_refused_and_submitting_works(app, lti_client):
    learner = _learner(app, lti_client, needs=("short_text",))
    items, ls = learner["items"], learner["ls"]
    uuid = _uuid(app, learner["sub"])
    short = next(i for i in items if i["type"] == "short_text")
    _post(lti_client, "/lti/attempt/save", data=_form(ls, uuid, items, {short["id"]: "on time"}))
    with app.app_context():
        session = db.session()
        row = _attempt_row(session, learner["sub"])
        row.deadline = utcnow() - timedelta(minutes=5)
        session.commit()
    data = _form(ls, uuid, items, {short["id"]: "too late"})
    refused = _post(lti_client, "/lti/attempt/save", data=data)
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert "The time limit has passed, so these answers were not saved" in html
    assert 'role="alert"' in html and "Submit your attempt now" in html
    assert _doc(html).xpath(f"//input[@name='answer-{short['id']}']/@value") == ["too late"]
    assert "Save answers" not in html and 'id="submit-attempt"' in html
    as_json = _post(
        lti_client, "/lti/attempt/save", data=data, headers={"Accept": "application/json"}
    )
    assert as_json.status_code == 409 and "time limit" in as_json.get_json()["message"]
    # Loading the page after the time (and its grace) is up submits the answers saved in time.
    page = lti_client.get("/lti/attempt", query_string={"ls": ls}).get_data(as_text=True)
    assert "<h1>Time is up</h1>" in page and "Nothing you saved has been lost" in page
    view = _view(app, learner["sub"])
    assert view["id"] == uuid  # no new attempt behind the learner's back
    assert view["status"] == "pending_manual" and view["responses"] == {short["id"]: "on time"}
    result = lti_client.get("/lti/attempt", query_string={"ls": ls}).get_data(as_text=True)
    assert "Your result" in result


def test_no_assessment_linked_gives_a_friendly_page(app, lti_client):
    path, ls = _launch(app, lti_client, sub="dev-page-unlinked", assessment=None)
    page = lti_client.get(path, query_string={"ls": ls})
    assert page.status_code == 200
    assert "No assessment is linked to this activity yet" in page.get_data(as_text=True)


# ---------------------------------------------------------------------------- assessor pages


def test_marking_flow_reaches_fully_graded_and_the_learner_sees_the_grade(app, lti_client):
    learner = _learner(app, lti_client, name="Old Name")
    # The newest launch's name is the one assessors see.
    _launch(app, lti_client, sub=learner["sub"], name="Zainab Marking-Test")
    _submit_keyed(app, lti_client, learner)
    view = _view(app, learner["sub"])
    path, staff = _launch(app, lti_client, "instructor-1")
    assert path == "/lti/assessor"
    listing = lti_client.get(path, query_string={"ls": staff})
    html = listing.get_data(as_text=True)
    assert listing.status_code == 200 and "Zainab Marking-Test" in html and "Old Name" not in html
    doc = _doc(html)
    # The cell's own text (its label, shown when rows stack at narrow widths, left out).
    statuses = ["".join(row.xpath("./td[1]/text()")) for row in doc.xpath("//tbody/tr")]
    assert statuses[0] == "Waiting for marking"
    assert statuses == sorted(statuses, key=lambda s: s != "Waiting for marking")
    link = f"/lti/assessor/attempt/{view['id']}?ls={staff}"
    assert link in html
    marking = lti_client.get(link)
    page = marking.get_data(as_text=True)
    assert marking.status_code == 200
    bodies = _bodies(app, learner["sub"])
    extended = next(b for b in bodies.values() if b["type"] == "extended_response")
    answer = view["responses"][extended["id"]]
    assert str(escape(answer)) in page and str(escape(extended["guidance"])) in page
    criteria = [f"CSC-01.{c}" for c in extended["criteria"]]
    doc = _doc(page)
    for criterion in criteria:
        radios = doc.xpath(f"//input[@type='radio'][@name='level-{criterion}']")
        assert [r.get("value") for r in radios] == ["not_yet_met", "met"]
    with app.app_context():
        from service.bank import rubrics_by_criterion
        from service.models import Unit

        session = db.session()
        unit_id = session.scalar(select(Unit.id).where(Unit.code == "CSC-01"))
        rubric = rubrics_by_criterion(session, unit_id)[criteria[0]]
        assert str(escape(rubric.levels[1]["descriptor"])) in page
    # A level missing: the error summary, nothing marked.
    form = [("ls", staff), ("attempt", view["id"]), ("item", extended["id"])]
    missing = _post(
        lti_client, "/lti/assessor/mark", data=form + [(f"level-{c}", "met") for c in criteria[1:]]
    )
    assert missing.status_code == 422
    missing_doc = _doc(missing.get_data(as_text=True))
    summary = missing_doc.xpath("//div[@class='error-summary']//a")
    assert len(summary) == 1 and criteria[0] in summary[0].text_content()
    target = summary[0].get("href").lstrip("#")
    assert missing_doc.xpath(f"//input[@id='{target}'][@type='radio']")
    kept = missing_doc.xpath(f"//input[@name='level-{criteria[1]}'][@checked]/@value")
    assert kept == ["met"]
    assert _view(app, learner["sub"])["status"] == "pending_manual"
    # Every level given: fully graded.
    marked = _post(
        lti_client, "/lti/assessor/mark", data=form + [(f"level-{c}", "met") for c in criteria]
    )
    assert marked.status_code == 303
    after = lti_client.get(marked.headers["Location"]).get_data(as_text=True)
    assert "fully graded (Achieved)" in after
    # The page now carries the stored levels, so a second mark from it is accepted...
    shown = _doc(after).xpath(f"//input[@name='previous-{criteria[0]}']/@value")
    assert shown == ["met"]
    # ...but a page opened before the first mark (showing it unmarked) is told, not applied.
    stale = _post(
        lti_client,
        "/lti/assessor/mark",
        data=form
        + [(f"previous-{c}", "") for c in criteria]
        + [(f"level-{c}", "not_yet_met") for c in criteria],
    )
    assert stale.status_code == 409
    assert "Another assessor changed the marks" in stale.get_data(as_text=True)
    assert _view(app, learner["sub"])["result"]["grade"] == "achieved"
    assert _view(app, learner["sub"])["status"] == "fully_graded"
    result = lti_client.get("/lti/attempt", query_string={"ls": learner["ls"]})
    result_html = result.get_data(as_text=True)
    assert "Achieved" in result_html and "Waiting for your assessor" not in result_html
    listing = lti_client.get("/lti/assessor", query_string={"ls": staff}).get_data(as_text=True)
    assert "View marks" in listing


def test_roles_are_kept_apart(app, lti_client):
    learner = _learner(app, lti_client)
    _path, staff = _launch(app, lti_client, "instructor-1")
    assert lti_client.get("/lti/assessor", query_string={"ls": learner["ls"]}).status_code == 403
    assert lti_client.get("/lti/attempt", query_string={"ls": staff}).status_code == 403
    uuid = _uuid(app, learner["sub"])
    assert (
        lti_client.get(
            f"/lti/assessor/attempt/{uuid}", query_string={"ls": learner["ls"]}
        ).status_code
        == 403
    )
    assert (
        _post(lti_client, "/lti/attempt/save", data={"ls": staff, "attempt": uuid}).status_code
        == 403
    )
    assert (
        _post(
            lti_client, "/lti/assessor/mark", data={"ls": learner["ls"], "attempt": uuid}
        ).status_code
        == 403
    )


def test_an_assessor_of_another_centre_cannot_open_the_attempt(app, lti_client):
    learner = _learner(app, lti_client)
    _submit_keyed(app, lti_client, learner)
    uuid = _uuid(app, learner["sub"])
    with app.app_context():
        session = db.session()
        centre = Centre(code=f"OTHER-{new_uuid()[:8]}", name="Another college", uuid=new_uuid())
        platform = LtiPlatform(
            name="Another college's LMS",
            issuer=f"https://lms.other.example/{new_uuid()}",
            client_id="tool",
            auth_login_url="https://lms.other.example/auth",
            auth_token_url="https://lms.other.example/token",
            key_set_url="https://lms.other.example/jwks",
            centre=centre,
            active=True,
        )
        session.add(platform)
        session.commit()
        claims = lti_flow.claims("instructor-1", "LtiResourceLinkRequest", "n")
        claims["https://purl.imsglobal.org/spec/lti/claim/custom"] = {"assessment": ASSESSMENT}
        other_staff = sessions.start(session, platform, claims, timedelta(minutes=90)).token
        session.commit()
    page = lti_client.get(f"/lti/assessor/attempt/{uuid}", query_string={"ls": other_staff})
    assert page.status_code == 404 and "Attempt not found" in page.get_data(as_text=True)
    listing = lti_client.get("/lti/assessor", query_string={"ls": other_staff})
    assert listing.status_code == 200 and uuid not in listing.get_data(as_text=True)
    marking = _post(
        lti_client,
        "/lti/assessor/mark",
        data={"ls": other_staff, "attempt": uuid, "item": "CSC-01-Q024", "level-x": "met"},
    )
    assert marking.status_code == 404
    _path, staff = _launch(app, lti_client, "instructor-1")
    assert (
        lti_client.get(
            "/lti/assessor/attempt/no-such-attempt", query_string={"ls": staff}
        ).status_code
        == 404
    )


def test_missing_or_expired_session_token_gives_the_expired_page(app, lti_client):
    for query in ({}, {"ls": "not-a-token"}):
        page = lti_client.get("/lti/attempt", query_string=query)
        assert page.status_code == 403
        assert "This page has expired" in page.get_data(as_text=True)
    assert _post(lti_client, "/lti/attempt/save", data={}).status_code == 403
    assert lti_client.get("/lti/assessor").status_code == 403
    learner = _learner(app, lti_client)
    with app.app_context():
        session = db.session()
        row = session.scalar(
            select(LtiSession).where(LtiSession.token_hash == sessions.token_hash(learner["ls"]))
        )
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    expired = lti_client.get("/lti/attempt", query_string={"ls": learner["ls"]})
    assert expired.status_code == 403 and "This page has expired" in expired.get_data(as_text=True)

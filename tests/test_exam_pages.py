"""The learner's exam around the questions (lti/exam_pages.py), without a browser: the start
page (opening does not start the clock), rest breaks, time up keeping saved work, and check
your answers with a confirmation a submit cannot skip."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update

from lti import resource_links, sessions
from lti.models import LtiPlatform, LtiSession
from service import access_arrangements as arrangements
from service import db
from service.access_vocabulary import SetBy
from service.attempt_access import Learner
from service.models import Assessment, Attempt, utcnow
from tests import lti_flow
from tests.test_lti_pages import (
    ASSESSMENT,
    _any_response,
    _attempt_row,
    _doc,
    _form,
    _launch,
    _learners,
    _post,
    _uuid,
    _view,
    confirmation,
    start,
)


@pytest.fixture()
def lti_client(app, requests_mock):
    lti_flow.register(app)
    lti_flow.mock_platform_jwks(app, requests_mock)
    return app.test_client()


def _opened(app, client, arrange=None):
    """A learner who has opened the activity (the start page), with `arrange` recorded first."""
    sub = f"exam-page-learner-{next(_learners)}"
    if arrange is not None:
        with app.app_context():
            session = db.session()
            platform = session.scalar(select(LtiPlatform).where(LtiPlatform.issuer == lti_flow.ISS))
            if platform is None:  # the first launch registers it: launch once, then arrange
                _launch(app, client, sub=sub)
                platform = session.scalar(
                    select(LtiPlatform).where(LtiPlatform.issuer == lti_flow.ISS)
                )
            learner = Learner(f"lti:{platform.id}:{sub}", platform.centre_id)
            arrangements.set_arrangement(
                session, learner, None, arrange, SetBy.API_CLIENT, "client:test"
            )
            session.commit()
    _path, ls = _launch(app, client, sub=sub)
    page = client.get("/lti/attempt", query_string={"ls": ls})
    assert page.status_code == 200, page.get_data(as_text=True)
    return sub, ls, page.get_data(as_text=True)


def test_opening_shows_the_start_page_and_only_start_starts_the_clock(app, lti_client):
    extra = arrangements.NewArrangement(extra_time_percent=25, rest_breaks=True)
    sub, ls, html = _opened(app, lti_client, extra)
    assert "<h1>Before you start" in html and 'id="start-assessment"' in html
    assert "fieldset" not in html  # no questions before Start
    with app.app_context():
        session = db.session()
        assert _attempt_row(session, sub) is None  # opening writes no attempt: Start does
        assessment = session.scalar(select(Assessment).where(Assessment.code == ASSESSMENT))
        limit = assessment.time_limit_minutes
        criteria = [c.code for c in assessment.unit.criteria]
    text = _doc(html).text_content()
    assert all(code in text for code in criteria)
    allowed = limit + -(-limit * 25 // 100)
    assert f"{allowed} minutes (the usual time is {limit} minutes" in text, text[
        text.find("Time allowed") :
    ][:300]
    assert "You can take supervised rest breaks" in text
    # Opening again (another tab, a reload) still does not start it.
    again = lti_client.get("/lti/attempt", query_string={"ls": ls})
    assert "Before you start" in again.get_data(as_text=True)
    # Saving before Start (the start page names no attempt) is refused and creates none.
    refused = _post(lti_client, "/lti/attempt/save", data=[("ls", ls), ("attempt", "")])
    assert refused.status_code == 303
    with app.app_context():
        session = db.session()
        assert _attempt_row(session, sub) is None
        # A launch that would end before the clock: Start keeps it open until the deadline.
        session.execute(
            update(LtiSession)
            .where(LtiSession.user_sub == sub)
            .values(expires_at=utcnow() + timedelta(minutes=5))
        )
        session.commit()
    before = utcnow()
    start(app, lti_client, ls, sub)
    with app.app_context():
        row = _attempt_row(db.session(), sub)
        assert row.started_at >= before.replace(microsecond=0) - timedelta(seconds=1)
        assert row.deadline - row.started_at == timedelta(seconds=limit * 60 * 125 // 100)
        # Start also records the course activity the attempt is from (its staff see it) and
        # keeps the launch open until the deadline and the margin after it.
        session = db.session()
        launch = session.scalar(select(LtiSession).where(LtiSession.user_sub == sub))
        link = resource_links.find(session, launch.platform_id, launch.resource_link_id)
        assert link is not None and row.lti_resource_link_id == link.id
        assert launch.expires_at >= row.deadline + sessions.AFTER_DEADLINE
    # The question count the start page showed is the form Start drew.
    items = _view(app, sub)["items"]
    shown = _doc(html).xpath("//dt[.='Questions']/following-sibling::dd")[0].text_content()
    assert shown == str(len(items))
    page = lti_client.get("/lti/attempt", query_string={"ls": ls}).get_data(as_text=True)
    assert 'class="exam-timer"' in page and 'id="take-break"' in page
    assert f"You have {allowed} minutes" in page


def test_a_rest_break_hides_the_questions_and_moves_the_deadline(app, lti_client):
    sub, ls, _html = _opened(app, lti_client, arrangements.NewArrangement(rest_breaks=True))
    start(app, lti_client, ls, sub)
    uuid = _uuid(app, sub)
    with app.app_context():  # started 20 minutes ago
        session = db.session()
        row = _attempt_row(session, sub)
        row.started_at -= timedelta(minutes=20)
        row.deadline -= timedelta(minutes=20)
        before = row.deadline
        session.commit()
    # The break button belongs to the attempt form: the answers on the page are saved first.
    items = _view(app, sub)["items"]
    answer = {items[0]["id"]: _any_response(items[0])}
    took = _post(lti_client, "/lti/attempt/break", data=_form(ls, uuid, items, answer))
    assert took.status_code == 303 and _view(app, sub)["responses"] == answer
    page = lti_client.get("/lti/attempt", query_string={"ls": ls}).get_data(as_text=True)
    assert "You are on a rest break" in page and "fieldset" not in page
    assert 'id="end-break"' in page
    # The break lasted 10 minutes.
    with app.app_context():
        session = db.session()
        row = _attempt_row(session, sub)
        row.rest_breaks[0].started_at -= timedelta(minutes=10)
        session.commit()
    ended = lti_client.post("/lti/attempt/break/end", data={"ls": ls, "attempt": uuid})
    assert ended.status_code == 303
    with app.app_context():
        after = _attempt_row(db.session(), sub).deadline
    assert timedelta(minutes=10) <= after - before < timedelta(minutes=10, seconds=30)
    assert "fieldset" in lti_client.get("/lti/attempt", query_string={"ls": ls}).get_data(
        as_text=True
    )


def test_a_break_without_the_arrangement_is_refused_in_words(app, lti_client):
    sub, ls, _html = _opened(app, lti_client)
    start(app, lti_client, ls, sub)
    page = lti_client.get("/lti/attempt", query_string={"ls": ls}).get_data(as_text=True)
    assert 'id="take-break"' not in page
    refused = lti_client.post("/lti/attempt/break", data={"ls": ls, "attempt": _uuid(app, sub)})
    assert refused.status_code == 409
    assert "Rest breaks are not part of your access arrangements" in refused.get_data(as_text=True)


def test_save_returns_to_the_question_and_check_lists_every_answer(app, lti_client):
    sub, ls, _html = _opened(app, lti_client)
    start(app, lti_client, ls, sub)
    items = _view(app, sub)["items"]
    answered = {items[0]["id"]: _any_response(items[0])}
    data = _form(ls, _uuid(app, sub), items, answered) + [("at", "question-1")]
    saved = _post(lti_client, "/lti/attempt/save", data=data)
    assert saved.status_code == 303 and urlsplit(saved.headers["Location"]).fragment == "question-1"
    page = lti_client.get(saved.headers["Location"]).get_data(as_text=True)
    status = _doc(page).xpath("//*[@id='save-status']")[0]
    assert status.get("role") == "status" and "have been saved" in status.text_content()
    # Without JavaScript (no "at"), back to the buttons; a forged anchor is ignored.
    plain = _post(lti_client, "/lti/attempt/save", data=data[:-1] + [("at", 'x"><script>')])
    assert urlsplit(plain.headers["Location"]).fragment == "attempt-actions"
    # Check your answers: the form's button saves, then lists every question.
    checked = _post(lti_client, "/lti/attempt/check", data=_form(ls, _uuid(app, sub), items, {}))
    assert checked.status_code == 303
    html = lti_client.get(checked.headers["Location"]).get_data(as_text=True)
    doc = _doc(html)
    rows = doc.xpath("//dl[contains(@class,'check-answers')]/div")
    assert len(rows) == len(items)
    assert "Not answered" not in rows[0].text_content()
    assert all("Not answered" in row.text_content() for row in rows[1:])
    links = [row.xpath(".//a/@href")[0] for row in rows]
    assert [urlsplit(link).fragment for link in links] == [
        f"question-{n}" for n in range(1, len(items) + 1)
    ]
    assert _view(app, sub)["status"] == "in_progress"  # checking submits nothing


def test_submit_without_the_check_page_is_refused_and_nothing_is_lost(app, lti_client):
    sub, ls, _html = _opened(app, lti_client)
    start(app, lti_client, ls, sub)
    items = _view(app, sub)["items"]
    responses = {item["id"]: _any_response(item) for item in items}
    data = _form(ls, _uuid(app, sub), items, responses)
    straight = _post(lti_client, "/lti/attempt/submit", data=data)
    assert straight.status_code == 409
    html = straight.get_data(as_text=True)
    assert "Your answers have not been submitted yet" in html and 'role="alert"' in html
    view = _view(app, sub)
    assert view["status"] == "in_progress" and view["responses"] == responses  # kept
    forged = _post(lti_client, "/lti/attempt/submit", data=data + [("confirmed", "0" * 64)])
    assert forged.status_code == 409 and _view(app, sub)["status"] == "in_progress"
    # Through the check page's confirmation it is submitted, with the answers saved.
    submitted = _post(lti_client, "/lti/attempt/submit", data=confirmation(lti_client, ls))
    assert submitted.status_code == 303
    view = _view(app, sub)
    assert view["status"] != "in_progress" and view["responses"] == responses


def test_time_up_submits_the_saved_work(app, lti_client):
    sub, ls, _html = _opened(app, lti_client)
    start(app, lti_client, ls, sub)
    items = _view(app, sub)["items"]
    saved = {items[0]["id"]: _any_response(items[0])}
    _post(lti_client, "/lti/attempt/save", data=_form(ls, _uuid(app, sub), items, saved))
    with app.app_context():
        session = db.session()
        _attempt_row(session, sub).deadline = utcnow() - timedelta(minutes=2)
        session.commit()
    page = lti_client.get("/lti/attempt", query_string={"ls": ls}).get_data(as_text=True)
    assert "<h1>Time is up</h1>" in page and "1 question answered" in page
    view = _view(app, sub)
    assert view["status"] != "in_progress" and view["responses"] == saved
    with app.app_context():
        ref = _attempt_row(db.session(), sub).learner_ref
        assert (
            len(db.session().scalars(select(Attempt).where(Attempt.learner_ref == ref)).all()) == 1
        )


def test_the_time_left_and_warnings_are_server_rendered(app, lti_client):
    sub, ls, _html = _opened(app, lti_client)
    start(app, lti_client, ls, sub)
    with app.app_context():
        session = db.session()
        _attempt_row(session, sub).deadline = utcnow() + timedelta(minutes=4, seconds=30)
        session.commit()
    doc = _doc(lti_client.get("/lti/attempt", query_string={"ls": ls}).get_data(as_text=True))
    assert doc.xpath("//*[@id='countdown']")[0].text_content() == "4 minutes left"
    warning = doc.xpath("//*[@id='countdown-live']")[0]
    assert warning.get("role") == "status" and warning.text_content().startswith("5 minutes left")
    with app.app_context():
        session = db.session()
        _attempt_row(session, sub).deadline = utcnow() + timedelta(seconds=10)
        session.commit()
    doc = _doc(lti_client.get("/lti/attempt", query_string={"ls": ls}).get_data(as_text=True))
    assert doc.xpath("//*[@id='countdown-live']")[0].text_content().startswith("1 minute left")


def test_questions_page_wording_scenarios_and_time_beside_the_buttons(app, lti_client):
    """A9: scenarios are not region landmarks (nine regions all named "Scenario"). A10: a
    prompt that says how many to select gets no hint repeating it. Each question has an empty
    save-state status (attempt.js fills it; without JavaScript it says nothing), and the time
    left is repeated beside the buttons, server-rendered, on the questions and check pages."""
    sub, ls, _html = _opened(app, lti_client)
    start(app, lti_client, ls, sub)
    with app.app_context():
        session = db.session()
        _attempt_row(session, sub).deadline = utcnow() + timedelta(minutes=12, seconds=30)
        session.commit()
    doc = _doc(lti_client.get("/lti/attempt", query_string={"ls": ls}).get_data(as_text=True))
    items = _view(app, sub)["items"]
    assert doc.xpath("//*[contains(@class,'scenario')]")
    assert doc.xpath("//section[contains(@class,'scenario')]") == []
    assert (
        doc.xpath(
            "//*[@role='region' or (self::section and @aria-labelledby)]"
            "[.//*[starts-with(@id,'scenario-')]]"
        )
        == []
    )
    for number, item in enumerate(items, 1):
        fieldset = doc.xpath(f"//fieldset[@id='question-{number}']")[0]
        said = " ".join(fieldset.xpath(".//p[@class='prompt' or @class='hint']//text()"))
        assert said.lower().count("select all that apply") <= 1, said
        state = fieldset.xpath(f".//p[@id='save-state-{item['id']}']")[0]
        assert state.get("role") == "status" and state.text_content().strip() == ""
        if item["type"] == "ordering":
            hint = fieldset.xpath(".//p[@class='hint']")[0].text_content()
            assert "random order" in hint and "Use each position once" in hint
    # A8: no stored value (face_to_face, social_media) shown as it is.
    from tests.test_result_page import SNAKE

    assert SNAKE.findall(doc.xpath("//main")[0].text_content()) == []
    beside = doc.xpath("//p[@id='actions-time']")[0]
    assert beside.getnext().get("id") == "attempt-actions"
    words = " ".join(beside.text_content().split())
    assert words.startswith("Time left: 12 minutes. Submit by ")
    check = lti_client.get("/lti/attempt/check", query_string={"ls": ls}).get_data(as_text=True)
    words = " ".join(_doc(check).xpath("//p[@id='actions-time']")[0].text_content().split())
    assert words.startswith("Time left: 12 minutes. Submit by ")


def test_an_ordering_question_shows_the_order_so_far(app, lti_client):
    """A11: below the position selects, the steps in the order the chosen positions put them,
    a position with no step or two steps said in words (attempt.js redraws it on change)."""
    from tests.test_lti_pages import _learner

    learner = _learner(app, lti_client, needs=("ordering",))
    sub, ls, items = learner["sub"], learner["ls"], learner["items"]
    ordering = next(i for i in items if i["type"] == "ordering")
    number = items.index(ordering) + 1
    steps = ordering["steps"]
    order = [s["id"] for s in reversed(steps)]
    _post(
        lti_client,
        "/lti/attempt/save",
        data=_form(ls, _uuid(app, sub), items, {ordering["id"]: order}),
    )
    doc = _doc(lti_client.get("/lti/attempt", query_string={"ls": ls}).get_data(as_text=True))
    preview = doc.xpath(f"//fieldset[@id='question-{number}']//*[@id='order-{ordering['id']}']")[0]
    assert "Your order so far" in preview.text_content()
    texts = {s["id"]: s["text"] for s in steps}
    assert [li.text_content() for li in preview.xpath(".//li")] == [texts[s] for s in order]
    # Two steps first and none last (a form re-shown with its error): said so.
    data = [("ls", ls), ("attempt", _uuid(app, sub)), (f"item-{ordering['id']}", "1")]
    data += [(f"position-{ordering['id']}-{s['id']}", str(max(n, 1))) for n, s in enumerate(steps)]
    doc = _doc(_post(lti_client, "/lti/attempt/save", data=data).get_data(as_text=True))
    lines = [li.text_content() for li in doc.xpath(f"//*[@id='order-{ordering['id']}']//li")]
    assert lines[0].startswith("2 steps have this position: ") and lines[-1] == "No step chosen yet"


def test_the_login_page_asks_no_one_to_wait_without_javascript(app, lti_client):
    """A10: "Please wait a moment." is shown by login.js only; without JavaScript the page
    offers its Continue button and does not tell the learner to wait for nothing."""
    params = {
        "iss": lti_flow.ISS,
        "login_hint": "learner-1",
        "target_link_uri": f"{lti_flow.BASE}/lti/launch",
        "lti_message_hint": '{"user": "learner-1", "message": "resource"}',
        "client_id": lti_flow.dev_platform.CLIENT_ID,
        "lti_deployment_id": lti_flow.dev_platform.DEPLOYMENT_ID,
    }
    page = lti_client.get("/lti/login", query_string=params)
    assert page.status_code == 200, page.get_data(as_text=True)
    doc = _doc(page.get_data(as_text=True))
    assert doc.xpath("//p[@id='lti-login-wait']")[0].get("hidden") is not None
    assert "Continue to the assessment" in doc.xpath("//noscript")[0].text_content()

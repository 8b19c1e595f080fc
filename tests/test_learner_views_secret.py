"""The bank's own choice ids (A, B, S1, P1, R1...) never reach a learner, and where the key
sits on screen cannot be predicted (content review A7).

Every item of every unit is put on an attempt's form, then every learner-facing page (the
attempt page, before and after saving, and the result page) and JSON view (the attempts API)
is read for bank ids; over many attempts the key's displayed position must vary.
"""

from __future__ import annotations

import itertools

import lxml.html
import pytest
from sqlalchemy import delete

from service import bank, db
from service.attempts import find_attempt
from service.choice_ids import ChoiceIds, choices_of
from service.models import AttemptItem, Unit
from tests.choices import as_shown
from tests.conftest import bearer
from tests.test_lti_pages import (  # noqa: F401 (lti_client is a fixture)
    _form,
    _keyed_response,
    _launch,
    _post,
    _view,
    lti_client,
)

UNITS = [f"CSC-0{n}" for n in range(1, 6)]
_subs = itertools.count(1)
# Attributes a learner's browser (and its scripts) can read choice ids from.
ID_ATTRIBUTES = ("id", "name", "value", "for", "aria-describedby", "aria-labelledby", "href")


def _bank_ids(body: dict) -> set[str]:
    return {bank_id for ids in choices_of(body).values() for bank_id in ids}


def _whole_unit(app, attempt_uuid: str) -> dict[str, dict]:
    """Put every item of the attempt's unit on its form; return their bodies by item code."""
    with app.app_context():
        session = db.session()
        attempt = find_attempt(session, attempt_uuid)
        items = bank.items_of_unit(session, attempt.assessment.unit_id)
        session.execute(delete(AttemptItem).where(AttemptItem.attempt_id == attempt.id))
        session.add_all(
            AttemptItem(
                attempt_id=attempt.id,
                position=n,
                item_code=item.code,
                item_version=item.current_version,
            )
            for n, item in enumerate(items, 1)
        )
        session.commit()
        return {item.code: item.current.body for item in items}


def _page_leaks(html: str, bodies: dict[str, dict]) -> list[str]:
    """Attribute values that carry a bank choice id: the id itself, or after its item's code
    (e.g. name="position-CSC-01-Q004-S1")."""
    doc = lxml.html.fromstring(html)
    leaks = []
    for element in doc.iter():
        for attribute in ID_ATTRIBUTES:
            value = element.get(attribute)
            if not value:
                continue
            for code, body in bodies.items():
                for bank_id in _bank_ids(body):
                    if value == bank_id or value.endswith(f"{code}-{bank_id}"):
                        leaks.append(f"{element.tag} {attribute}={value!r}")
    return leaks


def _view_leaks(view: dict, bodies: dict[str, dict]) -> list[str]:
    """Bank choice ids in an attempt's JSON view: shown choices and responses."""
    leaks = []
    for item in view["items"]:
        ids = _bank_ids(bodies[item["id"]])
        for field in ("options", "steps", "premises", "responses"):
            leaks += [
                f"{item['id']} {field} {c['id']}" for c in item.get(field, []) if c["id"] in ids
            ]
    for code, response in view["responses"].items():
        ids = _bank_ids(bodies[code])
        if isinstance(response, dict):
            values = list(response) + list(response.values())
        elif isinstance(response, list):
            values = response
        else:
            values = [response]
        leaks += [f"{code} response {v}" for v in values if v in ids]
    return leaks


def _keyed(shown_items: list[dict], bodies: dict[str, dict]) -> dict:
    shown = {item["id"]: item for item in shown_items}
    return {
        code: as_shown(shown[code], body, _keyed_response(body)) for code, body in bodies.items()
    }


@pytest.mark.parametrize("unit", UNITS)
def test_learner_pages_never_carry_bank_choice_ids(app, lti_client, unit):  # noqa: F811
    sub = f"secret-learner-{next(_subs)}"
    _path, ls = _launch(app, lti_client, sub=sub, name="Sam Secret", assessment=f"{unit}-A1")
    assert lti_client.get("/lti/attempt", query_string={"ls": ls}).status_code == 200
    # The start page names no attempt yet: Start creates it.
    started = lti_client.post("/lti/attempt/start", data={"ls": ls, "attempt": ""})
    assert started.status_code == 303
    bodies = _whole_unit(app, _view(app, sub)["id"])

    page = lti_client.get("/lti/attempt", query_string={"ls": ls}).get_data(as_text=True)
    doc = lxml.html.fromstring(page)
    assert len(doc.xpath("//form//fieldset[contains(@class, 'question')]")) == len(bodies)
    assert _page_leaks(page, bodies) == []
    view = _view(app, sub)
    assert _view_leaks(view, bodies) == []

    # A bank id, or another attempt's choice id, is refused with a message: never accepted.
    single = next(i for i in view["items"] if i["type"] == "single_choice")
    other = ChoiceIds(app.config["SECRET_KEY"], "another-attempt").token(single["id"], "A")
    for forged in ("A", other):
        data = _form(ls, view["id"], view["items"], {single["id"]: forged})
        refused = _post(lti_client, "/lti/attempt/save", data=data)
        assert refused.status_code == 422
        assert "does not fit the question" in refused.get_data(as_text=True)
    assert _view(app, sub)["responses"] == {}

    keyed = _keyed(view["items"], bodies)
    saved = _post(lti_client, "/lti/attempt/save", data=_form(ls, view["id"], view["items"], keyed))
    assert saved.status_code == 303
    page = lti_client.get("/lti/attempt", query_string={"ls": ls}).get_data(as_text=True)
    assert _page_leaks(page, bodies) == []
    view = _view(app, sub)
    assert view["responses"] == keyed and _view_leaks(view, bodies) == []

    check = lti_client.get("/lti/attempt/check", query_string={"ls": ls}).get_data(as_text=True)
    assert _page_leaks(check, bodies) == []  # check your answers shows the answers' words only
    form = lxml.html.fromstring(check).xpath("//form[.//button[@id='confirm-submit']]")[0]
    confirm = [(i.get("name"), i.get("value")) for i in form.xpath(".//input[@type='hidden']")]
    submitted = _post(lti_client, "/lti/attempt/submit", data=confirm)
    assert submitted.status_code == 303
    result = lti_client.get("/lti/attempt", query_string={"ls": ls}).get_data(as_text=True)
    assert "Your result" in result
    assert _page_leaks(result, bodies) == []
    view = _view(app, sub)
    auto = [e for e in view["result"]["items"] if not e["pending"]]
    assert auto and all(e["score"] == e["max_score"] for e in auto)  # keys mapped back
    assert _view_leaks(view, bodies) == []


@pytest.fixture(scope="module")
def centre(app):
    return bearer(app, ["attempts:write", "attempts:read"], centre_code="C-SECRET")


@pytest.mark.parametrize("unit", UNITS)
def test_the_attempts_api_never_carries_bank_choice_ids(app, client, centre, unit):
    started = client.post(
        f"/api/v1/assessments/{unit}-A1/attempts",
        headers=centre,
        json={"learner_ref": f"secret-api-{next(_subs)}"},
    ).get_json()
    url = f"/api/v1/attempts/{started['id']}"
    bodies = _whole_unit(app, started["id"])
    view = client.get(url, headers=centre).get_json()
    assert len(view["items"]) == len(bodies) and _view_leaks(view, bodies) == []

    single = next(i for i in view["items"] if i["type"] == "single_choice")
    other = ChoiceIds(app.config["SECRET_KEY"], "another-attempt").token(single["id"], "A")
    for forged in ("A", other):
        refused = client.put(
            f"{url}/responses", headers=centre, json={"responses": {single["id"]: forged}}
        )
        assert refused.status_code == 422 and single["id"] in refused.get_json()["details"]

    keyed = _keyed(view["items"], bodies)
    submitted = client.post(f"{url}/submit", headers=centre, json={"responses": keyed})
    assert submitted.status_code == 200
    answer = submitted.get_json()
    assert answer["responses"] == keyed and _view_leaks(answer, bodies) == []
    auto = [e for e in answer["result"]["items"] if not e["pending"]]
    assert all(e["score"] == e["max_score"] for e in auto)


def _shown_over_attempts(app, attempts: int = 40):
    """Every item of the bank as `attempts` different attempts show it: (body, views)."""
    with app.app_context():
        session = db.session()
        for unit in session.query(Unit).order_by(Unit.code):
            for item in bank.items_of_unit(session, unit.id):
                views = [
                    bank.learner_view(item, item.current, ChoiceIds("s3cret", f"attempt-{n}"))
                    for n in range(attempts)
                ]
                yield item.current.body, views


def test_where_the_key_is_shown_cannot_be_predicted(app):
    first, single_choice = 0, 0
    paired, premises = 0, 0
    for body, views in _shown_over_attempts(app):
        kind, code = body["type"], body["id"]
        if kind in ("single_choice", "multiple_response"):
            keyed = {o["id"] for o in body["options"] if o["correct"]}
            shown = [
                frozenset(
                    n for n, o in enumerate(view["options"]) if o["text"] in _texts(body, keyed)
                )
                for view in views
            ]
            assert len(set(shown)) > 1, f"{code}: the key is always shown in the same place"
            if kind == "single_choice":
                single_choice += len(shown)
                first += sum(positions == {0} for positions in shown)
        elif kind == "ordering":
            key = [s["text"] for s in body["steps"]]
            orders = [[s["text"] for s in view["steps"]] for view in views]
            assert key not in orders, f"{code}: the steps were shown in the key's order"
            assert len({tuple(o) for o in orders}) > 1
        elif kind == "matching":
            match = {p["text"]: p["match"] for p in body["premises"]}
            response_ids = {r["text"]: r["id"] for r in body["responses"]}
            for view in views:
                for n, premise in enumerate(view["premises"]):
                    premises += 1
                    response = view["responses"][n]["text"] if n < len(view["responses"]) else ""
                    paired += match[premise["text"]] == response_ids.get(response)
    assert single_choice and first / single_choice < 0.4, "single-choice keys are shown first"
    assert premises and paired / premises < 0.4, "premise i is shown beside its response"


def _texts(body: dict, option_ids: set[str]) -> set[str]:
    return {o["text"] for o in body["options"] if o["id"] in option_ids}

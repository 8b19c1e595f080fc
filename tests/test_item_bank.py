"""The item bank as content: coverage, key consistency, feedback, and that no public or
learner-facing response carries a key."""

from __future__ import annotations

import collections
import json

import pytest
import yaml

from service import db
from service.attempts import rules_for
from service.bank import keys_for
from service.grading.evidence import counted_for
from service.grading.forms import build_form
from service.models import Assessment, Unit
from tests.conftest import CONTENT_DIR, bearer
from tests.seeds import UNIT_SEEDS

UNITS = sorted(UNIT_SEEDS)
ALL_TYPES = {
    "single_choice",
    "multiple_response",
    "ordering",
    "matching",
    "short_text",
    "extended_response",
}


def _load(kind: str, unit: str) -> dict:
    return yaml.safe_load((CONTENT_DIR / kind / f"{unit}.yaml").read_text(encoding="utf-8"))


def _criteria(unit: str) -> list[str]:
    data = _load("units", unit)
    return [c["code"] for lo in data["learning_outcomes"] for c in lo["criteria"]]


@pytest.mark.parametrize("unit", UNITS)
def test_every_criterion_has_three_items_and_two_auto_scored(unit):
    items = _load("items", unit)["items"]
    total, auto = collections.Counter(), collections.Counter()
    for item in items:
        for code in item["criteria"]:
            total[code] += 1
            auto[code] += item["type"] != "extended_response"
    for code in _criteria(unit):
        assert total[code] >= 3, f"{unit}.{code} has {total[code]} items"
        assert auto[code] >= 2, f"{unit}.{code} has {auto[code]} auto-scored items"
    assert sum(i["type"] == "extended_response" for i in items) >= 2
    assert {i["type"] for i in items} == ALL_TYPES


@pytest.mark.parametrize("unit", UNITS)
def test_every_item_is_consistent(unit):
    """References exist, keys fit the options, and every choice carries feedback."""
    criteria = set(_criteria(unit))
    misconceptions = {m["code"] for m in _load("units", unit)["misconceptions"]}
    rubrics = {r["criterion"]: r for r in _load("rubrics", unit)["rubrics"]}
    for item in _load("items", unit)["items"]:
        where = item["id"]
        assert set(item["criteria"]) <= criteria, where
        assert item["review"]["written_by"], where
        kind = item["type"]
        if kind in ("single_choice", "multiple_response"):
            keyed = [o for o in item["options"] if o["correct"]]
            assert len(keyed) == 1 if kind == "single_choice" else len(keyed) >= 2, where
            assert len({o["id"] for o in item["options"]}) == len(item["options"]), where
            assert all(len(o["feedback"]) >= 20 for o in item["options"]), where
            assert all(o.get("misconception", "M1") in misconceptions for o in item["options"])
            texts = [o["text"].lower() for o in item["options"]]
            assert not any("all of the above" in t or "none of the above" in t for t in texts)
        elif kind == "ordering":
            assert all(len(s["feedback"]) >= 20 for s in item["steps"]), where
        elif kind == "matching":
            responses = {r["id"] for r in item["responses"]}
            assert all(p["match"] in responses for p in item["premises"]), where
            assert all(len(p["feedback"]) >= 20 for p in item["premises"]), where
        elif kind == "short_text":
            assert item["accepted_answers"] and item["feedback"]["correct"], where
        else:
            assert all(code in rubrics for code in item["criteria"]), where
            top = sum(rubrics[c]["levels"][-1]["score"] for c in item["criteria"])
            assert item["points"] == top, where


def test_every_generated_form_follows_the_grading_model(app):
    """Many seeds per assessment: every criterion gets exactly the assessment's number of auto
    items, each counted for one criterion; merit and distinction criteria always have an
    extended response covering them; no not_with pair shares a form."""
    with app.app_context():
        session = db.session()
        assessments = session.query(Assessment).all()
        assert {a.unit.code for a in assessments} == set(UNITS)
        for assessment in assessments:
            rules = rules_for(assessment)
            bank = {k.id: k for k in keys_for(session, assessment.unit.id)}
            criteria = [c.code for c in rules.criteria]
            forms = set()
            for n in range(40):
                form = build_form(
                    criteria,
                    list(bank.values()),
                    assessment.auto_items_per_criterion,
                    assessment.extended_responses,
                    seed=f"learner-{n}",
                    needs_extended=rules.assessor_decided,
                )
                auto = [bank[i] for i in form if bank[i].type != "extended_response"]
                extended = [bank[i] for i in form if bank[i].type == "extended_response"]
                per_criterion = collections.Counter(counted_for(i) for i in auto)
                assert all(
                    per_criterion[c] == assessment.auto_items_per_criterion for c in criteria
                ), (assessment.code, form)
                for code in rules.assessor_decided:
                    assert any(code in i.criteria for i in extended), (assessment.code, form)
                for item_id in form:
                    assert not bank[item_id].not_with & set(form), (assessment.code, form)
                assert len(extended) == assessment.extended_responses
                forms.add(tuple(form))
            assert len(forms) > 10, f"{assessment.code}: forms barely vary"


KEY_FIELDS = (
    "correct",
    "feedback",
    "accepted_answers",
    "match",
    "misconception",
    "guidance",
    "review",
)


def _keys_in(value, path="") -> list[str]:
    found = []
    if isinstance(value, dict):
        for key, child in value.items():
            if key in KEY_FIELDS:
                found.append(f"{path}/{key}")
            found.extend(_keys_in(child, f"{path}/{key}"))
    elif isinstance(value, list):
        for n, child in enumerate(value):
            found.extend(_keys_in(child, f"{path}/{n}"))
    return found


def test_no_item_view_contains_a_key(app, client):
    """Walk every item listing and item (the awarding body's content client sees them all);
    neither key fields nor any option's feedback text appear, and ordering items never show
    their steps in the key's order."""
    awarding = bearer(app, ["content:read"])
    feedback_texts, accepted = set(), set()
    for unit in UNITS:
        for item in _load("items", unit)["items"]:
            for part in item.get("options", []) + item.get("steps", []) + item.get("premises", []):
                feedback_texts.add(part["feedback"])
            accepted.update(item.get("accepted_answers", []))
    urls = ["/api/v1/items?page_size=100&page=" + str(n) for n in (1, 2)]
    urls += [f"/api/v1/items?unit={u}&page_size=100" for u in UNITS]
    bodies, listed = [], []
    for n, url in enumerate(urls):
        response = client.get(url, headers=awarding)
        assert response.status_code == 200
        bodies.append(response.get_data(as_text=True))
        if n < 2:
            listed += response.get_json()
        for item in response.get_json():
            single = client.get(f"/api/v1/items/{item['id']}", headers=awarding)
            bodies.append(single.get_data(as_text=True))
            assert single.get_json() == item
    for body in bodies:
        data = json.loads(body)
        assert _keys_in(data) == []
        assert not any(text in body for text in feedback_texts)
    assert len(listed) == sum(len(_load("items", u)["items"]) for u in UNITS)
    for unit in UNITS:
        for item in _load("items", unit)["items"]:
            if item["type"] == "ordering":
                shown = next(i for i in listed if i["id"] == item["id"])
                assert [s["text"] for s in shown["steps"]] != [s["text"] for s in item["steps"]]


def _samples() -> set[str]:
    return {
        item["id"] for unit in UNITS for item in _load("items", unit)["items"] if item.get("sample")
    }


def test_the_live_bank_is_confidential_and_samples_are_public(app, client):
    """Live items only to the awarding body's content clients; anyone may see the samples."""
    samples = _samples()
    assert {code.rsplit("-", 1)[0] for code in samples} == set(UNITS)  # one or more per unit
    centre = bearer(app, ["attempts:read", "attempts:write", "coverage:read"], centre_code="C-BK")
    awarding = bearer(app, ["content:read"])
    for headers in ({}, centre):
        listed = client.get("/api/v1/items?page_size=100", headers=headers)
        assert listed.status_code == 200
        assert {i["id"] for i in listed.get_json()} == samples
        assert "Authorization" in listed.headers["Vary"]
        assert all(i["sample"] for i in listed.get_json())
        by_unit = client.get("/api/v1/items?unit=CSC-03&page_size=100", headers=headers)
        assert {i["id"] for i in by_unit.get_json()} == {"CSC-03-S01"}
        sample = client.get("/api/v1/items/CSC-01-S01", headers=headers)
        assert sample.status_code == 200 and sample.get_json()["sample"] is True
        for url in ("/api/v1/items/CSC-01-Q001/authoring", "/api/v1/items/CSC-01-Q001/qti"):
            assert client.get(url, headers=headers).status_code == (403 if headers else 401)
    assert client.get("/api/v1/items/CSC-01-Q001").status_code == 401
    assert client.get("/api/v1/items/CSC-01-Q001", headers=centre).status_code == 403
    bad = {"Authorization": "Bearer not-a-token"}
    assert client.get("/api/v1/items?page_size=100", headers=bad).status_code == 401
    live = client.get("/api/v1/items/CSC-01-Q001", headers=awarding)
    assert live.status_code == 200 and live.get_json()["sample"] is False
    total = client.get("/api/v1/items?page_size=1", headers=awarding).headers["X-Pagination"]
    assert json.loads(total)["total"] == sum(len(_load("items", u)["items"]) for u in UNITS)
    # CASE, criteria, rubrics and assessments stay public.
    for url in ("/api/v1/units", "/api/v1/rubrics?unit=CSC-01", "/api/v1/assessments"):
        assert client.get(url).status_code == 200, url


def test_samples_are_never_drawn_into_a_live_form(app):
    samples = _samples()
    with app.app_context():
        session = db.session()
        for unit in session.query(Unit):
            assert not {key.id for key in keys_for(session, unit.id)} & samples


def test_item_filters(app, client):
    awarding = bearer(app, ["content:read"])
    by_criterion = client.get(
        "/api/v1/items?criterion=CSC-02.AC3&page_size=100", headers=awarding
    ).get_json()
    assert by_criterion and all("CSC-02.AC3" in i["criteria"] for i in by_criterion)
    ordering = client.get("/api/v1/items?type=ordering&page_size=100", headers=awarding)
    assert ordering.get_json() and {i["type"] for i in ordering.get_json()} == {"ordering"}
    assert client.get("/api/v1/items?type=essay").status_code == 422
    assert client.get("/api/v1/items/CSC-09-Q001").status_code == 404


def test_rubrics_and_assessments_are_served(client):
    rubrics = client.get("/api/v1/rubrics?unit=CSC-05&page_size=100").get_json()
    assert rubrics and all(r["criterion"].startswith("CSC-05.") for r in rubrics)
    one = client.get(f"/api/v1/rubrics/{rubrics[0]['criterion']}").get_json()
    # Binary in graded units too: merit and distinction are criteria, not levels.
    assert [lvl["quality"] for lvl in one["levels"]] == ["not_yet_met", "met"]
    competence = client.get("/api/v1/rubrics?unit=CSC-01&page_size=100").get_json()
    assert all(
        [lvl["quality"] for lvl in r["levels"]] == ["not_yet_met", "met"] for r in competence
    )
    assert client.get("/api/v1/rubrics/CSC-01.AC99").status_code == 404
    assessments = client.get("/api/v1/assessments").get_json()
    assert sorted(a["unit_code"] for a in assessments) == UNITS
    detail = client.get(f"/api/v1/assessments/{assessments[0]['code']}").get_json()
    assert detail["time_limit_minutes"] > 0 and 0 < detail["mastery_percent"] <= 100
    assert "pass_mark_percent" not in detail and detail["auto_items_per_criterion"] >= 2
    graded = client.get("/api/v1/assessments/CSC-02-A1").get_json()
    assert [d["grade"] for d in graded["grade_descriptors"]] == ["pass", "merit", "distinction"]
    assert all(len(d["descriptor"]) > 40 for d in graded["grade_descriptors"])
    assert client.get("/api/v1/assessments/CSC-01-A9").status_code == 404


def test_items_that_give_each_other_away_never_share_a_form(app):
    """CSC-05 Q026's stimulus states the 8-week ombudsman rule that Q022 asks for."""
    with app.app_context():
        session = db.session()
        unit = session.query(Unit).filter_by(code="CSC-05").one()
        bank = keys_for(session, unit.id)
        criteria = [c.code for c in unit.criteria]
        by_id = {k.id: k for k in bank}
        assert "CSC-05-Q022" in by_id["CSC-05-Q026"].not_with
        forms = [build_form(criteria, bank, 2, 1, seed=f"s{n}") for n in range(300)]
        assert any("CSC-05-Q022" in f for f in forms) and any("CSC-05-Q026" in f for f in forms)
        assert not any({"CSC-05-Q022", "CSC-05-Q026"} <= set(f) for f in forms)

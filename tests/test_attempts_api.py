"""Attempts through HTTP: start or resume, save as you go, submit once, mark, centre scoping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from service import db
from service.models import Attempt, utcnow
from tests.choices import as_shown
from tests.conftest import bearer
from tests.test_item_bank import _keys_in

WRITE = ["attempts:write", "attempts:read"]


@pytest.fixture(scope="module")
def tokens(app):
    return {
        "centre": bearer(app, WRITE, centre_code="C-ATT-1"),
        "other_centre": bearer(app, WRITE, centre_code="C-ATT-2"),
        "content": bearer(app, ["content:read"]),
    }


def _start(client, headers, learner="learner-1", assessment="CSC-01-A1", status=None):
    """Start (201) or resume (200) the learner's attempt; `status` checks which it was."""
    response = client.post(
        f"/api/v1/assessments/{assessment}/attempts", json={"learner_ref": learner}, headers=headers
    )
    assert response.status_code in ((status,) if status else (200, 201)), response.get_json()
    return response.get_json()


def _keyed_response(client, tokens, shown):
    """The full-marks response for an item as the attempt shows it (`shown`): the key is read
    through the authoring view, and given with the attempt's own choice ids."""
    item = client.get(f"/api/v1/items/{shown['id']}/authoring", headers=tokens["content"])
    item = item.get_json()
    kind = item["type"]
    if kind == "single_choice":
        key = next(o["id"] for o in item["options"] if o["correct"])
    elif kind == "multiple_response":
        key = [o["id"] for o in item["options"] if o["correct"]]
    elif kind == "ordering":
        key = [s["id"] for s in item["steps"]]
    elif kind == "matching":
        key = {p["id"]: p["match"] for p in item["premises"]}
    elif kind == "short_text":
        return item["accepted_answers"][0]
    else:
        return "A considered written response for the assessor."
    return as_shown(shown, item, key)


def test_start_resume_and_equivalent_forms(client, tokens):
    first = _start(client, tokens["centre"], "learner-forms-1", status=201)
    again = _start(client, tokens["centre"], "learner-forms-1", status=200)  # resumed
    assert again["id"] == first["id"] and again["items"] == first["items"]
    assert again.keys() == first.keys()
    criteria = {f"CSC-01.AC{n}" for n in range(1, 9)}
    covered = {c for item in first["items"] for c in item["criteria"]}
    assert covered == criteria
    assert first["status"] == "in_progress" and first["grading_progress"] == "NotReady"
    assert first["result"] is None
    others = [_start(client, tokens["centre"], f"learner-forms-{n}") for n in range(2, 12)]
    assert len({tuple(i["id"] for i in o["items"]) for o in others}) > 1, (
        "different learners should get different forms"
    )
    for other in others:  # equivalent: every criterion evidenced, one extended response
        assert {c for item in other["items"] for c in item["criteria"]} == criteria
        assert sum(i["type"] == "extended_response" for i in other["items"]) == 1
    assert _keys_in(first["items"]) == []


def test_save_as_you_go_and_bad_input_loses_nothing(client, tokens):
    attempt = _start(client, tokens["centre"], "learner-save")
    url = f"/api/v1/attempts/{attempt['id']}"
    first_item = attempt["items"][0]
    saved = client.put(
        f"{url}/responses",
        headers=tokens["centre"],
        json={"responses": {first_item["id"]: _any_response(first_item)}},
    )
    assert saved.status_code == 200
    bad = client.put(
        f"{url}/responses",
        headers=tokens["centre"],
        json={"responses": {first_item["id"]: {"not": "valid"}, "CSC-09-Q001": "A"}},
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["details"]) == {first_item["id"], "CSC-09-Q001"}
    reloaded = client.get(url, headers=tokens["centre"]).get_json()
    assert reloaded["responses"] == {first_item["id"]: _any_response(first_item)}
    assert client.put(f"{url}/responses", headers=tokens["centre"], json={}).status_code == 422


def _any_response(item):
    kind = item["type"]
    if kind == "single_choice":
        return item["options"][0]["id"]
    if kind == "multiple_response":
        return [item["options"][0]["id"]]
    if kind == "ordering":
        return [s["id"] for s in item["steps"]]
    if kind == "matching":
        return {p["id"]: item["responses"][0]["id"] for p in item["premises"]}
    return "some text"


def test_full_marks_submit_once_then_mark_to_fully_graded(client, tokens):
    attempt = _start(client, tokens["centre"], "learner-full", "CSC-05-A1")
    url = f"/api/v1/attempts/{attempt['id']}"
    responses = {i["id"]: _keyed_response(client, tokens, i) for i in attempt["items"]}
    submitted = client.post(
        f"{url}/submit", headers=tokens["centre"], json={"responses": responses}
    )
    assert submitted.status_code == 200
    body = submitted.get_json()
    extended = [i for i in attempt["items"] if i["type"] == "extended_response"]
    assert body["status"] == "pending_manual" and body["grading_progress"] == "PendingManual"
    result = body["result"]
    assert result["grade"] is None
    pending = {c for i in extended for c in i["criteria"]}
    for decision in result["criteria"]:
        expected = "pending" if decision["criterion"] in pending else "met"
        assert decision["decision"] == expected, decision
    auto = [r for r in result["items"] if not r["pending"]]
    assert all(r["score"] == r["max_score"] for r in auto)
    assert all(r["feedback"] for r in auto)

    twice = client.post(f"{url}/submit", headers=tokens["centre"], json={"responses": {}})
    assert twice.get_json()["submitted_at"] == body["submitted_at"]
    assert twice.get_json()["result"] == result
    late_save = client.put(
        f"{url}/responses", headers=tokens["centre"], json={"responses": responses}
    )
    assert late_save.status_code == 409

    item = extended[0]
    wrong = client.post(
        f"{url}/marks",
        headers=tokens["centre"],
        json={"item": item["id"], "levels": {item["criteria"][0]: "superb"}},
    )
    assert wrong.status_code == 422 and item["criteria"][0] in wrong.get_json()["details"]
    not_extended = client.post(
        f"{url}/marks",
        headers=tokens["centre"],
        json={"item": attempt["items"][0]["id"], "levels": {}},
    )
    assert not_extended.status_code == 422
    marked = client.post(
        f"{url}/marks",
        headers=tokens["centre"],
        json={"item": item["id"], "levels": dict.fromkeys(item["criteria"], "met")},
    )
    assert marked.status_code == 200
    final = marked.get_json()
    assert final["status"] == "fully_graded" and final["grading_progress"] == "FullyGraded"
    assert final["result"]["grade"] == "distinction"
    assert {c["decision"] for c in final["result"]["criteria"]} == {"met"}
    assert final["result"]["score"] == final["result"]["max_score"]


def test_marking_not_yet_met_keeps_the_criterion_unmet(client, tokens):
    attempt = _start(client, tokens["centre"], "learner-nym", "CSC-01-A1")
    url = f"/api/v1/attempts/{attempt['id']}"
    responses = {i["id"]: _keyed_response(client, tokens, i) for i in attempt["items"]}
    client.post(f"{url}/submit", headers=tokens["centre"], json={"responses": responses})
    item = next(i for i in attempt["items"] if i["type"] == "extended_response")
    final = client.post(
        f"{url}/marks",
        headers=tokens["centre"],
        json={"item": item["id"], "levels": dict.fromkeys(item["criteria"], "not_yet_met")},
    ).get_json()
    assert final["result"]["grade"] == "not_yet_achieved"
    decisions = {c["criterion"]: c["decision"] for c in final["result"]["criteria"]}
    assert all(decisions[c] == "not_yet_met" for c in item["criteria"])


def test_time_limit_is_enforced_on_the_server(app, client, tokens):
    attempt = _start(client, tokens["centre"], "learner-late")
    url = f"/api/v1/attempts/{attempt['id']}"
    item = attempt["items"][0]
    client.put(
        f"{url}/responses",
        headers=tokens["centre"],
        json={"responses": {item["id"]: _any_response(item)}},
    )
    with app.app_context():
        session = db.session()
        row = session.scalar(select(Attempt).where(Attempt.uuid == attempt["id"]))
        row.deadline = utcnow() - timedelta(minutes=5)
        session.commit()
    late = client.put(
        f"{url}/responses",
        headers=tokens["centre"],
        json={"responses": {item["id"]: _any_response(item)}},
    )
    assert late.status_code == 409 and "time limit" in late.get_json()["message"]
    submitted = client.post(f"{url}/submit", headers=tokens["centre"], json={"responses": {}})
    assert submitted.status_code == 200
    assert submitted.get_json()["responses"] == {item["id"]: _any_response(item)}
    # A new start after the deadline opens a fresh attempt rather than resuming.
    assert _start(client, tokens["centre"], "learner-late")["id"] != attempt["id"]


def test_centres_see_only_their_own_attempts(app, client, tokens):
    attempt = _start(client, tokens["centre"], "learner-private")
    url = f"/api/v1/attempts/{attempt['id']}"
    assert client.get(url, headers=tokens["other_centre"]).status_code == 404
    assert client.post(f"{url}/submit", headers=tokens["other_centre"], json={}).status_code == 404
    awarding_body = bearer(app, WRITE)
    assert client.get(url, headers=awarding_body).status_code == 200
    assert client.get(url).status_code == 401
    assert client.get(url, headers=tokens["content"]).status_code == 403
    # The same learner reference in another centre is another learner.
    other = _start(client, tokens["other_centre"], "learner-private")
    assert other["id"] != attempt["id"]


def test_bad_requests(client, tokens):
    assert (
        client.post(
            "/api/v1/assessments/CSC-01-A9/attempts",
            json={"learner_ref": "x"},
            headers=tokens["centre"],
        ).status_code
        == 404
    )
    missing = client.post(
        "/api/v1/assessments/CSC-01-A1/attempts", json={}, headers=tokens["centre"]
    )
    assert missing.status_code == 422 and "learner_ref" in missing.get_json()["details"]
    assert (
        client.get("/api/v1/attempts/not-an-attempt", headers=tokens["centre"]).status_code == 404
    )


def test_a_mark_made_on_stale_levels_is_refused_not_overwritten(client, tokens):
    attempt = _start(client, tokens["centre"], "learner-stale-mark", "CSC-01-A1")
    url = f"/api/v1/attempts/{attempt['id']}"
    client.post(f"{url}/submit", headers=tokens["centre"], json={"responses": {}})
    item = next(i for i in attempt["items"] if i["type"] == "extended_response")
    first = dict.fromkeys(item["criteria"], "met")
    second = dict.fromkeys(item["criteria"], "not_yet_met")

    def mark(levels, previous):
        return client.post(
            f"{url}/marks",
            headers=tokens["centre"],
            json={"item": item["id"], "levels": levels, "previous": previous},
        )

    accepted = mark(first, {})
    assert accepted.status_code == 200
    stale = mark(second, {})  # this assessor's page still showed the item unmarked
    assert stale.status_code == 409
    assert stale.get_json()["details"] == {c: ["met"] for c in sorted(first)}
    stored = client.get(url, headers=tokens["centre"]).get_json()
    assert stored["result"] == accepted.get_json()["result"]  # nothing of the stale mark applied
    # Read first, then mark: accepted, and the result changes.
    again = mark(second, first)
    assert again.status_code == 200
    assert again.get_json()["result"]["score"] < accepted.get_json()["result"]["score"]

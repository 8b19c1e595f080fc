"""Access arrangements through HTTP: setting and reading them with their history, validation,
centre scoping, and the attempt view's clock (an attempt in progress gets its deadline moved
at once; a save after the deadline is still refused)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from service import bank, db
from service.models import AccessArrangement, Attempt, utcnow
from tests.conftest import bearer

URL = "/api/v1/access-arrangements"
ASSESSMENT = "CSC-01-A1"
_learners = itertools.count(1)


@pytest.fixture(scope="module")
def tokens(app):
    """A centre's client with the evidence and results scopes (besides the attempts scopes
    the helpers use), another centre's, a reader only and a content client."""
    scopes = ["attempts:write", "attempts:read", "evidence:write", "results:read"]
    return {
        "centre": bearer(app, scopes, centre_code="C-AA-1"),
        "other_centre": bearer(app, scopes, centre_code="C-AA-2"),
        "read_only": bearer(app, ["attempts:read", "results:read"], centre_code="C-AA-1"),
        "attempts_only": bearer(app, ["attempts:write", "attempts:read"], centre_code="C-AA-1"),
        "eqa": bearer(app, ["results:read"], eqa_of=("C-AA-1",)),
        "content": bearer(app, ["content:read"]),
    }


def _learner() -> str:
    return f"aa-learner-{next(_learners)}"


def _put(client, headers, body, status=200):
    response = client.put(URL, json=body, headers=headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def _get(client, headers, learner_ref, status=200):
    response = client.get(URL, query_string={"learner_ref": learner_ref}, headers=headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def _time_limit(app) -> int:
    with app.app_context():
        return bank.get_assessment(db.session(), ASSESSMENT).time_limit_minutes


def _deadline(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_a_change_is_a_new_row_and_the_history_keeps_who_and_when(app, client, tokens):
    learner = _learner()
    assert _get(client, tokens["centre"], learner) == {
        "learner_ref": learner,
        "current": [],
        "history": [],
    }
    first = _put(
        client,
        tokens["centre"],
        {"learner_ref": learner, "extra_time_percent": 25, "reason": "cognition_and_learning"},
    )
    (row,) = first["current"]
    assert row["extra_time_percent"] == 25 and row["assessment"] is None
    assert row["set_by_kind"] == "api_client" and row["set_by"].startswith("client:")
    assert row["current"] is True and row["supersedes"] is None

    # The same values again record nothing.
    again = _put(
        client,
        tokens["centre"],
        {"learner_ref": learner, "extra_time_percent": 25, "reason": "cognition_and_learning"},
    )
    assert len(again["history"]) == 1

    changed = _put(client, tokens["centre"], {"learner_ref": learner, "extra_time_minutes": 15})
    assert len(changed["history"]) == 2
    old, new = changed["history"]
    assert old["id"] == row["id"] and old["current"] is False and old["extra_time_percent"] == 25
    assert new["supersedes"] == row["id"] and new["extra_time_minutes"] == 15
    assert [r["id"] for r in changed["current"]] == [new["id"]]

    # One for an assessment applies there next to the general one.
    per = _put(
        client,
        tokens["centre"],
        {"learner_ref": learner, "assessment": ASSESSMENT, "time_limit_minutes": 90},
    )
    assert {r["assessment"] for r in per["current"]} == {None, ASSESSMENT}
    with app.app_context():
        rows = db.session().scalars(
            select(AccessArrangement).where(AccessArrangement.learner_ref == learner)
        )
        assert len(list(rows)) == 3  # never overwritten


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"extra_time_percent": 25, "extra_time_minutes": 10}, "extra_time_minutes"),
        ({"extra_time_percent": 101}, "extra_time_percent"),
        ({"extra_time_minutes": -5}, "extra_time_minutes"),
        ({"time_limit_minutes": 90}, "time_limit_minutes"),  # needs an assessment
        ({"assessment": "NO-SUCH-1"}, "assessment"),
        ({"reason": "dyslexia"}, "reason"),  # a category, never a diagnosis
        ({"rest_breaks": True, "rest_break_max_minutes": 1000}, "rest_break_max_minutes"),
    ],
)
def test_invalid_arrangements_are_refused_and_name_the_field(client, tokens, changes, field):
    learner = _learner()
    response = client.put(URL, json={"learner_ref": learner, **changes}, headers=tokens["centre"])
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["details"]
    assert _get(client, tokens["centre"], learner)["history"] == []


def test_centres_see_and_set_only_their_own_learners(client, tokens):
    learner = _learner()
    _put(client, tokens["centre"], {"learner_ref": learner, "extra_time_percent": 25})
    # The same learner_ref at another centre is another learner.
    assert _get(client, tokens["other_centre"], learner)["history"] == []
    _put(client, tokens["other_centre"], {"learner_ref": learner, "extra_time_minutes": 5})
    (mine,) = _get(client, tokens["centre"], learner)["current"]
    assert mine["extra_time_percent"] == 25 and mine["extra_time_minutes"] is None


def test_scopes(client, tokens):
    learner = _learner()
    assert client.get(URL, query_string={"learner_ref": learner}).status_code == 401
    body = {"learner_ref": learner, "extra_time_percent": 25}
    assert client.put(URL, json=body, headers=tokens["read_only"]).status_code == 403
    assert (
        client.get(
            URL, query_string={"learner_ref": learner}, headers=tokens["content"]
        ).status_code
        == 403
    )
    assert _get(client, tokens["read_only"], learner)["current"] == []


def _start(client, headers, learner):
    response = client.post(
        f"/api/v1/assessments/{ASSESSMENT}/attempts", json={"learner_ref": learner}, headers=headers
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_extra_time_granted_moves_the_deadline_of_an_attempt_in_progress(app, client, tokens):
    learner = _learner()
    limit = _time_limit(app)
    attempt = _start(client, tokens["centre"], learner)
    started = _deadline(attempt["clock"]["started_at"])
    assert _deadline(attempt["deadline"]) == started + timedelta(minutes=limit)
    assert attempt["clock"]["arrangements"] is None
    assert attempt["clock"]["running"] is True

    _put(client, tokens["centre"], {"learner_ref": learner, "extra_time_percent": 25})
    seen = client.get(f"/api/v1/attempts/{attempt['id']}", headers=tokens["centre"]).get_json()
    moved = started + timedelta(minutes=limit * 1.25)
    assert _deadline(seen["deadline"]) == moved
    assert _deadline(seen["clock"]["deadline"]) == moved
    assert seen["clock"]["arrangements"]["extra_time_percent"] == 25
    assert seen["clock"]["time_allowed_seconds"] == limit * 75
    assert seen["clock"]["time_left_seconds"] > limit * 60

    # Another centre's change to "its" learner of the same ref moves nothing here.
    _put(client, tokens["other_centre"], {"learner_ref": learner, "extra_time_minutes": 60})
    seen = client.get(f"/api/v1/attempts/{attempt['id']}", headers=tokens["centre"]).get_json()
    assert _deadline(seen["deadline"]) == moved


def test_a_save_after_the_moved_deadline_is_refused_as_before(app, client, tokens):
    learner = _learner()
    attempt = _start(client, tokens["centre"], learner)
    _put(client, tokens["centre"], {"learner_ref": learner, "extra_time_minutes": 10})
    with app.app_context():
        # The learner started long ago: even with the extra 10 minutes, time is up.
        session = db.session()
        limit = _time_limit(app)
        long_ago = utcnow() - timedelta(minutes=limit + 11)
        session.execute(
            update(Attempt).where(Attempt.uuid == attempt["id"]).values(started_at=long_ago)
        )
        session.commit()
    # Extra time granted now moves the deadline from the real Start: still passed.
    _put(
        client,
        tokens["centre"],
        {"learner_ref": learner, "extra_time_minutes": 10, "reason": "other"},
    )
    response = client.put(
        f"/api/v1/attempts/{attempt['id']}/responses",
        json={"responses": {}},
        headers=tokens["centre"],
    )
    assert response.status_code == 409
    assert "time limit" in response.get_json()["message"]
    # More extra time than the time already over: the attempt can be saved to again.
    _put(client, tokens["centre"], {"learner_ref": learner, "extra_time_minutes": 20})
    seen = client.get(f"/api/v1/attempts/{attempt['id']}", headers=tokens["centre"]).get_json()
    assert seen["clock"]["time_left_seconds"] > 0
    saved = client.put(
        f"/api/v1/attempts/{attempt['id']}/responses",
        json={"responses": {}},
        headers=tokens["centre"],
    )
    assert saved.status_code == 200, saved.get_json()


def test_a_save_during_a_rest_break_is_a_conflict(app, client, tokens):
    from service import attempt_clock, attempts

    learner = _learner()
    _put(client, tokens["centre"], {"learner_ref": learner, "rest_breaks": True})
    attempt = _start(client, tokens["centre"], learner)
    with app.app_context():
        session = db.session()
        row = attempts.find_attempt(session, attempt["id"])
        attempt_clock.take_break(session, row, now=utcnow() - timedelta(minutes=2))
        session.commit()
    response = client.put(
        f"/api/v1/attempts/{attempt['id']}/responses",
        json={"responses": {}},
        headers=tokens["centre"],
    )
    assert response.status_code == 409 and "rest break" in response.get_json()["message"]
    seen = client.get(f"/api/v1/attempts/{attempt['id']}", headers=tokens["centre"]).get_json()
    assert seen["clock"]["on_break"] is True and seen["clock"]["running"] is False

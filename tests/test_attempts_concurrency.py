"""Races run for real: threads against a gunicorn server with several worker processes, each
with several threads, on the suite's database (SQLite, or PostgreSQL with TEST_DATABASE_URL).
Every test fails if one acknowledged answer is lost or a stored result does not match the
stored answers. (Run against the blob-merging code before issue 7, these failed.)"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.attempt_client import Api, together, token_for, valid_responses
from bench.common import gunicorn
from service import attempts as attempt_service
from service import create_app, db
from service.grading.vocabulary import AttemptStatus
from service.models import Attempt, AttemptMark
from tests.conftest import loaded_database

SCOPES = ["attempts:write", "attempts:read"]


@pytest.fixture(scope="module")
def served():
    """(api, app) : a server with 3 workers x 4 threads on its own database, and an app on the
    same database to look at what was stored."""
    with loaded_database(Path(tempfile.mkdtemp())) as url:  # migrated, content loaded
        app = create_app({"DATABASE_URL": url})
        with gunicorn("service.wsgi:app", url, workers=3, threads=4) as port:
            yield Api(port, token_for(url, port, SCOPES, "C-RACE")), app
        app.extensions["db_engine"].dispose()


def _stored(app, attempt_id: str) -> Attempt:
    with app.app_context():
        session = db.session()
        attempt = session.scalar(select(Attempt).where(Attempt.uuid == attempt_id))
        _ = attempt.responses, attempt.marks, attempt.result  # load before the session closes
        return attempt


def _shown_responses(app, attempt_id: str) -> dict:
    """The stored responses as the attempt's view shows them (its own choice ids), which is
    what the clients sent."""
    with app.app_context():
        session = db.session()
        attempt = session.scalar(select(Attempt).where(Attempt.uuid == attempt_id))
        return attempt_service.attempt_view(session, attempt, app.config["SECRET_KEY"])["responses"]


def _regraded(app, attempt_id: str) -> tuple[float, list, list]:
    """The stored result next to a fresh grading of the stored responses and marks."""
    with app.app_context():
        session = db.session()
        attempt = session.scalar(select(Attempt).where(Attempt.uuid == attempt_id))
        keys = attempt_service._keys(session, attempt)
        fresh = attempt_service._grade(
            session, attempt, keys, attempt_service._levels(session, attempt)
        )
        stored = attempt.result
        return (
            (attempt.score, fresh.score),
            [(i["item_id"], i["score"]) for i in stored["items"]],
            [(i.item_id, i.score) for i in fresh.items],
        )


def test_concurrent_saves_of_different_items_lose_nothing(served):
    api, app = served
    status, attempt = api.start("race-different-items")
    assert status == 201
    items = attempt["items"][:8]
    plans = {item["id"]: valid_responses(item, 10) for item in items}

    def client(n: int):
        item_id = items[n]["id"]
        last = None
        for value in plans[item_id]:
            status, _ = api.save(attempt["id"], {item_id: value})
            assert status == 200
            last = value  # this client's saves are sequential: the last ack is the latest
        return item_id, last

    acknowledged = dict(together(len(items), client))
    stored = _shown_responses(app, attempt["id"])
    lost = {k: v for k, v in acknowledged.items() if stored.get(k) != v}
    assert lost == {}, f"{len(lost)} of {len(acknowledged)} acknowledged answers lost"


def test_concurrent_saves_of_one_item_keep_the_latest_by_server_time(served):
    api, app = served
    status, attempt = api.start("race-same-item")
    item = next(i for i in attempt["items"] if i["type"] in ("short_text", "extended_response"))

    def client(n: int):
        acked = []
        for k in range(5):
            value = f"client {n} save {k}"
            status, body = api.save(attempt["id"], {item["id"]: value})
            assert status == 200
            saved_at = next(s["saved_at"] for s in body["saved"] if s["item"] == item["id"])
            acked.append((datetime.fromisoformat(saved_at), value))
        return acked

    acked = [entry for entries in together(8, client) for entry in entries]
    stored = _stored(app, attempt["id"])
    assert stored.responses[item["id"]] in {value for _, value in acked}
    assert stored.responses[item["id"]] == max(acked)[1]
    assert len({when for when, _ in acked}) == len(acked), "server times order the saves"


def test_concurrent_starts_make_exactly_one_open_attempt(served):
    api, app = served
    results = together(12, lambda n: api.start("race-start"))
    # One start created the attempt (201); every other resumed it (200, the same body shape).
    assert sorted(status for status, _ in results) == [200] * 11 + [201]
    assert len({body["id"] for _, body in results}) == 1
    with app.app_context():
        count = db.session().scalar(
            select(func.count())
            .select_from(Attempt)
            .where(Attempt.learner_ref == "race-start", Attempt.status == "in_progress")
        )
    assert count == 1


def test_submit_during_saves_scores_every_acknowledged_save(served):
    api, app = served
    status, attempt = api.start("race-submit")
    savers = [i for i in attempt["items"] if i["type"] != "extended_response"][:6]
    refused = {}

    def work(n: int):
        if n == len(savers):  # the submitter, once the savers are under way
            time.sleep(0.15)
            return api.submit(attempt["id"])
        item = savers[n]
        values = valid_responses(item, 200)
        last = None
        for value in values:
            status, body = api.save(attempt["id"], {item["id"]: value})
            if status == 409:
                refused[item["id"]] = body
                break
            assert status == 200, body
            last = value
        return item["id"], last

    results = together(len(savers) + 1, work)
    submit_status, submitted = results[-1]
    assert submit_status == 200 and submitted["status"] != AttemptStatus.IN_PROGRESS
    assert len(refused) == len(savers), "every saver ends with a 409 after the submit"
    stored = _shown_responses(app, attempt["id"])
    for item_id, last in results[:-1]:
        assert stored.get(item_id) == last, f"acknowledged save of {item_id} lost"
    (score, regraded_score), stored_items, regraded_items = _regraded(app, attempt["id"])
    assert score == regraded_score and stored_items == regraded_items
    assert submitted["result"]["score"] == score


def test_concurrent_marks_leave_one_consistent_result(served):
    api, app = served
    status, attempt = api.start("race-marks")
    _, submitted = api.submit(attempt["id"])
    assert submitted["status"] == "pending_manual"
    item = next(i for i in attempt["items"] if i["type"] == "extended_response")
    # Every rubric has these two levels; each assessor gives a different combination.
    qualities = ["not_yet_met", "met"]
    sets = [{c: qualities[(n >> k) & 1] for k, c in enumerate(item["criteria"])} for n in range(8)]
    results = together(8, lambda n: api.mark(attempt["id"], item["id"], sets[n]))
    assert {status for status, _ in results} == {200}
    stored = _stored(app, attempt["id"])
    assert stored.marks[item["id"]] in sets, "one assessor's marks, never a mixture"
    (score, regraded_score), stored_items, regraded_items = _regraded(app, attempt["id"])
    assert score == regraded_score and stored_items == regraded_items
    with app.app_context():
        authors = db.session().scalars(select(AttemptMark.marked_by).distinct()).all()
    assert len(authors) >= 1


def test_concurrent_marks_from_the_same_unmarked_page_one_wins_the_rest_are_told(served):
    """Assessors who all saw the item unmarked (previous={}): one mark is stored, every other
    gets 409 with the levels now stored; none is silently overwritten."""
    api, app = served
    _, attempt = api.start("race-marks-guarded")
    api.submit(attempt["id"])
    item = next(i for i in attempt["items"] if i["type"] == "extended_response")
    qualities = ["not_yet_met", "met"]
    sets = [{c: qualities[(n >> k) & 1] for k, c in enumerate(item["criteria"])} for n in range(8)]
    results = together(8, lambda n: (n, *api.mark(attempt["id"], item["id"], sets[n], {})))
    winners = [n for n, status, _ in results if status == 200]
    assert len(winners) == 1, results
    assert all(status == 409 for n, status, _ in results if n not in winners)
    stored = _stored(app, attempt["id"]).marks[item["id"]]
    assert stored == sets[winners[0]]
    for _n, status, body in results:
        if status == 409:
            assert body["details"] == {c: [q] for c, q in sorted(stored.items())}

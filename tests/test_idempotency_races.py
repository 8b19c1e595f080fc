"""Idempotency-Key under real concurrency: threads against a gunicorn server (3 workers x 4
threads) on the suite's database (SQLite, or PostgreSQL with TEST_DATABASE_URL). Duplicates of
one creating POST sent at the same moment make one record, and every one of them gets the
first request's status and body."""

from __future__ import annotations

import json
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.attempt_client import together, token_for
from bench.common import gunicorn
from service import create_app, db
from service.models import Attempt, IdempotencyKey, Learner, PerformanceEvidence
from tests.conftest import loaded_database

SCOPES = ["learners:write", "learners:read", "attempts:write", "attempts:read", "evidence:write"]
DUPLICATES = 8


@pytest.fixture(scope="module")
def served():
    with loaded_database(Path(tempfile.mkdtemp())) as url:  # migrated, content loaded
        app = create_app({"DATABASE_URL": url})
        with gunicorn("service.wsgi:app", url, workers=3, threads=4) as port:
            yield port, token_for(url, port, SCOPES, "C-IDEM"), app
        app.extensions["db_engine"].dispose()


def _post(port: int, token: str, path: str, body: dict, key: str) -> tuple[int, dict, str]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            replayed = response.headers.get("Idempotent-Replayed", "")
            return response.status, json.loads(response.read()), replayed
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}"), ""


def _count(app, query) -> int:
    with app.app_context():
        return db.session().scalar(query)


EVIDENCE = {
    "learner_ref": "IDEM-EV",
    "criterion": "CSC-01.AC4",
    "evidence_type": "observation",
    "evidenced_on": "2026-11-20",
    "description": "Handled a complaint at the counter.",
    "decision": "met",
}

RECORDED = {
    "learner_ref": "IDEM-P",
    "taken_on": "2026-11-20",
    "mode": "paper",
    "decisions": {"CSC-02.AC1": "met"},
    "assessor": "assessor:j.smith",
}


@pytest.mark.parametrize(
    ("path", "body", "model", "status"),
    [
        ("/api/v1/learners", {"reference": "IDEM-1", "name": "Ada"}, Learner, 201),
        ("/api/v1/assessments/CSC-01-A1/attempts", {"learner_ref": "IDEM-A"}, Attempt, 201),
        ("/api/v1/performance-evidence", EVIDENCE, PerformanceEvidence, 201),
        ("/api/v1/assessments/CSC-02-A1/recorded-attempts", RECORDED, Attempt, 201),
    ],
    ids=["learner", "attempt", "evidence", "recorded"],
)
def test_concurrent_duplicates_create_one_record(served, path, body, model, status):
    port, token, app = served
    before = _count(app, select(func.count()).select_from(model))
    key = f"race-{path}"
    answers = together(DUPLICATES, lambda n: _post(port, token, path, body, key))
    assert {a[0] for a in answers} == {status}, answers
    assert len({json.dumps(a[1], sort_keys=True) for a in answers}) == 1
    assert sum(a[2] == "true" for a in answers) == DUPLICATES - 1
    assert _count(app, select(func.count()).select_from(model)) == before + 1
    assert _count(app, select(func.count()).where(IdempotencyKey.key == key)) == 1

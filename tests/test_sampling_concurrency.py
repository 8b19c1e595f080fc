"""Races run for real: threads against a gunicorn server with several workers, on the suite's
database (SQLite, or PostgreSQL with TEST_DATABASE_URL). Interim plans built at once never
sample one decision twice; verdicts given at once on one decision are all kept."""

from __future__ import annotations

import json
import tempfile
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.attempt_client import Api, together
from bench.common import gunicorn
from service import create_app, db
from service.auth import create_client
from service.client_vocabulary import ClientKind
from service.models import Centre, EqaAssignment, SampledDecision, SamplingVerdict
from tests.conftest import loaded_database
from tests.test_sampling_api import make_centre


def _eqa_token(app, port: int, centre_code: str) -> str:
    with app.app_context():
        session = db.session()
        centre = session.scalar(select(Centre).where(Centre.code == centre_code))
        client, secret = create_client(
            session, "race verifier", ["sampling:write", "coverage:read"], None, ClientKind.EQA
        )
        session.add(EqaAssignment(client=client, centre=centre, assigned_by="test"))
        session.commit()
        client_id = client.client_id
    form = f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/oauth/token",
        data=form.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["access_token"]


@pytest.fixture(scope="module")
def served():
    with loaded_database(Path(tempfile.mkdtemp())) as url:  # migrated, content loaded
        app = create_app({"DATABASE_URL": url})
        code = make_centre(app)
        with gunicorn("service.wsgi:app", url, workers=3, threads=4) as port:
            yield Api(port, _eqa_token(app, port, code)), app, code
        app.extensions["db_engine"].dispose()


def test_interim_plans_at_once_never_overlap(served):
    api, app, code = served
    body = {"centre": code, "kind": "interim", "size": 4}
    answers = together(8, lambda n: api.call("POST", "/api/v1/sampling-plans", body))
    made = [plan for status, plan in answers if status == 201]
    assert made, answers
    assert all(status in (201, 422) for status, _ in answers), answers
    with app.app_context():
        keys = db.session().scalars(select(SampledDecision.candidate_key)).all()
    assert len(keys) == len(set(keys)) == sum(len(p["decisions"]) for p in made)


def test_verdicts_at_once_all_kept(served):
    api, app, code = served
    status, plan = api.call(
        "POST", "/api/v1/sampling-plans", {"centre": code, "kind": "summative", "size": 2}
    )
    assert status == 201, plan
    url = f"/api/v1/sampling-plans/{plan['id']}/decisions/1/verdict"
    answers = together(
        8, lambda n: api.call("PUT", url, {"verdict": "disagree", "reason": f"reason {n}"})
    )
    assert [status for status, _ in answers] == [200] * 8, answers
    status, stored = api.call("GET", f"/api/v1/sampling-plans/{plan['id']}")
    history = stored["decisions"][0]["history"]
    assert sorted(v["reason"] for v in history) == sorted(f"reason {n}" for n in range(8))
    with app.app_context():
        count = db.session().scalar(select(func.count()).select_from(SamplingVerdict))
    assert count == 8

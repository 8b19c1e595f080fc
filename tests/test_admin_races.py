"""Administrators' changes racing for real: threads against a gunicorn server with several
worker processes. Simultaneous assignments of one EQA to one centre make one assignment (every
caller gets 200) and one audit row; simultaneous removals remove it once (one 204, the rest
404); simultaneous creations of one centre, of one LTI registration, or of one deployment of
it, make one (one 201, the rest 409)."""

from __future__ import annotations

import json
import tempfile
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.attempt_client import Api, together
from bench.common import gunicorn
from lti.models import LtiDeployment, LtiPlatform
from service import auth, create_app, db, migrations
from service.audit_vocabulary import AuditAction
from service.client_vocabulary import ClientKind
from service.models import AuditEvent, EqaAssignment
from tests.conftest import ensure_centre, isolated_database
from tests.test_lti_registration import ADMIN_API, manual

THREADS = 8


def _token(port: int, client_id: str, secret: str) -> str:
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
    """(api as an admin client, app on the same database, the EQA's client id)."""
    with isolated_database(Path(tempfile.mkdtemp())) as url:
        migrations.upgrade(url)
        app = create_app({"DATABASE_URL": url})
        with app.app_context():
            session = db.session()
            ensure_centre(session, "RACE-A")
            admin, admin_secret = auth.create_client(session, "admin", ["admin"], None)
            eqa, _ = auth.create_client(session, "eqa", ["results:read"], None, ClientKind.EQA)
            admin_id, eqa_id = admin.client_id, eqa.client_id
        with gunicorn("service.wsgi:app", url, workers=3, threads=4) as port:
            yield Api(port, _token(port, admin_id, admin_secret)), app, eqa_id
        app.extensions["db_engine"].dispose()


def test_simultaneous_assignments_make_one_and_removals_remove_it_once(served):
    api, app, eqa_id = served
    url = f"/api/v1/admin/clients/{eqa_id}/centres/RACE-A"
    assigned = together(THREADS, lambda _n: api.call("PUT", url))
    assert [status for status, _ in assigned] == [200] * THREADS, assigned
    assert len({body["assigned_at"] for _, body in assigned}) == 1
    with app.app_context():
        session = db.session()
        assert session.scalar(select(func.count()).select_from(EqaAssignment)) == 1
        recorded = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == AuditAction.ASSIGN)
        )
        assert recorded == 1
    removed = together(THREADS, lambda _n: api.call("DELETE", url))
    assert sorted(status for status, _ in removed) == [204] + [404] * (THREADS - 1), removed


def test_simultaneous_creations_of_a_centre_make_one(served):
    api, _app, _eqa_id = served
    body = {"code": "RACE-NEW", "name": "Race College"}
    made = together(THREADS, lambda _n: api.call("POST", "/api/v1/admin/centres", body))
    assert sorted(status for status, _ in made) == [201] + [409] * (THREADS - 1), made


def test_simultaneous_registrations_of_one_platform_and_deployment_make_one(served):
    api, app, _eqa_id = served
    body = manual(client_id="race-client")
    made = together(THREADS, lambda _n: api.call("POST", ADMIN_API, body))
    assert sorted(status for status, _ in made) == [201] + [409] * (THREADS - 1), made
    platform_id = next(answer["id"] for status, answer in made if status == 201)
    deployments = f"{ADMIN_API}/{platform_id}/deployments"
    added = together(THREADS, lambda _n: api.call("POST", deployments, {"deployment_id": "race"}))
    assert sorted(status for status, _ in added) == [201] + [409] * (THREADS - 1), added
    with app.app_context():
        session = db.session()
        stored = session.scalars(
            select(LtiPlatform).where(LtiPlatform.client_id == "race-client")
        ).all()
        assert [platform.id for platform in stored] == [platform_id]
        kept = session.scalars(
            select(LtiDeployment.deployment_id)
            .where(LtiDeployment.platform_id == platform_id)
            .order_by(LtiDeployment.deployment_id)
        ).all()
        assert kept == ["3", "race"]

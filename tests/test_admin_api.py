"""The admin API and CLI for centres, clients and EQA assignments: what each change does to
who may call what, and that each is in the audit log."""

from __future__ import annotations

from sqlalchemy import select

from service import db
from service.models import AuditEvent, Learner, LearnerIdentity
from tests.conftest import bearer, create_client, ensure_centre

ADMIN = "/api/v1/admin"


def _token(client, client_id, secret):
    return client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


def _headers(response):
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def _audit(app, subject):
    with app.app_context():
        rows = db.session().scalars(select(AuditEvent).where(AuditEvent.subject == subject))
        return [(row.action.value, row.actor) for row in rows]


def test_admin_creates_a_centre_client_that_then_reads_its_centre(app, client):
    admin = bearer(app, ["admin"])
    made = client.post(f"{ADMIN}/centres", json={"code": "ADM-A", "name": "Adm A"}, headers=admin)
    assert made.status_code == 201 and made.get_json()["code"] == "ADM-A"
    again = client.post(f"{ADMIN}/centres", json={"code": "ADM-A", "name": "x"}, headers=admin)
    assert again.status_code == 409
    body = {"name": "Adm A MIS", "kind": "centre", "scopes": ["results:read"], "centre": "ADM-A"}
    created = client.post(f"{ADMIN}/clients", json=body, headers=admin)
    assert created.status_code == 201, created.get_json()
    answer = created.get_json()
    assert answer["centre"] == "ADM-A" and answer["kind"] == "centre"
    assert _token(client, answer["client_id"], answer["client_secret"]).status_code == 200
    # The secret is shown once: neither the list nor the client's page has it.
    shown = client.get(f"{ADMIN}/clients/{answer['client_id']}", headers=admin).get_json()
    assert "client_secret" not in shown and shown["scopes"] == ["results:read"]
    listed = client.get(f"{ADMIN}/clients?centre=ADM-A", headers=admin).get_json()
    assert [c["client_id"] for c in listed] == [answer["client_id"]]
    actor = _audit(app, f"client:{answer['client_id']}")
    assert actor and actor[0][0] == "create" and actor[0][1].startswith("client:")


def test_create_refuses_scopes_the_kind_may_not_hold_and_unknown_centres(app, client):
    admin = bearer(app, ["admin"])
    with app.app_context():
        ensure_centre(db.session(), "ADM-R")
    cases = [
        {"name": "x", "kind": "centre", "scopes": ["admin"], "centre": "ADM-R"},
        {"name": "x", "kind": "centre", "scopes": ["results:read"]},
        {"name": "x", "kind": "eqa", "scopes": ["attempts:write"]},
        {"name": "x", "kind": "centre", "scopes": ["results:read"], "centre": "NO-SUCH"},
        {"name": "x", "kind": "centre", "scopes": ["nonsense"], "centre": "ADM-R"},
    ]
    for body in cases:
        response = client.post(f"{ADMIN}/clients", json=body, headers=admin)
        assert response.status_code == 422, body


def test_rotate_stops_the_old_secret_and_its_tokens(app, client):
    admin = bearer(app, ["admin"])
    client_id, secret = create_client(app, ["content:read"])
    old = _headers(_token(client, client_id, secret))
    assert client.get("/api/v1/items?status=draft", headers=old).status_code != 401
    rotated = client.post(f"{ADMIN}/clients/{client_id}/rotate", headers=admin)
    assert rotated.status_code == 200
    new_secret = rotated.get_json()["client_secret"]
    assert new_secret != secret
    assert _token(client, client_id, secret).status_code == 401
    assert client.get("/api/v1/items?status=draft", headers=old).status_code == 401
    assert _token(client, client_id, new_secret).status_code == 200
    assert _audit(app, f"client:{client_id}")[-1][0] == "rotate"


def test_revoke_stops_the_client_and_rotating_it_is_a_409(app, client):
    admin = bearer(app, ["admin"])
    client_id, secret = create_client(app, ["content:read"])
    assert client.post(f"{ADMIN}/clients/{client_id}/revoke", headers=admin).status_code == 200
    assert _token(client, client_id, secret).status_code == 401
    assert client.post(f"{ADMIN}/clients/{client_id}/rotate", headers=admin).status_code == 409
    assert client.post(f"{ADMIN}/clients/nope/revoke", headers=admin).status_code == 404


def test_eqa_assignment_changes_what_the_eqa_sees_on_its_next_request(app, client):
    admin = bearer(app, ["admin"])
    eqa_id, eqa_secret = create_client(app, ["results:read"], eqa_of=())
    centre_client, _ = create_client(app, ["results:read"], centre_code="ADM-E")
    url = f"{ADMIN}/clients/{eqa_id}/centres/ADM-E"
    assigned = client.put(url, headers=admin)
    assert assigned.status_code == 200 and assigned.get_json()["centre"] == "ADM-E"
    assert client.put(url, headers=admin).status_code == 200  # again: unchanged
    shown = client.get(f"{ADMIN}/clients/{eqa_id}", headers=admin).get_json()
    assert shown["centres"] == ["ADM-E"]
    listed = client.get(f"{ADMIN}/clients?centre=ADM-E&kind=eqa", headers=admin).get_json()
    assert [c["client_id"] for c in listed] == [eqa_id]
    # Only an EQA's client is assigned.
    refused = client.put(f"{ADMIN}/clients/{centre_client}/centres/ADM-E", headers=admin)
    assert refused.status_code == 422
    assert client.delete(url, headers=admin).status_code == 204
    assert client.delete(url, headers=admin).status_code == 404
    # (conftest made the client without the audit log; the admin's changes are in it)
    assert [a for a, _ in _audit(app, f"client:{eqa_id}")] == ["assign", "unassign"]
    assert _token(client, eqa_id, eqa_secret).status_code == 200


def test_admin_endpoints_need_the_admin_scope(app, client):
    reader = bearer(app, ["results:read"], centre_code="ADM-S")
    assert client.get(f"{ADMIN}/clients", headers=reader).status_code == 403
    assert client.get(f"{ADMIN}/centres").status_code == 401
    assert client.get(f"{ADMIN}/audit-events", headers=reader).status_code == 403


def test_audit_events_are_listed_and_filtered(app, client):
    admin = bearer(app, ["admin"])
    client.post(f"{ADMIN}/centres", json={"code": "ADM-L", "name": "L"}, headers=admin)
    events = client.get(f"{ADMIN}/audit-events?centre=ADM-L", headers=admin)
    assert events.status_code == 200
    rows = events.get_json()
    assert [(r["action"], r["subject"]) for r in rows] == [("create", "centre:ADM-L")]
    actor = rows[0]["actor"]
    mine = client.get(f"{ADMIN}/audit-events?actor={actor}&action=create", headers=admin)
    assert {r["subject"] for r in mine.get_json()} == {"centre:ADM-L"}
    later = client.get(
        f"{ADMIN}/audit-events?centre=ADM-L&since=2999-01-01T00:00:00Z", headers=admin
    )
    assert later.get_json() == []
    assert "X-Pagination" in events.headers
    bad = client.get(f"{ADMIN}/audit-events?since=yesterday", headers=admin)
    assert bad.status_code == 422


def test_cli_manages_kinds_rotation_and_eqa_assignments(app, client):
    runner = app.test_cli_runner()
    runner.invoke(args=["centres", "create", "CLI-E", "Cli E"])
    made = runner.invoke(
        args=["clients", "create", "--name", "V", "--kind", "eqa", "--scope", "results:read"]
    )
    assert made.exit_code == 0, made.output
    client_id = made.output.split("client_id: ")[1].split()[0]
    secret = made.output.split("client_secret: ")[1].split()[0]
    assert runner.invoke(args=["eqa", "assign", client_id, "CLI-E"]).exit_code == 0
    assert "CLI-E" in runner.invoke(args=["eqa", "list", client_id]).output
    listed = runner.invoke(args=["clients", "list", "--kind", "eqa", "--centre", "CLI-E"]).output
    assert client_id in listed and "eqa" in listed
    rotated = runner.invoke(args=["clients", "rotate", client_id])
    assert rotated.exit_code == 0
    new_secret = rotated.output.split("client_secret: ")[1].split()[0]
    assert _token(client, client_id, secret).status_code == 401
    assert _token(client, client_id, new_secret).status_code == 200
    assert runner.invoke(args=["eqa", "unassign", client_id, "CLI-E"]).exit_code == 0
    gone = runner.invoke(args=["eqa", "unassign", client_id, "CLI-E"])
    assert gone.exit_code != 0 and "not assigned" in gone.output
    actors = {actor for _, actor in _audit(app, f"client:{client_id}")}
    assert all(actor.startswith("cli:") for actor in actors)


def test_an_eqa_reading_an_attempt_is_in_the_audit_log_of_that_learner(app, client):
    centre = bearer(app, ["attempts:write", "attempts:read"], centre_code="ADM-Q")
    eqa = bearer(app, ["results:read"], eqa_of=("ADM-Q",))
    admin = bearer(app, ["admin"])
    started = client.post(
        "/api/v1/assessments/CSC-01-A1/attempts", json={"learner_ref": "adm-q-1"}, headers=centre
    )
    attempt_id = started.get_json()["id"]
    assert client.get(f"/api/v1/attempts/{attempt_id}", headers=eqa).status_code == 200
    with app.app_context():
        learner = db.session().scalar(
            select(Learner.uuid)
            .join(LearnerIdentity, LearnerIdentity.learner_id == Learner.id)
            .where(LearnerIdentity.learner_ref == "adm-q-1")
        )
    events = client.get(
        f"{ADMIN}/audit-events?learner={learner}&action=read", headers=admin
    ).get_json()
    assert [(e["subject"], e["centre"], e["learner"]) for e in events] == [
        (f"attempt:{attempt_id}", "ADM-Q", learner)
    ]
    assert events[0]["actor"].startswith("client:")
    assert events[0]["request"] == f"GET /api/v1/attempts/{attempt_id}"

"""/api/v1/learners: tenancy (own centre, another centre, EQA assigned or not, scopes), filters
and paging, linking LMS identities, the audit log, and Idempotency-Key on create."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lti.models import LtiPlatform
from service import db, learners
from service.attempt_access import lti_learner
from service.models import AuditEvent, Learner, LearnerIdentity
from tests.conftest import bearer, ensure_centre

ISSUER = "https://moodle.example.ac.uk"


def _platform(app, centre_code: str, client_id: str) -> LtiPlatform:
    with app.app_context():
        session = db.session()
        centre = ensure_centre(session, centre_code)
        platform = LtiPlatform(
            name="Moodle",
            issuer=ISSUER,
            client_id=client_id,
            auth_login_url=f"{ISSUER}/auth",
            auth_token_url=f"{ISSUER}/token",
            key_set_url=f"{ISSUER}/certs",
            centre_id=centre.id,
            active=True,
        )
        session.add(platform)
        session.commit()
        return platform


def _launch(app, platform, sub: str) -> int:
    """What an LMS launch does: the LMS learner (no reference) identified."""
    with app.app_context():
        session = db.session()
        session.add(platform)
        learner_id = learners.identify(session, lti_learner(platform, sub))
        session.commit()
        return learner_id


@pytest.fixture()
def setup(fresh):
    app, _ = fresh
    headers = {
        "writer": bearer(app, ["learners:read", "learners:write"], centre_code="C1"),
        "other": bearer(app, ["learners:read", "learners:write"], centre_code="C2"),
        "eqa_c1": bearer(app, ["learners:read"], eqa_of=("C1",)),
        "eqa_c2": bearer(app, ["learners:read"], eqa_of=("C2",)),
        "body": bearer(app, ["learners:read"]),
        "no_scope": bearer(app, ["attempts:read"], centre_code="C1"),
    }
    return app, app.test_client(), headers


def _create(client, headers, reference, **extra):
    return client.post("/api/v1/learners", json={"reference": reference, **extra}, headers=headers)


def test_create_read_and_tenancy(setup):
    app, client, h = setup
    created = _create(client, h["writer"], "MIS-1", name="Ada Lovelace")
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["reference"] == "MIS-1" and body["name"] == "Ada Lovelace"
    assert body["centre"] == "C1"
    assert [i["kind"] for i in body["identities"]] == ["reference"]
    path = f"/api/v1/learners/{body['id']}"
    assert client.get(path, headers=h["writer"]).status_code == 200
    assert client.get(path, headers=h["eqa_c1"]).status_code == 200
    assert client.get(path, headers=h["body"]).status_code == 200
    assert client.get(path, headers=h["other"]).status_code == 404
    assert client.get(path, headers=h["eqa_c2"]).status_code == 404
    assert client.get(path, headers=h["no_scope"]).status_code == 403
    assert client.get(path).status_code == 401
    assert client.patch(path, json={"name": "X"}, headers=h["other"]).status_code == 404
    assert client.patch(path, json={"name": "X"}, headers=h["eqa_c1"]).status_code == 403
    listed = client.get("/api/v1/learners", headers=h["other"]).get_json()
    assert listed == []
    assert [lr["id"] for lr in client.get("/api/v1/learners", headers=h["eqa_c1"]).get_json()] == [
        body["id"]
    ]


def test_duplicate_reference_is_409_and_api_records_learner_is_named(setup):
    app, client, h = setup
    assert _create(client, h["writer"], "MIS-2").status_code == 201
    again = _create(client, h["writer"], "MIS-2", name="Other")
    assert again.status_code == 409
    # The other centre has its own references.
    assert _create(client, h["other"], "MIS-2").status_code == 201


def test_filters_and_paging(setup):
    app, client, h = setup
    for n, name in enumerate(["Ada Lovelace", "Alan Turing", "Grace Hopper"]):
        assert _create(client, h["writer"], f"R-{n}", name=name).status_code == 201
    listed = client.get("/api/v1/learners?q=LOVE", headers=h["writer"]).get_json()
    assert [lr["name"] for lr in listed] == ["Ada Lovelace"]
    listed = client.get("/api/v1/learners?reference=R-2", headers=h["writer"]).get_json()
    assert [lr["name"] for lr in listed] == ["Grace Hopper"]
    page = client.get("/api/v1/learners?page=2&page_size=2", headers=h["writer"])
    assert [lr["reference"] for lr in page.get_json()] == ["R-2"]
    assert '"total": 3' in page.headers["X-Pagination"]
    with app.app_context():
        reads = db.session().scalar(
            select(func.count()).where(
                AuditEvent.action == "read", AuditEvent.learner_id.is_not(None)
            )
        )
    # One audit row per learner returned: 1 + 1 + 1.
    assert reads == 3


def test_linking_an_lms_identity_moves_it_and_removes_the_empty_lms_learner(setup):
    app, client, h = setup
    platform = _platform(app, "C1", "moodle-c1")
    lms_only = _launch(app, platform, "sub-77")
    identity = {"issuer": ISSUER, "client_id": "moodle-c1", "user_id": "sub-77"}
    created = _create(client, h["writer"], "MIS-77", name="Ada", identities=[identity])
    assert created.status_code == 201, created.get_json()
    kinds = sorted((i["kind"], i["user_id"]) for i in created.get_json()["identities"])
    assert kinds == [("lms", "sub-77"), ("reference", None)]
    with app.app_context():
        session = db.session()
        assert session.get(Learner, lms_only) is None
        row = session.scalar(select(LearnerIdentity).where(LearnerIdentity.lti_sub == "sub-77"))
        assert row.learner.reference == "MIS-77"
    by_user = client.get("/api/v1/learners?lms_user_id=sub-77", headers=h["writer"]).get_json()
    assert [lr["reference"] for lr in by_user] == ["MIS-77"]
    # Linked to a learner with a reference: another learner cannot take it.
    second = _create(client, h["writer"], "MIS-78").get_json()
    taken = client.patch(
        f"/api/v1/learners/{second['id']}", json={"identities": [identity]}, headers=h["writer"]
    )
    assert taken.status_code == 409
    # Another centre's LMS registration is not the centre's: 422, nothing linked.
    _platform(app, "C2", "moodle-c2")
    foreign = {**identity, "client_id": "moodle-c2"}
    refused = client.patch(
        f"/api/v1/learners/{second['id']}", json={"identities": [foreign]}, headers=h["writer"]
    )
    assert refused.status_code == 422


def test_an_identity_linked_before_the_first_launch_is_used_by_it(setup):
    app, client, h = setup
    platform = _platform(app, "C1", "moodle-c1")
    identity = {"issuer": ISSUER, "client_id": "moodle-c1", "user_id": "new-sub"}
    created = _create(client, h["writer"], "MIS-9", identities=[identity]).get_json()
    learner_id = _launch(app, platform, "new-sub")
    with app.app_context():
        assert db.session().get(Learner, learner_id).uuid == created["id"]


def test_patch_name_and_fixed_reference(setup):
    app, client, h = setup
    created = _create(client, h["writer"], "MIS-5", name="A").get_json()
    path = f"/api/v1/learners/{created['id']}"
    renamed = client.patch(path, json={"name": "B"}, headers=h["writer"])
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "B"
    assert client.patch(path, json={"name": None}, headers=h["writer"]).get_json()["name"] is None
    assert client.patch(path, json={"reference": "MIS-6"}, headers=h["writer"]).status_code == 422
    with app.app_context():
        actions = (
            db.session()
            .scalars(
                select(AuditEvent.action).where(AuditEvent.subject == f"learner:{created['id']}")
            )
            .all()
        )
    assert sorted(actions) == ["create", "update", "update"]


def test_an_lms_only_learner_gets_its_reference(setup):
    app, client, h = setup
    platform = _platform(app, "C1", "moodle-c1")
    learner_id = _launch(app, platform, "s-1")
    with app.app_context():
        uuid = db.session().get(Learner, learner_id).uuid
    given = client.patch(
        f"/api/v1/learners/{uuid}", json={"reference": "MIS-S1"}, headers=h["writer"]
    )
    assert given.status_code == 200, given.get_json()
    assert sorted(i["kind"] for i in given.get_json()["identities"]) == ["lms", "reference"]


def test_idempotency_key_replays_and_refuses_another_body(setup):
    app, client, h = setup
    headers = {**h["writer"], "Idempotency-Key": "k-1"}
    first = _create(client, headers, "MIS-I", name="Ada")
    assert first.status_code == 201
    again = _create(client, headers, "MIS-I", name="Ada")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    different = _create(client, headers, "MIS-J", name="Ada")
    assert different.status_code == 422
    # The same key of another client is another key.
    other = _create(client, {**h["other"], "Idempotency-Key": "k-1"}, "MIS-I")
    assert other.status_code == 201 and other.get_json()["id"] != first.get_json()["id"]
    with app.app_context():
        count = db.session().scalar(
            select(func.count()).select_from(Learner).where(Learner.reference == "MIS-J")
        )
    assert count == 0


def test_a_refused_request_leaves_its_key_free(setup):
    app, client, h = setup
    assert _create(client, h["writer"], "MIS-R").status_code == 201
    headers = {**h["writer"], "Idempotency-Key": "k-r"}
    assert _create(client, headers, "MIS-R").status_code == 409
    # The same key with a corrected body is a new request, not a reuse.
    assert _create(client, headers, "MIS-R2").status_code == 201


def test_an_expired_key_is_new_again(setup):
    from sqlalchemy import update

    from service.models import IdempotencyKey, utcnow

    app, client, h = setup
    headers = {**h["writer"], "Idempotency-Key": "k-old"}
    assert _create(client, headers, "MIS-OLD").status_code == 201
    assert _create(client, headers, "MIS-NEW").status_code == 422  # reused within 24 h
    with app.app_context():
        session = db.session()
        session.execute(update(IdempotencyKey).values(expires_at=utcnow()))
        session.commit()
    fresh = _create(client, headers, "MIS-NEW")
    assert fresh.status_code == 201 and "Idempotent-Replayed" not in fresh.headers

"""Learners and their identities (service/learners.py) and client tenancy (service/tenancy.py)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from service import db, learners
from service.attempt_access import Learner as LearnerRef
from service.attempt_access import api_scope
from service.auth import ClientError, create_client
from service.client_vocabulary import ClientKind
from service.models import Attempt, EqaAssignment, Learner, LearnerIdentity
from service.tenancy import of_client
from tests.conftest import bearer, ensure_centre


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_an_api_attempt_makes_the_centre_learner_once(fresh):
    app, _ = fresh
    headers = bearer(app, ["attempts:write"], centre_code="C-LI")
    client = app.test_client()
    for code in ("CSC-01-A1", "CSC-02-A1"):
        response = client.post(
            f"/api/v1/assessments/{code}/attempts", json={"learner_ref": "L-0042"}, headers=headers
        )
        assert response.status_code in (200, 201), response.get_json()
    with app.app_context():
        session = db.session()
        learner = session.scalars(select(Learner)).one()
        assert learner.reference == "L-0042" and learner.name is None
        identity = session.scalars(select(LearnerIdentity)).one()
        assert (identity.learner_id, identity.learner_ref) == (learner.id, "L-0042")
        assert identity.lti_platform_id is None
        assert _count(session, Attempt) == 2


def test_an_lms_learner_has_no_reference_until_linked(fresh):
    app, _ = fresh
    with app.app_context():
        session = db.session()
        centre = ensure_centre(session, "C-LMS")
        who = LearnerRef("lti:7:sub-1", centre.id, 7, "sub-1")
        first = learners.identify(session, who)
        again = learners.identify(session, who)
        session.commit()
        assert first == again
        learner = session.get(Learner, first)
        assert learner.reference is None
        (identity,) = learner.identities
        assert (identity.lti_platform_id, identity.lti_sub) == (7, "sub-1")


@pytest.mark.parametrize("lti", [False, True], ids=["centre-ref", "lms"])
def test_concurrent_first_uses_make_one_learner(fresh, lti):
    app, _ = fresh
    with app.app_context():
        centre_id = ensure_centre(db.session(), "C-RACE").id
    who = LearnerRef(
        "lti:3:race" if lti else "L-RACE", centre_id, 3 if lti else None, "race" if lti else None
    )
    barrier = threading.Barrier(6)
    found, errors = [], []

    def identify():
        try:
            with app.app_context():
                session = db.session()
                barrier.wait()
                found.append(learners.identify(session, who))
                session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=identify) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(set(found)) == 1
    with app.app_context():
        session = db.session()
        assert _count(session, LearnerIdentity) == 1
        assert _count(session, Learner) == 1


def test_eqa_clients_see_their_assigned_centres_only(fresh):
    app, _ = fresh
    bearer(app, ["coverage:read"], eqa_of=("C-A", "C-B"))
    with app.app_context():
        session = db.session()
        other = ensure_centre(session, "C-OTHER")
        client = session.scalars(select(EqaAssignment)).first().client
        tenancy = of_client(session, client)
        ids = {a.centre_id for a in session.scalars(select(EqaAssignment))}
        assert tenancy.centre_ids == frozenset(ids) and len(ids) == 2
        assert not tenancy.sees(other.id) and not tenancy.sees(None)
        assert api_scope(session, client).centre_ids == frozenset(ids)
        # Unassigning takes effect on the next read.
        session.delete(session.scalars(select(EqaAssignment)).first())
        session.commit()
        assert len(of_client(session, client).centre_ids) == 1


def test_kinds_hold_only_their_scopes(fresh):
    app, _ = fresh
    with app.app_context():
        session = db.session()
        centre = ensure_centre(session, "C-K")
        with pytest.raises(ClientError, match="awarding body"):
            create_client(session, "x", ["admin"], centre)
        with pytest.raises(ClientError, match="may not hold attempts:write"):
            create_client(session, "x", ["attempts:write"], None, ClientKind.EQA)
        with pytest.raises(ClientError, match="names its centre"):
            create_client(session, "x", ["coverage:read"], centre, ClientKind.EQA)
        client, _ = create_client(
            session, "v", ["coverage:read", "sampling:write"], None, ClientKind.EQA
        )
        assert client.kind == ClientKind.EQA

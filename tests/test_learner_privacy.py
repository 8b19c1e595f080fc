"""UK GDPR: a learner's subject access export, erasure by pseudonymisation (keeping the anonymous
evidence), the retention command, and the demo's data and credentials."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta

from sqlalchemy import func, select

from service import access_arrangements, attempts, db, demo, learners, performance_evidence
from service.access_vocabulary import SetBy
from service.attempt_access import Learner as LearnerRef
from service.audit_vocabulary import AuditAction
from service.models import (
    Assessment,
    Attempt,
    AttemptCriterionDecision,
    AttemptResponse,
    AuditEvent,
    Centre,
    EqaAssignment,
    Learner,
    OAuthClient,
    PerformanceEvidence,
    utcnow,
)
from tests.conftest import bearer, ensure_centre

NAME = "Zainab Quigley-Ferreira"
REFERENCE = "MIS-778812"
SECRET_WORDS = "my manager Zainab"  # free text that names the learner


def _learner_with_records(app, reference=REFERENCE, name=NAME, days_ago=0) -> str:
    """A learner with a fully graded attempt (a written answer naming them), an assessor's
    comment, performance evidence and an access arrangement; returns the learner's id."""
    with app.app_context():
        session = db.session()
        centre = ensure_centre(session, "C-GDPR")
        who = LearnerRef(reference, centre.id)
        assessment = session.scalar(select(Assessment).where(Assessment.code == "CSC-01-A1"))
        attempt = demo._sit(session, assessment, who, 1.0, "assessor:1", random.Random(1))
        # The same learner also sat a unit from the LMS: an identity the centre linked to them.
        lms = LearnerRef(f"lti:9:lms-user-77{reference}", centre.id, 9, f"lms-user-77{reference}")
        other = session.scalar(select(Assessment).where(Assessment.code == "CSC-02-A1"))
        demo._sit(session, other, lms, 0.5, "assessor:2", random.Random(2))
        lms_only = session.get(Learner, learners.identify(session, lms))
        written = next(
            r for r in attempt.response_rows if isinstance(r.response, str) and " " in r.response
        )
        written.response = f"I told {SECRET_WORDS} and fixed it."
        attempts.comment(session, attempt, {None: f"Well done {name.split()[0]}"}, "assessor:1")
        performance_evidence.record(
            session,
            who,
            performance_evidence.NewRecord(
                criterion="CSC-01.AC4",
                evidence_type="observation",
                evidenced_on=date.today(),
                description=f"Observed {name} with a customer.",
                decision="met",
            ),
            assessor="assessor:1",
        )
        access_arrangements.set_arrangement(
            session,
            who,
            None,
            access_arrangements.NewArrangement(extra_time_percent=25),
            SetBy.API_CLIENT,
            "client:x",
        )
        learner = session.get(Learner, learners.identify(session, who))
        learner.name = name
        (identity,) = lms_only.identities
        identity.learner = learner
        session.flush()
        session.delete(lms_only)
        if days_ago:
            old = utcnow() - timedelta(days=days_ago)
            learner.updated_at = old
            for row in session.scalars(select(Attempt).where(Attempt.centre_id == centre.id)):
                row.opened_at = row.submitted_at = row.graded_at = old
            for row in session.scalars(
                select(PerformanceEvidence).where(PerformanceEvidence.learner_ref == reference)
            ):
                row.created_at = old
            session.execute(
                access_arrangements.AccessArrangement.__table__.update()
                .where(access_arrangements.AccessArrangement.learner_ref == reference)
                .values(set_at=old)
            )
        session.commit()
        return learner.uuid


def test_export_holds_everything_and_is_audited(fresh):
    app, _ = fresh
    learner_id = _learner_with_records(app)
    admin = bearer(app, ["admin"])
    response = app.test_client().get(f"/api/v1/admin/learners/{learner_id}/export", headers=admin)
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["learner"]["name"] == NAME and body["learner"]["reference"] == REFERENCE
    attempt, lms_attempt = body["attempts"]
    assert attempt["status"] == "fully_graded" and attempt["criterion_decisions"]
    assert lms_attempt["assessment"] == "CSC-02-A1"
    assert {i["lms_user_id"] for i in body["identities"]} == {None, f"lms-user-77{REFERENCE}"}
    assert any(SECRET_WORDS in str(r["response"]) for r in attempt["responses"])
    assert attempt["comments"][0]["text"].startswith("Well done")
    assert body["performance_evidence"][0]["criterion"] == "CSC-01.AC4"
    assert body["access_arrangements"][0]["extra_time_percent"] == 25
    # The export is itself recorded, and listed in the next export's accesses.
    again = app.test_client().get(f"/api/v1/admin/learners/{learner_id}/export", headers=admin)
    assert [a["action"] for a in again.get_json()["accesses"]] == ["export"]


def test_export_and_erase_need_admin_and_a_known_learner(fresh):
    app, _ = fresh
    learner_id = _learner_with_records(app)
    client = app.test_client()
    centre = bearer(app, ["results:read"], centre_code="C-GDPR")
    assert (
        client.get(f"/api/v1/admin/learners/{learner_id}/export", headers=centre).status_code == 403
    )
    assert (
        client.post(f"/api/v1/admin/learners/{learner_id}/erase", headers=centre).status_code == 403
    )
    admin = bearer(app, ["admin"])
    missing = "6f1c2d4e-8a3b-4c5d-9e7f-0a1b2c3d4e5f"
    assert client.get(f"/api/v1/admin/learners/{missing}/export", headers=admin).status_code == 404
    assert client.post(f"/api/v1/admin/learners/{missing}/erase", headers=admin).status_code == 404


def test_erasure_removes_personal_data_and_keeps_the_evidence(fresh):
    app, _ = fresh
    learner_id = _learner_with_records(app)
    with app.app_context():
        session = db.session()
        decisions_before = session.scalar(
            select(func.count()).select_from(AttemptCriterionDecision)
        )
        choices_before = {
            (r.item_code, json.dumps(r.response))
            for r in session.scalars(select(AttemptResponse))
            if not isinstance(r.response, str)
        }
    admin = bearer(app, ["admin"])
    client = app.test_client()
    response = client.post(f"/api/v1/admin/learners/{learner_id}/erase", headers=admin)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["erased_now"] is True and response.get_json()["attempts_kept"] == 2

    exported = client.get(f"/api/v1/admin/learners/{learner_id}/export", headers=admin)
    text = exported.get_data(as_text=True)
    for personal in (NAME, "Zainab", REFERENCE, "lms-user-77", SECRET_WORDS):
        assert personal not in text, personal
    body = exported.get_json()
    assert body["learner"]["pseudonymised_at"] is not None
    assert len(body["attempts"]) == 2
    for attempt in body["attempts"]:
        assert attempt["criterion_decisions"] and attempt["assessor_marks"]
    with app.app_context():
        session = db.session()
        assert session.scalar(select(func.count()).select_from(AttemptCriterionDecision)) == (
            decisions_before
        )
        # Choices on auto-scored items stay (item statistics need them).
        choices_after = {
            (r.item_code, json.dumps(r.response))
            for r in session.scalars(select(AttemptResponse))
            if not isinstance(r.response, str)
        }
        assert choices_after == choices_before
        for stored in session.scalars(select(Attempt)):
            assert stored.learner_ref.startswith("erased:") and stored.lti_sub is None
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert AuditAction.ERASE in actions
    repeat = client.post(f"/api/v1/admin/learners/{learner_id}/erase", headers=admin)
    assert repeat.status_code == 200 and repeat.get_json()["erased_now"] is False


def test_retention_pseudonymises_only_learners_past_the_period(fresh):
    app, _ = fresh
    old_id = _learner_with_records(app, "MIS-OLD", "Old Learner", days_ago=1200)
    new_id = _learner_with_records(app, "MIS-NEW", "New Learner")
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["learners", "retention", "--dry-run"])
    assert dry.exit_code == 0 and "1 learner(s)" in dry.output
    with app.app_context():
        assert (
            db.session().scalar(select(func.count()).where(Learner.pseudonymised_at.is_not(None)))
            == 0
        )
    done = runner.invoke(args=["learners", "retention"])
    assert done.exit_code == 0 and "1 learner(s)" in done.output
    with app.app_context():
        session = db.session()
        old = session.scalar(select(Learner).where(Learner.uuid == old_id))
        new = session.scalar(select(Learner).where(Learner.uuid == new_id))
        assert old.pseudonymised_at is not None and old.name is None and old.reference is None
        assert new.pseudonymised_at is None and new.name == "New Learner"


def test_cli_export_and_erase(fresh, tmp_path):
    app, _ = fresh
    learner_id = _learner_with_records(app)
    runner = app.test_cli_runner()
    out = tmp_path / "sar.json"
    assert runner.invoke(args=["learners", "export", learner_id, "--out", str(out)]).exit_code == 0
    assert json.loads(out.read_text())["learner"]["name"] == NAME
    erased = runner.invoke(args=["learners", "erase", learner_id])
    assert erased.exit_code == 0 and "pseudonymised" in erased.output
    assert runner.invoke(args=["learners", "erase", "nobody"]).exit_code != 0


def test_demo_makes_two_centres_an_eqa_and_working_credentials(fresh, tmp_path):
    app, _ = fresh
    runner = app.test_cli_runner()
    path = tmp_path / "demo-credentials.json"
    result = runner.invoke(args=["demo", "create", "--credentials", str(path)])
    assert result.exit_code == 0, result.output
    assert str(path) in result.output
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    document = json.loads(path.read_text())
    kinds = sorted(c["kind"] for c in document["clients"])
    keys = sorted(c["key"] for c in document["clients"])
    assert keys == ["admin", "eqa", "northgate", "southbank"]
    assert kinds == ["awarding_body", "centre", "centre", "eqa"]
    with app.app_context():
        session = db.session()
        codes = {c.code for c in session.scalars(select(Centre))}
        assert {"DEMO-NGC", "DEMO-SBT"} <= codes
        graded = session.scalars(select(Attempt).where(Attempt.status == "fully_graded")).all()
        units = {a.assessment.unit.code for a in graded}
        assert units == {"CSC-01", "CSC-02", "CSC-03", "CSC-04", "CSC-05"}
        assert len(graded) == 7 * 5
        assert session.scalar(select(func.count()).select_from(PerformanceEvidence)) > 0
        (assignment,) = session.scalars(select(EqaAssignment)).all()
        assert assignment.centre.code == demo.EQA_CENTRE
    # Every client's secret gets a token.
    client = app.test_client()
    for entry in document["clients"]:
        token = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(entry["client_id"], entry["client_secret"]),
        )
        assert token.status_code == 200, entry["name"]
    # A second run keeps the data and replaces the secrets.
    again = runner.invoke(args=["demo", "create", "--credentials", str(path)])
    assert again.exit_code == 0 and "already there" in again.output
    with app.app_context():
        session = db.session()
        assert session.scalar(select(func.count()).select_from(Attempt)) == 7 * 5
        revoked = session.scalars(
            select(OAuthClient).where(OAuthClient.revoked_at.is_not(None))
        ).all()
        assert len(revoked) == 4
    old = document["clients"][0]
    refused = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(old["client_id"], old["client_secret"]),
    )
    assert refused.status_code == 401

"""A small centre built row by row for the coverage tests: learners, attempts with criterion
decisions and assessor marks, and performance evidence records."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from service.grading.vocabulary import AttemptStatus, Decision, EvidenceType
from service.identifiers import new_uuid
from service.models import (
    Assessment,
    Attempt,
    AttemptCriterionDecision,
    AttemptMark,
    Criterion,
    Learner,
    LearnerIdentity,
    PerformanceEvidence,
    utcnow,
)

KNOWLEDGE = ["CSC-01.AC1", "CSC-01.AC2", "CSC-01.AC3"]
PERFORMANCE = ["CSC-01.AC4", "CSC-01.AC5", "CSC-01.AC6", "CSC-01.AC7", "CSC-01.AC8"]


def add_learner(session, centre, reference: str, name: str | None = None) -> Learner:
    learner = Learner(uuid=new_uuid(), centre_id=centre.id, reference=reference, name=name)
    learner.identities.append(LearnerIdentity(centre_id=centre.id, learner_ref=reference))
    session.add(learner)
    session.flush()
    return learner


def add_attempt(
    session,
    centre,
    learner_ref: str,
    decisions: dict[str, tuple[Decision, list[str]]],
    status: AttemptStatus = AttemptStatus.FULLY_GRADED,
    graded_minutes_ago: int = 0,
    marks: dict[tuple[str, str], tuple[str, str]] | None = None,
    assessment: str = "CSC-01-A1",
    resource_link_id: int | None = None,
) -> Attempt:
    """An attempt of `learner_ref` with `decisions` {criterion: (decision, items)} and
    assessor `marks` {(item, criterion): (quality, assessor)}."""
    assessment_id = session.scalar(select(Assessment.id).where(Assessment.code == assessment))
    now = utcnow()
    graded = status == AttemptStatus.FULLY_GRADED
    attempt = Attempt(
        uuid=new_uuid(),
        assessment_id=assessment_id,
        centre_id=centre.id,
        learner_ref=learner_ref,
        seed="0" * 64,
        status=status,
        submitted_at=now - timedelta(minutes=graded_minutes_ago + 1),
        graded_at=now - timedelta(minutes=graded_minutes_ago) if graded else None,
        lti_resource_link_id=resource_link_id,
    )
    for code, (decision, items) in decisions.items():
        attempt.decision_rows.append(
            AttemptCriterionDecision(criterion_code=code, decision=decision, evidence=items)
        )
    for (item, code), (quality, assessor) in (marks or {}).items():
        attempt.mark_rows.append(
            AttemptMark(
                item_code=item,
                criterion_code=code,
                quality=quality,
                marked_by=assessor,
                marked_at=now,
            )
        )
    session.add(attempt)
    session.flush()
    return attempt


def add_evidence(
    session,
    centre,
    learner_ref: str,
    code: str,
    decision: Decision,
    assessor: str,
    supersedes: PerformanceEvidence | None = None,
    withdrawn: bool = False,
) -> PerformanceEvidence:
    criterion = session.scalar(select(Criterion).where(Criterion.code == code))
    record = PerformanceEvidence(
        uuid=new_uuid(),
        centre_id=centre.id,
        learner_ref=learner_ref,
        criterion_id=criterion.id,
        criterion_version_id=criterion.current.id,
        evidence_type=EvidenceType.OBSERVATION,
        evidenced_on=date(2026, 11, 20),
        description="Observed with a customer",
        decision=decision,
        assessor=assessor,
        supersedes_id=supersedes.id if supersedes else None,
        withdrawn_at=utcnow() if withdrawn else None,
        withdrawn_by=assessor if withdrawn else None,
        withdrawn_reason="Given in error" if withdrawn else None,
    )
    session.add(record)
    session.flush()
    return record


def all_met(session, centre, learner_ref: str, assessor: str = "client:assessor-1") -> None:
    """Every CSC-01 criterion met: a graded attempt and a met record for each performance one."""
    add_attempt(
        session,
        centre,
        learner_ref,
        {code: (Decision.MET, [f"{code}-item"]) for code in KNOWLEDGE},
    )
    for code in PERFORMANCE:
        add_evidence(session, centre, learner_ref, code, Decision.MET, assessor)

"""A learner's status in one unit: the knowledge attempt and the performance evidence read from
the database, decided by service.grading.unit_outcome (pure).

The knowledge attempt is the learner's latest fully graded attempt at any assessment of the
unit: the online assessment is the knowledge component, and a later sitting replaces an
earlier one (as a resit does). Attempts still waiting for marking do not count yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import performance_evidence
from service.attempt_access import Learner
from service.grading.unit_outcome import (
    EvidenceJudgement,
    EvidenceRequired,
    KnowledgeDecision,
    UnitCriterion,
    UnitStatus,
    unit_status,
)
from service.grading.vocabulary import AttemptStatus
from service.models import Assessment, Attempt, PerformanceEvidence, Unit

# Which fully graded attempt is the knowledge attempt: the latest graded (a resit replaces an
# earlier sitting). service/coverage.py reads many learners' attempts in this same order.
KNOWLEDGE_ORDER = (Attempt.graded_at.desc(), Attempt.id.desc())


@dataclass(frozen=True)
class LearnerUnitStatus:
    unit: Unit
    learner: Learner
    knowledge_attempt: Attempt | None
    status: UnitStatus
    records: dict[str, list[PerformanceEvidence]]  # current records by criterion code


def criteria_rules(unit: Unit) -> list[UnitCriterion]:
    return [
        UnitCriterion(c.code, EvidenceRequired(c.current.evidence_type), c.current.band)
        for c in unit.criteria
    ]


def performance_codes(unit: Unit) -> list[str]:
    """The unit's criteria that only performance evidence can meet."""
    return [
        c.code for c in unit.criteria if c.current.evidence_type == EvidenceRequired.PERFORMANCE
    ]


def knowledge_attempt(session: Session, unit: Unit, learner: Learner) -> Attempt | None:
    return session.scalars(
        select(Attempt)
        .join(Assessment, Assessment.id == Attempt.assessment_id)
        .where(
            Assessment.unit_id == unit.id,
            Attempt.learner_ref == learner.ref,
            Attempt.centre_id.is_not_distinct_from(learner.centre_id),
            Attempt.status == AttemptStatus.FULLY_GRADED,
        )
        .order_by(*KNOWLEDGE_ORDER)
        .limit(1)
    ).first()


def learner_unit_status(session: Session, unit: Unit, learner: Learner) -> LearnerUnitStatus:
    attempt = knowledge_attempt(session, unit, learner)
    knowledge = {}
    if attempt is not None:
        knowledge = {
            d.criterion_code: KnowledgeDecision(d.decision, tuple(d.evidence))
            for d in attempt.decision_rows
        }
    current = performance_evidence.for_learner(session, learner, unit.code, current_only=True)
    records: dict[str, list[PerformanceEvidence]] = {}
    for record in current:
        records.setdefault(record.criterion.code, []).append(record)
    judgements = {
        code: [EvidenceJudgement(r.uuid, r.decision) for r in rows]
        for code, rows in records.items()
    }
    status = unit_status(unit.grading, criteria_rules(unit), knowledge, judgements)
    return LearnerUnitStatus(unit, learner, attempt, status, records)


def person_unit_status(session: Session, unit: Unit, refs: list[Learner]) -> LearnerUnitStatus:
    """A learner's status in one unit across every learner_ref of theirs (the centre's
    reference and LMS identities): the latest fully graded attempt under any of them, and the
    current performance evidence recorded under any of them."""
    if len(refs) == 1:
        return learner_unit_status(session, unit, refs[0])
    found = [learner_unit_status(session, unit, ref) for ref in refs]
    attempts = [f.knowledge_attempt for f in found if f.knowledge_attempt is not None]
    attempt = max(attempts, key=lambda a: (a.graded_at, a.id), default=None)
    knowledge = {}
    if attempt is not None:
        knowledge = {
            d.criterion_code: KnowledgeDecision(d.decision, tuple(d.evidence))
            for d in attempt.decision_rows
        }
    records: dict[str, list[PerformanceEvidence]] = {}
    for one in found:
        for code, rows in one.records.items():
            records.setdefault(code, []).extend(rows)
    judgements = {
        code: [EvidenceJudgement(r.uuid, r.decision) for r in rows]
        for code, rows in records.items()
    }
    status = unit_status(unit.grading, criteria_rules(unit), knowledge, judgements)
    return LearnerUnitStatus(unit, refs[0], attempt, status, records)

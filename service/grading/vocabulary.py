"""The words attempts and grading share, defined once: models, schemas, the engine and the
pages all use these enums (StrEnum, so each value is also the plain string stored and sent)."""

from __future__ import annotations

from enum import StrEnum


class AttemptStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    PENDING_MANUAL = "pending_manual"
    FULLY_GRADED = "fully_graded"


class Decision(StrEnum):
    """A criterion's decision in one attempt."""

    MET = "met"
    NOT_YET_MET = "not_yet_met"
    PENDING = "pending"
    NOT_EVIDENCED = "not_evidenced"


class RubricLevel(StrEnum):
    """An assessor's rubric level for one criterion of an extended response. Rubrics are binary
    in every unit: merit and distinction are criteria of their own, never levels of a rubric."""

    NOT_YET_MET = "not_yet_met"
    MET = "met"


# Status maps one to one onto LTI AGS gradingProgress.
GRADING_PROGRESS = {
    AttemptStatus.IN_PROGRESS: "NotReady",
    AttemptStatus.PENDING_MANUAL: "PendingManual",
    AttemptStatus.FULLY_GRADED: "FullyGraded",
}


class Band(StrEnum):
    """The grade band a criterion belongs to (graded units; competence units are all pass)."""

    PASS = "pass"
    MERIT = "merit"
    DISTINCTION = "distinction"


class EvidenceRequired(StrEnum):
    """What a criterion is decided by (criteria_data/units: evidence_type)."""

    KNOWLEDGE = "knowledge"  # the online assessment decides it
    PERFORMANCE = "performance"  # only recorded performance evidence meets it for the unit


class Grade(StrEnum):
    """The knowledge result of an attempt."""

    ACHIEVED = "achieved"
    NOT_YET_ACHIEVED = "not_yet_achieved"
    PASS = "pass"
    MERIT = "merit"
    DISTINCTION = "distinction"


# Bands in rising order: a band's grade needs every criterion of it and of the bands below.
BANDS = (Band.PASS, Band.MERIT, Band.DISTINCTION)


class EvidenceType(StrEnum):
    """How an assessor evidenced a performance criterion (criteria_data/units: evidence_type
    "performance"). The online assessment is never one of them."""

    OBSERVATION = "observation"
    WITNESS_TESTIMONY = "witness_testimony"
    WORKPLACE_RECORD = "workplace_record"
    PROFESSIONAL_DISCUSSION = "professional_discussion"
    PRODUCT_EVIDENCE = "product_evidence"


# An assessor's judgement of one piece of performance evidence: the criterion decisions an
# assessor can reach (pending and not_evidenced are states of an attempt, not judgements).
EVIDENCE_DECISIONS = (Decision.MET, Decision.NOT_YET_MET)

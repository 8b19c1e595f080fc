"""Performance evidence records: record, correct (supersede), withdraw and list them.

A performance criterion (evidence_type "performance" in criteria_data/units) is met only by an
assessor's record of performance evidence: observation, witness testimony, a workplace record,
a professional discussion or a product. External verifiers sample these records, so nothing
here rewrites one: a correction is a new record that supersedes the old one, and a record
given in error is withdrawn with a reason (both stay in the history).

The learner is a service.attempt_access.Learner: the centre and its opaque learner_ref (or the
LTI "lti:{platform}:{sub}" ref attempts use). No names or emails are stored. Callers own the
transaction: these functions flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.orm import Session, aliased

from service import learners, webhooks
from service.attempt_access import Learner, Scope
from service.grading.unit_outcome import EvidenceRequired
from service.grading.vocabulary import EVIDENCE_DECISIONS, Decision, EvidenceType
from service.identifiers import new_uuid
from service.models import Criterion, PerformanceEvidence, Unit, utcnow
from service.webhook_vocabulary import DecisionSource

DESCRIPTION_MAX = 4000
REFERENCE_MAX = PerformanceEvidence.__table__.c.reference.type.length
REASON_MAX = 1000

# Assessors are in the UK: "today" is the UK date, so an observation made just after midnight
# UK time is not refused as a future date.
try:
    _UK: ZoneInfo | None = ZoneInfo("Europe/London")
except ZoneInfoNotFoundError:
    _UK = None


def uk_today(now: datetime | None = None) -> date:
    now = now or datetime.now(UTC)
    return (now.astimezone(_UK) if _UK else now).date()


class RecordStatus(StrEnum):
    CURRENT = "current"  # counts towards the criterion
    SUPERSEDED = "superseded"  # replaced by a correction
    WITHDRAWN = "withdrawn"  # given in error; the reason is kept


class EvidenceError(Exception):
    """A request the records do not allow. `details` maps a field to messages."""

    def __init__(self, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.message, self.details = message, details or {}


class UnknownCriterion(EvidenceError):
    def __init__(self, code: str) -> None:
        super().__init__(f"No criterion {code!r}.", {"criterion": [f"No criterion {code!r}."]})


class NotPerformanceCriterion(EvidenceError):
    def __init__(self, code: str) -> None:
        message = (
            f"{code} is a knowledge criterion: the online assessment decides it. Performance "
            "evidence is recorded only for performance criteria."
        )
        super().__init__(message, {"criterion": [message]})


class FutureDate(EvidenceError):
    def __init__(self, evidenced_on: date, today: date) -> None:
        message = f"The evidence date {evidenced_on.isoformat()} is after today ({today})."
        super().__init__(message, {"evidenced_on": [message]})


class InvalidRecord(EvidenceError):
    """Fields that do not fit (empty or too long text, an unknown type or decision)."""


class RecordNotFound(EvidenceError):
    def __init__(self, record_id: str, field: str | None = None) -> None:
        message = f"No performance evidence record {record_id!r}."
        super().__init__(message, {field: [message]} if field else None)


class OtherCentre(RecordNotFound):
    """The record belongs to another centre or learner. Callers answer it exactly like a
    missing record: a centre must not learn that another centre's record exists."""


class RecordClosed(EvidenceError):
    """The record is already superseded or withdrawn: correct or withdraw its current one."""


@dataclass(frozen=True)
class NewRecord:
    criterion: str  # the criterion code, e.g. "CSC-01.AC4"
    evidence_type: str
    evidenced_on: date
    description: str
    decision: str
    reference: str | None = None
    supersedes: str | None = None  # the id of the record this one corrects


def _criterion(session: Session, code: str) -> Criterion:
    criterion = session.scalar(select(Criterion).where(Criterion.code == code))
    if criterion is None:
        raise UnknownCriterion(code)
    if criterion.current.evidence_type != EvidenceRequired.PERFORMANCE:
        raise NotPerformanceCriterion(code)
    return criterion


def _check_fields(new: NewRecord, today: date) -> dict[str, str]:
    """The description and reference as stored (stripped), or InvalidRecord / FutureDate."""
    errors: dict[str, list[str]] = {}
    description = new.description.strip()
    if not description:
        errors["description"] = ["Describe the evidence: what was seen, read or discussed."]
    elif len(description) > DESCRIPTION_MAX:
        errors["description"] = [f"Write at most {DESCRIPTION_MAX} characters."]
    if new.evidence_type not in set(EvidenceType):
        choices = ", ".join(EvidenceType)
        errors["evidence_type"] = [f"Choose one of: {choices}."]
    if new.decision not in EVIDENCE_DECISIONS:
        errors["decision"] = [f"Choose one of: {', '.join(EVIDENCE_DECISIONS)}."]
    reference = (new.reference or "").strip()
    if len(reference) > REFERENCE_MAX:
        errors["reference"] = [f"Write at most {REFERENCE_MAX} characters."]
    if errors:
        raise InvalidRecord("The performance evidence record is not valid.", errors)
    if new.evidenced_on > today:
        raise FutureDate(new.evidenced_on, today)
    return {"description": description, "reference": reference}


def _owned(record: PerformanceEvidence | None, learner: Learner, record_id: str, field=None):
    if record is None:
        raise RecordNotFound(record_id, field)
    if record.centre_id != learner.centre_id or record.learner_ref != learner.ref:
        raise OtherCentre(record_id, field)
    return record


def _by_uuid(session: Session, record_id: str) -> PerformanceEvidence | None:
    return session.scalar(select(PerformanceEvidence).where(PerformanceEvidence.uuid == record_id))


def is_current(record: PerformanceEvidence) -> bool:
    return status_of(record) == RecordStatus.CURRENT


def record(
    session: Session,
    learner: Learner,
    new: NewRecord,
    assessor: str,
    today: date | None = None,
) -> PerformanceEvidence:
    """Record performance evidence for one of `learner`'s performance criteria. With
    `supersedes`, the new record corrects that one (same learner and criterion), which stays
    in the history."""
    criterion = _criterion(session, new.criterion)
    cleaned = _check_fields(new, today or uk_today())
    replaced = None
    if new.supersedes:
        replaced = _owned(_by_uuid(session, new.supersedes), learner, new.supersedes, "supersedes")
        if replaced.criterion_id != criterion.id:
            message = "A correction must be for the same criterion as the record it replaces."
            raise InvalidRecord(message, {"supersedes": [message]})
        if not is_current(replaced):
            raise RecordClosed(
                "That record is already superseded or withdrawn: correct its current record."
            )
    evidence = PerformanceEvidence(
        uuid=new_uuid(),
        centre_id=learner.centre_id,
        learner_ref=learner.ref,
        criterion_id=criterion.id,
        criterion_version_id=criterion.current.id,
        evidence_type=EvidenceType(new.evidence_type),
        evidenced_on=new.evidenced_on,
        description=cleaned["description"],
        decision=Decision(new.decision),
        assessor=assessor,
        reference=cleaned["reference"] or None,
        created_at=utcnow(),
        supersedes_id=replaced.id if replaced else None,
    )
    session.add(evidence)
    # Two corrections of one record at once: the unique supersedes_id refuses the second
    # (IntegrityError at the flush; the edge answers it like RecordClosed).
    session.flush()
    learners.identify(session, learner)
    if replaced is not None:
        session.refresh(replaced)
    webhooks.evidence_changed(
        session, evidence, DecisionSource.PERFORMANCE_EVIDENCE_RECORDED, utcnow()
    )
    return evidence


def withdraw(
    session: Session, learner: Learner, record_id: str, reason: str, withdrawn_by: str
) -> PerformanceEvidence:
    """Withdraw a current record given in error; it stays in the history with the reason."""
    reason = reason.strip()
    if not reason:
        raise InvalidRecord(
            "Say why the record is withdrawn.", {"reason": ["Say why the record is withdrawn."]}
        )
    if len(reason) > REASON_MAX:
        message = f"Write at most {REASON_MAX} characters."
        raise InvalidRecord(message, {"reason": [message]})
    evidence = _owned(_by_uuid(session, record_id), learner, record_id)
    if evidence.superseded_by is not None:
        raise RecordClosed("That record is superseded: withdraw its current record instead.")
    # Only a record not yet withdrawn is changed, so two withdrawals at once cannot both
    # write their reason.
    done = session.execute(
        update(PerformanceEvidence)
        .where(PerformanceEvidence.id == evidence.id, PerformanceEvidence.withdrawn_at.is_(None))
        .values(withdrawn_at=utcnow(), withdrawn_by=withdrawn_by, withdrawn_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise RecordClosed("That record is already withdrawn.")
    session.refresh(evidence)
    webhooks.evidence_changed(
        session, evidence, DecisionSource.PERFORMANCE_EVIDENCE_WITHDRAWN, utcnow()
    )
    return evidence


def find(session: Session, scope: Scope, record_id: str) -> PerformanceEvidence | None:
    """The record if `scope` may see it (a centre sees only its own), else None."""
    query = select(PerformanceEvidence).where(PerformanceEvidence.uuid == record_id)
    if not scope.everything:
        query = query.where(PerformanceEvidence.centre_id.is_not_distinct_from(scope.centre_id))
        if scope.lti_platform_id is not None:
            # A platform with no centre: only its own learners ("lti:{platform}:...").
            query = query.where(
                PerformanceEvidence.learner_ref.startswith(f"lti:{scope.lti_platform_id}:")
            )
    return session.scalar(query)


def for_learner(
    session: Session,
    learner: Learner,
    unit_code: str | None = None,
    criterion_code: str | None = None,
    current_only: bool = False,
) -> list[PerformanceEvidence]:
    """The learner's records, every one (history included) unless `current_only`, by criterion
    then oldest first."""
    query = (
        select(PerformanceEvidence)
        .join(Criterion, Criterion.id == PerformanceEvidence.criterion_id)
        .where(
            PerformanceEvidence.centre_id.is_not_distinct_from(learner.centre_id),
            PerformanceEvidence.learner_ref == learner.ref,
        )
        .order_by(Criterion.position, PerformanceEvidence.id)
    )
    if unit_code is not None:
        query = query.join(Unit, Unit.id == Criterion.unit_id).where(Unit.code == unit_code)
    if criterion_code is not None:
        query = query.where(Criterion.code == criterion_code)
    if current_only:
        newer = aliased(PerformanceEvidence)
        query = query.where(
            PerformanceEvidence.withdrawn_at.is_(None),
            ~select(newer.id).where(newer.supersedes_id == PerformanceEvidence.id).exists(),
        )
    return list(session.scalars(query))


def status_of(record: PerformanceEvidence) -> RecordStatus:
    """Where the record stands in the history."""
    if record.withdrawn_at is not None:
        return RecordStatus.WITHDRAWN
    if record.superseded_by is not None:
        return RecordStatus.SUPERSEDED
    return RecordStatus.CURRENT

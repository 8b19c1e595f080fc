"""Sampling plans of external verifiers (EQA) and their verdicts: the database side.

The decisions a plan may sample are a centre's assessor decisions: each current rubric level an
assessor gave a criterion of an extended response, and each current performance evidence
record. service.sampling_selection chooses among them (pure, seeded); this module gathers them,
stores the plan and its rows, and records verdicts. An interim plan skips decisions an earlier
plan of the centre sampled; a summative plan considers them all.

Domain code: raises typed errors, never commits (the view does).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session, aliased, selectinload

from lti.models import LtiResourceLink
from service.grading.vocabulary import Decision, RubricLevel
from service.identifiers import new_uuid
from service.models import (
    Assessment,
    Attempt,
    AttemptMark,
    AttemptMarkEvent,
    Centre,
    Criterion,
    LearnerIdentity,
    PerformanceEvidence,
    SampledDecision,
    SamplingPlan,
    SamplingVerdict,
    Unit,
    utcnow,
)
from service.sampling_selection import Candidate
from service.sampling_selection import select as choose
from service.sampling_vocabulary import PlanKind, SampleSource, Verdict
from service.tenancy import Tenancy

SIZE_MAX = 500
TEXT_MAX = 4000
EXTENDED_METHOD = "extended_response"
UNKNOWN_ASSESSOR = "unknown"


class SamplingError(Exception):
    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(SamplingError):
    """A centre, plan or sampled decision that does not exist or is not the client's to see:
    the same answer for both."""


class NothingToSample(SamplingError):
    pass


@dataclass(frozen=True)
class NewPlan:
    centre_code: str
    kind: PlanKind
    size: int
    seed: str | None = None
    unit_code: str | None = None
    course: str | None = None  # an LMS course's LTI context id


@dataclass(frozen=True)
class _Source:
    """Where a candidate came from, to store with it when sampled."""

    centre_id: int
    attempt_id: int | None
    item_code: str | None
    evidence_id: int | None
    decision: str


def visible_centre(session: Session, tenancy: Tenancy, code: str) -> Centre:
    centre = session.scalar(select(Centre).where(Centre.code == code))
    if centre is None or not tenancy.sees(centre.id):
        raise NotFound(f"No centre with code {code!r}.")
    return centre


def _marks(session: Session, centre: Centre, unit_code: str | None, course: str | None):
    """The centre's current assessor marks, each with its candidate and source; with
    `course`, only on attempts launched from that LMS course."""
    query = (
        select(AttemptMark, Attempt.uuid, Unit.code)
        .join(Attempt, Attempt.id == AttemptMark.attempt_id)
        .join(Assessment, Assessment.id == Attempt.assessment_id)
        .join(Unit, Unit.id == Assessment.unit_id)
        .where(Attempt.centre_id == centre.id)
    )
    if unit_code:
        query = query.where(Unit.code == unit_code)
    if course:
        query = query.join(LtiResourceLink, LtiResourceLink.id == Attempt.lti_resource_link_id)
        query = query.where(LtiResourceLink.context_id == course)
    changed = set(
        session.execute(
            select(
                AttemptMarkEvent.attempt_id,
                AttemptMarkEvent.item_code,
                AttemptMarkEvent.criterion_code,
            )
            .join(Attempt, Attempt.id == AttemptMarkEvent.attempt_id)
            .where(
                Attempt.centre_id == centre.id,
                AttemptMarkEvent.old_quality.is_not(None),
                AttemptMarkEvent.old_quality != AttemptMarkEvent.new_quality,
            )
        ).all()
    )
    for mark, attempt_uuid, unit in session.execute(query):
        yield (
            Candidate(
                key=f"mark:{attempt_uuid}:{mark.item_code}:{mark.criterion_code}",
                source=SampleSource.ASSESSOR_MARK,
                method=EXTENDED_METHOD,
                unit=unit,
                criterion=mark.criterion_code,
                assessor=mark.marked_by or UNKNOWN_ASSESSOR,
                met=mark.quality == RubricLevel.MET,
                decided_at=mark.marked_at,
                overturned=(mark.attempt_id, mark.item_code, mark.criterion_code) in changed,
            ),
            _Source(centre.id, mark.attempt_id, mark.item_code, None, mark.quality),
        )


def _evidence(session: Session, centre: Centre, unit_code: str | None):
    """The centre's current performance evidence records (neither superseded nor withdrawn);
    one that corrected a record with another decision counts as overturned."""
    newer = aliased(PerformanceEvidence)
    query = (
        select(PerformanceEvidence, Criterion.code, Unit.code)
        .join(Criterion, Criterion.id == PerformanceEvidence.criterion_id)
        .join(Unit, Unit.id == Criterion.unit_id)
        .outerjoin(newer, newer.supersedes_id == PerformanceEvidence.id)
        .where(
            PerformanceEvidence.centre_id == centre.id,
            PerformanceEvidence.withdrawn_at.is_(None),
            newer.id.is_(None),
        )
        .options(selectinload(PerformanceEvidence.supersedes))
    )
    if unit_code:
        query = query.where(Unit.code == unit_code)
    for record, criterion, unit in session.execute(query):
        replaced = record.supersedes
        yield (
            Candidate(
                key=f"evidence:{record.uuid}",
                source=SampleSource.PERFORMANCE_EVIDENCE,
                method=str(record.evidence_type),
                unit=unit,
                criterion=criterion,
                assessor=record.assessor,
                met=record.decision == Decision.MET,
                decided_at=record.created_at,
                overturned=replaced is not None and replaced.decision != record.decision,
            ),
            _Source(centre.id, None, None, record.id, str(record.decision)),
        )


def _sampled_before(session: Session, centre: Centre) -> set[str]:
    return set(
        session.scalars(
            select(SampledDecision.candidate_key)
            .join(SamplingPlan, SamplingPlan.id == SampledDecision.plan_id)
            .where(SamplingPlan.centre_id == centre.id)
        )
    )


def _lock_centre(session: Session, centre: Centre) -> None:
    """Plans of one centre are built one at a time, so two interim plans built at once never
    sample the same decision: a no-op UPDATE takes the centre row's lock (PostgreSQL) or the
    database's write lock (SQLite: the first write of the transaction), held to the commit.
    What it then reads includes every plan committed before."""
    session.execute(
        update(Centre)
        .where(Centre.id == centre.id)
        .values(name=Centre.name)
        .execution_options(synchronize_session=False)
    )


def build_plan(session: Session, tenancy: Tenancy, new: NewPlan, actor: str) -> SamplingPlan:
    """Choose and store a plan (flushed, not committed)."""
    centre = visible_centre(session, tenancy, new.centre_code)
    _lock_centre(session, centre)
    if new.unit_code and session.scalar(select(Unit.id).where(Unit.code == new.unit_code)) is None:
        raise SamplingError(f"No unit with code {new.unit_code!r}.", {"unit": ["Unknown unit."]})
    gathered = list(_marks(session, centre, new.unit_code, new.course))
    if not new.course:  # performance evidence belongs to no LMS course
        gathered += _evidence(session, centre, new.unit_code)
    found = {c.key: (c, source) for c, source in gathered}
    if new.kind == PlanKind.INTERIM:
        for key in _sampled_before(session, centre):
            found.pop(key, None)
    if not found:
        raise NothingToSample(
            "The centre has no assessor decisions to sample"
            + (" that an earlier plan did not sample." if new.kind == PlanKind.INTERIM else ".")
        )
    seed = new.seed or secrets.token_hex(8)
    plan = SamplingPlan(
        uuid=new_uuid(),
        centre_id=centre.id,
        kind=new.kind,
        size=new.size,
        seed=seed,
        unit_code=new.unit_code,
        course=new.course,
        created_by=actor,
        created_at=utcnow(),
    )
    session.add(plan)
    for position, chosen in enumerate(choose([c for c, _ in found.values()], new.size, seed), 1):
        candidate = chosen.candidate
        source = found[candidate.key][1]
        plan.decisions.append(
            SampledDecision(
                position=position,
                candidate_key=candidate.key,
                source=candidate.source,
                method=candidate.method,
                centre_id=source.centre_id,
                unit_code=candidate.unit,
                criterion_code=candidate.criterion,
                attempt_id=source.attempt_id,
                item_code=source.item_code,
                performance_evidence_id=source.evidence_id,
                assessor=candidate.assessor,
                decision=source.decision,
                decided_at=candidate.decided_at,
                reasons=[str(r) for r in chosen.reasons],
            )
        )
    session.flush()
    return plan


def _plans(tenancy: Tenancy):
    return (
        select(SamplingPlan)
        .where(tenancy.condition(SamplingPlan.centre_id))
        .options(
            selectinload(SamplingPlan.centre),
            selectinload(SamplingPlan.decisions).selectinload(SampledDecision.verdicts),
            selectinload(SamplingPlan.decisions).selectinload(SampledDecision.attempt),
            selectinload(SamplingPlan.decisions).selectinload(SampledDecision.performance_evidence),
        )
    )


def find_plan(session: Session, tenancy: Tenancy, plan_id: str) -> SamplingPlan:
    plan = session.scalar(_plans(tenancy).where(SamplingPlan.uuid == plan_id))
    if plan is None:
        raise NotFound(f"No sampling plan {plan_id!r}.")
    return plan


def list_plans(
    session: Session, tenancy: Tenancy, centre_code: str | None = None
) -> list[SamplingPlan]:
    query = _plans(tenancy).order_by(SamplingPlan.created_at.desc(), SamplingPlan.id.desc())
    if centre_code:
        query = query.where(
            SamplingPlan.centre_id == visible_centre(session, tenancy, centre_code).id
        )
    return list(session.scalars(query))


def sampled(plan: SamplingPlan, position: int) -> SampledDecision:
    for row in plan.decisions:
        if row.position == position:
            return row
    raise NotFound(f"Sampling plan {plan.uuid!r} has no decision {position}.")


def current_verdict(row: SampledDecision) -> SamplingVerdict | None:
    return row.verdicts[-1] if row.verdicts else None


def give_verdict(
    session: Session,
    row: SampledDecision,
    verdict: Verdict,
    reason: str | None,
    action: str | None,
    actor: str,
) -> bool:
    """Record a verdict as a new row (the history keeps the earlier ones). True if recorded;
    False if it repeats the current verdict word for word (a repeated PUT changes nothing).
    The schema checks that a disagreement has a reason and an action its text."""
    current = current_verdict(row)
    if current is not None and (current.verdict, current.reason, current.action) == (
        verdict,
        reason,
        action,
    ):
        return False
    row.verdicts.append(
        SamplingVerdict(
            verdict=verdict, reason=reason, action=action, given_by=actor, given_at=utcnow()
        )
    )
    session.flush()
    return True


def learner_ref(row: SampledDecision) -> str:
    """The learner of a sampled decision, as its attempt or evidence record names them now."""
    if row.attempt is not None:
        return row.attempt.learner_ref
    return row.performance_evidence.learner_ref


def learners_of(
    session: Session, rows: Iterable[SampledDecision]
) -> list[tuple[int | None, int | None]]:
    """(learner id, centre id) of each distinct learner of `rows`, for the audit log."""
    pairs = {(r.centre_id, learner_ref(r)) for r in rows}
    if not pairs:
        return []
    found = {
        (centre_id, ref): learner_id
        for learner_id, centre_id, ref in session.execute(
            select(
                LearnerIdentity.learner_id, LearnerIdentity.centre_id, LearnerIdentity.learner_ref
            ).where(
                and_(
                    LearnerIdentity.centre_id.in_({c for c, _ in pairs}),
                    LearnerIdentity.learner_ref.in_({r for _, r in pairs}),
                )
            )
        )
    }
    return sorted(
        {(found.get(pair), pair[0]) for pair in pairs}, key=lambda p: (p[1] or 0, p[0] or 0)
    )

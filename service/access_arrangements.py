"""Access arrangements: a learner's extra time, supervised rest breaks and a different time
limit, set by an assessor (in the tool), a centre's system (the API) or the LMS (a launch's
custom parameters). This is how a timed assessment meets WCAG 2.2.1 (timing adjustable) and
the Equality Act's reasonable adjustments.

- Per learner: the centre and its opaque learner_ref (or the LTI "lti:{platform}:{sub}" ref
  attempts use), never a name; the reason is a broad category at most, never medical detail.
- For every assessment (assessment None) or for one: the one for the assessment, when there is
  one, applies instead of the learner's general one (they are not added together).
- A history: a change is a new row superseding the current one, never an overwrite; setting
  what is already current records nothing.
- A change moves the deadline of the learner's attempts in progress at once.

Callers own the transaction: these functions flush, never commit. Two changes of one learner's
arrangements at the same moment: the database refuses the second (IntegrityError at the
flush; the edge answers it like ArrangementChanged).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session

from lti import sessions
from service import content_cache, exam_clock, learners
from service.access_vocabulary import ReasonCategory, SetBy
from service.attempt_access import Learner
from service.grading.vocabulary import AttemptStatus
from service.identifiers import new_uuid
from service.models import AccessArrangement, Assessment, Attempt, utcnow

# Bounds that keep a typing slip (600% for 60%) from becoming a ten-hour exam.
EXTRA_PERCENT_MAX = 100
EXTRA_MINUTES_MAX = 240
TIME_LIMIT_MAX = 600
BREAK_MINUTES_MAX = 240
# How long a launch allows for rest breaks that have no maximum.
UNLIMITED_BREAKS_MINUTES = 60


class ArrangementError(Exception):
    """A change the arrangements do not allow. `details` maps a field to messages."""

    def __init__(self, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.message, self.details = message, details or {}


class InvalidArrangement(ArrangementError):
    """Values out of range, or extra time given both as a percentage and as minutes."""


class ArrangementChanged(ArrangementError):
    """Someone else changed the learner's arrangements meanwhile: read them again."""

    def __init__(self) -> None:
        super().__init__(
            "These access arrangements were changed by someone else just now. Read the "
            "current arrangements and make the change again."
        )


@dataclass(frozen=True)
class NewArrangement:
    """What to record. All empty (the default) records "no arrangements"."""

    extra_time_percent: int | None = None
    extra_time_minutes: int | None = None
    rest_breaks: bool = False
    rest_break_max_minutes: int | None = None
    time_limit_minutes: int | None = None
    reason: str | None = None

    @classmethod
    def of(cls, row: AccessArrangement) -> NewArrangement:
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


NOTHING = NewArrangement()


def _range(errors: dict, field: str, value: int | None, maximum: int, what: str) -> None:
    if value is not None and not (1 <= value <= maximum):
        errors[field] = [f"Give {what} from 1 to {maximum}, or leave it empty."]


def check(new: NewArrangement) -> NewArrangement:
    """The arrangement as stored (0 read as none), or InvalidArrangement naming each field."""
    cleaned = NewArrangement(
        extra_time_percent=new.extra_time_percent or None,
        extra_time_minutes=new.extra_time_minutes or None,
        rest_breaks=bool(new.rest_breaks),
        rest_break_max_minutes=(new.rest_break_max_minutes or None) if new.rest_breaks else None,
        time_limit_minutes=new.time_limit_minutes or None,
        reason=new.reason or None,
    )
    errors: dict[str, list[str]] = {}
    _range(
        errors, "extra_time_percent", cleaned.extra_time_percent, EXTRA_PERCENT_MAX, "a percentage"
    )
    _range(errors, "extra_time_minutes", cleaned.extra_time_minutes, EXTRA_MINUTES_MAX, "minutes")
    _range(errors, "time_limit_minutes", cleaned.time_limit_minutes, TIME_LIMIT_MAX, "minutes")
    _range(
        errors,
        "rest_break_max_minutes",
        cleaned.rest_break_max_minutes,
        BREAK_MINUTES_MAX,
        "minutes",
    )
    if cleaned.extra_time_percent and cleaned.extra_time_minutes:
        errors.setdefault("extra_time_minutes", []).append(
            "Give extra time as a percentage or as minutes, not both."
        )
    if cleaned.reason is not None and cleaned.reason not in set(ReasonCategory):
        errors["reason"] = [f"Choose one of: {', '.join(ReasonCategory)}."]
    if errors:
        raise InvalidArrangement("These access arrangements are not valid.", errors)
    return cleaned


def _of_learner(learner: Learner):
    return (
        AccessArrangement.centre_id.is_not_distinct_from(learner.centre_id),
        AccessArrangement.learner_ref == learner.ref,
    )


def current(
    session: Session, learner: Learner, assessment_id: int | None
) -> AccessArrangement | None:
    """The learner's current row for the assessment (None: their general one)."""
    newer = select(AccessArrangement.supersedes_id).where(
        AccessArrangement.supersedes_id.is_not(None)
    )
    return session.scalar(
        select(AccessArrangement).where(
            *_of_learner(learner),
            AccessArrangement.assessment_id.is_not_distinct_from(assessment_id),
            AccessArrangement.id.not_in(newer),
        )
    )


def effective(session: Session, learner: Learner, assessment_id: int) -> AccessArrangement | None:
    """What applies to the learner at the assessment: its own arrangement, else the general.
    Read once per transaction (a page asks for it many times: its clock, deadline, breaks);
    forgotten when the transaction writes an arrangement or ends."""
    memo = session.info.setdefault(_EFFECTIVE, {})
    key = (learner.centre_id, learner.ref, assessment_id)
    if key not in memo:
        has_any = learner.ref in _arranged_learners(session, learner.centre_id)
        memo[key] = _effective_row(session, learner, assessment_id) if has_any else None
    return memo[key]


def _arranged_learners(session: Session, centre_id: int | None) -> frozenset[str]:
    """The centre's learners with any arrangement row, kept per process per content version
    (service/content_cache.py; an arrangement written is a new version in its transaction):
    most learners have none, and their pages then read nothing for it."""

    def load(session_: Session) -> frozenset[str]:
        return frozenset(
            session_.scalars(
                select(AccessArrangement.learner_ref)
                .where(AccessArrangement.centre_id.is_not_distinct_from(centre_id))
                .distinct()
            )
        )

    return content_cache.kept(session, ("arranged learners", centre_id), load)


def _effective_row(
    session: Session, learner: Learner, assessment_id: int
) -> AccessArrangement | None:
    """`current` for the assessment, else for none (the general row), in one statement: both
    current rows are read and the assessment's own wins."""
    newer = select(AccessArrangement.supersedes_id).where(
        AccessArrangement.supersedes_id.is_not(None)
    )
    rows = session.scalars(
        select(AccessArrangement).where(
            *_of_learner(learner),
            or_(
                AccessArrangement.assessment_id == assessment_id,
                AccessArrangement.assessment_id.is_(None),
            ),
            AccessArrangement.id.not_in(newer),
        )
    ).all()
    own = [r for r in rows if r.assessment_id == assessment_id]
    general = [r for r in rows if r.assessment_id is None]
    return (own or general or [None])[0]


# session.info: (centre_id, learner_ref, assessment_id) -> the effective row (or None).
_EFFECTIVE = "effective_arrangements"


@event.listens_for(Session, "after_flush")
def _forget_on_flush(session: Session, _context) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(obj, AccessArrangement) for obj in changed):
        session.info.pop(_EFFECTIVE, None)


@event.listens_for(Session, "do_orm_execute")
def _forget_on_bulk_statement(state) -> None:
    mapper = state.bind_mapper
    bulk = state.is_update or state.is_delete
    if bulk and mapper is not None and mapper.class_ is AccessArrangement:
        state.session.info.pop(_EFFECTIVE, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(session: Session, transaction) -> None:
    # Any end, a savepoint's too: a rolled-back savepoint may have held a new arrangement.
    session.info.pop(_EFFECTIVE, None)


def for_clock(row: AccessArrangement | None) -> exam_clock.Arrangements:
    if row is None:
        return exam_clock.NONE
    return exam_clock.Arrangements(
        extra_time_percent=row.extra_time_percent or 0,
        extra_time_minutes=row.extra_time_minutes or 0,
        time_limit_minutes=row.time_limit_minutes,
        rest_breaks=row.rest_breaks,
        rest_break_max_minutes=row.rest_break_max_minutes,
    )


def history(session: Session, learner: Learner) -> list[AccessArrangement]:
    """Every row of the learner's arrangements (all assessments), oldest first."""
    return list(
        session.scalars(
            select(AccessArrangement).where(*_of_learner(learner)).order_by(AccessArrangement.id)
        )
    )


def is_current(row: AccessArrangement) -> bool:
    return row.superseded_by is None


def set_arrangement(
    session: Session,
    learner: Learner,
    assessment: Assessment | None,
    new: NewArrangement,
    set_by_kind: SetBy,
    set_by: str,
    now: datetime | None = None,
) -> tuple[AccessArrangement | None, bool]:
    """Record `new` as the learner's arrangement for `assessment` (None: every assessment),
    superseding the current one. Returns (the current row, whether this call recorded it).
    The same values as the current row record nothing (the reason aside from values: a new
    reason alone is recorded). With no row yet, "no arrangements" records nothing either.
    Attempts in progress get their deadline moved at once."""
    cleaned = check(new)
    if cleaned.time_limit_minutes and assessment is None:
        message = "A different time limit is for one assessment: give its code."
        raise InvalidArrangement(message, {"time_limit_minutes": [message]})
    now = now or utcnow()
    assessment_id = assessment.id if assessment is not None else None
    before = current(session, learner, assessment_id)
    if (before is None and cleaned == NOTHING) or (
        before is not None and NewArrangement.of(before) == cleaned
    ):
        return before, False
    row = AccessArrangement(
        uuid=new_uuid(),
        centre_id=learner.centre_id,
        learner_ref=learner.ref,
        assessment_id=assessment_id,
        extra_time_percent=cleaned.extra_time_percent,
        extra_time_minutes=cleaned.extra_time_minutes,
        rest_breaks=cleaned.rest_breaks,
        rest_break_max_minutes=cleaned.rest_break_max_minutes,
        time_limit_minutes=cleaned.time_limit_minutes,
        reason=ReasonCategory(cleaned.reason) if cleaned.reason else None,
        set_by_kind=SetBy(set_by_kind),
        set_by=set_by,
        set_at=now,
        supersedes_id=before.id if before is not None else None,
    )
    session.add(row)
    session.flush()
    learners.identify(session, learner)
    if before is not None:
        session.refresh(before)
    for attempt in open_attempts(session, learner, assessment_id):
        # The attempt's write lock first, as saves, submits and breaks take it
        # (service.attempts._lock): a break taken meanwhile is in the deadline, not lost.
        session.execute(
            update(Attempt)
            .where(Attempt.id == attempt.id)
            .values(version=Attempt.version + 1)
            .execution_options(synchronize_session=False)
        )
        session.refresh(attempt)
        if attempt.status == AttemptStatus.IN_PROGRESS:
            refresh_deadline(session, attempt, now)
    return row, True


def open_attempts(session: Session, learner: Learner, assessment_id: int | None) -> list[Attempt]:
    """The learner's attempts in progress (at the assessment, or at any)."""
    query = select(Attempt).where(
        Attempt.status == AttemptStatus.IN_PROGRESS,
        Attempt.learner_ref == learner.ref,
        Attempt.centre_id.is_not_distinct_from(learner.centre_id),
    )
    if assessment_id is not None:
        query = query.where(Attempt.assessment_id == assessment_id)
    return list(session.scalars(query))


# ---------------------------------------------------------------------------- an attempt's clock


def clock_for(session: Session, attempt: Attempt, now: datetime) -> exam_clock.Clock:
    """The attempt's clock at `now`: its assessment's time limit, the learner's arrangements
    as they stand now, its Start and its rest breaks."""
    learner = Learner(attempt.learner_ref, attempt.centre_id)
    arranged = for_clock(effective(session, learner, attempt.assessment_id))
    breaks = [exam_clock.RestBreak(b.started_at, b.ended_at) for b in attempt.rest_breaks]
    return exam_clock.clock(
        attempt.assessment.time_limit_minutes, arranged, attempt.started_at, breaks, now
    )


def allowed_minutes(session: Session, learner: Learner, assessment: Assessment) -> int:
    """The most minutes an attempt of the learner's can last: the time allowed with extra
    time, and the rest break time that stops the clock (an hour when breaks are unlimited)."""
    arranged = for_clock(effective(session, learner, assessment.id))
    minutes = math.ceil(
        exam_clock.allowed_time(assessment.time_limit_minutes, arranged).total_seconds() / 60
    )
    if arranged.rest_breaks:
        minutes += arranged.rest_break_max_minutes or UNLIMITED_BREAKS_MINUTES
    return minutes


def live_deadline(session: Session, attempt: Attempt, now: datetime) -> datetime | None:
    """The deadline as stored, or while a rest break is open (the clock stopped), the
    clock's: the stored one counts the break only up to when it was last refreshed."""
    if attempt.deadline is None or not any(b.ended_at is None for b in attempt.rest_breaks):
        return attempt.deadline
    return clock_for(session, attempt, now).deadline


def refresh_deadline(session: Session, attempt: Attempt, now: datetime) -> exam_clock.Clock:
    """Store the attempt's deadline as the clock has it now (an open break counted to now).
    Called whenever Start, a break or the arrangements change."""
    session.refresh(attempt, ["rest_breaks"])
    state = clock_for(session, attempt, now)
    attempt.deadline = state.deadline
    keep_page_open(session, attempt)
    session.flush()
    return state


def first_deadline(
    session: Session, learner: Learner, assessment: Assessment, started_at: datetime
) -> datetime:
    """The deadline of an attempt whose clock starts at `started_at`, known before the attempt
    is written: it has no rest break yet, so the time limit and the learner's arrangements
    alone decide it (the clock `refresh_deadline` would store, without reading the attempt)."""
    arranged = for_clock(effective(session, learner, assessment.id))
    state = exam_clock.clock(assessment.time_limit_minutes, arranged, started_at, [], started_at)
    return state.deadline


def keep_page_open(session: Session, attempt: Attempt) -> None:
    """An LTI learner's launches must stay open as long as their clock runs: extend them to
    the attempt's deadline (one UPDATE; API attempts and unstarted ones have nothing to do)."""
    if attempt.deadline is not None and attempt.lti_platform_id is not None and attempt.lti_sub:
        sessions.keep_open_until(
            session, attempt.lti_platform_id, attempt.lti_sub, attempt.deadline
        )


def clock_view(session: Session, attempt: Attempt, now: datetime | None = None) -> dict:
    """The attempt's clock for the API and the pages: deadline, time left, the arrangements."""
    learner = Learner(attempt.learner_ref, attempt.centre_id)
    row = effective(session, learner, attempt.assessment_id)
    state = clock_for(session, attempt, now or utcnow())
    return {
        "started_at": attempt.started_at,
        "deadline": state.deadline,
        "time_allowed_seconds": int(state.allowed.total_seconds()),
        "time_left_seconds": int(state.time_left.total_seconds()),
        "running": state.running,
        "on_break": state.on_break,
        "break_seconds": int(state.break_time.total_seconds()),
        "break_seconds_left": int(state.break_time_left.total_seconds())
        if state.break_time_left is not None
        else None,
        "warnings": list(state.warnings),
        "arrangements": {
            "extra_time_percent": row.extra_time_percent,
            "extra_time_minutes": row.extra_time_minutes,
            "rest_breaks": row.rest_breaks,
            "rest_break_max_minutes": row.rest_break_max_minutes,
            "time_limit_minutes": row.time_limit_minutes,
            "reason": row.reason,
        }
        if row is not None
        else None,
    }

"""An attempt's clock in the domain: Start, supervised rest breaks, and where the clock stands.

What the learner's pages call (the start page, the timer, check your answers):
- `start(session, attempt)` when the learner chooses Start (the clock runs from then; a second
  Start changes nothing);
- `take_break(session, attempt)` / `end_break(session, attempt)` for a rest break, which stops
  the clock (only with an access arrangement allowing breaks);
- `state(session, attempt)` for the time left, the deadline, whether the clock runs, the break
  and the warnings due (5 and 1 minutes), as service/exam_clock.py computes them.

Each takes the attempt's write lock first (service.attempts._lock), as saves and submits do,
so a break and a save of one attempt are serialised. Refusals are typed errors (AttemptError
subclasses: each edge maps them, the API to 409). Callers own the transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from service import exam_clock
from service.access_arrangements import clock_for, effective, for_clock, refresh_deadline
from service.attempt_access import Learner
from service.attempts import (
    AttemptClosed,
    AttemptError,
    NotStarted,
    TimeLimitPassed,
    _lock,
    open_rest_break,
)
from service.grading.vocabulary import AttemptStatus
from service.models import Attempt, AttemptRestBreak, utcnow

__all__ = [
    "AlreadyOnBreak",
    "BreakNotAllowed",
    "BreakTimeUsed",
    "NotOnBreak",
    "NotStarted",
    "TimeLimitPassed",
    "end_break",
    "start",
    "state",
    "take_break",
]


class BreakNotAllowed(AttemptError):
    """No access arrangement allows this learner rest breaks in this assessment."""

    def __init__(self) -> None:
        super().__init__(
            "Rest breaks are not part of your access arrangements for this assessment."
        )


class BreakTimeUsed(BreakNotAllowed):
    """The arrangement's most break time is used up: the clock runs until the end."""

    def __init__(self) -> None:
        AttemptError.__init__(self, "You have used all the rest break time you are allowed.")


class AlreadyOnBreak(AttemptError):
    def __init__(self) -> None:
        super().__init__("You are already on a rest break.")


class NotOnBreak(AttemptError):
    def __init__(self) -> None:
        super().__init__("You are not on a rest break.")


def _open(attempt: Attempt) -> None:
    if attempt.status != AttemptStatus.IN_PROGRESS:
        raise AttemptClosed()


def start(session: Session, attempt: Attempt, now: datetime | None = None) -> exam_clock.Clock:
    """The learner chose Start: the clock runs from now, with their access arrangements. An
    attempt already started keeps its Start (a second click, another tab)."""
    _lock(session, attempt)
    now = now or utcnow()
    _open(attempt)
    if attempt.started_at is None:
        attempt.started_at = now
    return refresh_deadline(session, attempt, now)


def take_break(session: Session, attempt: Attempt, now: datetime | None = None) -> exam_clock.Clock:
    """Start a supervised rest break: the clock stops until `end_break` (or until the break
    allowance, if the arrangement sets a maximum, is used up)."""
    _lock(session, attempt)
    now = now or utcnow()
    _open(attempt)
    if attempt.started_at is None:
        raise NotStarted()
    learner = Learner(attempt.learner_ref, attempt.centre_id)
    if not for_clock(effective(session, learner, attempt.assessment_id)).rest_breaks:
        raise BreakNotAllowed()
    if open_rest_break(session, attempt) is not None:
        raise AlreadyOnBreak()
    before = clock_for(session, attempt, now)
    if before.time_up:
        raise TimeLimitPassed()
    if before.break_time_left is not None and before.break_time_left.total_seconds() <= 0:
        raise BreakTimeUsed()
    session.add(AttemptRestBreak(attempt_id=attempt.id, started_at=now))
    session.flush()
    return refresh_deadline(session, attempt, now)


def end_break(session: Session, attempt: Attempt, now: datetime | None = None) -> exam_clock.Clock:
    """End the learner's rest break: the clock runs again, the deadline moved by the break."""
    _lock(session, attempt)
    now = now or utcnow()
    _open(attempt)
    rest = open_rest_break(session, attempt)
    if rest is None:
        raise NotOnBreak()
    rest.ended_at = max(now, rest.started_at)
    session.flush()
    return refresh_deadline(session, attempt, now)


def state(session: Session, attempt: Attempt, now: datetime | None = None) -> exam_clock.Clock:
    """Where the attempt's clock stands now (read only): time left, deadline, running, on a
    break, break time left, warnings due."""
    return clock_for(session, attempt, now or utcnow())

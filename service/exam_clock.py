"""The exam clock: when a timed attempt must end, given the learner's access arrangements and
the rest breaks taken. Pure (no database, no Flask): the domain (service/access_arrangements.py,
service/attempt_clock.py) loads the rows and calls `clock`; the pages and the API show what it says.

The rules:
- The time allowed is the assessment's time limit (or the learner's different time limit for
  it), plus extra time: a percentage of that limit and/or a number of minutes. Seconds are
  rounded up, in the learner's favour.
- The clock starts when the learner chooses Start (`started_at`); until then nothing runs.
- A supervised rest break stops the clock: its length is added to the deadline. With a maximum
  (`rest_break_max_minutes`), break time beyond it counts as working time again, so the
  deadline can never be pushed out without bound. A break that starts after the time is up (or
  before Start) adds nothing.
- An open break (no end yet) has lasted until `now`: while it lasts, the time left stays
  where it was (the clock is stopped).
- Warnings are due when 5 and then 1 minute is left, while time is left.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

WARNING_MINUTES = (5, 1)


@dataclass(frozen=True)
class Arrangements:
    """A learner's access arrangements for one assessment, as the clock needs them."""

    extra_time_percent: int = 0
    extra_time_minutes: int = 0
    time_limit_minutes: int | None = None  # replaces the assessment's time limit
    rest_breaks: bool = False
    rest_break_max_minutes: int | None = None  # None: breaks are not limited

    @property
    def any(self) -> bool:
        return bool(
            self.extra_time_percent
            or self.extra_time_minutes
            or self.time_limit_minutes
            or self.rest_breaks
        )


NONE = Arrangements()


@dataclass(frozen=True)
class RestBreak:
    started_at: datetime
    ended_at: datetime | None = None  # None: the learner is on this break now


@dataclass(frozen=True)
class Clock:
    started: bool
    allowed: timedelta  # the time limit with extra time, breaks not included
    deadline: datetime | None  # None until Start
    time_left: timedelta  # never negative; the whole allowance before Start
    running: bool  # started, time left, and not on a break that stops it
    on_break: bool  # a break is open (it may have used up the break allowance)
    break_time: timedelta  # break time added to the deadline so far
    break_time_left: timedelta | None  # None: no limit (or no breaks allowed: zero)
    warnings: tuple[int, ...]  # the warnings due now, of WARNING_MINUTES, largest first

    @property
    def time_up(self) -> bool:
        return self.started and self.time_left == timedelta(0)

    @property
    def warning(self) -> int | None:
        """The most urgent warning due (1 once 1 minute is left, else 5), or None."""
        return self.warnings[-1] if self.warnings else None


def allowed_time(time_limit_minutes: int, arrangements: Arrangements = NONE) -> timedelta:
    """The time limit (or its replacement) with extra time, rounded up to whole seconds."""
    limit = arrangements.time_limit_minutes or time_limit_minutes
    base_seconds = limit * 60
    extra_seconds = math.ceil(base_seconds * arrangements.extra_time_percent / 100)
    return timedelta(seconds=base_seconds + extra_seconds + arrangements.extra_time_minutes * 60)


def _break_allowance(arrangements: Arrangements) -> timedelta | None:
    if not arrangements.rest_breaks:
        return timedelta(0)
    if arrangements.rest_break_max_minutes is None:
        return None
    return timedelta(minutes=arrangements.rest_break_max_minutes)


def clock(
    time_limit_minutes: int,
    arrangements: Arrangements,
    started_at: datetime | None,
    breaks: Sequence[RestBreak],
    now: datetime,
) -> Clock:
    """Where the attempt's clock stands at `now`. `breaks` need not be sorted; they must not
    overlap (the domain allows one open break at a time)."""
    allowed = allowed_time(time_limit_minutes, arrangements)
    allowance = _break_allowance(arrangements)
    if started_at is None:
        return Clock(False, allowed, None, allowed, False, False, timedelta(0), allowance, ())
    deadline = started_at + allowed
    used = timedelta(0)
    on_break = stopped = False
    for rest in sorted(breaks, key=lambda b: b.started_at):
        begin = max(rest.started_at, started_at)
        end = rest.ended_at if rest.ended_at is not None else max(now, begin)
        if rest.ended_at is None:
            on_break = True
        if begin >= deadline:
            continue  # taken after the time was up: adds nothing
        length = max(end - begin, timedelta(0))
        if allowance is not None:
            length = min(length, allowance - used)
        used += length
        deadline += length
        if rest.ended_at is None and (allowance is None or used < allowance):
            stopped = True  # the open break still stops the clock
    time_left = max(deadline - now, timedelta(0))
    warnings = tuple(m for m in WARNING_MINUTES if timedelta(0) < time_left <= timedelta(minutes=m))
    left = None if allowance is None else allowance - used
    running = time_left > timedelta(0) and not stopped
    return Clock(True, allowed, deadline, time_left, running, on_break, used, left, warnings)

"""An attempt's clock in the domain (service/attempt_clock.py): Start, rest breaks and their
typed refusals, and saves while the clock is stopped or past the deadline."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from service import access_arrangements as arrangements
from service import attempt_clock, attempts, bank, db
from service.access_vocabulary import SetBy
from service.attempt_access import Learner
from service.identifiers import new_uuid
from service.models import AccessArrangement, utcnow

ASSESSMENT = "CSC-02-A1"
_learners = itertools.count(1)


@pytest.fixture()
def session(app):
    with app.app_context():
        yield db.session()
        db.session().rollback()


def _setup(session, breaks: bool | None = True, max_minutes=None, start_clock=False):
    learner = Learner(f"clock-learner-{next(_learners)}", None)
    assessment = bank.get_assessment(session, ASSESSMENT)
    if breaks is not None:
        arrangements.set_arrangement(
            session,
            learner,
            None,
            arrangements.NewArrangement(rest_breaks=breaks, rest_break_max_minutes=max_minutes),
            SetBy.API_CLIENT,
            "client:test",
        )
    attempt = attempts.start_attempt(session, assessment, learner, start_clock=start_clock)
    session.commit()
    return attempt, assessment.time_limit_minutes


def test_the_clock_starts_at_start_not_when_the_attempt_is_opened(session):
    attempt, limit = _setup(session)
    opened = attempt.opened_at
    assert attempt.started_at is None and attempt.deadline is None
    state = attempt_clock.state(session, attempt)
    assert not state.started and not state.running
    with pytest.raises(attempts.NotStarted):
        attempts.save_responses(session, attempt, {})
    session.rollback()
    later = opened + timedelta(minutes=7)
    state = attempt_clock.start(session, attempt, now=later)
    assert attempt.started_at == later and attempt.deadline == later + timedelta(minutes=limit)
    assert state.running
    # A second Start (another tab) keeps the first.
    attempt_clock.start(session, attempt, now=later + timedelta(minutes=3))
    assert attempt.started_at == later


def test_a_rest_break_stops_the_clock_and_moves_the_deadline(session):
    attempt, limit = _setup(session)
    t0 = utcnow()
    attempt_clock.start(session, attempt, now=t0)
    on = attempt_clock.take_break(session, attempt, now=t0 + timedelta(minutes=10))
    assert on.on_break and not on.running
    with pytest.raises(attempt_clock.AlreadyOnBreak):
        attempt_clock.take_break(session, attempt, now=t0 + timedelta(minutes=11))
    # An autosave in flight when the break began is kept; a later save waits for the break.
    attempts.save_responses(session, attempt, {}, now=t0 + timedelta(minutes=10, seconds=5))
    with pytest.raises(attempts.OnBreak):
        attempts.save_responses(session, attempt, {}, now=t0 + timedelta(minutes=12))
    off = attempt_clock.end_break(session, attempt, now=t0 + timedelta(minutes=25))
    assert off.running and attempt.deadline == t0 + timedelta(minutes=limit + 15)
    with pytest.raises(attempt_clock.NotOnBreak):
        attempt_clock.end_break(session, attempt, now=t0 + timedelta(minutes=26))
    attempts.save_responses(session, attempt, {}, now=t0 + timedelta(minutes=limit + 10))


def test_breaks_need_an_arrangement_a_start_and_time_left(session):
    no_breaks, _ = _setup(session, breaks=None, start_clock=True)
    with pytest.raises(attempt_clock.BreakNotAllowed):
        attempt_clock.take_break(session, no_breaks)
    session.rollback()
    not_started, limit = _setup(session)
    with pytest.raises(attempt_clock.NotStarted):
        attempt_clock.take_break(session, not_started)
    session.rollback()
    t0 = utcnow()
    attempt_clock.start(session, not_started, now=t0)
    with pytest.raises(attempt_clock.TimeLimitPassed):
        attempt_clock.take_break(session, not_started, now=t0 + timedelta(minutes=limit + 1))


def test_break_time_beyond_the_maximum_runs_the_clock(session):
    attempt, limit = _setup(session, max_minutes=10)
    t0 = utcnow()
    attempt_clock.start(session, attempt, now=t0)
    attempt_clock.take_break(session, attempt, now=t0 + timedelta(minutes=5))
    state = attempt_clock.end_break(session, attempt, now=t0 + timedelta(minutes=30))
    assert attempt.deadline == t0 + timedelta(minutes=limit + 10)
    assert state.break_time_left == timedelta(0)
    with pytest.raises(attempt_clock.BreakTimeUsed):
        attempt_clock.take_break(session, attempt, now=t0 + timedelta(minutes=31))


def test_a_submitted_attempt_takes_no_break(session):
    attempt, _ = _setup(session, start_clock=True)
    attempts.submit(session, attempt)
    with pytest.raises(attempts.AttemptClosed):
        attempt_clock.take_break(session, attempt)


def test_opening_the_activity_still_starts_the_clock_until_the_start_page_lands(session):
    attempt, limit = _setup(session, breaks=None, start_clock=True)
    assert attempt.started_at == attempt.opened_at
    assert attempt.deadline == attempt.started_at + timedelta(minutes=limit)


def test_submitting_on_a_break_ends_the_break(session):
    attempt, _ = _setup(session, start_clock=True)
    attempt_clock.take_break(session, attempt)
    attempts.submit(session, attempt)
    assert attempts.open_rest_break(session, attempt) is None
    assert [b.ended_at is not None for b in attempt.rest_breaks] == [True]


def test_the_database_keeps_one_current_arrangement_per_learner_and_assessment(session):
    """Two changes at the same moment: both read the same current row (or none); the database
    lets one become current and refuses the other (the edges answer it 409)."""
    learner = Learner(f"clock-learner-{next(_learners)}", None)

    def row(supersedes=None):
        return AccessArrangement(
            uuid=new_uuid(),
            centre_id=None,
            learner_ref=learner.ref,
            assessment_id=None,
            extra_time_percent=25,
            rest_breaks=False,
            set_by_kind=SetBy.API_CLIENT,
            set_by="client:test",
            supersedes_id=supersedes,
        )

    first = row()
    session.add(first)
    session.flush()
    session.add(row())
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
    first = row()
    session.add(first)
    session.flush()
    session.add(row(first.id))
    session.flush()
    session.add(row(first.id))
    with pytest.raises(IntegrityError):
        session.flush()

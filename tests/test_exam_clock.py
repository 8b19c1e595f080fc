"""The exam clock (service/exam_clock.py): worked examples and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from service.exam_clock import NONE, Arrangements, RestBreak, allowed_time, clock

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def test_before_start_nothing_runs():
    state = clock(60, NONE, None, [], T0)
    assert not state.started and not state.running and state.deadline is None
    assert state.time_left == minutes(60) and not state.time_up


def test_extra_time_as_a_percentage_or_minutes_or_a_different_limit():
    assert allowed_time(60, Arrangements(extra_time_percent=25)) == minutes(75)
    assert allowed_time(60, Arrangements(extra_time_minutes=10)) == minutes(70)
    assert allowed_time(60, Arrangements(time_limit_minutes=90)) == minutes(90)
    # 25% of the learner's own limit; seconds rounded up in the learner's favour.
    assert allowed_time(60, Arrangements(time_limit_minutes=90, extra_time_percent=25)) == minutes(
        112.5
    )
    assert allowed_time(1, Arrangements(extra_time_percent=33)) == timedelta(seconds=80)


def test_a_rest_break_stops_the_clock_and_moves_the_deadline():
    arrangements = Arrangements(rest_breaks=True)
    rest = RestBreak(T0 + minutes(20))
    at_once = clock(60, arrangements, T0, [rest], T0 + minutes(20))
    assert at_once.on_break and not at_once.running  # stopped from the break's first moment
    during = clock(60, arrangements, T0, [rest], T0 + minutes(30))
    assert during.on_break and not during.running
    assert during.time_left == minutes(40)  # stopped at 20 minutes used
    later = clock(60, arrangements, T0, [rest], T0 + minutes(50))
    assert later.time_left == minutes(40)
    ended = RestBreak(T0 + minutes(20), T0 + minutes(35))
    after = clock(60, arrangements, T0, [ended], T0 + minutes(40))
    assert after.running and not after.on_break
    assert after.deadline == T0 + minutes(75) and after.time_left == minutes(35)
    assert after.break_time == minutes(15) and after.break_time_left is None


def test_breaks_beyond_the_maximum_count_as_working_time():
    arrangements = Arrangements(rest_breaks=True, rest_break_max_minutes=10)
    rest = RestBreak(T0 + minutes(20))
    state = clock(60, arrangements, T0, [rest], T0 + minutes(45))
    assert state.on_break and state.running  # the allowance is used up: the clock runs again
    assert state.deadline == T0 + minutes(70) and state.break_time_left == timedelta(0)


def test_breaks_count_only_when_allowed_and_before_the_time_is_up():
    rest = RestBreak(T0 + minutes(20), T0 + minutes(30))
    assert clock(60, NONE, T0, [rest], T0 + minutes(40)).deadline == T0 + minutes(60)
    late = RestBreak(T0 + minutes(61), T0 + minutes(70))
    state = clock(60, Arrangements(rest_breaks=True), T0, [late], T0 + minutes(80))
    assert state.deadline == T0 + minutes(60) and state.time_up and not state.running


def test_warnings_at_five_and_one_minute():
    assert clock(60, NONE, T0, [], T0 + minutes(54)).warnings == ()
    assert clock(60, NONE, T0, [], T0 + minutes(55)).warnings == (5,)
    assert clock(60, NONE, T0, [], T0 + minutes(55)).warning == 5
    assert clock(60, NONE, T0, [], T0 + minutes(59.5)).warnings == (5, 1)
    assert clock(60, NONE, T0, [], T0 + minutes(59.5)).warning == 1
    up = clock(60, NONE, T0, [], T0 + minutes(61))
    assert up.warnings == () and up.time_up and up.time_left == timedelta(0)


# ---------------------------------------------------------------------------- properties

offsets = st.integers(min_value=0, max_value=6 * 3600)  # seconds after Start


@st.composite
def arrangements(draw):
    return Arrangements(
        extra_time_percent=draw(st.integers(0, 100)),
        extra_time_minutes=draw(st.integers(0, 120)),
        time_limit_minutes=draw(st.none() | st.integers(1, 300)),
        rest_breaks=draw(st.booleans()),
        rest_break_max_minutes=draw(st.none() | st.integers(1, 120)),
    )


@st.composite
def break_lists(draw):
    """Non-overlapping breaks in time order; the last may be open."""
    points = sorted(draw(st.lists(offsets, min_size=0, max_size=8, unique=True)))
    if len(points) % 2:
        points = points[:-1]
    pairs = list(zip(points[::2], points[1::2], strict=True))
    breaks = [RestBreak(T0 + timedelta(seconds=a), T0 + timedelta(seconds=b)) for a, b in pairs]
    if breaks and draw(st.booleans()):
        breaks[-1] = RestBreak(breaks[-1].started_at)
    return breaks


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 240), arrangements(), break_lists(), offsets, offsets)
def test_adding_a_break_never_moves_the_deadline_earlier(limit, arranged, breaks, at, now_s):
    now = T0 + timedelta(seconds=now_s)
    before = clock(limit, arranged, T0, breaks, now)
    if any(b.ended_at is None for b in breaks):
        return  # one open break at a time: a new one follows a closed one
    start = T0 + timedelta(seconds=at)
    if any(b.started_at <= start < b.ended_at for b in breaks):
        return
    following = [b.started_at for b in breaks if b.started_at > start]
    end = min([start + timedelta(minutes=30), *following])
    after = clock(limit, arranged, T0, [*breaks, RestBreak(start, end)], now)
    assert after.deadline >= before.deadline


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 240),
    arrangements(),
    break_lists(),
    st.integers(0, 100),
    st.integers(0, 60),
    offsets,
)
def test_granting_extra_time_never_moves_the_deadline_earlier(
    limit, arranged, breaks, more_percent, more_minutes, now_s
):
    now = T0 + timedelta(seconds=now_s)
    before = clock(limit, arranged, T0, breaks, now)
    granted = Arrangements(
        extra_time_percent=arranged.extra_time_percent + more_percent,
        extra_time_minutes=arranged.extra_time_minutes + more_minutes,
        time_limit_minutes=arranged.time_limit_minutes,
        rest_breaks=arranged.rest_breaks,
        rest_break_max_minutes=arranged.rest_break_max_minutes,
    )
    after = clock(limit, granted, T0, breaks, now)
    assert after.deadline >= before.deadline
    assert after.time_left >= before.time_left


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 240), arrangements(), break_lists(), offsets)
def test_time_left_is_never_negative_and_matches_the_deadline(limit, arranged, breaks, now_s):
    now = T0 + timedelta(seconds=now_s)
    state = clock(limit, arranged, T0, breaks, now)
    assert state.time_left >= timedelta(0)
    assert state.time_left == max(state.deadline - now, timedelta(0))
    assert state.deadline == T0 + state.allowed + state.break_time
    if state.running:
        assert state.time_left > timedelta(0)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 240), break_lists(), offsets)
def test_breaks_sum_exactly(limit, breaks, now_s):
    """With breaks allowed and unlimited, every second of a break taken while time was left
    is added: the deadline is the allowance plus the breaks' exact total."""
    now = T0 + timedelta(seconds=now_s)
    arranged = Arrangements(rest_breaks=True)
    state = clock(limit, arranged, T0, breaks, now)
    deadline = T0 + allowed_time(limit, arranged)
    total = timedelta(0)
    for rest in breaks:  # in time order: each break pushes the deadline on for later ones
        end = rest.ended_at or max(now, rest.started_at)
        if rest.started_at < deadline:
            total += end - rest.started_at
            deadline += end - rest.started_at
    assert state.break_time == total
    assert state.deadline == T0 + allowed_time(limit, arranged) + total


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 240), arrangements(), break_lists(), offsets, st.integers(0, 3600))
def test_the_clock_never_runs_backwards(limit, arranged, breaks, now_s, later_s):
    """Time left never grows as time passes (breaks only stop the clock)."""
    now = T0 + timedelta(seconds=now_s)
    later = now + timedelta(seconds=later_s)
    assert (
        clock(limit, arranged, T0, breaks, later).time_left
        <= clock(limit, arranged, T0, breaks, now).time_left
    )

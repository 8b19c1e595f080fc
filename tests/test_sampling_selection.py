"""The pure selection of sampling plans: reproducible, complete where it promises, weighted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from service.sampling_selection import (
    NEW_ASSESSOR_DECISIONS,
    Candidate,
    new_assessors,
    select,
    unusual_criteria,
)
from service.sampling_vocabulary import SampleReason, SampleSource

START = datetime(2026, 1, 5, tzinfo=UTC)


def candidate(n, assessor="a:old", criterion="U1.AC1", met=True, days=0, **kw):
    return Candidate(
        key=f"k{n:04d}",
        source=kw.pop("source", SampleSource.ASSESSOR_MARK),
        method=kw.pop("method", "extended_response"),
        unit=kw.pop("unit", "U1"),
        criterion=criterion,
        assessor=assessor,
        met=met,
        decided_at=START + timedelta(days=days),
        **kw,
    )


candidates = st.lists(
    st.builds(
        lambda n, a, c, met, days, over, pe, unit: candidate(
            n,
            f"a:{a}",
            f"U{unit}.AC{c}",
            met,
            days,
            overturned=over,
            unit=f"U{unit}",
            source=SampleSource.PERFORMANCE_EVIDENCE if pe else SampleSource.ASSESSOR_MARK,
            method="observation" if pe else "extended_response",
        ),
        st.integers(0, 9999),
        st.integers(0, 4),
        st.integers(1, 4),
        st.booleans(),
        st.integers(0, 400),
        st.booleans(),
        st.booleans(),
        st.integers(1, 3),
    ),
    max_size=60,
    unique_by=lambda c: c.key,
)


@settings(max_examples=150, deadline=None)
@given(candidates, st.integers(0, 40), st.text(max_size=12), st.randoms())
def test_same_seed_same_data_same_sample_in_any_order(pool, size, seed, rnd):
    shuffled = list(pool)
    rnd.shuffle(shuffled)
    assert select(pool, size, seed) == select(shuffled, size, seed)


@settings(max_examples=150, deadline=None)
@given(candidates, st.integers(0, 40), st.text(max_size=12))
def test_size_respected_and_nothing_twice(pool, size, seed):
    chosen = select(pool, size, seed)
    assert len(chosen) == min(size, len(pool))
    assert len({c.candidate.key for c in chosen}) == len(chosen)
    assert all(c.reasons for c in chosen)


@settings(max_examples=150, deadline=None)
@given(candidates, st.integers(0, 10), st.text(max_size=12))
def test_overturned_and_new_assessors_always_in_when_size_allows(pool, extra, seed):
    overturned = {c.key for c in pool if c.overturned}
    new = new_assessors(pool)
    size = len(overturned) + len(new) + extra
    chosen = select(pool, size, seed)
    keys = {c.candidate.key for c in chosen}
    assert overturned <= keys
    assert new <= {c.candidate.assessor for c in chosen}
    for c in chosen:
        if c.candidate.overturned:
            assert SampleReason.OVERTURNED in c.reasons


@settings(max_examples=100, deadline=None)
@given(candidates, st.text(max_size=12))
def test_every_assessor_unit_and_method_covered_when_size_allows(pool, seed):
    groups = (
        len({c.assessor for c in pool})
        + len({c.unit for c in pool})
        + len({c.method for c in pool})
        + len({c.key for c in pool if c.overturned})
        + len(unusual_criteria(pool))
    )
    chosen = select(pool, groups, seed)
    assert {c.candidate.assessor for c in chosen} == {c.assessor for c in pool}
    assert {c.candidate.unit for c in chosen} == {c.unit for c in pool}
    assert {c.candidate.method for c in chosen} == {c.method for c in pool}


def test_new_assessor_by_recent_start_or_few_decisions():
    old = [candidate(n, "a:old", days=n) for n in range(200)]
    recent = [candidate(1000 + n, "a:recent", days=150 + n) for n in range(10)]
    few = [candidate(2000 + n, "a:few", days=n * 20) for n in range(NEW_ASSESSOR_DECISIONS - 1)]
    assert new_assessors(old + recent + few) == {"a:recent", "a:few"}


def test_unusual_pass_rate_flagged_and_sampled():
    usual = [candidate(n, criterion=f"U1.AC{n % 3}", met=n % 4 != 0) for n in range(60)]
    odd = [candidate(100 + n, criterion="U1.AC9", met=False) for n in range(5)]
    assert unusual_criteria(usual + odd) == {"U1.AC9"}
    chosen = select(usual + odd, 3, "seed")
    assert any(c.candidate.criterion == "U1.AC9" for c in chosen)


def test_different_seeds_usually_differ():
    pool = [candidate(n, f"a:{n % 3}", days=n) for n in range(300)]
    samples = {tuple(c.candidate.key for c in select(pool, 10, str(s))) for s in range(5)}
    assert len(samples) > 1


def test_draw_weighted_towards_risk():
    # Performance evidence weighs 2 against a plain mark's 1: over many seeds it is drawn
    # clearly more often than its share of the pool.
    pool = [candidate(n, "a:old", days=n * 5) for n in range(80)] + [
        candidate(500 + n, "a:old", days=n * 5, source=SampleSource.PERFORMANCE_EVIDENCE)
        for n in range(20)
    ]
    drawn = 0
    for s in range(200):
        drawn += sum(
            c.candidate.source == SampleSource.PERFORMANCE_EVIDENCE
            for c in select(pool, 10, f"s{s}")
        )
    assert drawn / (200 * 10) > 0.28  # its share of the pool is 0.2

"""Choosing a sampling plan's decisions: pure (no database), reproducible, risk-weighted.

The way UK external quality assurance builds a sample (CAMERA): every assessor appears, new
assessors are looked at more, decisions that were overturned are always looked at, criteria
whose pass rate is far from the centre's mean are looked at, and every unit and assessment
method is covered; the rest is a draw weighted towards those risks.

Reproducible: the same candidates (in any order) with the same seed give the same sample.
Nothing depends on the clock: "new" is measured from the latest decision among the candidates.

The sample is filled in passes, each taking what it needs in a seeded random order while room
remains: (1) every overturned decision, (2) one decision of each new assessor, (3) one of each
other assessor, (4) one of each unit, then of each method, not yet covered, (5) one of each
criterion with an unusual pass rate, (6) a weighted draw without replacement. So with size at
least (number of overturned decisions + number of new assessors), every overturned decision
and every new assessor is in the sample.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.sampling_vocabulary import SampleReason, SampleSource

# An assessor is new if their first decision is within this of the latest decision...
NEW_ASSESSOR_WINDOW = timedelta(days=90)
# ...or if they have made fewer decisions than this.
NEW_ASSESSOR_DECISIONS = 5
# A criterion's pass rate this far from the centre's mean (in proportion, 0..1) is unusual,
# once it has this many decisions (fewer say nothing).
UNUSUAL_RATE_GAP = 0.25
UNUSUAL_MIN_DECISIONS = 3
# Extra weight in the final draw for each risk a decision carries (a plain one weighs 1).
RISK_WEIGHTS = {
    SampleReason.OVERTURNED: 4.0,
    SampleReason.NEW_ASSESSOR: 3.0,
    SampleReason.UNUSUAL_PASS_RATE: 2.0,
    SampleReason.PERFORMANCE_EVIDENCE: 1.0,
}


@dataclass(frozen=True)
class Candidate:
    """One assessor decision that may be sampled. `key` identifies it for good (and orders
    the candidates, so the caller's order never matters)."""

    key: str
    source: SampleSource
    method: str  # "extended_response", or the performance evidence type
    unit: str
    criterion: str
    assessor: str
    met: bool
    decided_at: datetime
    overturned: bool = False


@dataclass(frozen=True)
class Chosen:
    candidate: Candidate
    reasons: tuple[SampleReason, ...]


def new_assessors(candidates: Sequence[Candidate]) -> set[str]:
    if not candidates:
        return set()
    latest = max(c.decided_at for c in candidates)
    first: dict[str, datetime] = {}
    count: dict[str, int] = defaultdict(int)
    for c in candidates:
        first[c.assessor] = min(first.get(c.assessor, c.decided_at), c.decided_at)
        count[c.assessor] += 1
    return {
        a
        for a in first
        if latest - first[a] <= NEW_ASSESSOR_WINDOW or count[a] < NEW_ASSESSOR_DECISIONS
    }


def unusual_criteria(candidates: Sequence[Candidate]) -> set[str]:
    """Criteria whose pass rate is at least UNUSUAL_RATE_GAP from the mean pass rate of all the
    centre's decisions."""
    if not candidates:
        return set()
    mean = sum(c.met for c in candidates) / len(candidates)
    by_criterion: dict[str, list[bool]] = defaultdict(list)
    for c in candidates:
        by_criterion[c.criterion].append(c.met)
    return {
        code
        for code, decisions in by_criterion.items()
        if len(decisions) >= UNUSUAL_MIN_DECISIONS
        and abs(sum(decisions) / len(decisions) - mean) >= UNUSUAL_RATE_GAP
    }


def risks(candidates: Sequence[Candidate]) -> dict[str, tuple[SampleReason, ...]]:
    """Every candidate's risk flags, by key."""
    new = new_assessors(candidates)
    unusual = unusual_criteria(candidates)
    flags = {}
    for c in candidates:
        found = []
        if c.overturned:
            found.append(SampleReason.OVERTURNED)
        if c.assessor in new:
            found.append(SampleReason.NEW_ASSESSOR)
        if c.criterion in unusual:
            found.append(SampleReason.UNUSUAL_PASS_RATE)
        if c.source == SampleSource.PERFORMANCE_EVIDENCE:
            found.append(SampleReason.PERFORMANCE_EVIDENCE)
        flags[c.key] = tuple(found)
    return flags


def select(candidates: Iterable[Candidate], size: int, seed: str) -> list[Chosen]:
    """At most `size` candidates, in the order chosen, each with why (see the module doc)."""
    pool = sorted(candidates, key=lambda c: c.key)
    rng = random.Random(seed)
    flags = risks(pool)
    new = new_assessors(pool)
    chosen: dict[str, SampleReason] = {}  # key -> the pass that chose it (insertion ordered)

    def take_one_each(group_of: Callable[[Candidate], str | None], reason: SampleReason) -> None:
        """One candidate of each group with none chosen yet, groups in seeded order."""
        covered = {group_of(c) for c in pool if c.key in chosen}
        groups: dict[str, list[Candidate]] = defaultdict(list)
        for c in pool:
            group = group_of(c)
            if group is not None and group not in covered and c.key not in chosen:
                groups[group].append(c)
        names = sorted(groups)
        rng.shuffle(names)
        for name in names:
            if len(chosen) >= size:
                return
            chosen[rng.choice(groups[name]).key] = reason

    overturned = [c for c in pool if c.overturned]
    rng.shuffle(overturned)
    for c in overturned[:size]:
        chosen[c.key] = SampleReason.OVERTURNED
    take_one_each(lambda c: c.assessor if c.assessor in new else None, SampleReason.NEW_ASSESSOR)
    take_one_each(lambda c: c.assessor, SampleReason.ASSESSOR_COVERAGE)
    # Units and methods are separate dimensions (CAMERA's E and M): covering every pair of
    # them would fill a small sample with coverage alone.
    take_one_each(lambda c: c.unit, SampleReason.UNIT_METHOD_COVERAGE)
    take_one_each(lambda c: c.method, SampleReason.UNIT_METHOD_COVERAGE)
    unusual = unusual_criteria(pool)
    take_one_each(
        lambda c: c.criterion if c.criterion in unusual else None, SampleReason.UNUSUAL_PASS_RATE
    )
    rest = [c for c in pool if c.key not in chosen]
    while rest and len(chosen) < size:
        weights = [1.0 + sum(RISK_WEIGHTS[f] for f in flags[c.key]) for c in rest]
        picked = rng.choices(range(len(rest)), weights=weights)[0]
        chosen[rest.pop(picked).key] = SampleReason.RANDOM

    by_key = {c.key: c for c in pool}
    result = []
    for key, reason in chosen.items():
        reasons = [reason] + [f for f in flags[key] if f != reason]
        if reason == SampleReason.RANDOM and len(reasons) > 1:
            reasons = reasons[1:]  # drawn for its risks, not by chance alone
        result.append(Chosen(by_key[key], tuple(reasons)))
    return result

"""Draws many forms per unit from the real item bank and checks the grading model's form rules.

    .venv/bin/python -m bench.forms [forms_per_unit]     (default 10,000)

Per unit it prints:
- coverage: the fewest and most auto items any criterion got on any form (both must equal the
  assessment's auto_items_per_criterion), and per criterion the share of forms with an extended
  response covering it (100% for every merit and distinction criterion);
- single-item decisions: criteria decided by one auto item alone (must be 0);
- total marks (one per auto item plus the extended responses' rubric scores) and the extended
  responses' share of them, lowest to highest over the forms; the raw item points for contrast;
- a random guesser: the share of forms on which guessing every auto item meets the auto
  evidence of every pass-band criterion (short answers left blank: they cannot be guessed;
  extended responses, which a guesser would also have to pass, are left out).
It exits 1 if any rule is broken or a form cannot be drawn. It reads whatever the bank holds, so
it still works while pools grow.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations

from bench.scoring import draw_form, unit_setups
from service.grading.evidence import counted_for
from service.grading.forms import FormError
from service.grading.scoring import EXTENDED, ItemKey, share_for


@dataclass
class UnitStats:
    unit: str
    per_criterion: int
    assessor_decided: tuple[str, ...]
    criteria: tuple[str, ...]
    forms: int = 0
    fewest: int = 10**6
    most: int = 0
    with_extended: Counter = field(default_factory=Counter)
    single_item: int = 0
    not_with_broken: int = 0
    marks: list[int] = field(default_factory=list)
    points: list[int] = field(default_factory=list)
    extended_share: list[float] = field(default_factory=list)
    guesser_met_all: int = 0
    problems: list[str] = field(default_factory=list)


def guess(item: ItemKey, rng: random.Random):
    """A response from someone who does not know the answer."""
    if item.type == "single_choice":
        return rng.choice(item.options)
    if item.type == "multiple_response":
        return rng.sample(item.options, rng.randint(1, len(item.options)))
    if item.type == "ordering":
        return rng.sample(item.order, len(item.order))
    if item.type == "matching":
        return {p: rng.choice(item.responses) for p in item.options}
    return None  # short text: nothing to guess from


def check_form(stats: UnitStats, form: list[ItemKey], mastery: float, rng: random.Random) -> None:
    stats.forms += 1
    auto = [i for i in form if i.type != EXTENDED]
    extended = [i for i in form if i.type == EXTENDED]
    per = Counter(counted_for(i) for i in auto)
    for code in stats.criteria:
        stats.fewest = min(stats.fewest, per[code])
        stats.most = max(stats.most, per[code])
        covered = any(code in i.criteria for i in extended)
        stats.with_extended[code] += covered
        # decided by one auto item alone: a pass criterion with one item and no essay
        if code not in stats.assessor_decided and per[code] < 2 and not covered:
            stats.single_item += 1
    if any(a.id in b.not_with or b.id in a.not_with for a, b in combinations(form, 2)):
        stats.not_with_broken += 1
    essay_marks = sum(i.points for i in extended)
    total = len(auto) + essay_marks
    stats.marks.append(total)
    stats.points.append(sum(i.points for i in form))
    stats.extended_share.append(essay_marks / total if total else 0.0)
    earned = Counter()
    for item in auto:
        earned[counted_for(item)] += share_for(item, guess(item, rng))
    decided_by_auto = [c for c in stats.criteria if c not in stats.assessor_decided]
    if all(earned[c] >= mastery * per[c] - 1e-9 for c in decided_by_auto):
        stats.guesser_met_all += 1


def run_unit(setup: tuple, count: int) -> UnitStats:
    rules, bank, _, assessment = setup
    unit = rules.criteria[0].code.split(".")[0]
    stats = UnitStats(
        unit,
        assessment["auto_items_per_criterion"],
        rules.assessor_decided,
        tuple(c.code for c in rules.criteria),
    )
    rng = random.Random(unit)
    for n in range(count):
        try:
            form = draw_form(rules, bank, assessment, f"bench-{n}")
        except FormError as exc:
            stats.problems.append(f"no form can be drawn: {exc}")
            return stats
        check_form(stats, form, rules.mastery_percent / 100, rng)
    if (stats.fewest, stats.most) != (stats.per_criterion, stats.per_criterion):
        stats.problems.append(
            f"auto items per criterion range {stats.fewest}-{stats.most}, "
            f"must be exactly {stats.per_criterion}"
        )
    if stats.single_item:
        stats.problems.append(f"{stats.single_item} criterion decisions rest on one item")
    for code in stats.assessor_decided:
        if stats.with_extended[code] != stats.forms:
            stats.problems.append(f"{code} (merit/distinction) lacks an extended response")
    if stats.not_with_broken:
        stats.problems.append(f"{stats.not_with_broken} forms hold a not_with pair")
    return stats


def _range(values: list, fmt: str = "{}") -> str:
    low, high = min(values), max(values)
    return fmt.format(low) if low == high else f"{fmt.format(low)}-{fmt.format(high)}"


def report(stats: UnitStats) -> None:
    print(f"{stats.unit}: {stats.forms:,} forms")
    if not stats.forms:
        print(f"  PROBLEM {stats.problems[0]}")
        return
    print(
        f"  coverage: auto items per criterion {stats.fewest}-{stats.most} "
        f"(rule: exactly {stats.per_criterion})"
    )
    shares = ", ".join(
        f"{code.split('.')[1]}{'*' if code in stats.assessor_decided else ''} "
        f"{stats.with_extended[code] / stats.forms:.0%}"
        for code in stats.criteria
    )
    print(f"  forms with an extended response covering (* merit/distinction): {shares}")
    print(f"  single-item decisions: {stats.single_item}")
    print(
        f"  total marks {_range(stats.marks)} (raw item points {_range(stats.points)}); "
        f"extended-response share {_range(stats.extended_share, '{:.0%}')}"
    )
    print(
        "  random guesser meets the auto evidence of every pass-band criterion on "
        f"{stats.guesser_met_all / stats.forms:.2%} of forms"
    )
    for problem in stats.problems:
        print(f"  PROBLEM {problem}")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    results = [run_unit(setup, count) for setup in unit_setups()]
    for stats in results:
        report(stats)
    broken = [s.unit for s in results if s.problems]
    print("rules broken in: " + ", ".join(broken) if broken else "every rule holds")
    sys.exit(1 if broken else 0)


if __name__ == "__main__":
    main()

"""Building a learner's form: which items an attempt holds, and in what order options appear.

The rules (MODEL.md, "How a form is drawn"):
- every criterion of the unit gets exactly `per_criterion` auto-scored items from its own pool;
  an auto item counts for exactly one criterion (evidence.counted_for), so no item fills two
  criteria and every form gives every criterion the same auto marks;
- `extended` extended responses are drawn among the sets that together cover every criterion in
  `needs_extended` (the merit and distinction criteria of a graded unit): such a criterion is
  decided by assessor-marked work, so the form must hold some;
- two items marked `not_with` each other (one gives the other's answer away) never share a form.
Forms built from different seeds differ but have the same shape; the same seed always gives the
same form. A bank that cannot meet the rules raises FormError (the content check runs this at
load, so a thin pool is refused before any learner meets it).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from itertools import combinations

from service.grading.evidence import counted_for
from service.grading.scoring import EXTENDED, ItemKey

# Draws tried per extended-response set before the next set is tried: not_with pairs can make
# a greedy draw dead-end where another order would succeed.
DRAWS_PER_SET = 20


class FormError(ValueError):
    """The item bank cannot fill the form the assessment asks for."""


def rng_for(*parts: str) -> random.Random:
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _apart(item: ItemKey, other: ItemKey) -> bool:
    return item.id not in other.not_with and other.id not in item.not_with


def _compatible(items: Sequence[ItemKey]) -> bool:
    return all(_apart(a, b) for a, b in combinations(items, 2))


def extended_sets(
    bank: Sequence[ItemKey], extended: int, needs_extended: Sequence[str] = ()
) -> list[tuple[ItemKey, ...]]:
    """Every set of `extended` extended responses a form may hold: no not_with pair inside it,
    and together they cover every criterion of `needs_extended`."""
    pool = [i for i in bank if i.type == EXTENDED]
    if len(pool) < extended:
        raise FormError(f"{len(pool)} extended-response item(s), need {extended}")
    sets = [
        chosen
        for chosen in combinations(pool, extended)
        if _compatible(chosen)
        and all(any(code in i.criteria for i in chosen) for code in needs_extended)
    ]
    if not sets:
        raise FormError(
            f"no {extended} extended response(s) together cover "
            f"{', '.join(needs_extended) or 'the form'} (merit and distinction criteria need one)"
        )
    return sets


def _draw_auto(
    criteria: Sequence[str],
    pools: dict[str, list[ItemKey]],
    per_criterion: int,
    taken: list[ItemKey],
    rng: random.Random,
) -> list[ItemKey] | None:
    chosen: list[ItemKey] = []
    for code in criteria:
        drawn = 0
        for item in rng.sample(pools[code], len(pools[code])):
            if drawn == per_criterion:
                break
            if all(_apart(item, other) for other in taken + chosen):
                chosen.append(item)
                drawn += 1
        if drawn < per_criterion:
            return None
    return chosen


def build_form(
    criteria: Sequence[str],
    bank: Sequence[ItemKey],
    per_criterion: int,
    extended: int,
    seed: str,
    needs_extended: Sequence[str] = (),
) -> list[str]:
    """The item ids of one form: auto items criterion by criterion, then extended responses."""
    if per_criterion < 1:
        raise FormError("a form needs at least one auto-scored item per criterion")
    auto = [i for i in bank if i.type != EXTENDED]
    pools = {code: [i for i in auto if counted_for(i) == code] for code in criteria}
    for code in criteria:
        if len(pools[code]) < per_criterion:
            raise FormError(
                f"criterion {code}: {len(pools[code])} auto-scored item(s), need {per_criterion}"
            )
    rng = rng_for("form", seed)
    sets = extended_sets(bank, extended, needs_extended)
    for chosen_extended in rng.sample(sets, len(sets)):
        for _ in range(DRAWS_PER_SET):
            chosen = _draw_auto(criteria, pools, per_criterion, list(chosen_extended), rng)
            if chosen is not None:
                return [i.id for i in (*chosen, *chosen_extended)]
    raise FormError(
        f"not_with pairs leave no form with {per_criterion} auto-scored item(s) per criterion"
    )


def shuffled(
    ids: Sequence[str], seed: str, item_id: str, avoid_identity: bool = False
) -> list[str]:
    """The order a learner sees options or steps in. Ordering items never show the key's order."""
    order = list(ids)
    rng_for("options", seed, item_id).shuffle(order)
    if avoid_identity and len(order) > 1 and order == list(ids):
        order = order[1:] + order[:1]
    return order

"""Building a learner's form: which items an attempt holds, and in what order options appear.

A form draws `extended` extended-response items, then `per_criterion` auto-scored items for
each criterion from that criterion's pool (auto items already drawn for another criterion count
toward it). The learner sees the auto-scored items first. Two items marked `not_with` each
other (one gives the other's answer away) never share a form. Every form therefore evidences
every criterion; forms built from different seeds differ but have the same shape. The same
seed always gives the same form.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence

from service.grading.scoring import EXTENDED, ItemKey


class FormError(ValueError):
    """The item bank cannot fill the form the assessment asks for."""


def rng_for(*parts: str) -> random.Random:
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def build_form(
    criteria: Sequence[str],
    bank: Sequence[ItemKey],
    per_criterion: int,
    extended: int,
    seed: str,
) -> list[str]:
    rng = rng_for("form", seed)
    auto = [i for i in bank if i.type != EXTENDED]
    chosen: list[ItemKey] = []

    def allowed(item: ItemKey) -> bool:
        return item not in chosen and not any(
            item.id in other.not_with or other.id in item.not_with for other in chosen
        )

    # Extended responses first: an extended response is `not_with` the auto items its case
    # material gives away, and auto pools have room to avoid those; drawn last, a form could
    # exclude every extended response.
    extended_pool = [i for i in bank if i.type == EXTENDED]
    if len(extended_pool) < extended:
        raise FormError(f"{len(extended_pool)} extended-response item(s), need {extended}")
    essays = rng.sample(extended_pool, extended)
    chosen.extend(essays)
    for code in criteria:
        have = sum(1 for i in chosen if code in i.criteria and i.type != EXTENDED)
        pool = [i for i in auto if code in i.criteria and allowed(i)]
        need = per_criterion - have
        if need <= 0:
            continue
        if len(pool) < need:
            raise FormError(f"criterion {code}: {len(pool)} auto-scored item(s), need {need}")
        chosen.extend(rng.sample(pool, need))
    # The learner meets the auto-scored items first, as before.
    return [i.id for i in chosen if i.type != EXTENDED] + [i.id for i in essays]


def shuffled(
    ids: Sequence[str], seed: str, item_id: str, avoid_identity: bool = False
) -> list[str]:
    """The order a learner sees options or steps in. Ordering items never show the key's order."""
    order = list(ids)
    rng_for("options", seed, item_id).shuffle(order)
    if avoid_identity and len(order) > 1 and order == list(ids):
        order = order[1:] + order[:1]
    return order

"""Which criterion an item's evidence counts for: one rule shared by the form builder, the
engine, the loader's checks and the bench.

An auto-scored item counts for exactly ONE criterion: its first. New items are tagged with one
criterion; a legacy item tagged with several counts for the first only (the others are where it
came from, not what it decides). An extended response evidences every criterion it lists:
the assessor rates each of them.
"""

from __future__ import annotations

from service.grading.scoring import EXTENDED, ItemKey


def counted_for(item: ItemKey) -> str | None:
    """The one criterion an auto-scored item's marks count towards (None: it has none)."""
    return item.criteria[0] if item.criteria else None


def evidences(item: ItemKey, criterion: str) -> bool:
    """Whether the item is evidence of the criterion in an attempt."""
    if item.type == EXTENDED:
        return criterion in item.criteria
    return counted_for(item) == criterion

"""The words of the item bank's provenance, defined once (models, the loader, schemas, CLI)."""

from __future__ import annotations

from enum import StrEnum


class ItemStatus(StrEnum):
    """Where an item is on its way to live use. `draft` and `reviewed` come from the item's
    review record in criteria_data/; only the awarding body makes an item `approved`, through
    the API or the CLI, and that approval lives in the database (who, when, which version)."""

    DRAFT = "draft"
    REVIEWED = "reviewed"
    APPROVED = "approved"

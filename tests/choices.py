"""Tests answer as a learner does: by the choices' texts, which the attempt shows under its own
opaque ids. These helpers turn a response written in the bank's ids (read from the authoring
view or criteria_data) into the ids an attempt's view shows."""

from __future__ import annotations

from typing import Any

from service.choice_ids import CHOICE_TYPES, choices_of


def shown_ids(shown: dict, body: dict) -> dict[str, str]:
    """Bank id -> the id the attempt shows it under, matched by text."""
    mapping = {}
    for field in choices_of(body):
        by_text = {c["text"]: c["id"] for c in shown[field]}
        mapping.update({c["id"]: by_text[c["text"]] for c in body[field]})
    return mapping


def as_shown(shown: dict, body: dict, response: Any) -> Any:
    """`response` (bank ids) in the ids of `shown`, the item as the attempt shows it."""
    if body["type"] not in CHOICE_TYPES or response is None:
        return response
    ids = shown_ids(shown, body)
    if isinstance(response, str):
        return ids[response]
    if isinstance(response, list):
        return [ids[r] for r in response]
    return {ids[p]: ids[r] for p, r in response.items()}

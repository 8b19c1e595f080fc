"""Turn an item as written in criteria_data/ into the grading engine's ItemKey."""

from __future__ import annotations

from service.grading.scoring import ItemKey, normalise_text


def item_key(unit_code: str, body: dict, rubric_max: dict[str, int]) -> ItemKey:
    """`rubric_max` maps full criterion codes to their rubric's top score."""
    criteria = tuple(f"{unit_code}.{c}" for c in body["criteria"])
    common = {
        "not_with": frozenset(body.get("not_with", [])),
        "id": body["id"],
        "type": body["type"],
        "points": body["points"],
        "criteria": criteria,
    }
    kind = body["type"]
    if kind in ("single_choice", "multiple_response"):
        return ItemKey(
            **common,
            options=tuple(o["id"] for o in body["options"]),
            correct=frozenset(o["id"] for o in body["options"] if o["correct"]),
        )
    if kind == "ordering":
        order = tuple(s["id"] for s in body["steps"])
        return ItemKey(**common, options=order, order=order)
    if kind == "matching":
        return ItemKey(
            **common,
            options=tuple(p["id"] for p in body["premises"]),
            pairs={p["id"]: p["match"] for p in body["premises"]},
            responses=tuple(r["id"] for r in body["responses"]),
        )
    if kind == "short_text":
        return ItemKey(
            **common,
            accepted=tuple(normalise_text(a) for a in body["accepted_answers"]),
            rejected=tuple(normalise_text(a) for a in body.get("rejected_answers", [])),
        )
    return ItemKey(**common, rubric_max={c: rubric_max[c] for c in criteria})

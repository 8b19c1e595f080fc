"""What a learner is told about a response after submitting: the item's own feedback."""

from __future__ import annotations

from typing import Any

from service.grading.scoring import normalise_text


def feedback_for(body: dict, response: Any) -> list[str]:
    kind = body["type"]
    if kind in ("single_choice", "multiple_response"):
        chosen = {response} if isinstance(response, str) else set(response or [])
        # The chosen options' feedback, then why each keyed option that was missed is right.
        return [o["feedback"] for o in body["options"] if o["id"] in chosen] + [
            o["feedback"] for o in body["options"] if o["correct"] and o["id"] not in chosen
        ]
    if kind == "ordering":
        return [s["feedback"] for s in body["steps"]]
    if kind == "matching":
        return [p["feedback"] for p in body["premises"]]
    if kind == "short_text":
        accepted = {normalise_text(a) for a in body["accepted_answers"]}
        right = isinstance(response, str) and normalise_text(response) in accepted
        return [body["feedback"]["correct" if right else "incorrect"]]
    return []

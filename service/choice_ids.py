"""Opaque, per-attempt ids for the choices a learner is shown, and the order they are shown in.

The bank's own ids (A, B, S1, P1, R1...) follow the authors' pattern: shown to a learner they
give keys away (the key is often A, ordering steps are numbered in the key's order, premise i
often pairs with response i). So a learner never sees them: each shown choice gets an id that
is an HMAC of the server's secret, the attempt (its uuid), the item and the bank id. No table
is needed: the way back is computed from the item's own ids. A token that is not one of the
item's, in this attempt, is refused (UnknownChoice), never guessed at.

The display order is drawn from the same secret, so neither the learner's name nor the attempt
number lets anyone work it out. Responses are stored with bank ids: the grading core never
sees a token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from typing import Any

# 12 bytes of the MAC: 96 bits, 16 url-safe characters; "c" keeps it a valid HTML id start.
_MAC_BYTES = 12
CHOICE_TYPES = ("single_choice", "multiple_response", "ordering", "matching")


class UnknownChoice(ValueError):
    """A choice id that is not one of the item's in this attempt (forged, stale or foreign)."""

    def __init__(self, item_code: str, token: str) -> None:
        super().__init__(f"{token!r} is not one of this question's choices.")
        self.item_code, self.token = item_code, token


def choices_of(body: dict) -> dict[str, list[str]]:
    """Every list of choices an item shows, by its field: the bank ids, in bank order."""
    kind = body["type"]
    if kind in ("single_choice", "multiple_response"):
        return {"options": [o["id"] for o in body["options"]]}
    if kind == "ordering":
        return {"steps": [s["id"] for s in body["steps"]]}
    if kind == "matching":
        return {
            "premises": [p["id"] for p in body["premises"]],
            "responses": [r["id"] for r in body["responses"]],
        }
    return {}


class ChoiceIds:
    """The opaque ids and display order of one attempt (`scope`: the attempt's uuid)."""

    def __init__(self, secret: str, scope: str) -> None:
        self._secret, self._scope = secret.encode(), scope

    def _mac(self, *parts: str) -> bytes:
        message = "\x1f".join((self._scope, *parts)).encode()
        return hmac.new(self._secret, message, hashlib.sha256).digest()

    def token(self, item_code: str, bank_id: str) -> str:
        mac = self._mac("choice", item_code, bank_id)[:_MAC_BYTES]
        return "c" + base64.urlsafe_b64encode(mac).decode()

    def bank_id(self, item_code: str, token: Any, bank_ids: list[str]) -> str:
        for bank_id in bank_ids:
            if isinstance(token, str) and hmac.compare_digest(
                self.token(item_code, bank_id), token
            ):
                return bank_id
        raise UnknownChoice(item_code, str(token))

    def order(
        self, item_code: str, field: str, bank_ids: list[str], avoid_identity: bool = False
    ) -> list[str]:
        """The order a learner sees a list of choices in; ordering items never show the key's."""
        order = list(bank_ids)
        seed = int.from_bytes(self._mac("order", item_code, field)[:8], "big")
        random.Random(seed).shuffle(order)
        if avoid_identity and len(order) > 1 and order == list(bank_ids):
            order = order[1:] + order[:1]
        return order

    # Responses: bank ids (stored, graded) <-> tokens (what the learner sends and sees).

    def to_learner(self, body: dict, response: Any) -> Any:
        """A stored response with the learner's tokens in place of bank ids."""
        code, kind = body["id"], body["type"]
        if response is None or kind not in CHOICE_TYPES:
            return response
        if kind == "single_choice" and isinstance(response, str):
            return self.token(code, response)
        if kind in ("multiple_response", "ordering") and isinstance(response, list):
            return [self.token(code, r) for r in response]
        if kind == "matching" and isinstance(response, dict):
            return {self.token(code, p): self.token(code, r) for p, r in response.items()}
        return response

    def from_learner(self, body: dict, response: Any) -> Any:
        """A response sent with tokens, in bank ids. Raises UnknownChoice for a token that is
        not the item's in this attempt. A value of the wrong shape is left for the grading
        core's check to refuse with its own message."""
        code, kind = body["id"], body["type"]
        if response is None or kind not in CHOICE_TYPES:
            return response
        choices = choices_of(body)
        if kind == "single_choice" and isinstance(response, str):
            return self.bank_id(code, response, choices["options"])
        if kind in ("multiple_response", "ordering") and isinstance(response, list):
            field = "options" if kind == "multiple_response" else "steps"
            return [self.bank_id(code, r, choices[field]) for r in response]
        if kind == "matching" and isinstance(response, dict):
            return {
                self.bank_id(code, p, choices["premises"]): self.bank_id(
                    code, r, choices["responses"]
                )
                for p, r in response.items()
            }
        return response

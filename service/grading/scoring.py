"""Scoring one item.

Partial-credit rules (documented in the API and tested):
- single_choice: full points for the keyed option, else 0.
- multiple_response: (keyed options chosen / keyed options) - (other options chosen / other
  options), floored at 0. Choosing everything therefore scores 0, not full marks; each wrong
  choice costs as much as the share of wrong options it is.
- ordering: the share of adjacent pairs in the key that the response keeps adjacent and in order,
  i.e. correct "A then B" links / (steps - 1). A sequence shifted by one place keeps most links.
- matching: the share of premises matched to their keyed response; a missing premise is wrong.
- short_text: full points when the normalised answer equals a normalised accepted answer
  (Unicode NFKC, case-folded, punctuation removed, runs of spaces collapsed), or is one
  learner's slip away from one (`tolerated`: a single edit, a transposition counting as one,
  inside a word of 8 or more letters, and never near a listed rejected answer), else 0.
- extended_response: pending until an assessor marks it; then the sum of the rubric levels' scores.
Scores are points x share, rounded to 4 decimal places. An empty response (None, "", [] or {})
is unanswered and scores 0.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from service.grading.limits import MAX_EXTENDED_CHARS, MAX_EXTENDED_WORDS, MAX_SHORT_TEXT_CHARS
from service.grading.vocabulary import RubricLevel

AUTO_SCORED = ("single_choice", "multiple_response", "ordering", "matching", "short_text")
EXTENDED = "extended_response"
ITEM_TYPES = (*AUTO_SCORED, EXTENDED)


class ResponseError(ValueError):
    """A response that does not fit its item (wrong shape, unknown option ids)."""


@dataclass(frozen=True)
class ItemKey:
    """What scoring needs to know about an item. `criteria` are full codes (CSC-01.AC3)."""

    id: str
    type: str
    points: int
    criteria: tuple[str, ...]
    options: tuple[str, ...] = ()  # choice option ids, ordering step ids or matching premise ids
    correct: frozenset[str] = frozenset()  # keyed choice options
    order: tuple[str, ...] = ()  # ordering: step ids in the right order
    pairs: dict[str, str] = field(default_factory=dict)  # matching: premise id -> response id
    responses: tuple[str, ...] = ()  # matching: response ids
    accepted: tuple[str, ...] = ()  # short_text: accepted answers, normalised
    rejected: tuple[str, ...] = ()  # short_text: known wrong answers, normalised
    rubric_max: dict[str, int] = field(default_factory=dict)  # extended: criterion -> max score
    not_with: frozenset[str] = frozenset()  # items never on the same form as this one


@dataclass(frozen=True)
class LevelMark:
    """An assessor's rubric level for one criterion of an extended response."""

    quality: str  # a RubricLevel
    score: int

    @property
    def met(self) -> bool:
        return self.quality == RubricLevel.MET


@dataclass(frozen=True)
class ItemScore:
    item_id: str
    score: float
    max_score: int
    pending: bool = False  # an extended response not yet marked

    @property
    def share(self) -> float:
        return self.score / self.max_score if self.max_score else 0.0


_PUNCTUATION = re.compile(r"[\W_]", re.UNICODE)
_SPACES = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _PUNCTUATION.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


# A spelling slip is forgiven only in words this long: in shorter words one edit too often
# makes another word ("fourteen" stays safe, "sale" and "sole" do not).
TOLERANT_WORD_LETTERS = 8


def edit_distance(a: str, b: str, limit: int = 2) -> int:
    """Damerau-Levenshtein distance (optimal string alignment: insertions, deletions,
    substitutions and transpositions of neighbours each cost 1), capped at `limit`."""
    if abs(len(a) - len(b)) >= limit:
        return limit
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], previous2[j - 2] + 1)
        previous2, previous = previous, row
    return min(previous[-1], limit)


def _one_slip(answer: str, accepted: str) -> bool:
    """`answer` differs from `accepted` by exactly one edit, inside one word of 8+ letters
    (words compared in order; every other word identical)."""
    words, target = answer.split(" "), accepted.split(" ")
    if len(words) != len(target):
        return False
    differing = [(w, t) for w, t in zip(words, target, strict=True) if w != t]
    if len(differing) != 1:
        return False
    word, right = differing[0]
    return len(right) >= TOLERANT_WORD_LETTERS and edit_distance(word, right) == 1


def tolerated(answer: str, item: ItemKey) -> bool:
    """A normalised answer accepted despite a spelling slip: one edit from an accepted answer
    in a long word, and not an answer the item lists as wrong or one slip from such an answer
    (then the learner's meaning is ambiguous, so the slip is not forgiven)."""
    if not answer or answer in item.rejected:
        return False
    if any(_one_slip(answer, wrong) for wrong in item.rejected):
        return False
    return any(_one_slip(answer, right) for right in item.accepted)


def _ids(response: Any, item: ItemKey, what: str) -> list[str]:
    if not isinstance(response, list) or not all(isinstance(r, str) for r in response):
        raise ResponseError(f"{item.id}: expected a list of {what} ids")
    unknown = sorted(set(response) - set(item.options))
    if unknown:
        raise ResponseError(f"{item.id}: unknown {what} id(s) {', '.join(unknown)}")
    return response


def share_for(item: ItemKey, response: Any) -> float:
    """The share of the item's points a response earns (0..1). None/empty means unanswered."""
    if response is None or (isinstance(response, str | list | dict) and not response):
        return 0.0
    kind = item.type
    if kind == "single_choice":
        if not isinstance(response, str):
            raise ResponseError(f"{item.id}: expected one option id")
        _ids([response], item, "option")
        return 1.0 if response in item.correct else 0.0
    if kind == "multiple_response":
        chosen = set(_ids(response, item, "option"))
        hits, misses = len(chosen & item.correct), len(chosen - item.correct)
        others = len(item.options) - len(item.correct)
        return max(0.0, hits / len(item.correct) - (misses / others if others else 0.0))
    if kind == "ordering":
        steps = _ids(response, item, "step")
        if sorted(steps) != sorted(item.order):
            raise ResponseError(f"{item.id}: give every step exactly once")
        links = set(zip(item.order, item.order[1:], strict=False))
        kept = sum(1 for link in zip(steps, steps[1:], strict=False) if link in links)
        return kept / len(links) if links else 1.0
    if kind == "matching":
        if not isinstance(response, dict):
            raise ResponseError(f"{item.id}: expected an object of premise id -> response id")
        _ids(list(response), item, "premise")
        bad = sorted(str(v) for v in response.values() if v not in item.responses)
        if bad:
            raise ResponseError(f"{item.id}: unknown response id(s) {', '.join(bad)}")
        right = sum(1 for premise, match in item.pairs.items() if response.get(premise) == match)
        return right / len(item.pairs)
    if kind == "short_text":
        if not isinstance(response, str):
            raise ResponseError(f"{item.id}: expected text")
        answer = normalise_text(response)
        return 1.0 if answer in item.accepted or tolerated(answer, item) else 0.0
    raise ResponseError(f"{item.id}: {kind} items are not auto-scored")


def check_response(item: ItemKey, response: Any) -> None:
    """Raise ResponseError if a response cannot be stored for this item."""
    if item.type == EXTENDED:
        if response is not None and not isinstance(response, str):
            raise ResponseError(f"{item.id}: expected text")
        if isinstance(response, str) and len(response) > MAX_EXTENDED_CHARS:
            raise ResponseError(
                f"{item.id}: a written answer is limited to {MAX_EXTENDED_CHARS:,} characters"
            )
        if isinstance(response, str) and len(response.split()) > MAX_EXTENDED_WORDS:
            raise ResponseError(
                f"{item.id}: a written answer is limited to {MAX_EXTENDED_WORDS:,} words"
            )
        return
    if (
        item.type == "short_text"
        and isinstance(response, str)
        and (len(response) > MAX_SHORT_TEXT_CHARS)
    ):
        raise ResponseError(
            f"{item.id}: a short answer is limited to {MAX_SHORT_TEXT_CHARS} characters"
        )
    share_for(item, response)


def score_item(
    item: ItemKey, response: Any, marks: dict[str, LevelMark] | None = None
) -> ItemScore:
    """Score one item. `marks` (criterion -> rubric level) is the assessor's mark of an extended
    response; without it the extended response is pending."""
    if item.type == EXTENDED:
        if marks is None:
            return ItemScore(item.id, 0.0, item.points, pending=True)
        return ItemScore(item.id, float(sum(m.score for m in marks.values())), item.points)
    return ItemScore(item.id, round(item.points * share_for(item, response), 4), item.points)

"""Item statistics from real attempts: what the awarding body reviews after a sitting.

From fully graded attempts only (a pending extended response has no score yet), per item:
- n: attempts whose form held the item;
- facility: the mean share of the item's marks earned (an omitted item earns 0);
- discrimination: the item-rest correlation (Pearson's r between the item's score and the
  rest of the form's score, the item excluded from the total, so it is not correlated with
  itself). For a one-mark item this is the corrected point-biserial. None when either varies
  not at all (everyone right, or every rest score equal) or n < 2;
- omission rate: the share of those attempts that left it unanswered;
- choice rates (distractor analysis), for every choice-bearing type, over the n attempts (an
  omission chooses nothing): single and multiple choice, each option; matching, each
  premise=response pairing; ordering, each position=step placement. `keyed` marks the key;
and per criterion, the share of attempts deciding it whose decision was met.

`compute` is pure (rows in, figures out); `load` reads the rows from the database.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.grading.vocabulary import AttemptStatus, Decision
from service.models import (
    Assessment,
    Attempt,
    AttemptCriterionDecision,
    AttemptItem,
    AttemptItemScore,
    AttemptResponse,
    Item,
    ItemVersion,
    Unit,
)

CHOICE_TYPES = ("single_choice", "multiple_response", "matching", "ordering")
PLACES = 4  # decimal places of every rate


# ------------------------------------------------------------------------------ rows in


@dataclass(frozen=True)
class ItemRow:
    """One item of one fully graded attempt."""

    item: str
    type: str
    score: float
    max_score: int
    response: Any  # as stored (bank ids); None or empty when omitted
    key: frozenset[str] = frozenset()  # the choices that are right (see `choices_of`)
    # Choices reported even when nobody makes them: every option of a choice item (a distractor
    # nobody chooses is a finding). Matching and ordering report the pairings made and the key.
    listed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AttemptRows:
    items: Sequence[ItemRow]
    decisions: dict[str, str] = field(default_factory=dict)  # criterion code -> Decision


# ------------------------------------------------------------------------------ figures out


@dataclass(frozen=True)
class ChoiceRate:
    choice: str
    rate: float
    keyed: bool


@dataclass(frozen=True)
class ItemStatistics:
    item: str
    type: str
    n: int
    facility: float
    discrimination: float | None
    omission_rate: float
    choices: list[ChoiceRate]


@dataclass(frozen=True)
class CriterionStatistics:
    criterion: str
    n: int
    met_rate: float


@dataclass(frozen=True)
class Statistics:
    attempts: int
    items: list[ItemStatistics]
    criteria: list[CriterionStatistics]


def omitted(response: Any) -> bool:
    return response is None or (isinstance(response, str | list | dict) and not response)


def choices_of(kind: str, response: Any) -> list[str]:
    """The choices a response makes, in the labels the statistics report."""
    if omitted(response):
        return []
    if kind == "single_choice":
        return [response]
    if kind == "multiple_response":
        return sorted(set(response))
    if kind == "matching":
        return [f"{premise}={match}" for premise, match in sorted(response.items())]
    if kind == "ordering":
        return [f"{n}={step}" for n, step in enumerate(response, 1)]
    return []


def key_choices(body: dict) -> frozenset[str]:
    """The right choices of an item as written, in `choices_of` labels."""
    kind = body["type"]
    if kind in ("single_choice", "multiple_response"):
        return frozenset(o["id"] for o in body["options"] if o["correct"])
    if kind == "matching":
        return frozenset(f"{p['id']}={p['match']}" for p in body["premises"])
    if kind == "ordering":
        return frozenset(f"{n}={s['id']}" for n, s in enumerate(body["steps"], 1))
    return frozenset()


def listed_choices(body: dict) -> frozenset[str]:
    """The choices always reported for an item as written (every option of a choice item)."""
    if body["type"] in ("single_choice", "multiple_response"):
        return frozenset(o["id"] for o in body["options"])
    return key_choices(body)


def item_rest_correlation(pairs: Sequence[tuple[float, float]]) -> float | None:
    """Pearson's r of (item score, rest score) pairs; None if either does not vary."""
    n = len(pairs)
    if n < 2:
        return None
    mean_x = sum(x for x, _ in pairs) / n
    mean_y = sum(y for _, y in pairs) / n
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in pairs)
    sxx = sum((x - mean_x) ** 2 for x, _ in pairs)
    syy = sum((y - mean_y) ** 2 for _, y in pairs)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def _rate(count: float, n: int) -> float:
    return round(count / n, PLACES) if n else 0.0


def compute(attempts: Iterable[AttemptRows]) -> Statistics:
    per_item: dict[str, list[tuple[ItemRow, float]]] = defaultdict(list)
    met: Counter[str] = Counter()
    decided: Counter[str] = Counter()
    count = 0
    for attempt in attempts:
        count += 1
        total = sum(row.score for row in attempt.items)
        for row in attempt.items:
            per_item[row.item].append((row, total - row.score))
        for criterion, decision in attempt.decisions.items():
            decided[criterion] += 1
            met[criterion] += decision == Decision.MET
    items = [_item_statistics(code, per_item[code]) for code in sorted(per_item)]
    criteria = [
        CriterionStatistics(code, decided[code], _rate(met[code], decided[code]))
        for code in sorted(decided)
    ]
    return Statistics(count, items, criteria)


def _item_statistics(code: str, rows: list[tuple[ItemRow, float]]) -> ItemStatistics:
    n = len(rows)
    first = rows[0][0]
    shares = [row.score / row.max_score if row.max_score else 0.0 for row, _ in rows]
    discrimination = item_rest_correlation([(row.score, rest) for row, rest in rows])
    chosen: Counter[str] = Counter()
    shown: set[str] = set()
    for row, _ in rows:
        chosen.update(choices_of(row.type, row.response))
        shown |= row.key | row.listed
    choices = []
    if first.type in CHOICE_TYPES:
        keyed = set().union(*(row.key for row, _ in rows))
        labels = sorted(set(chosen) | shown)
        choices = [ChoiceRate(label, _rate(chosen[label], n), label in keyed) for label in labels]
    return ItemStatistics(
        item=code,
        type=first.type,
        n=n,
        facility=round(sum(shares) / n, PLACES),
        discrimination=None if discrimination is None else round(discrimination, PLACES),
        omission_rate=_rate(sum(omitted(row.response) for row, _ in rows), n),
        choices=choices,
    )


# ------------------------------------------------------------------------------ the database


def load(
    session: Session,
    unit: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> list[AttemptRows]:
    """Fully graded attempts (of one unit's assessments, submitted between `since` and `until`
    inclusive; a date is a UTC day) as rows for `compute`."""
    query = select(Attempt.id).where(Attempt.status == AttemptStatus.FULLY_GRADED)
    if unit:
        query = (
            query.join(Assessment, Assessment.id == Attempt.assessment_id)
            .join(Unit, Unit.id == Assessment.unit_id)
            .where(Unit.code == unit)
        )
    if since:
        query = query.where(Attempt.submitted_at >= _midnight(since))
    if until:
        query = query.where(Attempt.submitted_at < _midnight(until + timedelta(days=1)))
    ids = list(session.scalars(query.order_by(Attempt.id)))
    # The same selection as a subquery: no bound parameter per attempt, however many there are.
    chosen = query.subquery()
    of_chosen = select(chosen.c.id)
    scores: dict[int, dict[str, AttemptItemScore]] = defaultdict(dict)
    for row in session.scalars(
        select(AttemptItemScore).where(AttemptItemScore.attempt_id.in_(of_chosen))
    ):
        scores[row.attempt_id][row.item_code] = row
    responses: dict[int, dict[str, Any]] = defaultdict(dict)
    for row in session.scalars(
        select(AttemptResponse).where(AttemptResponse.attempt_id.in_(of_chosen))
    ):
        responses[row.attempt_id][row.item_code] = row.response
    decisions: dict[int, dict[str, str]] = defaultdict(dict)
    for row in session.scalars(
        select(AttemptCriterionDecision).where(AttemptCriterionDecision.attempt_id.in_(of_chosen))
    ):
        decisions[row.attempt_id][row.criterion_code] = row.decision
    # The version each attempt was given: its type and key (choices of an older version are
    # reported under the labels that version used).
    given: dict[int, dict[str, tuple[str, int]]] = defaultdict(dict)
    for attempt_id, code, version in session.execute(
        select(AttemptItem.attempt_id, AttemptItem.item_code, AttemptItem.item_version).where(
            AttemptItem.attempt_id.in_(of_chosen)
        )
    ):
        given[attempt_id][code] = (code, version)
    bodies = {
        (code, version): body
        for code, version, body in session.execute(
            select(Item.code, ItemVersion.version, ItemVersion.body).join(
                ItemVersion, ItemVersion.item_id == Item.id
            )
        )
    }
    keys = {at: key_choices(body) for at, body in bodies.items()}
    listed = {at: listed_choices(body) for at, body in bodies.items()}
    result = []
    for attempt_id in ids:
        rows = []
        for code, score in sorted(scores[attempt_id].items()):
            at = given[attempt_id][code]
            rows.append(
                ItemRow(
                    code,
                    bodies[at]["type"],
                    score.score,
                    score.max_score,
                    responses[attempt_id].get(code),
                    keys[at],
                    listed[at],
                )
            )
        result.append(AttemptRows(rows, decisions[attempt_id]))
    return result


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


# ------------------------------------------------------------------------------ CSV

CSV_COLUMNS = (
    "kind",
    "item",
    "type",
    "criterion",
    "choice",
    "keyed",
    "n",
    "facility",
    "discrimination",
    "omission_rate",
    "choice_rate",
    "met_rate",
)


def as_csv(statistics: Statistics) -> str:
    """One table: a row per item, per choice of an item (after the item) and per criterion."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for item in statistics.items:
        writer.writerow(
            {
                "kind": "item",
                "item": item.item,
                "type": item.type,
                "n": item.n,
                "facility": item.facility,
                "discrimination": "" if item.discrimination is None else item.discrimination,
                "omission_rate": item.omission_rate,
            }
        )
        for choice in item.choices:
            writer.writerow(
                {
                    "kind": "choice",
                    "item": item.item,
                    "type": item.type,
                    "choice": choice.choice,
                    "keyed": "yes" if choice.keyed else "no",
                    "n": item.n,
                    "choice_rate": choice.rate,
                }
            )
    for criterion in statistics.criteria:
        writer.writerow(
            {
                "kind": "criterion",
                "criterion": criterion.criterion,
                "n": criterion.n,
                "met_rate": criterion.met_rate,
            }
        )
    return out.getvalue()

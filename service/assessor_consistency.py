"""Assessor consistency for one centre: how each assessor's manual decisions agree with the
auto-marked evidence of the same criterion in the same attempt, and with external verifiers'
verdicts on their sampled decisions. Per assessor and per criterion.

- Auto evidence of a criterion in an attempt: the auto-scored items that count for it (the
  item ids of its criterion decision that are not extended responses), reaching mastery when
  their mean share is at least the assessment's mastery_percent (the engine's rule). A mark
  agrees with it when both say met or both say not met. Only pass-band criteria have auto
  items; merit and distinction criteria are decided by assessors alone and are not compared.
- Verdicts: the current verdict of each sampled decision of the centre's plans (assessor
  marks and performance evidence). The agree rate is agree / (agree + disagree); an "action"
  verdict asks the centre to do something and counts in neither.

Aggregates only: assessor ids ("client:..."/"lti:..."), criterion codes and counts, no learner.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.grading.scoring import EXTENDED
from service.grading.vocabulary import RubricLevel
from service.models import (
    Assessment,
    Attempt,
    AttemptCriterionDecision,
    AttemptItemScore,
    AttemptMark,
    Centre,
    Item,
    SampledDecision,
    SamplingPlan,
    SamplingVerdict,
)
from service.sampling import UNKNOWN_ASSESSOR
from service.sampling_vocabulary import Verdict


@dataclass
class Tally:
    manual_decisions: int = 0  # rubric levels given
    compared: int = 0  # ...with auto evidence of the same criterion in the same attempt
    agree_with_auto: int = 0
    met_but_auto_below_mastery: int = 0
    not_met_but_auto_mastered: int = 0
    verdicts: dict[str, int] = field(default_factory=lambda: {v.value: 0 for v in Verdict})

    def as_dict(self) -> dict:
        judged = self.verdicts[Verdict.AGREE] + self.verdicts[Verdict.DISAGREE]
        return {
            "manual_decisions": self.manual_decisions,
            "compared_with_auto": self.compared,
            "agree_with_auto": self.agree_with_auto,
            "auto_agreement_rate": round(self.agree_with_auto / self.compared, 4)
            if self.compared
            else None,
            "met_but_auto_below_mastery": self.met_but_auto_below_mastery,
            "not_met_but_auto_mastered": self.not_met_but_auto_mastered,
            "verdicts": dict(self.verdicts),
            "verdict_agree_rate": round(self.verdicts[Verdict.AGREE] / judged, 4)
            if judged
            else None,
        }


def _auto_mastered(session: Session, centre: Centre) -> dict[tuple[int, str], bool]:
    """(attempt id, criterion) -> whether its auto-scored evidence reached mastery."""
    extended = set(session.scalars(select(Item.code).where(Item.type == EXTENDED)))
    scores: dict[int, dict[str, float]] = defaultdict(dict)
    for row in session.scalars(
        select(AttemptItemScore)
        .join(Attempt, Attempt.id == AttemptItemScore.attempt_id)
        .where(Attempt.centre_id == centre.id, AttemptItemScore.pending.is_(False))
    ):
        if row.max_score:
            scores[row.attempt_id][row.item_code] = row.score / row.max_score
    mastered = {}
    for decision, mastery in session.execute(
        select(AttemptCriterionDecision, Assessment.mastery_percent)
        .join(Attempt, Attempt.id == AttemptCriterionDecision.attempt_id)
        .join(Assessment, Assessment.id == Attempt.assessment_id)
        .where(Attempt.centre_id == centre.id)
    ):
        shares = [
            scores[decision.attempt_id][code]
            for code in decision.evidence
            if code not in extended and code in scores[decision.attempt_id]
        ]
        if shares:
            mastered[decision.attempt_id, decision.criterion_code] = (
                sum(shares) / len(shares) >= mastery / 100 - 1e-9
            )
    return mastered


def report(session: Session, centre: Centre) -> dict:
    by_assessor: dict[str, Tally] = defaultdict(Tally)
    by_criterion: dict[str, Tally] = defaultdict(Tally)
    mastered = _auto_mastered(session, centre)
    for mark in session.scalars(
        select(AttemptMark)
        .join(Attempt, Attempt.id == AttemptMark.attempt_id)
        .where(Attempt.centre_id == centre.id)
    ):
        assessor = mark.marked_by or UNKNOWN_ASSESSOR
        tallies = (by_assessor[assessor], by_criterion[mark.criterion_code])
        met = mark.quality == RubricLevel.MET
        auto = mastered.get((mark.attempt_id, mark.criterion_code))
        for tally in tallies:
            tally.manual_decisions += 1
            if auto is None:
                continue
            tally.compared += 1
            tally.agree_with_auto += met == auto
            tally.met_but_auto_below_mastery += met and not auto
            tally.not_met_but_auto_mastered += auto and not met
    current = (
        select(SampledDecision.id, SampledDecision.assessor, SampledDecision.criterion_code)
        .join(SamplingPlan, SamplingPlan.id == SampledDecision.plan_id)
        .where(SamplingPlan.centre_id == centre.id)
    )
    rows = {row_id: (assessor, code) for row_id, assessor, code in session.execute(current)}
    latest: dict[int, str] = {}
    if rows:
        for row_id, verdict in session.execute(
            select(SamplingVerdict.sampled_decision_id, SamplingVerdict.verdict)
            .where(SamplingVerdict.sampled_decision_id.in_(rows))
            .order_by(SamplingVerdict.id)
        ):
            latest[row_id] = verdict
    for row_id, verdict in latest.items():
        assessor, criterion = rows[row_id]
        by_assessor[assessor].verdicts[verdict] += 1
        by_criterion[criterion].verdicts[verdict] += 1
    return {
        "centre": centre.code,
        "assessors": [
            {"assessor": name, **tally.as_dict()} for name, tally in sorted(by_assessor.items())
        ],
        "criteria": [
            {"criterion": code, **tally.as_dict()} for code, tally in sorted(by_criterion.items())
        ],
    }


FIGURES = (
    "manual_decisions",
    "compared_with_auto",
    "agree_with_auto",
    "auto_agreement_rate",
    "met_but_auto_below_mastery",
    "not_met_but_auto_mastered",
    "verdict_agree_rate",
)
CSV_COLUMNS = ("kind", "name", *FIGURES, *(f"verdicts_{v.value}" for v in Verdict))


def _cell(value) -> str:
    """A spreadsheet must not read an id (an LMS user's sub) as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def as_csv(found: dict) -> str:
    """One table: a row per assessor (kind "assessor"), then per criterion."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for kind, rows, name in (
        ("assessor", found["assessors"], "assessor"),
        ("criterion", found["criteria"], "criterion"),
    ):
        for row in rows:
            writer.writerow(
                [kind, _cell(row[name])]
                + [_cell(row[f]) for f in FIGURES]
                + [row["verdicts"][v] for v in Verdict]
            )
    return out.getvalue()

"""An attempt's marks, per-criterion decisions, status and knowledge result.

The model is set out for a standards team in service/grading/MODEL.md; in short:

Evidence. An auto-scored item counts for exactly one criterion (evidence.py) and weighs the same
as every other auto item of that criterion: it gives the SHARE of its points the learner earned
(a 4-point matching item half right gives 0.5, a 1-point item right gives 1). An extended
response evidences every criterion it lists; an assessor rates each one met / not yet met.

Criterion decision, for each criterion of the unit:
- pass band: "met" when the learner's auto shares reach `mastery_percent` of the criterion's
  auto items (at 50% and 2 items: one fully right, or two half right) AND every extended
  response covering it is rated met;
- merit and distinction bands: decided by the assessor's rating of the extended response(s)
  covering it, met only when every one rates it met; its auto items support (they are shown
  and carry marks) but never decide. No extended response on the form: "not_evidenced";
- "pending" while an extended response covering it is unmarked; "not_evidenced" when nothing
  on the form evidences it (coverage never claims what it did not see).

Knowledge result, once nothing is pending, from the criteria alone (no percentage pass mark):
- competence units: "achieved" when every criterion is met, else "not_yet_achieved";
- graded units: "pass" when every pass criterion is met, "merit" when every pass and merit
  criterion is met, "distinction" when every criterion is met (cumulative).
Performance criteria also need recorded performance evidence before the UNIT is achieved; that
is combined outside this engine (GradingRules.performance_criteria names them).

Marks (reported, never decisive): one mark per auto item times its share, plus the extended
responses' rubric scores. Every form of a unit therefore carries the same auto marks.
Status maps one to one onto LTI AGS gradingProgress.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.grading.evidence import counted_for, evidences
from service.grading.scoring import EXTENDED, ItemKey, ItemScore, LevelMark, score_item
from service.grading.vocabulary import (
    BANDS,
    GRADING_PROGRESS,
    AttemptStatus,
    Band,
    Decision,
    EvidenceRequired,
    Grade,
)

MET, NOT_YET_MET, PENDING, NOT_EVIDENCED = (
    Decision.MET,
    Decision.NOT_YET_MET,
    Decision.PENDING,
    Decision.NOT_EVIDENCED,
)

# With 2 auto items per criterion: one slip does not fail a criterion, and a learner guessing
# every 4-option item meets one criterion with p = 1 - 0.75^2 = 0.44, all 8 criteria of a unit
# with p = 0.44^8 < 0.2% (figures in MODEL.md).
MASTERY_PERCENT = 50


@dataclass(frozen=True)
class CriterionRule:
    code: str
    band: str = Band.PASS
    evidence_type: str = EvidenceRequired.KNOWLEDGE


@dataclass(frozen=True)
class GradingRules:
    grading: str  # "competence" or "graded"
    criteria: tuple[CriterionRule, ...]
    mastery_percent: int = MASTERY_PERCENT

    @property
    def performance_criteria(self) -> tuple[str, ...]:
        """Criteria the unit achieves only with recorded performance evidence as well."""
        performance = EvidenceRequired.PERFORMANCE
        return tuple(c.code for c in self.criteria if c.evidence_type == performance)

    @property
    def assessor_decided(self) -> tuple[str, ...]:
        """Merit and distinction criteria: decided by assessor-marked evidence only."""
        return tuple(c.code for c in self.criteria if c.band != Band.PASS)


@dataclass(frozen=True)
class CriterionDecision:
    criterion: str
    decision: Decision
    evidence: tuple[str, ...]  # the item ids that evidence it in this attempt
    auto_marks: float = 0.0  # sum of the shares earned on its auto items
    auto_items: int = 0  # how many auto items count for it (its auto marks available)


@dataclass(frozen=True)
class AttemptResult:
    status: AttemptStatus  # pending_manual | fully_graded
    score: float
    max_score: int
    percent: float
    grade: str | None  # the knowledge result; None while pending
    items: tuple[ItemScore, ...]
    criteria: tuple[CriterionDecision, ...]

    @property
    def grading_progress(self) -> str:
        return GRADING_PROGRESS[self.status]


def _decide(
    rule: CriterionRule,
    items: list[ItemKey],
    scores: dict[str, ItemScore],
    marks: dict[str, dict[str, LevelMark]],
    mastery: float,
) -> CriterionDecision:
    code = rule.code
    auto = [i for i in items if i.type != EXTENDED and counted_for(i) == code]
    extended = [i for i in items if i.type == EXTENDED and code in i.criteria]
    ids = tuple(i.id for i in items if evidences(i, code))
    earned = round(sum(scores[i.id].share for i in auto), 4)

    def decision(value: Decision) -> CriterionDecision:
        return CriterionDecision(code, value, ids, earned, len(auto))

    assessor_decided = rule.band != Band.PASS
    if not extended and (assessor_decided or not auto):
        return decision(NOT_EVIDENCED)
    if any(i.id not in marks or code not in marks[i.id] for i in extended):
        return decision(PENDING)
    extended_ok = all(marks[i.id][code].met for i in extended)
    if assessor_decided:
        return decision(MET if extended_ok else NOT_YET_MET)
    auto_ok = earned >= mastery * len(auto) - 1e-9
    return decision(MET if auto_ok and extended_ok else NOT_YET_MET)


def _grade(rules: GradingRules, decisions: dict[str, Decision]) -> Grade:
    if rules.grading == "competence":
        met = all(d == MET for d in decisions.values())
        return Grade.ACHIEVED if met else Grade.NOT_YET_ACHIEVED
    achieved = Grade.NOT_YET_ACHIEVED
    for band in BANDS:  # cumulative: each band needs every criterion of the bands below it
        needed = [c.code for c in rules.criteria if BANDS.index(c.band) <= BANDS.index(band)]
        if not all(decisions[code] == MET for code in needed):
            break
        achieved = Grade(band)
    return achieved


def _marks(item: ItemKey, score: ItemScore) -> tuple[float, int]:
    """An item's marks in the attempt total: one per auto item (its share), rubric scores for
    an extended response."""
    if item.type == EXTENDED:
        return score.score, item.points
    return score.share, 1


def grade_attempt(
    rules: GradingRules,
    items: list[ItemKey],
    responses: dict[str, Any],
    marks: dict[str, dict[str, LevelMark]] | None = None,
) -> AttemptResult:
    """Score every item of a submitted attempt and decide every criterion of the unit.

    `marks` maps an extended-response item id to the assessor's level per criterion.
    """
    marks = marks or {}
    scores = {i.id: score_item(i, responses.get(i.id), marks.get(i.id)) for i in items}
    mastery = rules.mastery_percent / 100
    decisions = [_decide(c, items, scores, marks, mastery) for c in rules.criteria]
    weighted = [_marks(i, scores[i.id]) for i in items]
    total = round(sum(earned for earned, _ in weighted), 4)
    maximum = sum(available for _, available in weighted)
    percent = round(100 * total / maximum, 2) if maximum else 0.0
    pending = any(s.pending for s in scores.values())
    by_code = {d.criterion: d.decision for d in decisions}
    return AttemptResult(
        status=AttemptStatus.PENDING_MANUAL if pending else AttemptStatus.FULLY_GRADED,
        score=total,
        max_score=maximum,
        percent=percent,
        grade=None if pending else _grade(rules, by_code),
        items=tuple(scores[i.id] for i in items),
        criteria=tuple(decisions),
    )

"""An attempt's score, per-criterion decisions, status and grade.

Criterion decision, for each criterion of the unit:
- no item in the attempt evidences it: "not_evidenced" (coverage never claims what it did not see);
- an extended response evidencing it is not yet marked: "pending";
- otherwise "met" when the learner earned at least `mastery` of the marks of its auto-scored
  items (if any) AND every marked extended response rates it at "met" or above; else
  "not_yet_met".

Grade (UK vocational, cumulative), once nothing is pending and the score reaches the pass mark:
- competence units: "achieved" when every criterion is met, else "not_yet_achieved";
- graded units: "pass" when every pass criterion is met, "merit" when every pass and merit
  criterion is met, "distinction" when every pass, merit and distinction criterion is met.

Status maps one to one onto LTI AGS gradingProgress.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.grading.scoring import EXTENDED, ItemKey, ItemScore, LevelMark, score_item
from service.grading.vocabulary import GRADING_PROGRESS, AttemptStatus, Decision

MET, NOT_YET_MET, PENDING, NOT_EVIDENCED = (
    Decision.MET,
    Decision.NOT_YET_MET,
    Decision.PENDING,
    Decision.NOT_EVIDENCED,
)
BANDS = ("pass", "merit", "distinction")


@dataclass(frozen=True)
class CriterionRule:
    code: str
    band: str = "pass"


@dataclass(frozen=True)
class GradingRules:
    grading: str  # "competence" or "graded"
    criteria: tuple[CriterionRule, ...]
    pass_mark_percent: int
    mastery_percent: int = 60


@dataclass(frozen=True)
class CriterionDecision:
    criterion: str
    decision: Decision
    evidence: tuple[str, ...]  # the item ids that evidence it in this attempt


@dataclass(frozen=True)
class AttemptResult:
    status: AttemptStatus  # pending_manual | fully_graded
    score: float
    max_score: int
    percent: float
    grade: str | None  # None while pending
    items: tuple[ItemScore, ...]
    criteria: tuple[CriterionDecision, ...]

    @property
    def grading_progress(self) -> str:
        return GRADING_PROGRESS[self.status]


def _decide(
    code: str,
    items: list[ItemKey],
    scores: dict[str, ItemScore],
    marks: dict[str, dict[str, LevelMark]],
    mastery: float,
) -> CriterionDecision:
    evidence = [i for i in items if code in i.criteria]
    ids = tuple(i.id for i in evidence)
    if not evidence:
        return CriterionDecision(code, NOT_EVIDENCED, ids)
    extended = [i for i in evidence if i.type == EXTENDED]
    if any(i.id not in marks or code not in marks[i.id] for i in extended):
        return CriterionDecision(code, PENDING, ids)
    auto = [i for i in evidence if i.type != EXTENDED]
    earned = sum(scores[i.id].score for i in auto)
    possible = sum(i.points for i in auto)
    auto_ok = not auto or earned >= mastery * possible - 1e-9
    extended_ok = all(marks[i.id][code].met for i in extended)
    return CriterionDecision(code, MET if auto_ok and extended_ok else NOT_YET_MET, ids)


def _grade(rules: GradingRules, decisions: dict[str, str], percent: float) -> str:
    if percent + 1e-9 < rules.pass_mark_percent:
        return "not_yet_achieved"
    if rules.grading == "competence":
        return "achieved" if all(d == MET for d in decisions.values()) else "not_yet_achieved"
    achieved = "not_yet_achieved"
    for band in BANDS:  # cumulative: each band needs every criterion of the bands below it
        needed = [c.code for c in rules.criteria if BANDS.index(c.band) <= BANDS.index(band)]
        if all(decisions[code] == MET for code in needed):
            achieved = band
        else:
            break
    return achieved


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
    decisions = [_decide(c.code, items, scores, marks, mastery) for c in rules.criteria]
    total = round(sum(s.score for s in scores.values()), 4)
    maximum = sum(i.points for i in items)
    percent = round(100 * total / maximum, 2) if maximum else 0.0
    pending = any(s.pending for s in scores.values())
    by_code = {d.criterion: d.decision for d in decisions}
    return AttemptResult(
        status=AttemptStatus.PENDING_MANUAL if pending else AttemptStatus.FULLY_GRADED,
        score=total,
        max_score=maximum,
        percent=percent,
        grade=None if pending else _grade(rules, by_code, percent),
        items=tuple(scores[i.id] for i in items),
        criteria=tuple(decisions),
    )

"""A learner's unit outcome from the two kinds of evidence a unit requires (pure: no DB, no Flask).

Each criterion of a unit says which evidence it requires (criteria_data/units: evidence_type):
- knowledge criteria are decided by the online assessment: the decision of the learner's
  knowledge attempt (the latest fully graded one; the loader chooses it);
- performance criteria are met only by an assessor's performance evidence record whose
  decision is "met" (observation, witness testimony, workplace records...). The online
  assessment's decision on such a criterion is shown as supporting knowledge only: it never
  meets it. Records judged "not_yet_met" make the criterion not yet met until a "met" record
  exists; with no record it is not evidenced.

Unit outcome, from the criteria alone (no percentage):
- competence units: "achieved" when every criterion is met, else "not_yet_achieved";
- graded units, cumulative: "pass" when every pass criterion is met, "merit" when every pass and
  merit criterion is met, "distinction" when every criterion is met; else "not_yet_achieved".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from service.grading.engine import BANDS
from service.grading.vocabulary import Decision, EvidenceRequired


class UnitOutcome(StrEnum):
    ACHIEVED = "achieved"
    NOT_YET_ACHIEVED = "not_yet_achieved"
    PASS = "pass"
    MERIT = "merit"
    DISTINCTION = "distinction"


@dataclass(frozen=True)
class UnitCriterion:
    code: str
    evidence_required: EvidenceRequired
    band: str = "pass"


@dataclass(frozen=True)
class KnowledgeDecision:
    """The online assessment's decision on one criterion and the items behind it."""

    decision: Decision
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class EvidenceJudgement:
    """One current (neither superseded nor withdrawn) performance evidence record."""

    record: str  # the record's id
    decision: Decision  # met / not_yet_met


@dataclass(frozen=True)
class CriterionStatus:
    code: str
    band: str
    evidence_required: EvidenceRequired
    decision: Decision
    # What decided it: the items of the knowledge attempt, or the "met" records (all records
    # when none is met).
    evidence: tuple[str, ...]
    # For a performance criterion: the online assessment's decision, supporting knowledge only.
    supporting_knowledge: Decision | None = None


@dataclass(frozen=True)
class UnitStatus:
    outcome: UnitOutcome
    criteria: tuple[CriterionStatus, ...]

    @property
    def achieved(self) -> bool:
        return self.outcome != UnitOutcome.NOT_YET_ACHIEVED


def _knowledge(criterion: UnitCriterion, knowledge: Mapping[str, KnowledgeDecision]):
    found = knowledge.get(criterion.code)
    if found is None:  # no fully graded attempt, or the form did not cover it
        return CriterionStatus(
            criterion.code, criterion.band, criterion.evidence_required, Decision.NOT_EVIDENCED, ()
        )
    return CriterionStatus(
        criterion.code, criterion.band, criterion.evidence_required, found.decision, found.items
    )


def _performance(
    criterion: UnitCriterion,
    knowledge: Mapping[str, KnowledgeDecision],
    records: Sequence[EvidenceJudgement],
) -> CriterionStatus:
    met = tuple(r.record for r in records if r.decision == Decision.MET)
    if met:
        decision, evidence = Decision.MET, met
    elif records:
        decision, evidence = Decision.NOT_YET_MET, tuple(r.record for r in records)
    else:
        decision, evidence = Decision.NOT_EVIDENCED, ()
    supporting = knowledge.get(criterion.code)
    return CriterionStatus(
        criterion.code,
        criterion.band,
        criterion.evidence_required,
        decision,
        evidence,
        supporting.decision if supporting else None,
    )


def _outcome(grading: str, criteria: Sequence[CriterionStatus]) -> UnitOutcome:
    if grading == "competence":
        if all(c.decision == Decision.MET for c in criteria):
            return UnitOutcome.ACHIEVED
        return UnitOutcome.NOT_YET_ACHIEVED
    outcome = UnitOutcome.NOT_YET_ACHIEVED
    for band in BANDS:  # cumulative: each band needs every criterion of the bands below it
        needed = [c for c in criteria if BANDS.index(c.band) <= BANDS.index(band)]
        if not all(c.decision == Decision.MET for c in needed):
            break
        outcome = UnitOutcome(band)
    return outcome


def unit_status(
    grading: str,
    criteria: Sequence[UnitCriterion],
    knowledge: Mapping[str, KnowledgeDecision],
    evidence: Mapping[str, Sequence[EvidenceJudgement]],
) -> UnitStatus:
    """Every criterion's status and the unit outcome.

    `knowledge`: the knowledge attempt's decisions by criterion code ({} without one);
    `evidence`: each performance criterion's current records by criterion code.
    """
    statuses = tuple(
        _performance(c, knowledge, evidence.get(c.code, ()))
        if c.evidence_required == EvidenceRequired.PERFORMANCE
        else _knowledge(c, knowledge)
        for c in criteria
    )
    return UnitStatus(_outcome(grading, statuses), statuses)

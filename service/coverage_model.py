"""The shapes of a criterion coverage report (service/coverage.py): its columns (criteria, each
decided by the unit status rules), its cells and the evidence behind them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from service.grading.unit_outcome import (
    EvidenceJudgement,
    KnowledgeDecision,
    UnitCriterion,
    unit_status,
)
from service.grading.vocabulary import Decision, EvidenceRequired
from service.models import Centre, Unit

MET = Decision.MET


class CoverageEvidence(StrEnum):
    """What stands behind a cell."""

    AUTO_ITEM = "auto_item"  # an automatically marked item of the knowledge attempt
    ASSESSOR_MARK = "assessor_mark"  # an assessor's mark of an item (or one awaited: pending)
    PERFORMANCE = "performance_evidence"  # an assessor's performance evidence record


class CoverageError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UnknownCentre(CoverageError):
    """No such centre, or one the caller may not see: the same answer for both."""


class UnknownUnit(CoverageError):
    pass


class Evidence(NamedTuple):
    type: CoverageEvidence
    attempt: str | None  # the attempt's uuid (knowledge evidence)
    record: str | None  # the performance evidence record's uuid
    item: str | None
    assessor: str | None
    on: str | None  # the date (ISO 8601): of grading, marking, submission or observation
    decision: Decision | None = None  # the assessor's mark or judgement; None for auto items
    performance_type: str | None = None  # observation, witness testimony...


class Cell(NamedTuple):
    criterion: str
    decision: Decision
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class LearnerCoverage:
    learner_id: int
    uuid: str
    reference: str | None
    name: str | None
    cells: tuple[Cell, ...]

    @property
    def full(self) -> bool:
        return all(c.decision == MET for c in self.cells)


DECISIONS = {decision.value: decision for decision in Decision}


class CriterionRule:
    """One criterion of a report (a column), decided by unit_status (the one grading model)
    once per pattern of evidence rather than once per learner.

    In unit_status each criterion's decision rests on its own evidence alone (a knowledge
    criterion on the knowledge attempt's decision, a performance criterion on its current
    records' decisions), and the items or records behind it are passed through, never read. So a
    cell reduces to a pattern: (decision, number of items), or the decisions of its records.
    unit_status runs once per distinct pattern, on the criterion alone, with positions ("0",
    "1"...) in place of the items and records; the positions it answers are mapped back to the
    learner's own. A centre has a handful of patterns per criterion, not one per learner.
    """

    def __init__(self, unit: Unit, rule: UnitCriterion):
        self.unit = unit.code
        self.unit_id = unit.id
        self.code = rule.code
        self.band = rule.band
        self.evidence_required = rule.evidence_required
        self.performance = rule.evidence_required == EvidenceRequired.PERFORMANCE
        self._grading = unit.grading
        self._rule = rule
        self._decided: dict[tuple, tuple[Decision, tuple[int, ...]]] = {}

    def decide(self, pattern: tuple) -> tuple[Decision, tuple[int, ...]]:
        """The decision and the positions of the evidence behind it. `pattern`: a knowledge
        criterion's (decision, number of items) in the knowledge attempt, () without one; a
        performance criterion's decisions of its current records, in order."""
        decided = self._decided.get(pattern)
        if decided is None:
            decided = self._decided[pattern] = self._evaluate(pattern)
        return decided

    def _evaluate(self, pattern: tuple) -> tuple[Decision, tuple[int, ...]]:
        knowledge, judgements = {}, {}
        if self.performance:
            judgements[self.code] = [
                EvidenceJudgement(str(i), DECISIONS[decision]) for i, decision in enumerate(pattern)
            ]
        elif pattern:
            decision, count = pattern
            knowledge[self.code] = KnowledgeDecision(
                DECISIONS[decision], tuple(str(i) for i in range(count))
            )
        [status] = unit_status(self._grading, [self._rule], knowledge, judgements).criteria
        return status.decision, tuple(int(position) for position in status.evidence)


@dataclass(frozen=True)
class Report:
    centre: Centre
    course: str | None
    units: tuple[Unit, ...]
    criteria: tuple[CriterionRule, ...]  # the columns: unit by unit, in each unit's order

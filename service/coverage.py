"""Criterion coverage for external verifiers: a learners-by-criteria matrix of one centre.

Each cell is decided by the rules of unit status (service.grading.unit_outcome.unit_status, the
one grading model): knowledge criteria by the learner's knowledge attempt (the latest fully
graded attempt at the unit, service.unit_status.KNOWLEDGE_ORDER), performance criteria by
current performance evidence records. One state is added for the report: a criterion that
unit status finds not evidenced, while a submitted attempt awaits an assessor's marking on it,
is "pending".

A learner here is a Learner row of the centre; all of their identities (the centre's own
reference and LTI identities) count, as one person.

A whole report (CSV, totals) is read by service.coverage_reader.Reader as three
learner-ordered streams in one snapshot, a chunk of learners at a time: the same few statements
for any number of learners, and memory for about two chunks. A page (JSON, HTML) reads its
learners' evidence in two queries.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from service.coverage_model import (
    Cell,
    CoverageError,
    CoverageEvidence,
    CriterionRule,
    Evidence,
    LearnerCoverage,
    Report,
    UnknownCentre,
    UnknownUnit,
)
from service.coverage_reader import AttemptEvidence, ChunkData, Reader, learners_query, load
from service.grading.vocabulary import Decision
from service.models import Centre, Criterion, Learner, Unit
from service.tenancy import Tenancy
from service.unit_status import criteria_rules

# For the view: the errors it answers, the reader it streams a report with.
__all__ = ["CoverageError", "Reader"]

RARELY_MET = 5  # how many of the least met criteria the totals name
T = TypeVar("T")


def report_for(
    session: Session,
    tenancy: Tenancy,
    centre_code: str,
    course: str | None = None,
    unit_code: str | None = None,
) -> Report:
    centre = session.scalar(select(Centre).where(Centre.code == centre_code))
    if centre is None or not tenancy.sees(centre.id):
        raise UnknownCentre(f"No centre with code {centre_code!r}.")
    query = (
        select(Unit)
        .options(selectinload(Unit.criteria).selectinload(Criterion.versions))
        .order_by(Unit.code)
    )
    if unit_code is not None:
        query = query.where(Unit.code == unit_code)
    units = tuple(session.scalars(query))
    if unit_code is not None and not units:
        raise UnknownUnit(f"No unit with code {unit_code!r}.")
    criteria = tuple(CriterionRule(unit, rule) for unit in units for rule in criteria_rules(unit))
    return Report(centre, course, units, criteria)


def learners_of(report: Report) -> Select:
    """(learner id, centre id) of every learner of the report: for the audit log."""
    return learners_query(report).with_only_columns(Learner.id, Learner.centre_id)


def count_learners(session: Session, report: Report) -> int:
    return session.scalar(select(func.count()).select_from(learners_query(report).subquery()))


def page(session: Session, report: Report, number: int, size: int) -> list[LearnerCoverage]:
    """One page of learners (by id), from 1."""
    connection = session.connection()
    learners = connection.execute(
        learners_query(report).order_by(Learner.id).offset((number - 1) * size).limit(size)
    ).all()
    return _coverage(report, learners, load(connection, report, learners))


def chunks(reader: Reader, consume: Callable[[list[LearnerCoverage]], T]) -> Iterator[T]:
    """Every learner of the reader's report, a chunk at a time: each chunk's coverage is handed
    to `consume` and only what it returns is kept (CSV text, running totals)."""
    for learners, data in reader.chunks():
        yield consume(_coverage(reader.report, learners, data))


def _coverage(report: Report, learners, data: ChunkData) -> list[LearnerCoverage]:
    return [
        LearnerCoverage(
            learner.id,
            learner.uuid,
            learner.reference,
            learner.name,
            _cells(report, learner.id, data),
        )
        for learner in learners
    ]


NOTHING: Mapping = MappingProxyType({})  # an empty mapping nobody can fill by mistake
NO_PATTERN = ()
NO_RECORDS = (NO_PATTERN, ())
NOT_EVIDENCED = Decision.NOT_EVIDENCED
AUTO_ITEM = CoverageEvidence.AUTO_ITEM


def _cells(report: Report, learner_id: int, data: ChunkData) -> tuple[Cell, ...]:
    attempts = data.graded.get(learner_id, NOTHING)
    records = data.records.get(learner_id, NOTHING)
    cells = []
    for rule in report.criteria:
        code = rule.code
        if rule.performance:
            pattern, found = records.get(code, NO_RECORDS)
            decision, positions = rule.decide(pattern)
            # Positions only ever rise: as many as there are records means all of them.
            evidence = found if len(positions) == len(found) else tuple(found[i] for i in positions)
        else:
            attempt = attempts.get(rule.unit_id)
            decided = attempt.decisions.get(code) if attempt is not None else None
            decision, positions = rule.decide(decided[2] if decided else NO_PATTERN)
            if decision == NOT_EVIDENCED and (
                waiting := _awaiting_marking(data, learner_id, rule.unit_id, code)
            ):
                decision, evidence = Decision.PENDING, waiting
            else:
                evidence = _items_evidence(attempt, code, decided, positions)
        cells.append(Cell(code, decision, evidence))
    return tuple(cells)


def _items_evidence(attempt: AttemptEvidence, code: str, decided, positions) -> tuple:
    """The items of the decision at `positions`: each an assessor's mark of it for `code`, or
    auto-marked."""
    if not positions:
        return ()
    items = decided[1]
    if len(positions) != len(items):  # positions only ever rise: equal lengths mean all
        items = [items[i] for i in positions]
    uuid, on = attempt.uuid, attempt.on
    marked = attempt.marks.get(code)
    if marked is None:
        return tuple([Evidence(AUTO_ITEM, uuid, None, item, None, on) for item in items])
    return tuple(
        [marked.get(item) or Evidence(AUTO_ITEM, uuid, None, item, None, on) for item in items]
    )


def _awaiting_marking(data: ChunkData, learner_id: int, unit_id: int, code: str):
    """The items of submitted attempts whose decision on `code` awaits an assessor."""
    return tuple(
        Evidence(CoverageEvidence.ASSESSOR_MARK, attempt.uuid, None, item, None, attempt.on)
        for attempt in data.pending.get((learner_id, unit_id), ())
        if (found := attempt.decisions.get(code)) is not None and found[0] == Decision.PENDING
        for item in found[1]
    )


class Totals:
    """Totals over every learner of a report, added a chunk at a time."""

    def __init__(self, report: Report):
        self.report = report
        self.learners = 0
        self.full_coverage = 0
        self.met: Counter[str] = Counter()
        self.assessors: dict[str, Counter[str]] = defaultdict(Counter)

    def add_chunk(self, learners: list[LearnerCoverage]) -> None:
        for learner in learners:
            self.learners += 1
            self.full_coverage += learner.full
            for cell in learner.cells:
                if cell.decision == Decision.MET:
                    self.met[cell.criterion] += 1
                for evidence in cell.evidence:
                    if evidence.assessor is not None and evidence.decision is not None:
                        self.assessors[evidence.assessor][evidence.decision] += 1

    def view(self) -> dict:
        rates = [
            {
                "criterion": c.code,
                "unit": c.unit,
                "met": self.met[c.code],
                "met_rate": round(self.met[c.code] / self.learners, 4) if self.learners else 0.0,
            }
            for c in self.report.criteria
        ]
        rates.sort(key=lambda r: (r["met_rate"], r["criterion"]))
        return {
            "learners": self.learners,
            "full_coverage": self.full_coverage,
            "criteria_rarely_met": rates[:RARELY_MET],
            "decisions_per_assessor": [
                {
                    "assessor": assessor,
                    "met": counts[Decision.MET],
                    "not_yet_met": counts[Decision.NOT_YET_MET],
                    "total": counts.total(),
                }
                for assessor, counts in sorted(self.assessors.items())
            ],
        }


def totals(session: Session, report: Report) -> Totals:
    found = Totals(report)
    with Reader(session, report) as reader:
        for _ in chunks(reader, found.add_chunk):
            pass
    return found

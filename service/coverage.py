"""Criterion coverage for external verifiers: a learners-by-criteria matrix of one centre.

Each cell is decided by the rules of unit status (service.grading.unit_outcome.unit_status, the
one grading model): knowledge criteria by the learner's knowledge attempt (the latest fully
graded attempt at the unit, service.unit_status.KNOWLEDGE_ORDER), performance criteria by
current performance evidence records. One state is added for the report: a criterion that
unit status finds not evidenced, while a submitted attempt awaits an assessor's marking on it,
is "pending".

A learner here is a Learner row of the centre; all of their identities (the centre's own
reference and LTI identities) count, as one person.

Learners are read in chunks by keyset (Learner.id), each chunk in a fixed handful of queries
(learners, identities, attempts, decisions, assessor marks, performance evidence): the number
of queries grows with chunks, never with learners, and memory holds one chunk at a time.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased, selectinload

from lti.models import LtiResourceLink
from service.grading.unit_outcome import EvidenceJudgement, KnowledgeDecision, unit_status
from service.grading.vocabulary import AttemptStatus, Decision, EvidenceRequired
from service.models import (
    Assessment,
    Attempt,
    AttemptCriterionDecision,
    AttemptMark,
    Centre,
    Criterion,
    Learner,
    LearnerIdentity,
    PerformanceEvidence,
    Unit,
)
from service.tenancy import Tenancy
from service.unit_status import KNOWLEDGE_ORDER, criteria_rules

CHUNK = 500  # learners per chunk: 6 queries each; peak memory is about one chunk
RARELY_MET = 5  # how many of the least met criteria the totals name


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


@dataclass(frozen=True)
class Evidence:
    type: CoverageEvidence
    attempt: str | None  # the attempt's uuid (knowledge evidence)
    record: str | None  # the performance evidence record's uuid
    item: str | None
    assessor: str | None
    on: datetime | date | None
    decision: Decision | None = None  # the assessor's mark or judgement; None for auto items
    performance_type: str | None = None  # observation, witness testimony...


@dataclass(frozen=True)
class Cell:
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
        return all(c.decision == Decision.MET for c in self.cells)


@dataclass(frozen=True)
class ReportCriterion:
    unit: str
    code: str
    band: str
    evidence_required: EvidenceRequired


@dataclass(frozen=True)
class Report:
    centre: Centre
    course: str | None
    units: tuple[Unit, ...]
    criteria: tuple[ReportCriterion, ...]
    rules: dict[int, list]  # unit id -> its UnitCriterion rules, built once per report


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
    rules = {unit.id: criteria_rules(unit) for unit in units}
    criteria = tuple(
        ReportCriterion(unit.code, rule.code, rule.band, rule.evidence_required)
        for unit in units
        for rule in rules[unit.id]
    )
    return Report(centre, course, units, criteria, rules)


def _learners_query(report: Report):
    query = select(Learner.id, Learner.uuid, Learner.reference, Learner.name).where(
        Learner.centre_id == report.centre.id
    )
    if report.course is not None:
        # The cohort: learners with an attempt launched from an activity of the LMS course.
        query = query.where(
            exists(
                select(Attempt.id)
                .join(
                    LearnerIdentity,
                    and_(
                        LearnerIdentity.centre_id == Attempt.centre_id,
                        LearnerIdentity.learner_ref == Attempt.learner_ref,
                    ),
                )
                .join(LtiResourceLink, LtiResourceLink.id == Attempt.lti_resource_link_id)
                .where(
                    LearnerIdentity.learner_id == Learner.id,
                    Attempt.centre_id == report.centre.id,
                    LtiResourceLink.context_id == report.course,
                )
            )
        )
    return query


def count_learners(session: Session, report: Report) -> int:
    return session.scalar(select(func.count()).select_from(_learners_query(report).subquery()))


def page(session: Session, report: Report, number: int, size: int) -> list[LearnerCoverage]:
    """One page of learners (by id), from 1."""
    learners = session.execute(
        _learners_query(report).order_by(Learner.id).offset((number - 1) * size).limit(size)
    ).all()
    return _coverage(session, report, learners)


def chunks(session: Session, report: Report, size: int = CHUNK) -> Iterator[list[LearnerCoverage]]:
    """Every learner of the report, a chunk at a time (keyset on Learner.id)."""
    after = 0
    while True:
        learners = session.execute(
            _learners_query(report).where(Learner.id > after).order_by(Learner.id).limit(size)
        ).all()
        if not learners:
            return
        yield _coverage(session, report, learners)
        after = learners[-1].id


def _identities_in(report: Report, first: int, last: int):
    """Join condition: records of the centre whose learner_ref is an identity of a learner whose
    id is in [first, last] (a range, not a list: the chunk's SQL stays small)."""
    return and_(
        LearnerIdentity.centre_id == report.centre.id,
        LearnerIdentity.learner_id.between(first, last),
    )


@dataclass
class _ChunkData:
    attempts: dict = field(default_factory=dict)  # attempt id -> row
    graded: dict = field(default_factory=dict)  # (learner id, unit id) -> attempt row
    pending: dict = field(default_factory=lambda: defaultdict(list))  # (learner, unit) -> rows
    decisions: dict = field(default_factory=lambda: defaultdict(dict))  # attempt -> code -> row
    marks: dict = field(default_factory=dict)  # (attempt id, item, criterion) -> mark row
    records: dict = field(default_factory=lambda: defaultdict(list))  # (learner, code) -> rows


def _load(session: Session, report: Report, first: int, last: int) -> _ChunkData:
    data = _ChunkData()
    centre_id = report.centre.id
    unit_ids = [u.id for u in report.units]
    identity = and_(
        LearnerIdentity.centre_id == Attempt.centre_id,
        LearnerIdentity.learner_ref == Attempt.learner_ref,
    )
    attempts = session.execute(
        select(
            Attempt.id,
            Attempt.uuid,
            Attempt.status,
            Attempt.graded_at,
            Attempt.submitted_at,
            Assessment.unit_id,
            LearnerIdentity.learner_id,
        )
        .join(Assessment, Assessment.id == Attempt.assessment_id)
        .join(LearnerIdentity, identity)
        .where(
            _identities_in(report, first, last),
            Attempt.centre_id == centre_id,
            Attempt.status.in_([AttemptStatus.FULLY_GRADED, AttemptStatus.PENDING_MANUAL]),
            Assessment.unit_id.in_(unit_ids),
        )
        .order_by(LearnerIdentity.learner_id, Assessment.unit_id, *KNOWLEDGE_ORDER)
    )
    for row in attempts:
        data.attempts[row.id] = row
        key = (row.learner_id, row.unit_id)
        if row.status == AttemptStatus.FULLY_GRADED:
            data.graded.setdefault(key, row)  # the first in KNOWLEDGE_ORDER
        else:
            data.pending[key].append(row)

    decisions = session.execute(
        select(
            AttemptCriterionDecision.attempt_id,
            AttemptCriterionDecision.criterion_code,
            AttemptCriterionDecision.decision,
            AttemptCriterionDecision.evidence,
        )
        .join(Attempt, Attempt.id == AttemptCriterionDecision.attempt_id)
        .join(LearnerIdentity, identity)
        .where(_identities_in(report, first, last), Attempt.centre_id == centre_id)
    )
    for row in decisions:
        if row.attempt_id in data.attempts:
            data.decisions[row.attempt_id][row.criterion_code] = row

    marks = session.execute(
        select(
            AttemptMark.attempt_id,
            AttemptMark.item_code,
            AttemptMark.criterion_code,
            AttemptMark.quality,
            AttemptMark.marked_by,
            AttemptMark.marked_at,
        )
        .join(Attempt, Attempt.id == AttemptMark.attempt_id)
        .join(LearnerIdentity, identity)
        .where(
            _identities_in(report, first, last),
            Attempt.centre_id == centre_id,
            Attempt.status == AttemptStatus.FULLY_GRADED,
        )
    )
    for row in marks:
        data.marks[(row.attempt_id, row.item_code, row.criterion_code)] = row

    newer = aliased(PerformanceEvidence)
    records = session.execute(
        select(
            PerformanceEvidence.uuid,
            PerformanceEvidence.evidence_type,
            PerformanceEvidence.evidenced_on,
            PerformanceEvidence.decision,
            PerformanceEvidence.assessor,
            Criterion.code,
            LearnerIdentity.learner_id,
        )
        .join(Criterion, Criterion.id == PerformanceEvidence.criterion_id)
        .join(
            LearnerIdentity,
            and_(
                LearnerIdentity.centre_id == PerformanceEvidence.centre_id,
                LearnerIdentity.learner_ref == PerformanceEvidence.learner_ref,
            ),
        )
        .where(
            _identities_in(report, first, last),
            PerformanceEvidence.centre_id == centre_id,
            Criterion.unit_id.in_(unit_ids),
            # Current records only, as service.performance_evidence.for_learner(current_only).
            PerformanceEvidence.withdrawn_at.is_(None),
            ~select(newer.id).where(newer.supersedes_id == PerformanceEvidence.id).exists(),
        )
        .order_by(Criterion.position, PerformanceEvidence.id)
    )
    for row in records:
        data.records[(row.learner_id, row.code)].append(row)
    return data


def _coverage(session: Session, report: Report, learners) -> list[LearnerCoverage]:
    if not learners:
        return []
    data = _load(session, report, learners[0].id, learners[-1].id)
    return [
        LearnerCoverage(
            learner.id,
            learner.uuid,
            learner.reference,
            learner.name,
            tuple(
                cell
                for unit in report.units
                for cell in _unit_cells(unit, report.rules[unit.id], learner.id, data)
            ),
        )
        for learner in learners
    ]


def _unit_cells(unit: Unit, rules: list, learner_id: int, data: _ChunkData) -> list[Cell]:
    attempt = data.graded.get((learner_id, unit.id))
    knowledge = {}
    if attempt is not None:
        knowledge = {
            code: KnowledgeDecision(row.decision, tuple(row.evidence))
            for code, row in data.decisions[attempt.id].items()
        }
    records = {
        rule.code: data.records.get((learner_id, rule.code), [])
        for rule in rules
        if rule.evidence_required == EvidenceRequired.PERFORMANCE
    }
    judgements = {
        code: [EvidenceJudgement(r.uuid, r.decision) for r in rows]
        for code, rows in records.items()
    }
    status = unit_status(unit.grading, rules, knowledge, judgements)
    cells = []
    for criterion in status.criteria:
        if criterion.evidence_required == EvidenceRequired.PERFORMANCE:
            by_uuid = {r.uuid: r for r in records[criterion.code]}
            evidence = tuple(_record_evidence(by_uuid[u]) for u in criterion.evidence)
            cells.append(Cell(criterion.code, criterion.decision, evidence))
            continue
        if criterion.decision == Decision.NOT_EVIDENCED:
            waiting = _awaiting_marking(data, learner_id, unit.id, criterion.code)
            if waiting:
                cells.append(Cell(criterion.code, Decision.PENDING, waiting))
                continue
        evidence = tuple(
            _item_evidence(attempt, item, criterion.code, data) for item in criterion.evidence
        )
        cells.append(Cell(criterion.code, criterion.decision, evidence))
    return cells


def _record_evidence(record) -> Evidence:
    return Evidence(
        CoverageEvidence.PERFORMANCE,
        None,
        record.uuid,
        None,
        record.assessor,
        record.evidenced_on,
        record.decision,
        record.evidence_type,
    )


def _item_evidence(attempt, item: str, code: str, data: _ChunkData) -> Evidence:
    mark = data.marks.get((attempt.id, item, code))
    if mark is None:
        return Evidence(
            CoverageEvidence.AUTO_ITEM, attempt.uuid, None, item, None, attempt.graded_at
        )
    return Evidence(
        CoverageEvidence.ASSESSOR_MARK,
        attempt.uuid,
        None,
        item,
        mark.marked_by,
        mark.marked_at,
        Decision(mark.quality),
    )


def _awaiting_marking(data: _ChunkData, learner_id: int, unit_id: int, code: str):
    """The items of submitted attempts whose decision on `code` awaits an assessor."""
    return tuple(
        Evidence(
            CoverageEvidence.ASSESSOR_MARK, attempt.uuid, None, item, None, attempt.submitted_at
        )
        for attempt in data.pending.get((learner_id, unit_id), ())
        if (row := data.decisions[attempt.id].get(code)) is not None
        and row.decision == Decision.PENDING
        for item in row.evidence
    )


class Totals:
    """Totals over every learner of a report, added a chunk at a time."""

    def __init__(self, report: Report):
        self.report = report
        self.learners = 0
        self.full_coverage = 0
        self.met: Counter[str] = Counter()
        self.assessors: dict[str, Counter[str]] = defaultdict(Counter)

    def add(self, learner: LearnerCoverage) -> None:
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
    for chunk in chunks(session, report):
        for learner in chunk:
            found.add(learner)
    return found

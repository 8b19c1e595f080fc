"""Criterion coverage for external verifiers: a learners-by-criteria matrix of one centre.

Each cell is decided by the rules of unit status (service.grading.unit_outcome.unit_status, the
one grading model): knowledge criteria by the learner's knowledge attempt (the latest fully
graded attempt at the unit, service.unit_status.KNOWLEDGE_ORDER), performance criteria by
current performance evidence records. One state is added for the report: a criterion that
unit status finds not evidenced, while a submitted attempt awaits an assessor's marking on it,
is "pending".

A learner here is a Learner row of the centre; all of their identities (the centre's own
reference and LTI identities) count, as one person.

A whole report (CSV, totals) is read by `Reader` as three learner-ordered streams in one
snapshot, a chunk of learners at a time: the same few statements for any number of learners,
and memory for about two chunks. A page (JSON, HTML) reads its learners' evidence in two
queries.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple, TypeVar

from sqlalchemy import Select, String, Text, and_, cast, exists, func, or_, select, type_coerce
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, aliased, selectinload

from lti.models import LtiResourceLink
from service.grading.unit_outcome import (
    EvidenceJudgement,
    KnowledgeDecision,
    UnitCriterion,
    unit_status,
)
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
from service.sql_text import utc_iso
from service.tenancy import Tenancy
from service.unit_status import KNOWLEDGE_ORDER, criteria_rules

CHUNK = 500  # learners a chunk; the report holds about two in memory (one read ahead)
RARELY_MET = 5  # how many of the least met criteria the totals name
T = TypeVar("T")


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


def learners_of(report: Report) -> Select:
    """(learner id, centre id) of every learner of the report: for the audit log."""
    return _learners_query(report).with_only_columns(Learner.id, Learner.centre_id)


def count_learners(session: Session, report: Report) -> int:
    return session.scalar(select(func.count()).select_from(_learners_query(report).subquery()))


def page(session: Session, report: Report, number: int, size: int) -> list[LearnerCoverage]:
    """One page of learners (by id), from 1."""
    connection = session.connection()
    learners = connection.execute(
        _learners_query(report).order_by(Learner.id).offset((number - 1) * size).limit(size)
    ).all()
    return _coverage(report, learners, _load(connection, report, learners))


class Reader:
    """Every learner of a report, a chunk at a time, read in one snapshot.

    The report is read as three streams ordered by learner (learners, attempts, performance
    evidence: one query each, read through server-side cursors a chunk at a time) on a
    connection of its own, by a reader thread that only fetches: the next chunk's rows are
    fetched while this one is parsed and built, so the database's work overlaps the service's
    instead of adding to it, and no table is scanned more than once. The snapshot is taken
    when the reader opens: what the caller records after that (the audit log) covers every
    learner the report will hold.
    (A chunk is hundreds of thousands of small tuples: see service/gc_tuning.py.)"""

    def __init__(self, session: Session, report: Report, size: int | None = None):
        self._engine = session.get_bind()
        self._report = report
        self._size = size or CHUNK
        self._stack = contextlib.ExitStack()

    def open(self) -> Reader:
        """Take the snapshot: read the report from here on."""
        try:
            connection = self._stack.enter_context(self._engine.connect())
            postgresql = self._engine.dialect.name == "postgresql"
            if postgresql:
                # SQLite's transactions always read one snapshot; PostgreSQL's need asking.
                connection.execution_options(isolation_level="REPEATABLE READ")
            self._stack.enter_context(connection.begin())
            if postgresql:
                # The JIT would compile these queries' expressions for every report: 0.3 s
                # before the first chunk (bench/coverage.py) for rows streamed in batches.
                connection.exec_driver_sql("SET LOCAL jit = off")
            connection.execution_options(stream_results=True)  # server-side cursors
            self._streams = _Streams(connection, self._report, self._size)
            self._thread = self._stack.enter_context(
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="coverage-reader")
            )
        except BaseException:
            self._stack.close()
            raise
        return self

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> Reader:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def chunks(self, consume: Callable[[list[LearnerCoverage]], T]) -> Iterator[T]:
        """Each chunk handed to `consume`; only what it returns is kept (CSV text, totals)."""
        ahead = self._thread.submit(self._streams.next_chunk)
        while True:
            learners, attempts, records = ahead.result()
            if not learners:
                return
            ahead = self._thread.submit(self._streams.next_chunk)
            data = _ChunkData()
            _add_attempts(data, attempts)
            _add_records(data, records)
            yield consume(_coverage(self._report, learners, data))


class _Streams:
    """The report's learners, attempts and performance evidence, each ordered by learner id,
    taken a chunk of learners at a time."""

    def __init__(self, connection: Connection, report: Report, size: int):
        everyone = _identities_of(report)
        self.report = report
        self.size = size
        # Executed here, in the caller's thread: the snapshot is taken now. Each stream is
        # fetched in batches growing to about a chunk's rows (a learner has an attempt or so
        # per unit): few round trips, and memory that does not grow with the report.
        self.learners = self._stream(connection, _learners_query(report).order_by(Learner.id), 1)
        self.attempts = _ByLearner(
            self._stream(connection, _attempts_query(report, everyone), 2 * len(report.units))
        )
        self.records = _ByLearner(self._stream(connection, _records_query(report, everyone), 1))

    def _stream(self, connection: Connection, query: Select, rows_per_learner: int):
        return connection.execute(
            query, execution_options={"max_row_buffer": self.size * rows_per_learner}
        )

    def next_chunk(self) -> tuple[list, list, list]:
        """A chunk's rows as fetched: its learners, their attempts and their records. Only
        fetched here (the reader thread spends its time waiting on the database, which lets
        go of the GIL); parsed by the thread that builds the chunk."""
        learners = self.learners.fetchmany(self.size)
        if not learners:
            return [], [], []
        last = learners[-1].id
        return learners, list(self.attempts.up_to(last)), list(self.records.up_to(last))


class _ByLearner:
    """Rows ordered by learner id (their first column), taken up to a learner at a time."""

    def __init__(self, rows):
        self._rows = iter(rows)
        self._next = next(self._rows, None)

    def up_to(self, learner_id: int) -> Iterator:
        while self._next is not None and self._next[0] <= learner_id:
            yield self._next
            self._next = next(self._rows, None)


def _identities_of(report: Report, first: int | None = None, last: int | None = None):
    """Which LearnerIdentity rows count: the centre's, of the report's learners (a cohort's
    when it has a course), of those with ids in [first, last] when given (a range, not a list:
    a page's SQL stays small)."""
    condition = LearnerIdentity.centre_id == report.centre.id
    if report.course is not None:
        cohort = _learners_query(report).with_only_columns(Learner.id)
        condition = and_(condition, LearnerIdentity.learner_id.in_(cohort))
    if first is not None:
        condition = and_(condition, LearnerIdentity.learner_id.between(first, last))
    return condition


def _text(column):
    """A column read as the plain string stored: enums compared as the strings they are (a
    StrEnum equals its value), without building an enum member per row."""
    return type_coerce(column, String())


class _Attempt(NamedTuple):
    uuid: str
    on: str | None  # ISO 8601: when it was graded (knowledge) or submitted (pending)
    # criterion code -> (decision, items, pattern: (decision, number of items))
    decisions: dict[str, tuple[str, tuple[str, ...], tuple[str, int]]]
    marks: dict[str, dict[str, Evidence]]  # criterion code -> item -> the assessor's mark


@dataclass
class _ChunkData:
    # learner id -> unit id -> the knowledge attempt (_Attempt)
    graded: dict = field(default_factory=lambda: defaultdict(dict))
    pending: dict = field(default_factory=lambda: defaultdict(list))  # (learner, unit) -> list
    # learner id -> performance criterion code -> (pattern, current records as Evidence)
    records: dict = field(default_factory=dict)
    # "decision US items" -> (decision, items, pattern): see _decided
    decided: dict = field(default_factory=dict)


# Separators of the fields (US) and of the rows (RS) the database joins into one string, so a
# chunk comes back as one row per attempt and one per learner rather than one per decision,
# mark and record. Neither can occur in the codes, identifiers and dates joined.
US, RS = "\x1f", "\x1e"


def _joined(*columns):
    """The columns as one text, fields separated by US (NULL as empty)."""
    fields = [func.coalesce(cast(column, Text), "") for column in columns]
    joined = fields[0]
    for field_ in fields[1:]:
        joined = joined + US + field_
    return joined


def _load(connection: Connection, report: Report, learners) -> _ChunkData:
    """The evidence of learners (a run of the report's, by id) in two queries."""
    data = _ChunkData()
    if learners:
        identities = _identities_of(report, learners[0].id, learners[-1].id)
        _add_attempts(data, connection.execute(_attempts_query(report, identities)))
        _add_records(data, connection.execute(_records_query(report, identities)))
    return data


def _attempts_query(report: Report, identities) -> Select:
    """Of each learner and unit, the knowledge attempt (the first fully graded one in
    KNOWLEDGE_ORDER) and every attempt awaiting marking, with their decisions and marks: one
    row per attempt, ordered by learner."""
    ranked = (
        select(
            Attempt.id,
            Attempt.uuid,
            _text(Attempt.status).label("status"),
            Attempt.graded_at,
            Attempt.submitted_at,
            Assessment.unit_id,
            LearnerIdentity.learner_id,
            func.row_number()
            .over(
                partition_by=(LearnerIdentity.learner_id, Assessment.unit_id, Attempt.status),
                order_by=KNOWLEDGE_ORDER,
            )
            .label("rank"),
        )
        .join(Assessment, Assessment.id == Attempt.assessment_id)
        .join(
            LearnerIdentity,
            and_(
                LearnerIdentity.centre_id == Attempt.centre_id,
                LearnerIdentity.learner_ref == Attempt.learner_ref,
            ),
        )
        .where(
            identities,
            Attempt.centre_id == report.centre.id,
            Attempt.status.in_([AttemptStatus.FULLY_GRADED, AttemptStatus.PENDING_MANUAL]),
            Assessment.unit_id.in_([u.id for u in report.units]),
        )
        .subquery()
    )
    # Decisions and marks as correlated subqueries, one index look-up per attempt, rather
    # than joined aggregates: the rows then stream in learner order as they are made, and a
    # reader's first chunk does not wait for every attempt's decisions to be grouped.
    decisions = (
        select(
            func.aggregate_strings(
                _joined(
                    AttemptCriterionDecision.criterion_code,
                    _text(AttemptCriterionDecision.decision),
                    AttemptCriterionDecision.evidence,
                ),
                RS,
            )
        )
        .where(AttemptCriterionDecision.attempt_id == ranked.c.id)
        .scalar_subquery()
    )
    marks = (
        select(
            func.aggregate_strings(
                _joined(
                    AttemptMark.item_code,
                    AttemptMark.criterion_code,
                    AttemptMark.quality,
                    AttemptMark.marked_by,
                    utc_iso(AttemptMark.marked_at),
                ),
                RS,
            )
        )
        .where(AttemptMark.attempt_id == ranked.c.id)
        .scalar_subquery()
    )
    return (
        select(
            ranked.c.learner_id,
            ranked.c.unit_id,
            ranked.c.status,
            ranked.c.uuid,
            utc_iso(ranked.c.graded_at),
            utc_iso(ranked.c.submitted_at),
            decisions,
            marks,
        )
        .where(or_(ranked.c.status == AttemptStatus.PENDING_MANUAL, ranked.c.rank == 1))
        .order_by(ranked.c.learner_id, ranked.c.unit_id, ranked.c.rank)
    )


def _decided(data: _ChunkData, decided: str) -> tuple:
    """(decision, items, pattern) of a decision's "decision US items-as-JSON": a centre's
    decisions repeat few of these, each read once a chunk."""
    decision, items = decided.split(US)
    listed = tuple(json.loads(items))
    found = data.decided[decided] = (decision, listed, (decision, len(listed)))
    return found


def _add_attempts(data: _ChunkData, rows) -> None:
    for learner_id, unit_id, status, uuid, graded_on, submitted_on, decisions, marks in rows:
        found = {}
        for piece in decisions.split(RS) if decisions else ():
            code, _, decided = piece.partition(US)
            found[code] = data.decided.get(decided) or _decided(data, decided)
        if status == AttemptStatus.PENDING_MANUAL:
            data.pending[(learner_id, unit_id)].append(_Attempt(uuid, submitted_on, found, {}))
        else:
            data.graded[learner_id][unit_id] = _Attempt(uuid, graded_on, found, _marks(uuid, marks))


def _records_query(report: Report, identities) -> Select:
    """Each identity's current performance evidence records in one row, ordered by learner
    (a correlated subquery per identity, so the rows stream as they are made)."""
    newer = aliased(PerformanceEvidence)
    records = (
        select(
            func.aggregate_strings(
                _joined(
                    Criterion.code,
                    _text(PerformanceEvidence.decision),
                    PerformanceEvidence.uuid,
                    _text(PerformanceEvidence.evidence_type),
                    PerformanceEvidence.assessor,
                    PerformanceEvidence.evidenced_on,
                    PerformanceEvidence.id,
                ),
                RS,
            ),
        )
        .select_from(PerformanceEvidence)
        .join(Criterion, Criterion.id == PerformanceEvidence.criterion_id)
        .where(
            PerformanceEvidence.centre_id == LearnerIdentity.centre_id,
            PerformanceEvidence.learner_ref == LearnerIdentity.learner_ref,
            Criterion.unit_id.in_([u.id for u in report.units]),
            # Current records only, as service.performance_evidence.for_learner(current_only).
            PerformanceEvidence.withdrawn_at.is_(None),
            ~select(newer.id).where(newer.supersedes_id == PerformanceEvidence.id).exists(),
        )
        .scalar_subquery()
    )
    return (
        select(LearnerIdentity.learner_id, records)
        .where(identities)
        .order_by(LearnerIdentity.learner_id)
    )


def _add_records(data: _ChunkData, rows) -> None:
    pieces = defaultdict(list)  # learner id -> records of all their identities
    for learner_id, joined in rows:
        if joined:
            pieces[learner_id] += joined.split(RS)
    for learner_id, found in pieces.items():
        by_code = defaultdict(list)
        for piece in sorted(found, key=_record_order):  # each criterion's in the order made
            code, decision, uuid, kind, assessor, on, _ = piece.split(US)
            by_code[code].append(
                Evidence(
                    CoverageEvidence.PERFORMANCE,
                    None,
                    uuid,
                    None,
                    assessor,
                    on,
                    DECISIONS[decision],
                    kind,
                )
            )
        data.records[learner_id] = {
            code: (tuple(record.decision for record in found), tuple(found))
            for code, found in by_code.items()
        }


def _record_order(piece: str) -> int:
    return int(piece.rpartition(US)[2])  # the record's id, the last field


def _marks(uuid: str, joined: str | None) -> dict[str, dict[str, Evidence]]:
    if not joined:
        return NOTHING
    marks = defaultdict(dict)
    for piece in joined.split(RS):
        item, code, quality, marked_by, on = piece.split(US)
        marks[code][item] = Evidence(
            CoverageEvidence.ASSESSOR_MARK,
            uuid,
            None,
            item,
            marked_by or None,
            on,
            DECISIONS[quality],
        )
    return marks


def _coverage(report: Report, learners, data: _ChunkData) -> list[LearnerCoverage]:
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


NOTHING: dict = {}
NO_PATTERN = ()
NO_RECORDS = (NO_PATTERN, ())
NOT_EVIDENCED = Decision.NOT_EVIDENCED
MET = Decision.MET
AUTO_ITEM = CoverageEvidence.AUTO_ITEM


def _cells(report: Report, learner_id: int, data: _ChunkData) -> tuple[Cell, ...]:
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


def _items_evidence(attempt: _Attempt, code: str, decided, positions) -> tuple:
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


def _awaiting_marking(data: _ChunkData, learner_id: int, unit_id: int, code: str):
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
        for _ in reader.chunks(found.add_chunk):
            pass
    return found

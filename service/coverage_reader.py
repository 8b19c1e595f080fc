"""Reading a coverage report's evidence: a page of learners in two queries, or a whole report
as three learner-ordered streams in one snapshot (`Reader`), parsed into `ChunkData` for
service/coverage.py to decide the cells from.

The database joins each attempt's decisions and marks, and each identity's performance evidence,
into one string (fields separated by US, rows by RS), so a chunk comes back as one row per
attempt and one per identity rather than one per decision, mark and record.
"""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

from sqlalchemy import Select, String, Text, and_, cast, exists, func, or_, select, type_coerce
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, aliased

from lti.models import LtiResourceLink
from service.coverage_model import DECISIONS, CoverageEvidence, Evidence, Report
from service.grading.vocabulary import AttemptStatus
from service.models import (
    Assessment,
    Attempt,
    AttemptCriterionDecision,
    AttemptMark,
    Criterion,
    Learner,
    LearnerIdentity,
    PerformanceEvidence,
)
from service.sql_text import utc_iso
from service.unit_status import KNOWLEDGE_ORDER

CHUNK = 500  # learners a chunk; the report holds about two in memory (one read ahead)
NOTHING: Mapping = MappingProxyType({})  # an empty mapping nobody can fill by mistake


def learners_query(report: Report) -> Select:
    """The report's learners (id, uuid, reference, name): the centre's, or a course's cohort."""
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


class Reader:
    """Every learner of a report, a chunk at a time, read in one snapshot.

    The report is read as three streams ordered by learner (learners, attempts, performance
    evidence: one query each, read through server-side cursors a chunk at a time) on a
    connection of its own, by a reader thread that only fetches: the next chunk's rows are
    fetched while this one is parsed and built, so the database's work overlaps the service's
    instead of adding to it, and no table is scanned more than once. The snapshot is taken
    when the reader opens: what the caller records after that (the audit log) covers every
    learner the report will hold.
    (A chunk is hundreds of thousands of small tuples once decided: see service/gc_tuning.py.)"""

    def __init__(self, session: Session, report: Report, size: int | None = None):
        self._engine = session.get_bind()
        self.report = report
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
            self._streams = _Streams(connection, self.report, self._size)
            self._thread = self._stack.enter_context(
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="coverage-reader")
            )
            # The first chunk is fetched at once, while the caller does what it does before
            # reading (the audit log's insert and commit).
            self._ahead = self._thread.submit(self._streams.next_chunk)
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

    def chunks(self) -> Iterator[tuple[list, ChunkData]]:
        """Each chunk's learners and their evidence, parsed in the caller's thread while the
        reader thread fetches the next."""
        ahead = self._ahead
        while True:
            learners, attempts, records = ahead.result()
            if not learners:
                return
            ahead = self._thread.submit(self._streams.next_chunk)
            data = ChunkData()
            _add_attempts(data, attempts)
            _add_records(data, records)
            yield learners, data


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
        self.learners = self._stream(connection, learners_query(report).order_by(Learner.id), 1)
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
        cohort = learners_query(report).with_only_columns(Learner.id)
        condition = and_(condition, LearnerIdentity.learner_id.in_(cohort))
    if first is not None:
        condition = and_(condition, LearnerIdentity.learner_id.between(first, last))
    return condition


def _text(column):
    """A column read as the plain string stored: enums compared as the strings they are (a
    StrEnum equals its value), without building an enum member per row."""
    return type_coerce(column, String())


class AttemptEvidence(NamedTuple):
    uuid: str
    on: str | None  # ISO 8601: when it was graded (knowledge) or submitted (pending)
    # criterion code -> (decision, items, pattern: (decision, number of items))
    decisions: dict[str, tuple[str, tuple[str, ...], tuple[str, int]]]
    marks: Mapping[str, dict[str, Evidence]]  # criterion code -> item -> the assessor's mark


@dataclass
class ChunkData:
    # learner id -> unit id -> the knowledge attempt (AttemptEvidence)
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


def load(connection: Connection, report: Report, learners) -> ChunkData:
    """The evidence of learners (a run of the report's, by id) in two queries."""
    data = ChunkData()
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


def _decided(data: ChunkData, decided: str) -> tuple:
    """(decision, items, pattern) of a decision's "decision US items-as-JSON": a centre's
    decisions repeat few of these, each read once a chunk."""
    decision, items = decided.split(US)
    listed = tuple(json.loads(items))
    found = data.decided[decided] = (decision, listed, (decision, len(listed)))
    return found


def _add_attempts(data: ChunkData, rows) -> None:
    for learner_id, unit_id, status, uuid, graded_on, submitted_on, decisions, marks in rows:
        found = {}
        for piece in decisions.split(RS) if decisions else ():
            code, _, decided = piece.partition(US)
            found[code] = data.decided.get(decided) or _decided(data, decided)
        if status == AttemptStatus.PENDING_MANUAL:
            data.pending[(learner_id, unit_id)].append(
                AttemptEvidence(uuid, submitted_on, found, {})
            )
        else:
            data.graded[learner_id][unit_id] = AttemptEvidence(
                uuid, graded_on, found, _marks(uuid, marks)
            )


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


def _add_records(data: ChunkData, rows) -> None:
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
            code: (tuple([record.decision for record in found]), tuple(found))
            for code, found in by_code.items()
        }


def _record_order(piece: str) -> int:
    return int(piece.rpartition(US)[2])  # the record's id, the last field


def _marks(uuid: str, joined: str | None) -> Mapping[str, dict[str, Evidence]]:
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

"""Typed SQLAlchemy 2.x models. Content (units, criteria) is loaded from criteria_data/."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Double,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from lti.gradebook_vocabulary import DeliveryStatus
from service.access_vocabulary import ReasonCategory, SetBy
from service.attempt_mode import AttemptMode
from service.audit_vocabulary import AuditAction
from service.client_secrets import hash_secret, needs_rehash, verify_secret
from service.client_vocabulary import ClientKind
from service.content_vocabulary import ItemStatus
from service.grading.vocabulary import AttemptStatus, Decision, EvidenceType
from service.sampling_vocabulary import PlanKind, SampleSource, Verdict


def utcnow() -> datetime:
    return datetime.now(UTC)


def _values(enum) -> list[str]:
    """Store an enum's values ("in_progress"), not its member names."""
    return [member.value for member in enum]


class UTCDateTime(TypeDecorator):
    """Stores UTC and gives back an aware datetime: SQLite forgets the zone, PostgreSQL keeps it."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: store times in UTC with tzinfo")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        # SQLite gives naive values (stored as UTC); PostgreSQL gives the session's zone.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Qualification(Base):
    __tablename__ = "qualifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    publisher: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(255))
    licence_title: Mapped[str] = mapped_column(String(255))
    licence_text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    units: Mapped[list[Unit]] = relationship(back_populates="qualification", order_by="Unit.code")


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    qualification_id: Mapped[int] = mapped_column(ForeignKey("qualifications.id"))
    title: Mapped[str] = mapped_column(String(255))
    level: Mapped[int] = mapped_column(Integer, index=True)
    grading: Mapped[str] = mapped_column(String(16))
    guided_learning_hours: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(255))
    synopsis: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    qualification: Mapped[Qualification] = relationship(back_populates="units")
    knowledge_topics: Mapped[list[KnowledgeTopic]] = relationship(
        back_populates="unit", order_by="KnowledgeTopic.position", cascade="all, delete-orphan"
    )
    guidance: Mapped[list[LearnerGuidance]] = relationship(
        order_by="LearnerGuidance.position", cascade="all, delete-orphan"
    )
    misconceptions: Mapped[list[Misconception]] = relationship(
        order_by="Misconception.position", cascade="all, delete-orphan"
    )
    learning_outcomes: Mapped[list[LearningOutcome]] = relationship(
        back_populates="unit", order_by="LearningOutcome.position"
    )
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="unit", order_by="Criterion.position"
    )


class KnowledgeTopic(Base):
    """A key concept of the unit; served as a CASE CFConcept."""

    __tablename__ = "knowledge_topics"
    __table_args__ = (UniqueConstraint("unit_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    code: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)

    unit: Mapped[Unit] = relationship(back_populates="knowledge_topics")


class LearnerGuidance(Base):
    """An exam tip from the seed, shown to learners."""

    __tablename__ = "learner_guidance"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)


class Misconception(Base):
    """A common mistake from the seed; items use these as distractors."""

    __tablename__ = "misconceptions"
    __table_args__ = (UniqueConstraint("unit_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    code: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)


class LearningOutcome(Base):
    __tablename__ = "learning_outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    position: Mapped[int] = mapped_column(Integer)
    statement: Mapped[str] = mapped_column(Text)
    knowledge_topic_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship(back_populates="learning_outcomes")
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="learning_outcome", order_by="Criterion.position"
    )


class Criterion(Base):
    """An assessment criterion. Its wording lives in versions: an edit adds one, never rewrites."""

    __tablename__ = "criteria"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    learning_outcome_id: Mapped[int] = mapped_column(ForeignKey("learning_outcomes.id"))
    position: Mapped[int] = mapped_column(Integer)
    current_version: Mapped[int] = mapped_column(Integer, default=1)

    unit: Mapped[Unit] = relationship(back_populates="criteria")
    learning_outcome: Mapped[LearningOutcome] = relationship(back_populates="criteria")
    versions: Mapped[list[CriterionVersion]] = relationship(
        back_populates="criterion",
        order_by="CriterionVersion.version",
        cascade="all, delete-orphan",
    )

    @property
    def current(self) -> CriterionVersion:
        return next(v for v in self.versions if v.version == self.current_version)

    @property
    def guidance(self) -> dict:
        """What assessors judge against (marking point) and what learners are told (exam tips)."""
        return {
            "assessor": self.current.marking_point,
            "learner": [g.text for g in self.unit.guidance],
        }


class CriterionVersion(Base):
    __tablename__ = "criterion_versions"
    __table_args__ = (UniqueConstraint("criterion_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id"))
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    evidence_type: Mapped[str] = mapped_column(String(16))
    evidence: Mapped[str] = mapped_column(Text)
    band: Mapped[str] = mapped_column(String(16))
    marking_point: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    criterion: Mapped[Criterion] = relationship(back_populates="versions")


class Item(Base):
    """A scenario-based item. Like criteria, its content is versioned: attempts keep the version
    they were given."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    type: Mapped[str] = mapped_column(String(24))
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    # Provenance (service/item_provenance.py). written_by, reviewed_by and a draft or reviewed
    # status come from the current version's review record; an approval is the awarding
    # body's, recorded here with who, when and the version approved, and never in the files.
    status: Mapped[ItemStatus] = mapped_column(
        Enum(ItemStatus, native_enum=False, length=16, values_callable=_values),
        default=ItemStatus.DRAFT,
        server_default=ItemStatus.DRAFT.value,
    )
    written_by: Mapped[str | None] = mapped_column(String(255))
    reviewed_by: Mapped[str | None] = mapped_column(String(255))
    approved_by: Mapped[str | None] = mapped_column(String(255))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_version: Mapped[int | None] = mapped_column(Integer)
    # A published sample: public, never drawn into a live form. Live items are confidential.
    sample: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    unit: Mapped[Unit] = relationship()
    versions: Mapped[list[ItemVersion]] = relationship(
        back_populates="item", order_by="ItemVersion.version", cascade="all, delete-orphan"
    )
    criteria: Mapped[list[Criterion]] = relationship(
        secondary="item_criteria", order_by="Criterion.position"
    )

    @property
    def current(self) -> ItemVersion:
        return next(v for v in self.versions if v.version == self.current_version)


class ItemVersion(Base):
    __tablename__ = "item_versions"
    __table_args__ = (UniqueConstraint("item_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict] = mapped_column(JSON)  # the item as written in criteria_data/items/
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[Item] = relationship(back_populates="versions")


class ItemCriterion(Base):
    """Which criteria the current version of an item evidences (for listing and filtering)."""

    __tablename__ = "item_criteria"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id"), primary_key=True)


class Rubric(Base):
    """Performance levels for one criterion, used to mark extended responses."""

    __tablename__ = "rubrics"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id"), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    levels: Mapped[list[dict]] = mapped_column(JSON)  # [{quality, score, descriptor}] ascending
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    criterion: Mapped[Criterion] = relationship()


class Assessment(Base):
    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    time_limit_minutes: Mapped[int] = mapped_column(Integer)
    # The grading model (service/grading/MODEL.md): no percentage pass mark; a pass-band
    # criterion is met at `mastery_percent` of its auto evidence; every form draws
    # `auto_items_per_criterion` auto items per criterion.
    mastery_percent: Mapped[int] = mapped_column(Integer)
    auto_items_per_criterion: Mapped[int] = mapped_column(Integer)
    extended_responses: Mapped[int] = mapped_column(Integer)
    # Published, displayed, never queried: [{grade, descriptor}] in rising order.
    grade_descriptors: Mapped[list[dict]] = mapped_column(JSON, default=list, server_default="[]")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()


class Centre(Base):
    """A college or training provider that delivers the qualification."""

    __tablename__ = "centres"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Learner(Base):
    """A learner of a centre as the centre knows them: its own reference (unique in the centre)
    and, when the centre gives it, a name. The only personal data beyond the LMS's user ids;
    NULLed by pseudonymisation (`pseudonymised_at`). Attempts, evidence and arrangements are kept
    under a learner_ref; `LearnerIdentity` rows say which learner each learner_ref belongs to."""

    __tablename__ = "learners"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"), index=True)
    # The centre's own reference (its MIS id). NULL for a learner known only from an LMS launch
    # until the centre links them.
    reference: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    pseudonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    centre: Mapped[Centre | None] = relationship()
    identities: Mapped[list[LearnerIdentity]] = relationship(
        back_populates="learner", order_by="LearnerIdentity.id"
    )


Index(
    "uq_learners_reference",
    func.coalesce(Learner.centre_id, 0),
    Learner.reference,
    unique=True,
    sqlite_where=text("reference IS NOT NULL"),
    postgresql_where=text("reference IS NOT NULL"),
)


class LearnerIdentity(Base):
    """One learner_ref under which a learner's records are kept: the centre's reference (for
    attempts and evidence sent through the API) or an LMS identity (platform + user id, kept as
    "lti:{platform}:{sub}"). Every learner_ref in attempts, performance evidence and access
    arrangements has one row here (service/learners.py creates it on first use), so reports
    join records to learners in SQL. Linking an LMS identity to a centre's learner moves its row."""

    __tablename__ = "learner_identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id"), index=True)
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"))
    learner_ref: Mapped[str] = mapped_column(String(255))
    lti_platform_id: Mapped[int | None] = mapped_column(Integer)
    lti_sub: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    learner: Mapped[Learner] = relationship(back_populates="identities")


Index(
    "uq_learner_identities_ref",
    func.coalesce(LearnerIdentity.centre_id, 0),
    LearnerIdentity.learner_ref,
    unique=True,
)


class Attempt(Base):
    """One learner's go at an assessment. `learner_ref` is an opaque id chosen by the centre
    (or, for LTI, "lti:{platform}:{sub}"): never a name or an email. An attempt's form,
    responses, marks and result are rows of their own (below), so that saves of different
    items never overwrite each other and reports can query them."""

    __tablename__ = "attempts"
    # The learner's attempts at an assessment (service/attempt_access.py): the launch path's.
    __table_args__ = (
        Index("ix_attempts_assessment_learner", "assessment_id", "learner_ref", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"), index=True)
    learner_ref: Mapped[str] = mapped_column(String(255), index=True)
    # LTI learners: the platform and its user id (`sub`); NULL for attempts started by the API.
    lti_platform_id: Mapped[int | None] = mapped_column(Integer, index=True)
    lti_sub: Mapped[str | None] = mapped_column(String(255))
    # The course activity (lti_resource_links.id) the attempt was started from: whose
    # assessors see it and where its scores go. NULL for attempts started by the API. No
    # foreign key, like lti_platform_id: the domain tables do not depend on the LTI ones.
    lti_resource_link_id: Mapped[int | None] = mapped_column(Integer, index=True)
    seed: Mapped[str] = mapped_column(String(64))  # SHA-256 hex of the form's description
    status: Mapped[AttemptStatus] = mapped_column(
        Enum(AttemptStatus, native_enum=False, length=24, values_callable=_values),
        default=AttemptStatus.IN_PROGRESS,
    )
    # Bumped by every write that changes the attempt's state: taking the row's write lock first
    # is what serialises saves, submits and marks of one attempt (see service/attempts.py).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    score: Mapped[float | None] = mapped_column(Double)
    max_score: Mapped[int | None] = mapped_column(Integer)
    percent: Mapped[float | None] = mapped_column(Double)
    grade: Mapped[str | None] = mapped_column(String(24))
    # When the attempt was first opened (its form drawn) and when the learner chose Start: the
    # clock runs from started_at (NULL: not started). Until the start page exists, opening the
    # attempt starts it. `deadline` is the clock's deadline (service/exam_clock.py) from
    # started_at, the learner's access arrangements and rest breaks, kept up to date whenever
    # one of them changes (service/access_arrangements.py); NULL until Start.
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    graded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Online, or taken elsewhere (paper, another platform) and recorded through the API:
    # then `taken_on` is the day of the sitting and `recorded_by` who recorded it (the
    # assessor of per-criterion decisions, or the client that sent the responses).
    mode: Mapped[AttemptMode] = mapped_column(
        Enum(AttemptMode, native_enum=False, length=16, values_callable=_values),
        default=AttemptMode.ONLINE,
        server_default=AttemptMode.ONLINE.value,
    )
    taken_on: Mapped[date | None] = mapped_column(Date)
    recorded_by: Mapped[str | None] = mapped_column(String(255))

    assessment: Mapped[Assessment] = relationship()
    centre: Mapped[Centre | None] = relationship()
    items: Mapped[list[AttemptItem]] = relationship(
        order_by="AttemptItem.position", cascade="all, delete-orphan"
    )
    response_rows: Mapped[list[AttemptResponse]] = relationship(
        order_by="AttemptResponse.id", cascade="all, delete-orphan"
    )
    mark_rows: Mapped[list[AttemptMark]] = relationship(
        order_by="AttemptMark.id", cascade="all, delete-orphan"
    )
    score_rows: Mapped[list[AttemptItemScore]] = relationship(
        order_by="AttemptItemScore.id", cascade="all, delete-orphan"
    )
    decision_rows: Mapped[list[AttemptCriterionDecision]] = relationship(
        order_by="AttemptCriterionDecision.id", cascade="all, delete-orphan"
    )
    rest_breaks: Mapped[list[AttemptRestBreak]] = relationship(
        order_by="AttemptRestBreak.started_at", cascade="all, delete-orphan"
    )

    # Read-only views of the rows in the shapes the pages and the API have always used.
    @property
    def form(self) -> list[dict]:
        return [{"item": i.item_code, "version": i.item_version} for i in self.items]

    @property
    def responses(self) -> dict:
        return {r.item_code: r.response for r in self.response_rows}

    @property
    def marks(self) -> dict[str, dict[str, str]]:
        marks: dict[str, dict[str, str]] = {}
        for row in self.mark_rows:
            marks.setdefault(row.item_code, {})[row.criterion_code] = row.quality
        return marks

    @property
    def result(self) -> dict | None:
        if self.status == AttemptStatus.IN_PROGRESS:
            return None
        return {
            "items": [
                {
                    "item_id": r.item_code,
                    "score": r.score,
                    "max_score": r.max_score,
                    "pending": r.pending,
                }
                for r in self.score_rows
            ],
            "criteria": [
                {"criterion": d.criterion_code, "decision": d.decision, "evidence": d.evidence}
                for d in self.decision_rows
            ],
        }


# At most one open attempt per learner and assessment, enforced by the database so that two
# starts at the same moment cannot both create one. centre_id is coalesced because NULLs never
# collide in a unique index (the awarding body's API clients, LTI platforms without a centre:
# their learner_ref carries the platform).
_OPEN = text("status = 'in_progress'")
Index(
    "uq_attempts_one_open",
    Attempt.assessment_id,
    func.coalesce(Attempt.centre_id, 0),
    Attempt.learner_ref,
    unique=True,
    sqlite_where=_OPEN,
    postgresql_where=_OPEN,
)


class AttemptItem(Base):
    """One item of an attempt's form, at the version the learner was given, in form order."""

    __tablename__ = "attempt_items"
    __table_args__ = (
        UniqueConstraint("attempt_id", "position"),
        UniqueConstraint("attempt_id", "item_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    item_code: Mapped[str] = mapped_column(String(24))
    item_version: Mapped[int] = mapped_column(Integer)


class AttemptResponse(Base):
    """The learner's latest saved response to one item (last writer wins, by server time)."""

    __tablename__ = "attempt_responses"
    __table_args__ = (UniqueConstraint("attempt_id", "item_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    item_code: Mapped[str] = mapped_column(String(24))
    response: Mapped[Any] = mapped_column(JSON, nullable=True)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AttemptMark(Base):
    """An assessor's rubric level for one criterion of one extended response."""

    __tablename__ = "attempt_marks"
    __table_args__ = (UniqueConstraint("attempt_id", "item_code", "criterion_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    item_code: Mapped[str] = mapped_column(String(24))
    criterion_code: Mapped[str] = mapped_column(String(24), index=True)
    quality: Mapped[str] = mapped_column(String(24))
    marked_by: Mapped[str | None] = mapped_column(String(255))  # client id or lti:{platform}:{sub}
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AttemptItemScore(Base):
    """An item's score in a submitted attempt (pending: an extended response not yet marked)."""

    __tablename__ = "attempt_item_scores"
    __table_args__ = (UniqueConstraint("attempt_id", "item_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    item_code: Mapped[str] = mapped_column(String(24), index=True)
    score: Mapped[float] = mapped_column(Double)
    max_score: Mapped[int] = mapped_column(Integer)
    pending: Mapped[bool] = mapped_column(Boolean, default=False)


class AttemptCriterionDecision(Base):
    """A criterion's decision in a submitted attempt and the item ids that evidence it: what
    passback and the external verifier's coverage reports read."""

    __tablename__ = "attempt_criterion_decisions"
    __table_args__ = (UniqueConstraint("attempt_id", "criterion_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    criterion_code: Mapped[str] = mapped_column(String(24), index=True)
    decision: Mapped[Decision] = mapped_column(
        Enum(Decision, native_enum=False, length=24, values_callable=_values)
    )
    evidence: Mapped[list[str]] = mapped_column(JSON)


class AttemptComment(Base):
    """What an assessor wrote to the learner: about one criterion, or (criterion_code NULL) the
    attempt as a whole. Rows are never changed: the newest per attempt and criterion is the one
    shown and sent as the score comment; the older ones are its history. An empty text clears."""

    __tablename__ = "attempt_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), index=True
    )
    criterion_code: Mapped[str | None] = mapped_column(String(24))
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(255))  # client id or lti:{platform}:{sub}
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AttemptMarkEvent(Base):
    """One marking decision, kept for good: who chose which level for a criterion of an item,
    when, and the level it replaced (NULL: the first mark). attempt_marks holds only the
    current levels."""

    __tablename__ = "attempt_mark_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), index=True
    )
    item_code: Mapped[str] = mapped_column(String(24))
    criterion_code: Mapped[str] = mapped_column(String(24))
    old_quality: Mapped[str | None] = mapped_column(String(24))
    new_quality: Mapped[str] = mapped_column(String(24))
    marked_by: Mapped[str | None] = mapped_column(String(255))
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AttemptRestBreak(Base):
    """A supervised rest break during an attempt: the clock stops from started_at to ended_at
    (NULL: the learner is on it now). At most one is open per attempt (the attempt's write lock
    serialises taking and ending them)."""

    __tablename__ = "attempt_rest_breaks"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccessArrangement(Base):
    """A learner's access arrangements (extra time, rest breaks, a different time limit), for
    every assessment (assessment_id NULL) or for one. The learner is the centre's opaque
    learner_ref (or "lti:{platform}:{sub}"), as on attempts: no names, no medical details (a
    broad reason category at most).

    A history, never overwritten: a change is a new row naming the row it replaces
    (`supersedes_id`, unique); the current arrangement is the row nothing supersedes. A row
    with no extra time, no breaks and no different limit records "no arrangements"."""

    __tablename__ = "access_arrangements"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"), index=True)
    learner_ref: Mapped[str] = mapped_column(String(255), index=True)
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    extra_time_percent: Mapped[int | None] = mapped_column(Integer)
    extra_time_minutes: Mapped[int | None] = mapped_column(Integer)
    rest_breaks: Mapped[bool] = mapped_column(Boolean, default=False)
    rest_break_max_minutes: Mapped[int | None] = mapped_column(Integer)
    time_limit_minutes: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[ReasonCategory | None] = mapped_column(
        Enum(ReasonCategory, native_enum=False, length=40, values_callable=_values)
    )
    set_by_kind: Mapped[SetBy] = mapped_column(
        Enum(SetBy, native_enum=False, length=16, values_callable=_values)
    )
    # "lti:{platform}:{sub}" (an assessor), "client:{client id}" or "lms:{platform}".
    set_by: Mapped[str] = mapped_column(String(255))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    supersedes_id: Mapped[int | None] = mapped_column(
        ForeignKey("access_arrangements.id"), unique=True
    )

    assessment: Mapped[Assessment | None] = relationship()
    supersedes: Mapped[AccessArrangement | None] = relationship(
        remote_side=[id], back_populates="superseded_by"
    )
    superseded_by: Mapped[AccessArrangement | None] = relationship(
        back_populates="supersedes", uselist=False
    )


# The first row of a learner's history (per assessment, or for all of them) is unique: two
# first settings at the same moment cannot both become current. Later rows are kept unique by
# supersedes_id.
_FIRST = text("supersedes_id IS NULL")
Index(
    "uq_access_arrangements_first",
    func.coalesce(AccessArrangement.centre_id, 0),
    AccessArrangement.learner_ref,
    func.coalesce(AccessArrangement.assessment_id, 0),
    unique=True,
    sqlite_where=_FIRST,
    postgresql_where=_FIRST,
)


class PerformanceEvidence(Base):
    """An assessor's record of performance evidence (observation, witness testimony...) for
    one performance criterion of one learner: the only way such a criterion is met. The
    learner is the centre's opaque learner_ref (or "lti:{platform}:{sub}", as on attempts).

    External verifiers sample these rows, so they are an audit trail: a record's content never
    changes. A correction is a new record naming the one it replaces (`supersedes_id`, unique:
    a record is replaced at most once); a record given in error is withdrawn with a reason.
    """

    __tablename__ = "performance_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"), index=True)
    learner_ref: Mapped[str] = mapped_column(String(255), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id"), index=True)
    # The wording the assessor judged against (criteria are versioned; an edit adds a version).
    criterion_version_id: Mapped[int] = mapped_column(ForeignKey("criterion_versions.id"))
    evidence_type: Mapped[EvidenceType] = mapped_column(
        Enum(EvidenceType, native_enum=False, length=32, values_callable=_values)
    )
    evidenced_on: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    decision: Mapped[Decision] = mapped_column(
        Enum(Decision, native_enum=False, length=24, values_callable=_values)
    )
    assessor: Mapped[str] = mapped_column(String(255))  # client:{id} or lti:{platform}:{sub}
    reference: Mapped[str | None] = mapped_column(String(255))  # where the evidence is held
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    supersedes_id: Mapped[int | None] = mapped_column(
        ForeignKey("performance_evidence.id"), unique=True
    )
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[str | None] = mapped_column(String(255))
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)

    criterion: Mapped[Criterion] = relationship()
    criterion_version: Mapped[CriterionVersion] = relationship()
    supersedes: Mapped[PerformanceEvidence | None] = relationship(
        remote_side=[id], back_populates="superseded_by"
    )
    superseded_by: Mapped[PerformanceEvidence | None] = relationship(
        back_populates="supersedes", uselist=False
    )


class OAuthClient(Base, ClientMixin):
    """An API client (OAuth 2.0 client credentials), bound to the awarding body (no centre)
    or to one centre. Only a hash of the secret is stored."""

    __tablename__ = "oauth_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[str] = mapped_column(Text)  # space-separated
    kind: Mapped[ClientKind] = mapped_column(
        Enum(ClientKind, native_enum=False, length=16, values_callable=_values),
        default=ClientKind.AWARDING_BODY,
        server_default=ClientKind.AWARDING_BODY.value,
    )
    # A centre's client: its centre. EQA clients' centres are their EqaAssignment rows.
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    centre: Mapped[Centre | None] = relationship()

    # authlib's ClientMixin: this service only issues client-credentials tokens.
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = set(self.scopes.split())
        if not scope:
            return " ".join(sorted(allowed))
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        # The hash is checked even for a revoked client: the answer costs the same either way.
        if not verify_secret(self.secret_hash, client_secret):
            return False
        if needs_rehash(self.secret_hash):
            # A legacy scrypt hash: replaced now, committed with the token this request saves.
            self.secret_hash = hash_secret(client_secret)
        return self.revoked_at is None

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class EqaAssignment(Base):
    """A centre an external verifier's client is assigned to verify (set by an administrator).
    Removing an assignment deletes the row; the audit log keeps who changed what."""

    __tablename__ = "eqa_assignments"
    __table_args__ = (UniqueConstraint("client_id", "centre_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("oauth_clients.id"), index=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assigned_by: Mapped[str] = mapped_column(String(255))

    client: Mapped[OAuthClient] = relationship()
    centre: Mapped[Centre] = relationship()


class AuditEvent(Base):
    """Who read or changed which learner's personal data, when (UK GDPR accountability; EQAs'
    reads included). Written in the same transaction as what it records; never updated.
    `actor` is "client:{client id}", "lti:{platform}:{sub}" or "cli:{user}" — never a name."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(255), index=True)
    action: Mapped[AuditAction] = mapped_column(
        Enum(AuditAction, native_enum=False, length=16, values_callable=_values)
    )
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"), index=True)
    learner_id: Mapped[int | None] = mapped_column(ForeignKey("learners.id"), index=True)
    # What was read or changed: "attempt:{uuid}", "learner:{uuid}", "report:coverage"...
    subject: Mapped[str] = mapped_column(String(255))
    # The request (method and path, no query string: it may carry personal data).
    request: Mapped[str | None] = mapped_column(String(255))


class OAuthToken(Base, TokenMixin):
    """An issued bearer token; only its SHA-256 is stored."""

    __tablename__ = "oauth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("oauth_clients.id"), index=True)
    scope: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    client: Mapped[OAuthClient] = relationship()

    # authlib's TokenMixin
    def check_client(self, client) -> bool:
        return client.id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int((self.expires_at - self.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return utcnow() >= self.expires_at

    def is_revoked(self) -> bool:
        return self.revoked_at is not None or self.client.revoked_at is not None


class SamplingPlan(Base):
    """An external verifier's sample of one centre's assessor decisions. `seed` (given, or
    generated when absent) and the data make the sample reproducible (service/sampling.py)."""

    __tablename__ = "sampling_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"), index=True)
    kind: Mapped[PlanKind] = mapped_column(
        Enum(PlanKind, native_enum=False, length=16, values_callable=_values)
    )
    size: Mapped[int] = mapped_column(Integer)
    seed: Mapped[str] = mapped_column(String(64))
    unit_code: Mapped[str | None] = mapped_column(String(16))  # only this unit's decisions
    # Only decisions on attempts launched from this LMS course (LTI context id).
    course: Mapped[str | None] = mapped_column(String(255))
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    centre: Mapped[Centre] = relationship()
    decisions: Mapped[list[SampledDecision]] = relationship(
        back_populates="plan", order_by="SampledDecision.position"
    )


class SampledDecision(Base):
    """One decision in a plan (numbered from 1), as it stood when sampled, and why chosen.
    `candidate_key` names the decision for good ("mark:{attempt}:{item}:{criterion}" or
    "evidence:{uuid}"): interim plans skip keys an earlier plan of the centre sampled. The
    learner is read through the attempt or record (no copy here), so erasure reaches it."""

    __tablename__ = "sampled_decisions"
    __table_args__ = (UniqueConstraint("plan_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("sampling_plans.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    candidate_key: Mapped[str] = mapped_column(String(160), index=True)
    source: Mapped[SampleSource] = mapped_column(
        Enum(SampleSource, native_enum=False, length=24, values_callable=_values)
    )
    method: Mapped[str] = mapped_column(String(32))
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"))
    unit_code: Mapped[str] = mapped_column(String(16))
    criterion_code: Mapped[str] = mapped_column(String(24), index=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"))
    item_code: Mapped[str | None] = mapped_column(String(24))
    performance_evidence_id: Mapped[int | None] = mapped_column(
        ForeignKey("performance_evidence.id")
    )
    assessor: Mapped[str] = mapped_column(String(255), index=True)
    decision: Mapped[str] = mapped_column(String(24))  # the level or decision when sampled
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # SampleReason values, most telling first: shown, never queried.
    reasons: Mapped[list[str]] = mapped_column(JSON)

    plan: Mapped[SamplingPlan] = relationship(back_populates="decisions")
    attempt: Mapped[Attempt | None] = relationship()
    performance_evidence: Mapped[PerformanceEvidence | None] = relationship()
    verdicts: Mapped[list[SamplingVerdict]] = relationship(
        back_populates="sampled", order_by="SamplingVerdict.id"
    )


class SamplingVerdict(Base):
    """A verifier's verdict on a sampled decision. Never changed: a new verdict is a new row,
    the newest is current, the older ones are its history."""

    __tablename__ = "sampling_verdicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    sampled_decision_id: Mapped[int] = mapped_column(ForeignKey("sampled_decisions.id"), index=True)
    verdict: Mapped[Verdict] = mapped_column(
        Enum(Verdict, native_enum=False, length=16, values_callable=_values)
    )
    reason: Mapped[str | None] = mapped_column(Text)  # why the verifier disagrees
    action: Mapped[str | None] = mapped_column(Text)  # what the centre must do
    given_by: Mapped[str] = mapped_column(String(255))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sampled: Mapped[SampledDecision] = relationship(back_populates="verdicts")


class WebhookEndpoint(Base):
    """A URL a centre registered to be told of its attempts' gradings and criterion decisions
    (service/webhooks.py). Its secret signs every delivery: shown once at creation or rotation,
    never in a listing, and stored only sealed (`sealed_secret`, a Fernet token under a key
    derived from SECRET_KEY: service/sealed_secrets.py), since the worker needs it back to
    compute the HMAC and so it cannot be hashed."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(255))
    sealed_secret: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(255))  # client:{client_id}
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    centre: Mapped[Centre] = relationship()


class WebhookDelivery(Base):
    """One event to POST to one endpoint: a transactional outbox row, written in the same
    transaction as the grading or decision it tells of, and sent by `assessment worker`
    (service/webhook_worker.py) with grade passback's lease, backoff and give-up window.
    `body` is the exact JSON sent (signed as is); `uuid` is its Webhook-Id, the same on every
    try, so receivers can drop repeats."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_try_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(48))  # service.webhook_vocabulary.WebhookEvent
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(DeliveryStatus, native_enum=False, length=16, values_callable=_values),
        default=DeliveryStatus.PENDING,
    )
    tries: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_code: Mapped[int | None] = mapped_column(Integer)  # of the last try, if answered
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    endpoint: Mapped[WebhookEndpoint] = relationship()


class IdempotencyKey(Base):
    """A client's Idempotency-Key on a POST that creates: the request it came with (a hash of
    method, path and body) and, once the request succeeded, its response, replayed to a retry.
    Kept 24 hours (`expires_at`); service/idempotency.py is the one user."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("client_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("oauth_clients.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    # NULL until the response is stored (the request is still running).
    status: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ContentVersion(Base):
    """One row (id 1) whose token changes with every change to the content (units, criteria,
    rubrics, items and their versions and status): what each process keeps of the content
    (service/content_cache.py) is keyed by it."""

    __tablename__ = "content_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32))

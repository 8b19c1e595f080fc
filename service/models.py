"""Typed SQLAlchemy 2.x models. Content (units, criteria) is loaded from criteria_data/."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores UTC and gives back an aware datetime: SQLite forgets the zone, PostgreSQL keeps it."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: store times in UTC with tzinfo")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


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

"""Read-side queries for units and criteria. Views call these; they hold no SQL of their own."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from service.models import Criterion, CriterionVersion, LearningOutcome, Unit


@dataclass(frozen=True)
class Page:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def _contains(column, text: str):
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


def count_and_page(session: Session, query: Select, page: Page) -> tuple[int, list]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.scalars(query.offset(page.offset).limit(page.size)).all()
    return total or 0, list(rows)


def list_units(
    session: Session,
    page: Page,
    level: int | None = None,
    grading: str | None = None,
    q: str | None = None,
) -> tuple[int, list[Unit]]:
    query = select(Unit).order_by(Unit.code).options(selectinload(Unit.criteria))
    if level is not None:
        query = query.where(Unit.level == level)
    if grading is not None:
        query = query.where(Unit.grading == grading)
    if q:
        query = query.where(or_(_contains(Unit.title, q), _contains(Unit.synopsis, q)))
    return count_and_page(session, query, page)


def get_unit(session: Session, code: str) -> Unit | None:
    return session.scalar(
        select(Unit)
        .where(Unit.code == code)
        .options(
            selectinload(Unit.knowledge_topics),
            selectinload(Unit.guidance),
            selectinload(Unit.misconceptions),
            selectinload(Unit.criteria),
            selectinload(Unit.learning_outcomes).selectinload(LearningOutcome.criteria),
        )
    )


def unit_id_for(session: Session, code: str) -> int | None:
    return session.scalar(select(Unit.id).where(Unit.code == code))


def _current_version_join():
    return and_(
        CriterionVersion.criterion_id == Criterion.id,
        CriterionVersion.version == Criterion.current_version,
    )


def list_criteria(
    session: Session,
    page: Page,
    unit_id: int | None = None,
    evidence_type: str | None = None,
    band: str | None = None,
    q: str | None = None,
) -> tuple[int, list[Criterion]]:
    query = (
        select(Criterion)
        .join(CriterionVersion, _current_version_join())
        .options(
            selectinload(Criterion.versions),
            selectinload(Criterion.learning_outcome),
            selectinload(Criterion.unit),
        )
        .order_by(Criterion.unit_id, Criterion.position)
    )
    if unit_id is not None:
        query = query.where(Criterion.unit_id == unit_id)
    if evidence_type is not None:
        query = query.where(CriterionVersion.evidence_type == evidence_type)
    if band is not None:
        query = query.where(CriterionVersion.band == band)
    if q:
        query = query.where(_contains(CriterionVersion.text, q))
    return count_and_page(session, query, page)


def get_criterion(session: Session, code: str) -> Criterion | None:
    return session.scalar(
        select(Criterion)
        .where(Criterion.code == code)
        .options(
            selectinload(Criterion.versions),
            selectinload(Criterion.learning_outcome),
            selectinload(Criterion.unit).selectinload(Unit.guidance),
        )
    )

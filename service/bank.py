"""Read-side of the item bank: items (learner and authoring views), rubrics, assessments."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from service import content_cache
from service.catalogue import Page, count_and_page
from service.choice_ids import ChoiceIds, choices_of
from service.content_vocabulary import ItemStatus
from service.item_keys import item_key
from service.models import (
    Assessment,
    Criterion,
    CriterionVersion,
    Item,
    ItemCriterion,
    ItemVersion,
    Rubric,
    Unit,
)

# What a learner may see of an item before submitting: never keys, answers or feedback.
LEARNER_SCENARIO = (
    "channel",
    "customer",
    "need",
    "vulnerability",
    "accessibility_need",
    "rule",
    "situation",
)


def learner_view(item: Item, version: ItemVersion, ids: ChoiceIds) -> dict:
    """The item (at `version`) as a learner sees it. Every choice carries its opaque id from
    `ids` (the attempt's), never the bank's, and is shown in the attempt's own order."""
    form_item = FormItem(
        item.code, item.uuid, item.unit.code, item.sample, version.version, version.body
    )
    return form_item_view(form_item, ids)


@dataclass(frozen=True)
class FormItem:
    """An item at one of its versions, as an attempt's form shows it. Kept per content version
    (form_items_of_unit): `body` is shared between requests and threads, never change it."""

    code: str
    uuid: str
    unit_code: str
    sample: bool
    version: int
    body: dict


def form_item_view(form_item: FormItem, ids: ChoiceIds) -> dict:
    """learner_view of a FormItem."""
    body = form_item.body
    code = body["id"]
    unit_code = form_item.unit_code
    view = {
        "id": code,
        "uuid": form_item.uuid,
        "version": form_item.version,
        "type": body["type"],
        "title": body["title"],
        "unit_code": unit_code,
        "criteria": [f"{unit_code}.{c}" for c in body["criteria"]],
        "scenario": {k: body["scenario"][k] for k in LEARNER_SCENARIO if k in body["scenario"]},
        "prompt": body["prompt"],
        "points": body["points"],
        "sample": form_item.sample,
    }
    kind = body["type"]
    for field in choices_of(body):
        texts = {c["id"]: c["text"] for c in body[field]}
        # Ordering items never show the key's order (it is the order the steps are written in).
        order = ids.order(code, field, list(texts), avoid_identity=kind == "ordering")
        view[field] = [{"id": ids.token(code, i), "text": texts[i]} for i in order]
    if kind == "extended_response":
        view["expected_length_words"] = body["expected_length_words"]
    return view


def authoring_view(item: Item) -> dict:
    body = item.current.body
    return {
        **body,
        "uuid": item.uuid,
        "version": item.current_version,
        "unit_code": item.unit.code,
        "criteria": [f"{item.unit.code}.{c}" for c in body["criteria"]],
    }


def _item_query():
    return select(Item).options(selectinload(Item.versions), selectinload(Item.unit))


def list_items(
    session: Session,
    page: Page,
    unit: str | None = None,
    criterion: str | None = None,
    type: str | None = None,
    samples_only: bool = True,
) -> tuple[int, list[Item]]:
    """`samples_only`: what the public sees; live items are for the awarding body only."""
    query = _item_query().order_by(Item.code)
    if samples_only:
        query = query.where(Item.sample.is_(True))
    if unit:
        query = query.join(Unit, Item.unit_id == Unit.id).where(Unit.code == unit)
    if criterion:
        query = (
            query.join(ItemCriterion, ItemCriterion.item_id == Item.id)
            .join(Criterion, Criterion.id == ItemCriterion.criterion_id)
            .where(Criterion.code == criterion)
        )
    if type:
        query = query.where(Item.type == type)
    return count_and_page(session, query, page)


def get_item(session: Session, code: str) -> Item | None:
    return session.scalar(_item_query().where(Item.code == code))


def rubric_levels(session: Session, unit_id: int) -> dict[str, list[dict]]:
    """Full criterion code -> its rubric's levels (ascending), for the unit's criteria.
    Kept per content version (service/content_cache.py): do not change the levels."""
    return dict(content_cache.kept(session, ("rubric_levels", unit_id), _loader_levels(unit_id)))


def _loader_levels(unit_id: int):
    def load(session: Session) -> dict[str, list[dict]]:
        rows = session.execute(
            select(Criterion.code, Rubric.levels)
            .join(Rubric, Rubric.criterion_id == Criterion.id)
            .where(Criterion.unit_id == unit_id)
        )
        return dict(rows.all())

    return load


@dataclass(frozen=True)
class CriterionFacts:
    """A unit criterion's current version, as forms, grading and the start page need it."""

    code: str
    text: str
    band: str
    evidence_type: str


def unit_criteria(session: Session, unit_id: int) -> tuple[CriterionFacts, ...]:
    """The unit's criteria in their order, at their current versions. Kept per content
    version (service/content_cache.py): one read per process, not one per criterion per page."""
    return content_cache.kept(session, ("unit_criteria", unit_id), _loader_criteria(unit_id))


def _loader_criteria(unit_id: int):
    def load(session: Session) -> tuple[CriterionFacts, ...]:
        rows = session.execute(
            select(Criterion.code, CriterionVersion.text, CriterionVersion.band)
            .add_columns(CriterionVersion.evidence_type)
            .join(
                CriterionVersion,
                (CriterionVersion.criterion_id == Criterion.id)
                & (CriterionVersion.version == Criterion.current_version),
            )
            .where(Criterion.unit_id == unit_id)
            .order_by(Criterion.position)
        )
        return tuple(CriterionFacts(*row) for row in rows)

    return load


def current_versions(session: Session, unit_id: int) -> dict[str, int]:
    """Item code -> its current version, for the unit's items. Kept per content version."""
    key = ("current_versions", unit_id)
    return dict(content_cache.kept(session, key, _loader_versions(unit_id)))


def _loader_versions(unit_id: int):
    def load(session: Session) -> tuple:
        rows = session.execute(
            select(Item.code, Item.current_version).where(Item.unit_id == unit_id)
        )
        return tuple((code, version) for code, version in rows)

    return load


def form_items_of_unit(session: Session, unit_id: int) -> dict[tuple[str, int], FormItem]:
    """(item code, version) -> FormItem, for every version of every item of the unit: what
    attempts' forms show (a form keeps the versions it was drawn at, older ones included).
    Kept per content version (service/content_cache.py): one read per process, not one per
    page; item versions never change once written, the version token covers the items' own
    columns (sample). Do not change what it returns."""
    return content_cache.kept(session, ("form_items", unit_id), _loader_form_items(unit_id))


def _loader_form_items(unit_id: int):
    def load(session: Session) -> dict[tuple[str, int], FormItem]:
        rows = session.execute(
            select(Item.code, Item.uuid, Unit.code, Item.sample, ItemVersion.version)
            .add_columns(ItemVersion.body)
            .join(Unit, Unit.id == Item.unit_id)
            .join(ItemVersion, ItemVersion.item_id == Item.id)
            .where(Item.unit_id == unit_id)
        )
        return {(row[0], row[4]): FormItem(*row) for row in rows}

    return load


def rubric_max_scores(session: Session, unit_id: int) -> dict[str, int]:
    """Full criterion code -> the top score of its rubric, for the unit's extended responses."""
    return {code: levels[-1]["score"] for code, levels in rubric_levels(session, unit_id).items()}


def keys_for(session: Session, unit_id: int, approved_only: bool = False) -> list:
    """ItemKeys of the current version of every item of a unit (for forms and scoring);
    `approved_only`: only items approved for live use (DELIVER_APPROVED_ONLY). Built once per
    process per content version (service/content_cache.py); ItemKeys are frozen."""
    key = ("keys_for", unit_id, approved_only)
    return list(content_cache.kept(session, key, _loader_keys(unit_id, approved_only)))


def _loader_keys(unit_id: int, approved_only: bool):
    def load(session: Session) -> tuple:
        unit_code = session.scalar(select(Unit.code).where(Unit.id == unit_id))
        maxima = rubric_max_scores(session, unit_id)
        # Samples are public, so never drawn into a live form.
        query = _item_query().where(Item.unit_id == unit_id, Item.sample.is_(False))
        if approved_only:
            query = query.where(Item.status == ItemStatus.APPROVED)
        items = session.scalars(query.order_by(Item.code))
        return tuple(item_key(unit_code, item.current.body, maxima) for item in items)

    return load


def list_rubrics(
    session: Session, page: Page, unit: str | None = None, criterion: str | None = None
) -> tuple[int, list[Rubric]]:
    query = (
        select(Rubric)
        .join(Criterion, Criterion.id == Rubric.criterion_id)
        .options(selectinload(Rubric.criterion))
        .order_by(Criterion.unit_id, Criterion.position)
    )
    if unit:
        query = query.join(Unit, Unit.id == Criterion.unit_id).where(Unit.code == unit)
    if criterion:
        query = query.where(Criterion.code == criterion)
    return count_and_page(session, query, page)


def get_rubric(session: Session, criterion_code: str) -> Rubric | None:
    return session.scalar(
        select(Rubric)
        .join(Criterion, Criterion.id == Rubric.criterion_id)
        .where(Criterion.code == criterion_code)
    )


def list_assessments(
    session: Session, page: Page, unit: str | None = None
) -> tuple[int, list[Assessment]]:
    query = select(Assessment).options(selectinload(Assessment.unit)).order_by(Assessment.code)
    if unit:
        query = query.join(Unit, Unit.id == Assessment.unit_id).where(Unit.code == unit)
    return count_and_page(session, query, page)


def get_assessment(session: Session, code: str) -> Assessment | None:
    """The assessment and its unit (every learner page reads both). They are content: read
    once per process per content version (service/content_cache.py), and merged into the
    session as its own objects without SQL."""
    kept = content_cache.kept(
        session,
        ("assessment", code),
        lambda s: _assessment_copies(s, code),
        keep=lambda found: found is not None,  # codes are outside input: keep only real ones
    )
    if kept is None:
        return None
    assessment = session.merge(kept[0], load=False)
    # Loaded, as the query's joinedload would have it, without a change to flush.
    set_committed_value(assessment, "unit", session.merge(kept[1], load=False))
    return assessment


def _assessment_copies(session: Session, code: str) -> tuple[Assessment, Unit] | None:
    found = session.scalar(
        select(Assessment).options(joinedload(Assessment.unit)).where(Assessment.code == code)
    )
    if found is None:
        return None
    return content_cache.detached_copy(found), content_cache.detached_copy(found.unit)


def items_of_unit(session: Session, unit_id: int) -> list[Item]:
    query = (
        _item_query()
        .options(selectinload(Item.criteria))
        .where(Item.unit_id == unit_id)
        .order_by(Item.code)
    )
    return list(session.scalars(query))


def rubrics_by_criterion(session: Session, unit_id: int) -> dict[str, Rubric]:
    rubrics = session.scalars(
        select(Rubric)
        .join(Criterion, Criterion.id == Rubric.criterion_id)
        .where(Criterion.unit_id == unit_id)
        .options(selectinload(Rubric.criterion))
    )
    return {r.criterion.code: r for r in rubrics}


def rubrics_for(session: Session, item: Item) -> dict[str, Rubric]:
    return rubrics_by_criterion(session, item.unit_id)

"""Attempts and their results as centres and verifiers read them: each criterion's decision and
the evidence behind it (the item responses with their scores, the assessor's marks with who and
when, and the learner's current performance evidence records for the criterion).

A page is a fixed handful of queries whatever its size: the attempts' rows are loaded with
selectinload, and the learners, their identities and their evidence in one query each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import false, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from lti.models import LtiResourceLink
from service.attempts import choice_ids
from service.catalogue import Page, count_and_page
from service.models import (
    Assessment,
    Attempt,
    Criterion,
    Item,
    ItemVersion,
    Learner,
    LearnerIdentity,
    PerformanceEvidence,
)
from service.tenancy import Tenancy


@dataclass
class Filters:
    learner_uuid: str | None = None
    assessment: str | None = None
    status: str | None = None
    submitted_from: datetime | None = None
    submitted_to: datetime | None = None
    course: str | None = None  # the LMS course (context id) of the attempt's resource link


@dataclass
class AttemptResult:
    attempt: Attempt
    learner: Learner | None
    # Current performance evidence records of the learner (every identity) by criterion code.
    evidence: dict[str, list[PerformanceEvidence]] = field(default_factory=dict)
    # The saved responses by item, with the attempt's opaque choice ids (as its learner saw
    # them): the bank's ids would give the keys away.
    responses: dict[str, Any] = field(default_factory=dict)


def _query(tenancy: Tenancy):
    return (
        select(Attempt)
        .where(tenancy.condition(Attempt.centre_id))
        .options(
            selectinload(Attempt.assessment),
            selectinload(Attempt.items),
            selectinload(Attempt.response_rows),
            selectinload(Attempt.score_rows),
            selectinload(Attempt.decision_rows),
            selectinload(Attempt.mark_rows),
        )
        .order_by(Attempt.id)
    )


def list_attempts(
    session: Session, tenancy: Tenancy, page: Page, filters: Filters, secret: str
) -> tuple[int, list[AttemptResult]]:
    query = _query(tenancy)
    if filters.learner_uuid is not None:
        identity = aliased(LearnerIdentity)
        query = query.where(
            select(identity.id)
            .join(Learner, Learner.id == identity.learner_id)
            .where(
                Learner.uuid == filters.learner_uuid,
                identity.centre_id.is_not_distinct_from(Attempt.centre_id),
                identity.learner_ref == Attempt.learner_ref,
            )
            .exists()
        )
    if filters.assessment is not None:
        query = query.where(
            Attempt.assessment_id.in_(
                select(Assessment.id).where(Assessment.code == filters.assessment)
            )
        )
    if filters.status is not None:
        query = query.where(Attempt.status == filters.status)
    if filters.submitted_from is not None:
        query = query.where(Attempt.submitted_at >= filters.submitted_from)
    if filters.submitted_to is not None:
        query = query.where(Attempt.submitted_at < filters.submitted_to)
    if filters.course is not None:
        query = query.where(
            Attempt.lti_resource_link_id.in_(
                select(LtiResourceLink.id).where(LtiResourceLink.context_id == filters.course)
            )
        )
    total, attempts = count_and_page(session, query, page)
    return total, with_evidence(session, attempts, secret)


def find(
    session: Session, tenancy: Tenancy, attempt_uuid: str, secret: str
) -> AttemptResult | None:
    attempt = session.scalar(_query(tenancy).where(Attempt.uuid == attempt_uuid))
    if attempt is None:
        return None
    return with_evidence(session, [attempt], secret)[0]


def with_evidence(session: Session, attempts: list[Attempt], secret: str) -> list[AttemptResult]:
    """Each attempt with its learner and the learner's current performance evidence."""
    if not attempts:
        return []
    keys = {(a.centre_id, a.learner_ref) for a in attempts}
    learner_of = _learners_of(session, keys)
    learners = {lr.id: lr for lr in learner_of.values()}
    # Every identity of those learners: evidence may be recorded under another of them.
    identities = session.scalars(
        select(LearnerIdentity).where(LearnerIdentity.learner_id.in_(sorted(learners)))
    ).all()
    learner_by_pair = {(i.centre_id, i.learner_ref): i.learner_id for i in identities}
    newer = aliased(PerformanceEvidence)
    records = session.execute(
        select(PerformanceEvidence, Criterion.code)
        .join(Criterion, Criterion.id == PerformanceEvidence.criterion_id)
        .where(
            _pairs_condition(PerformanceEvidence, set(learner_by_pair)),
            PerformanceEvidence.withdrawn_at.is_(None),
            ~select(newer.id).where(newer.supersedes_id == PerformanceEvidence.id).exists(),
        )
        .order_by(PerformanceEvidence.id)
    ).all()
    by_learner: dict[int, dict[str, list[PerformanceEvidence]]] = {}
    for record, code in records:
        learner_id = learner_by_pair[(record.centre_id, record.learner_ref)]
        by_learner.setdefault(learner_id, {}).setdefault(code, []).append(record)
    bodies = _item_bodies(session, attempts)
    results = []
    for attempt in attempts:
        learner = learner_of.get((attempt.centre_id, attempt.learner_ref))
        evidence = by_learner.get(learner.id, {}) if learner else {}
        ids = choice_ids(attempt, secret)
        versions = {i.item_code: i.item_version for i in attempt.items}
        shown = {
            r.item_code: ids.to_learner(bodies[(r.item_code, versions[r.item_code])], r.response)
            for r in attempt.response_rows
            if (r.item_code, versions.get(r.item_code)) in bodies
        }
        results.append(AttemptResult(attempt, learner, evidence, shown))
    return results


def _item_bodies(session: Session, attempts: list[Attempt]) -> dict[tuple[str, int], dict]:
    """The bodies of every item version on the attempts' forms, in one query."""
    wanted = {(i.item_code, i.item_version) for a in attempts for i in a.items}
    if not wanted:
        return {}
    rows = session.execute(
        select(Item.code, ItemVersion.version, ItemVersion.body)
        .join(ItemVersion, ItemVersion.item_id == Item.id)
        .where(Item.code.in_(sorted({code for code, _ in wanted})))
    ).all()
    return {(code, version): body for code, version, body in rows if (code, version) in wanted}


def _learners_of(session: Session, keys) -> dict[tuple, Learner]:
    rows = session.execute(
        select(LearnerIdentity.centre_id, LearnerIdentity.learner_ref, Learner)
        .join(Learner, Learner.id == LearnerIdentity.learner_id)
        .where(_pairs_condition(LearnerIdentity, keys))
    ).all()
    return {(centre_id, ref): learner for centre_id, ref, learner in rows}


def _pairs_condition(model, pairs):
    """(centre_id, learner_ref) in `pairs`, NULL centres included (no tuple IN for those)."""
    if not pairs:
        return false()
    by_centre: dict = {}
    for centre_id, ref in pairs:
        by_centre.setdefault(centre_id, set()).add(ref)
    return or_(
        *(
            model.centre_id.is_not_distinct_from(centre_id) & model.learner_ref.in_(sorted(refs))
            for centre_id, refs in by_centre.items()
        )
    )

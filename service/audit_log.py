"""Reading the audit log (GET /api/v1/admin/audit-events): newest first, filtered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from service.audit_vocabulary import AuditAction
from service.catalogue import Page
from service.models import AuditEvent, Centre, Learner


@dataclass(frozen=True)
class Filters:
    learner_uuid: str | None = None
    actor: str | None = None
    centre_code: str | None = None
    action: AuditAction | None = None
    since: datetime | None = None
    until: datetime | None = None


def events(session: Session, filters: Filters, page: Page) -> tuple[int, list[dict]]:
    """(total, one page of events as dicts with the centre's code and the learner's uuid)."""
    centre = aliased(Centre)
    learner = aliased(Learner)
    query = (
        select(AuditEvent, centre.code, learner.uuid)
        .outerjoin(centre, centre.id == AuditEvent.centre_id)
        .outerjoin(learner, learner.id == AuditEvent.learner_id)
    )
    if filters.learner_uuid is not None:
        query = query.where(learner.uuid == filters.learner_uuid)
    if filters.actor is not None:
        query = query.where(AuditEvent.actor == filters.actor)
    if filters.centre_code is not None:
        query = query.where(centre.code == filters.centre_code)
    if filters.action is not None:
        query = query.where(AuditEvent.action == filters.action)
    if filters.since is not None:
        query = query.where(AuditEvent.at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEvent.at < filters.until)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .offset(page.offset)
        .limit(page.size)
    ).all()
    return total, [
        {
            "id": event.id,
            "at": event.at,
            "actor": event.actor,
            "action": event.action.value,
            "centre": centre_code,
            "learner": learner_uuid,
            "subject": event.subject,
            "request": event.request,
        }
        for event, centre_code, learner_uuid in rows
    ]

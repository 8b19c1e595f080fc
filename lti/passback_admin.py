"""What administrators see and do with the score outbox (`assessment grades list|retry`, the
admin API): each learner's newest score per line item, and retrying the failed ones.

Domain code: the caller (CLI command, view) commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lti.gradebook_vocabulary import DeliveryStatus
from lti.models import LtiLineItem, LtiResourceLink, ScoreDelivery
from service.catalogue import Page

# Rows that a retry may make due again. Sent rows are resent by reconciliation (a new row
# with a fresh timestamp); a superseded state must never reach the platform.
RETRYABLE = (DeliveryStatus.FAILED, DeliveryStatus.PENDING)


@dataclass(frozen=True)
class Entry:
    """A learner's newest score for one line item."""

    row: ScoreDelivery
    line_item: LtiLineItem
    link: LtiResourceLink


@dataclass
class RetryResult:
    retried: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)


def _newest_ids():
    """The newest row of each learner and line item."""
    return (
        select(func.max(ScoreDelivery.id).label("id"))
        .group_by(ScoreDelivery.line_item_id, ScoreDelivery.user_sub)
        .subquery()
    )


def newest(session: Session, status: DeliveryStatus | None, page: Page) -> tuple[int, list[Entry]]:
    """One entry per learner and line item (its newest row), newest first; `status` keeps
    those whose newest row is in it. Returns the total and the page."""
    newest_ids = _newest_ids()
    query = (
        select(ScoreDelivery, LtiLineItem, LtiResourceLink)
        .join(newest_ids, newest_ids.c.id == ScoreDelivery.id)
        .join(LtiLineItem, LtiLineItem.id == ScoreDelivery.line_item_id)
        .join(LtiResourceLink, LtiResourceLink.id == LtiLineItem.resource_link_pk)
    )
    if status is not None:
        query = query.where(ScoreDelivery.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(
        query.order_by(ScoreDelivery.id.desc()).offset(page.offset).limit(page.size)
    )
    return total, [Entry(*row) for row in rows]


def failed_ids(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(ScoreDelivery.id)
            .where(ScoreDelivery.status == DeliveryStatus.FAILED)
            .order_by(ScoreDelivery.id)
        )
    )


def _why_not(row: ScoreDelivery | None) -> str | None:
    if row is None:
        return "no such score"
    if row.status not in RETRYABLE:
        return f"it is {row.status.value}: only failed or pending scores are retried"
    return None


def retry(session: Session, ids: list[int], now: datetime) -> RetryResult:
    """Make these rows due now with their tries counted afresh. The update re-checks the
    status, so a row the worker claimed or a submit superseded meanwhile is left alone."""
    result = RetryResult()
    for row_id in dict.fromkeys(ids):
        reason = _why_not(session.get(ScoreDelivery, row_id))
        if reason is None:
            reason = _make_due(session, row_id, now)
        if reason is None:
            result.retried.append(row_id)
        else:
            result.skipped[row_id] = reason
    return result


def _make_due(session: Session, row_id: int, now: datetime) -> str | None:
    changed = session.execute(
        update(ScoreDelivery)
        .where(ScoreDelivery.id == row_id, ScoreDelivery.status.in_(RETRYABLE))
        .values(
            status=DeliveryStatus.PENDING,
            tries=0,
            failing_since=None,
            next_try_at=now,
            lease_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    return None if changed.rowcount == 1 else "its status changed meanwhile"


def as_dict(entry: Entry) -> dict:
    row = entry.row
    return {
        "id": row.id,
        "status": row.status.value,
        "tries": row.tries,
        "last_error": row.last_error,
        "user_id": row.user_sub,
        "attempt_id": row.attempt_id,
        "line_item_id": entry.line_item.id,
        "line_item": entry.line_item.label,
        "resource_link": entry.link.id,
        "platform_id": entry.link.platform_id,
        "score_given": row.score_given,
        "score_maximum": row.score_maximum,
        "timestamp": row.timestamp,
        "created_at": row.created_at,
        "next_try_at": row.next_try_at,
        "failing_since": row.failing_since,
        "sent_at": row.sent_at,
    }

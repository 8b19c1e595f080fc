"""The audit log of personal data: who read or changed which learner's data, and when.

Views call `record` in the transaction of what they do (a read is recorded in a transaction
committed by the view), one row per learner, so "who has seen Ada's results?" is one query.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import has_request_context, request
from sqlalchemy import Select, insert, literal, select
from sqlalchemy.orm import Session

from service.audit_vocabulary import AuditAction
from service.models import AuditEvent, utcnow


def actor_of_client(client) -> str:
    return f"client:{client.client_id}"


def _request_line() -> str | None:
    return f"{request.method} {request.path}"[:255] if has_request_context() else None


def record(
    session: Session,
    actor: str,
    action: AuditAction,
    subject: str,
    learners: Iterable[tuple[int | None, int | None]] = ((None, None),),
) -> None:
    """Record `actor`'s `action` on `subject` for each (learner id, centre id) of `learners`
    (one row each; the default records one row naming no learner). One INSERT for all."""
    at = utcnow()
    where = _request_line()
    rows = [
        {
            "at": at,
            "actor": actor,
            "action": action,
            "centre_id": centre_id,
            "learner_id": learner_id,
            "subject": subject[:255],
            "request": where,
        }
        for learner_id, centre_id in learners
    ]
    if rows:
        session.execute(insert(AuditEvent), rows)


def record_selected(
    session: Session, actor: str, action: AuditAction, subject: str, learners: Select
) -> None:
    """As `record`, for the learners a query selects as (learner id, centre id) rows: one
    INSERT ... SELECT, so a report of thousands of learners sends no row of theirs back and
    forth to be logged."""
    selected = learners.subquery()
    table = AuditEvent.__table__
    session.execute(
        insert(AuditEvent).from_select(
            ["at", "actor", "action", "centre_id", "learner_id", "subject", "request"],
            select(
                literal(utcnow(), table.c.at.type),
                literal(actor, table.c.actor.type),
                literal(action, table.c.action.type),
                selected.c[1],
                selected.c[0],
                literal(subject[:255], table.c.subject.type),
                literal(_request_line(), table.c.request.type),
            ),
        )
    )

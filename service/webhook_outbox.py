"""The worker's short transactions on the webhook outbox (service.models.WebhookDelivery):
claiming due rows under a lease. Recording outcomes is grade passback's own code
(lti/passback_outbox.py: mark_sent, mark_retry, mark_failed, release, with this table as
`model`), so both outboxes share one lease, backoff and give-up rule.

Unlike scores, webhook events need no order between rows (each is a whole event with its own
id and time; receivers de-duplicate on Webhook-Id), so a claim is any due rows, oldest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, func, or_, select, update
from sqlalchemy.orm import Session

from lti.gradebook_vocabulary import DeliveryStatus
from service.models import WebhookDelivery, WebhookEndpoint


@dataclass(frozen=True)
class Claimed:
    """One claimed row: what the sender needs, read while the claim held it."""

    id: int
    lease_until: datetime
    tries: int
    failing_since: datetime | None
    uuid: str
    endpoint_id: int
    url: str
    sealed_secret: str  # service/sealed_secrets.py: the worker unseals it to sign
    body: str


def _due(now: datetime):
    """Pending and due, or sending under a lease that ran out (a worker died mid-send)."""
    return or_(
        and_(WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_try_at <= now),
        and_(WebhookDelivery.status == DeliveryStatus.SENDING, WebhookDelivery.lease_until < now),
    )


def _sending(lease_until: datetime) -> dict:
    return {
        "status": DeliveryStatus.SENDING,
        "lease_until": lease_until,
        "tries": WebhookDelivery.tries + 1,
    }


def claim(engine: Engine, now: datetime, batch: int, lease: timedelta) -> list[Claimed]:
    """Mark up to `batch` due rows (oldest first) sending under a lease, and commit. On
    PostgreSQL rows locked by another claim are skipped (SKIP LOCKED); on SQLite each row is
    taken by an update that repeats the due check, so two workers never take one row."""
    lease_until = now + lease
    with Session(engine) as session, session.begin():
        # A paused endpoint's rows wait (unclaimed) until it is active again.
        query = (
            select(WebhookDelivery.id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(_due(now), WebhookEndpoint.active.is_(True))
            .order_by(WebhookDelivery.id)
            .limit(batch)
        )
        if engine.dialect.name == "postgresql":
            ids = list(session.scalars(query.with_for_update(skip_locked=True, of=WebhookDelivery)))
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(ids))
                .values(**_sending(lease_until))
                .execution_options(synchronize_session=False)
            )
        else:
            ids = [
                row_id
                for row_id in session.scalars(query).all()
                if session.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id == row_id, _due(now))
                    .values(**_sending(lease_until))
                    .execution_options(synchronize_session=False)
                ).rowcount
                == 1
            ]
        rows = session.execute(
            select(
                WebhookDelivery.id,
                WebhookDelivery.tries,
                WebhookDelivery.failing_since,
                WebhookDelivery.uuid,
                WebhookDelivery.endpoint_id,
                WebhookEndpoint.url,
                WebhookEndpoint.sealed_secret,
                WebhookDelivery.body,
            )
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.id.in_(ids))
            .order_by(WebhookDelivery.id)
        )
        return [
            Claimed(row_id, lease_until, tries, failing, uuid, endpoint, url, sealed, body)
            for row_id, tries, failing, uuid, endpoint, url, sealed, body in rows
        ]


def due_count(engine: Engine, now: datetime) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(WebhookDelivery).where(_due(now)))

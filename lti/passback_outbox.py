"""The worker's short transactions on the score outbox (lti.models.ScoreDelivery): claiming due
rows under a lease, storing a line item's URL, and recording what the platform answered.

Each function is one transaction on its own Session, committed here: the worker loop is the
edge, and no transaction stays open while a platform answers (lti/passback_worker.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, exists, func, or_, select, text, update
from sqlalchemy.orm import Session, aliased

from lti.gradebook_vocabulary import DeliveryStatus
from lti.models import LtiLineItem, ScoreDelivery

# Claims on PostgreSQL take this transaction-scoped advisory lock first (an arbitrary constant
# of this tool). Without it, two claims that start at the same moment could each see the
# other's rows as still pending, and claim two states of one learner and line item at once.
CLAIM_LOCK = 0x5C0DE


@dataclass(frozen=True)
class Claimed:
    """One claimed row: what the sender needs, read while the claim held it."""

    id: int
    line_item_id: int
    lease_until: datetime
    tries: int
    failing_since: datetime | None = None


@dataclass(frozen=True)
class Backoff:
    """How long a retried row waits: exponential with full jitter, capped, and never less than
    the platform asked (Retry-After); and when retrying stops.

    The base is short because most transient failures are one request's bad luck on a platform
    that answers the next at once (an unlucky row's third try then comes within a few seconds,
    not a minute); a platform that stays down is asked at most every `cap_seconds` per score.
    Retrying ends `give_up_hours` after the first failure of the run, so that an LMS down for
    a weekend's maintenance costs no grade, and one gone for good is put to a person."""

    base_seconds: float = 0.5
    cap_seconds: float = 300.0
    give_up_hours: float = 72.0

    def delay(self, tries: int, retry_after: float | None) -> timedelta:
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** max(tries - 1, 0))
        return timedelta(seconds=max(retry_after or 0.0, random.uniform(0.0, ceiling)))

    def gives_up(self, failing_since: datetime | None, now: datetime) -> bool:
        return failing_since is not None and now - failing_since >= timedelta(
            hours=self.give_up_hours
        )


def _due(now: datetime):
    """Pending and due, or sending under a lease that ran out (a worker died mid-send)."""
    return or_(
        and_(ScoreDelivery.status == DeliveryStatus.PENDING, ScoreDelivery.next_try_at <= now),
        and_(ScoreDelivery.status == DeliveryStatus.SENDING, ScoreDelivery.lease_until < now),
    )


def _not_blocked(now: datetime):
    """Sends per learner and line item are serial; and while a live lease is on a line item
    whose URL is unknown, no other row of it goes out (two workers must not both create it)."""
    busy = aliased(ScoreDelivery)
    live = and_(
        busy.status == DeliveryStatus.SENDING,
        busy.lease_until >= now,
        busy.line_item_id == ScoreDelivery.line_item_id,
        busy.id != ScoreDelivery.id,
    )
    same_learner = exists().where(live, busy.user_sub == ScoreDelivery.user_sub)
    same_item = exists().where(live)
    item = aliased(LtiLineItem)  # not the claim query's own join of line items
    url = select(item.url).where(item.id == ScoreDelivery.line_item_id)
    return and_(~same_learner, or_(url.scalar_subquery().is_not(None), ~same_item))


def _claimable(now: datetime):
    return and_(_due(now), _not_blocked(now))


def _candidates(session: Session, now: datetime, batch: int, postgres: bool) -> list[int]:
    """Due rows, oldest first, at most one per learner and line item, and one per line item
    whose URL is unknown (the rows taken before in this claim count, as in _not_blocked)."""
    query = (
        select(
            ScoreDelivery.id, ScoreDelivery.line_item_id, ScoreDelivery.user_sub, LtiLineItem.url
        )
        .join(LtiLineItem, LtiLineItem.id == ScoreDelivery.line_item_id)
        .where(_claimable(now))
        .order_by(ScoreDelivery.id)
        .limit(batch)
    )
    if postgres:
        # A row being recorded or superseded by another transaction is left for later.
        query = query.with_for_update(skip_locked=True, of=ScoreDelivery)
    learners, unresolved, ids = set(), set(), []
    for row_id, line_item_id, user_sub, url in session.execute(query):
        if (line_item_id, user_sub) in learners or line_item_id in unresolved:
            continue
        learners.add((line_item_id, user_sub))
        if url is None:
            unresolved.add(line_item_id)
        ids.append(row_id)
    return ids


def _take(session: Session, row_id: int, now: datetime, lease_until: datetime) -> bool:
    """SQLite: mark one candidate sending, if it is still claimable. The check is repeated in
    the update because SQLite's read is not locked: a second worker may have claimed the row (or
    a row of the same learner and line item, or of the same unresolved line item) since.
    Within one claim it also keeps one row per such key, as the rows taken before count."""
    taken = session.execute(
        update(ScoreDelivery)
        .where(ScoreDelivery.id == row_id, _claimable(now))
        .values(
            status=DeliveryStatus.SENDING,
            lease_until=lease_until,
            tries=ScoreDelivery.tries + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return taken.rowcount == 1


def claim(engine: Engine, now: datetime, batch: int, lease: timedelta) -> list[Claimed]:
    """Mark up to `batch` due rows (oldest first) sending under a lease, and commit."""
    with Session(engine) as session, session.begin():
        postgres = engine.dialect.name == "postgresql"
        if postgres:
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLAIM_LOCK})
        lease_until = now + lease
        candidates = _candidates(session, now, batch, postgres)
        if postgres:
            # Under the claim lock and the rows' locks nothing can change them: one update.
            session.execute(
                update(ScoreDelivery)
                .where(ScoreDelivery.id.in_(candidates))
                .values(
                    status=DeliveryStatus.SENDING,
                    lease_until=lease_until,
                    tries=ScoreDelivery.tries + 1,
                )
                .execution_options(synchronize_session=False)
            )
            ids = candidates
        else:
            ids = [row_id for row_id in candidates if _take(session, row_id, now, lease_until)]
        rows = session.execute(
            select(
                ScoreDelivery.id,
                ScoreDelivery.line_item_id,
                ScoreDelivery.tries,
                ScoreDelivery.failing_since,
            )
            .where(ScoreDelivery.id.in_(ids))
            .order_by(ScoreDelivery.id)
        )
        return [
            Claimed(row_id, item, lease_until, tries, failing_since)
            for row_id, item, tries, failing_since in rows
        ]


def _ours(claimed: Claimed, model=ScoreDelivery):
    """The row is still sending under our lease (not reclaimed after it ran out)."""
    return and_(
        model.id == claimed.id,
        model.status == DeliveryStatus.SENDING,
        model.lease_until == claimed.lease_until,
    )


# The recording functions below take the outbox table as `model`: any table with this one's
# delivery columns (status, tries, next_try_at, failing_since, lease_until, last_error,
# sent_at), such as the centres' webhook deliveries (service/webhook_outbox.py), and a claim
# with `id`, `lease_until`, `tries` and `failing_since`. `extra`: more columns to set.


def _finish(engine: Engine, claimed: Claimed, model=ScoreDelivery, **values) -> bool:
    """Update our claimed row in one transaction; False if the lease was no longer ours."""
    with Session(engine) as session, session.begin():
        result = session.execute(
            update(model)
            .where(_ours(claimed, model))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


def mark_sent(
    engine: Engine,
    claimed: Claimed,
    now: datetime,
    note: str | None = None,
    model=ScoreDelivery,
    extra: dict | None = None,
) -> bool:
    return _finish(
        engine,
        claimed,
        model,
        **(extra or {}),
        status=DeliveryStatus.SENT,
        sent_at=now,
        lease_until=None,
        failing_since=None,
        last_error=note,
    )


def mark_failed(
    engine: Engine, claimed: Claimed, error: str, model=ScoreDelivery, extra: dict | None = None
) -> bool:
    return _finish(
        engine,
        claimed,
        model,
        **(extra or {}),
        status=DeliveryStatus.FAILED,
        lease_until=None,
        last_error=error,
    )


def mark_retry(
    engine: Engine,
    claimed: Claimed,
    now: datetime,
    backoff: Backoff,
    error: str,
    retry_after: float | None,
    platform_failing: bool = True,
    model=ScoreDelivery,
    extra: dict | None = None,
) -> bool:
    """Pending again after a delay; failed once the row has been failing for the give-up
    time. The delay grows with the row's tries only while its platform is failing: on a
    platform that answers most requests, a row's run of bad luck is retried at the base delay
    (one unlucky row must not wait a minute behind thousands that went through)."""
    if backoff.gives_up(claimed.failing_since, now):
        hours = (now - claimed.failing_since).total_seconds() / 3600
        return mark_failed(
            engine,
            claimed,
            f"gave up after {claimed.tries} tries over {hours:.1f} h: {error}",
            model,
            extra,
        )
    return _finish(
        engine,
        claimed,
        model,
        **(extra or {}),
        status=DeliveryStatus.PENDING,
        next_try_at=now + backoff.delay(claimed.tries if platform_failing else 1, retry_after),
        failing_since=claimed.failing_since or now,
        lease_until=None,
        last_error=error,
    )


def release(engine: Engine, claimed: Claimed, model=ScoreDelivery) -> bool:
    """Give a row back untried (its lease would run out before it could be sent)."""
    return _finish(
        engine,
        claimed,
        model,
        status=DeliveryStatus.PENDING,
        lease_until=None,
        tries=model.tries - 1,
    )


def store_line_item_url(engine: Engine, line_item_id: int, url: str) -> str:
    """Keep the URL the platform gave; if another worker stored one first, theirs stands."""
    with Session(engine) as session, session.begin():
        session.execute(
            update(LtiLineItem)
            .where(LtiLineItem.id == line_item_id, LtiLineItem.url.is_(None))
            .values(url=url)
            .execution_options(synchronize_session=False)
        )
        return session.scalar(select(LtiLineItem.url).where(LtiLineItem.id == line_item_id))


def due_count(engine: Engine, now: datetime) -> int:
    """Rows due now (blocked or not): how much work is left, for --once and logs."""
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(ScoreDelivery).where(_due(now)))

"""Removing LTI rows that have expired.

`assessment lti purge` (cron) removes everything expired. The request path also keeps the tables
that unauthenticated or per-launch requests grow within bounds, cheaply: one login in
LTI_SWEEP_EVERY (per process) deletes a small batch of its platform's expired states and evicts
the oldest beyond a cap; one launch in LTI_SWEEP_EVERY deletes a small batch of its platform's
expired nonces. The other requests skip those statements (issue 12: a class launching at once).
Expiry never depends on the sweep: an expired state is refused when read (lti/launch.py), and
an expired nonce belongs to an expired state.
"""

from __future__ import annotations

import itertools
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lti.models import LtiLoginState, LtiNonce, LtiSession
from service.models import utcnow


def purge_expired(session: Session) -> dict[str, int]:
    """Delete every expired row (the caller commits); how many, by what they were."""
    now = utcnow()
    counts = {}
    # Nonces outlive their tokens (exp + leeway are far shorter than a login state's life),
    # so deleting them once expired cannot re-open a replay.
    for what, model in (
        ("login states", LtiLoginState),
        ("nonces", LtiNonce),
        ("launch sessions", LtiSession),
    ):
        counts[what] = session.execute(delete(model).where(model.expires_at < now)).rowcount
    return counts


# A sweeping request deletes at most this many expired rows: more than the LTI_SWEEP_EVERY rows
# added between sweeps, so the expired backlog shrinks under any load, yet one request never
# waits on a large delete.
SWEEP_BATCH = 100
# The default of LTI_SWEEP_EVERY; at most SWEEP_BATCH (see above).
SWEEP_EVERY = 20

# Per process, per table: how many requests have asked whether to sweep.
_asked = {LtiLoginState: itertools.count(1), LtiNonce: itertools.count(1)}


def sweep_due(model, every: int) -> bool:
    """Whether this request sweeps `model`: one in `every` requests of this process (every
    request when `every` is 1). Counting, not chance: the bound is exact."""
    if every <= 1:
        return True
    return next(_asked[model]) % min(every, SWEEP_BATCH) == 0


def sweep_expired(session: Session, model, platform_id: int, now: datetime) -> int:
    """Delete up to SWEEP_BATCH expired rows of `model` for one platform (in the caller's
    transaction). The oldest rows, those with the lowest ids, are the expired ones, so the
    id-ordered scan finds them at once."""
    expired = (
        select(model.id)
        .where(model.platform_id == platform_id, model.expires_at < now)
        .order_by(model.id)
        .limit(SWEEP_BATCH)
    )
    ids = list(session.scalars(expired))
    if not ids:
        return 0
    return session.execute(delete(model).where(model.id.in_(ids))).rowcount


def cap_login_states(session: Session, platform_id: int, keep: int) -> int:
    """Keep at most `keep` login states for the platform, evicting the oldest. Evicting, not
    refusing: a flood of logins then costs a real user at most a retry of a login that is
    older than the newest `keep`, and never locks the platform's logins for ten minutes."""
    oldest_kept = session.scalar(
        select(LtiLoginState.id)
        .where(LtiLoginState.platform_id == platform_id)
        .order_by(LtiLoginState.id.desc())
        .offset(keep - 1)
        .limit(1)
    )
    if oldest_kept is None:
        return 0
    return session.execute(
        delete(LtiLoginState).where(
            LtiLoginState.platform_id == platform_id, LtiLoginState.id < oldest_kept
        )
    ).rowcount

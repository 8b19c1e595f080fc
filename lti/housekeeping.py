"""Removing LTI rows that have expired. Kept apart from the request path: a launch never waits
for housekeeping."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from lti.models import LtiLoginState, LtiNonce, LtiSession
from service.models import utcnow


def purge_expired(session: Session) -> dict[str, int]:
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
    session.commit()
    return counts

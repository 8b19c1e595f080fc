"""The active registrations, read once per process and kept for a short while: a class
launching at once would otherwise read the same platform row several times per launch
(pylti1p3's registration and deployment look-ups, and ours).

What is kept is a frozen copy (`Registered`), never an ORM object: a copy outlives the
request's Session. Any change to a platform or a deployment written through the ORM (admin
API, CLI, dynamic registration, a JWKS refetch) empties this process's cache at once; other
processes see it within `TTL_SECONDS` (the cache is per engine, so each app has its own).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import event, select
from sqlalchemy.orm import Session, selectinload

from lti.models import LtiDeployment, LtiPlatform
from service.per_engine import PerEngine

TTL_SECONDS = 60.0


@dataclass(frozen=True)
class Registered:
    """An active registration as a launch reads it (the columns of LtiPlatform it uses)."""

    id: int
    name: str
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    auth_audience: str | None
    centre_id: int | None
    jwks: dict | None
    deployment_ids: frozenset[str]

    @classmethod
    def of(cls, row: LtiPlatform) -> Registered:
        return cls(
            id=row.id,
            name=row.name,
            issuer=row.issuer,
            client_id=row.client_id,
            auth_login_url=row.auth_login_url,
            auth_token_url=row.auth_token_url,
            key_set_url=row.key_set_url,
            auth_audience=row.auth_audience,
            centre_id=row.centre_id,
            jwks=row.jwks,
            deployment_ids=frozenset(d.deployment_id for d in row.deployments),
        )


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        # issuer (None: all) -> (read at, the active registrations)
        self.by_issuer: dict[str | None, tuple[float, tuple[Registered, ...]]] = {}

    def clear(self) -> None:
        with self.lock:
            self.by_issuer.clear()


_caches: PerEngine[_Cache] = PerEngine(_Cache)


def _kept(session: Session, key: str | None, query) -> tuple[Registered, ...]:
    """The registrations `query` finds, read at most once per TTL_SECONDS per key."""
    cache = _caches.of(session)
    now = time.monotonic()
    with cache.lock:
        kept = cache.by_issuer.get(key)
    if kept is not None and now - kept[0] < TTL_SECONDS:
        return kept[1]
    # Two statements (the rows, then their deployments), once per TTL_SECONDS per key.
    rows = session.scalars(
        query.options(selectinload(LtiPlatform.deployments)).execution_options(
            populate_existing=True
        )
    ).all()
    found = tuple(Registered.of(row) for row in rows)
    with cache.lock:
        cache.by_issuer[key] = (now, found)
    return found


def active(session: Session, issuer: str, client_id: str | None) -> Registered | None:
    """The active registration for (issuer, client_id); without a client id the issuer must
    be unambiguous. Inactive registrations do not launch."""
    query = select(LtiPlatform).where(LtiPlatform.issuer == issuer, LtiPlatform.active)
    found = _kept(session, issuer, query)
    if client_id:
        found = tuple(p for p in found if p.client_id == client_id)
    return found[0] if len(found) == 1 else None


def all_active(session: Session) -> tuple[Registered, ...]:
    """Every active registration (the origins that may frame a page without a session)."""
    query = select(LtiPlatform).where(LtiPlatform.active).order_by(LtiPlatform.id)
    return _kept(session, None, query)


def of_session(session: Session, lti_session):
    """The registration a launch session belongs to: the cached copy while it is active, else
    its row (a session outlives its platform being disabled)."""
    found = next((p for p in all_active(session) if p.id == lti_session.platform_id), None)
    return found if found is not None else lti_session.platform


def forget(session: Session) -> None:
    """Empty this process's cache for the session's database (a registration changed)."""
    _caches.of(session).clear()


# ---------------------------------------------------------------------------- invalidation

_WATCHED = (LtiPlatform, LtiDeployment)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(obj, _WATCHED) for obj in changed):
        forget(session)
        # Again at the commit: a launch in between may have read the rows as they were.
        session.info["lti_platform_changed"] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop("lti_platform_changed", False):
        forget(session)


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state) -> None:
    """update()/delete() statements on the registrations bypass the flush."""
    if not (state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    if mapper is not None and mapper.class_ in _WATCHED:
        forget(state.session)
        state.session.info["lti_platform_changed"] = True

"""The course activities launches come from (lti_resource_links): remembered, and brought up
to date, by every resource link launch, in the launch's own transaction."""

from __future__ import annotations

import functools
import threading
import time

from sqlalchemy import ScalarSelect, event, or_, select
from sqlalchemy.orm import Session

from lti.ags import AGS_SCOPES
from lti.ags import CLAIM as AGS_CLAIM
from lti.models import LtiPlatform, LtiResourceLink
from service.models import utcnow
from service.per_engine import PerEngine
from service.upserts import insert_for_dialect

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"


def _string(value) -> str | None:
    return value if isinstance(value, str) and value else None


def described(platform: LtiPlatform, claims: dict) -> dict | None:
    """The resource link columns a validated launch gives, or None if it names no link (a deep
    linking request). The launch validation has already checked the claims' shapes."""
    link_id = _string((claims.get(LTI + "resource_link") or {}).get("id"))
    if link_id is None:
        return None
    ags = claims.get(AGS_CLAIM) or {}
    scopes = [s for s in ags.get("scope") or [] if s in AGS_SCOPES]
    return {
        "platform_id": platform.id,
        "deployment_id": claims[LTI + "deployment_id"],
        "resource_link_id": link_id,
        "context_id": _string((claims.get(LTI + "context") or {}).get("id")),
        "assessment_code": _string((claims.get(LTI + "custom") or {}).get("assessment")),
        "product_family": _string(
            (claims.get(LTI + "tool_platform") or {}).get("product_family_code")
        ),
        "ags_scopes": " ".join(scopes),
        "ags_lineitems": _string(ags.get("lineitems")),
        "ags_lineitem": _string(ags.get("lineitem")),
        "nrps_url": _string((claims.get(NRPS_CLAIM) or {}).get("context_memberships_url")),
    }


CHANGING = (
    "deployment_id",
    "context_id",
    "assessment_code",
    "product_family",
    "ags_scopes",
    "ags_lineitems",
    "ags_lineitem",
    "nrps_url",
)


def remember(session: Session, platform: LtiPlatform, claims: dict) -> LtiResourceLink | None:
    """`record`, then the link as stored; None for launches without one."""
    values = described(platform, claims)
    if values is None:
        return None
    record(session, platform, claims)
    return find(session, platform.id, values["resource_link_id"])


# A launch that finds its link as this process last wrote it skips the write, for up to this
# long: `updated_at` (when the link was last launched, for preflight and `lti links`) may lag
# by as much. Links are never deleted (a platform is deactivated, not deleted).
RECORDED_FOR_SECONDS = 600.0


def record(session: Session, platform: LtiPlatform, claims: dict) -> None:
    """Insert or update the launch's resource link (nothing for launches without one), in the
    launch's transaction. A class launching at once all bring the same values: the first launch
    a process commits writes them, the others skip the statement (and the row's lock) while
    this process knows the row holds them. The launch reads nothing back (issue 12)."""
    values = described(platform, claims)
    if values is None:
        return
    key = (values["platform_id"], values["resource_link_id"])
    changing = tuple(values[name] for name in CHANGING)
    recorded = _recorded.of(session)
    with recorded.lock:
        known = recorded.links.get(key)
    fresh = known is not None and time.monotonic() - known[1] < RECORDED_FOR_SECONDS
    if fresh and known[0] == changing:
        return
    dialect = session.get_bind().dialect.name
    session.execute(_upsert(dialect), {**values, "updated_at": utcnow()})
    # Known once the launch commits (an uncommitted write may still roll back).
    session.info.setdefault(_WRITTEN, []).append((key, changing))


@functools.cache
def _upsert(dialect: str):
    """The link's INSERT ... ON CONFLICT, built once per database kind: building it cost more
    than running it. Rewritten only when something changed (no new row version, no write)."""
    statement = insert_for_dialect(dialect, LtiResourceLink)
    table = LtiResourceLink.__table__
    return statement.on_conflict_do_update(
        index_elements=["platform_id", "resource_link_id"],
        set_={name: statement.excluded[name] for name in (*CHANGING, "updated_at")},
        where=or_(*(table.c[name].is_distinct_from(statement.excluded[name]) for name in CHANGING)),
    )


class _Recorded:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        # (platform id, resource link id) -> (CHANGING values written, when: time.monotonic())
        self.links: dict[tuple[int, str], tuple[tuple, float]] = {}


_recorded: PerEngine[_Recorded] = PerEngine(_Recorded)
_WRITTEN = "lti_resource_links_written"  # session.info: links written in this transaction


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    written = session.info.pop(_WRITTEN, None)
    if not written:
        return
    recorded = _recorded.of(session)
    now = time.monotonic()
    with recorded.lock:
        for key, changing in written:
            recorded.links[key] = (changing, now)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


def find(session: Session, platform_id: int, resource_link_id: str | None):
    if resource_link_id is None:
        return None
    return session.scalar(
        select(LtiResourceLink).where(
            LtiResourceLink.platform_id == platform_id,
            LtiResourceLink.resource_link_id == resource_link_id,
        )
    )


def id_of(platform_id: int, resource_link_id: str | None) -> ScalarSelect[int] | None:
    """`find`'s id as a scalar subquery, for a statement that stores it (NULL when the link is
    not known); None for a launch without a resource link."""
    if resource_link_id is None:
        return None
    return (
        select(LtiResourceLink.id)
        .where(
            LtiResourceLink.platform_id == platform_id,
            LtiResourceLink.resource_link_id == resource_link_id,
        )
        .scalar_subquery()
    )


class UnknownResourceLink(Exception):
    """The resource link asked for is not one of the platform's."""


def of_platform(session: Session, platform_id: int, link_pk: int) -> LtiResourceLink:
    """The platform's resource link numbered `link_pk` here; raises UnknownResourceLink."""
    link = session.get(LtiResourceLink, link_pk)
    if link is None or link.platform_id != platform_id:
        raise UnknownResourceLink(f"platform {platform_id} has no resource link {link_pk}")
    return link

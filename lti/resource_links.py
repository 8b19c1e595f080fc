"""The course activities launches come from (lti_resource_links): remembered, and brought up
to date, by every resource link launch, in the launch's own transaction."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from lti.ags import AGS_SCOPES
from lti.ags import CLAIM as AGS_CLAIM
from lti.models import LtiPlatform, LtiResourceLink
from service.models import utcnow
from service.upserts import insert_for

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


def record(session: Session, platform: LtiPlatform, claims: dict) -> None:
    """Insert or update the launch's resource link (nothing for launches without one). A class
    launching at once all upsert the same row: it is rewritten only when something changed
    (no new row version, no write), and the launch commits straight after. The launch itself
    reads nothing back (issue 12)."""
    values = described(platform, claims)
    if values is None:
        return
    statement = insert_for(session, LtiResourceLink).values(**values, updated_at=utcnow())
    table = LtiResourceLink.__table__
    statement = statement.on_conflict_do_update(
        index_elements=["platform_id", "resource_link_id"],
        set_={name: statement.excluded[name] for name in (*CHANGING, "updated_at")},
        where=or_(*(table.c[name].is_distinct_from(statement.excluded[name]) for name in CHANGING)),
    )
    session.execute(statement)


def find(session: Session, platform_id: int, resource_link_id: str | None):
    if resource_link_id is None:
        return None
    return session.scalar(
        select(LtiResourceLink).where(
            LtiResourceLink.platform_id == platform_id,
            LtiResourceLink.resource_link_id == resource_link_id,
        )
    )


class UnknownResourceLink(Exception):
    """The resource link asked for is not one of the platform's."""


def of_platform(session: Session, platform_id: int, link_pk: int) -> LtiResourceLink:
    """The platform's resource link numbered `link_pk` here; raises UnknownResourceLink."""
    link = session.get(LtiResourceLink, link_pk)
    if link is None or link.platform_id != platform_id:
        raise UnknownResourceLink(f"platform {platform_id} has no resource link {link_pk}")
    return link

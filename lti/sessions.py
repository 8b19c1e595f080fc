"""After a valid launch: who the user is (minimum personal data) and what they may do."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti.launch import AGS, DEEP_LINKING, DISPLAY_FIELDS, DISPLAY_MAX, LTI, NRPS
from lti.models import LtiPlatform, LtiSession
from service.models import utcnow

SESSION_LIFETIME = timedelta(hours=3)
STAFF_ROLES = (
    "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
    "http://purl.imsglobal.org/vocab/lis/v2/membership#TeachingAssistant",
    "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
    "http://purl.imsglobal.org/vocab/lis/v2/membership#Administrator",
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
    "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator",
)


def role_of(claims: dict) -> str:
    roles = claims.get(LTI + "roles") or []
    return "staff" if any(r in STAFF_ROLES for r in roles) else "learner"


def _kept_claims(claims: dict) -> dict:
    """Service endpoints and settings the tool needs later; no names, emails or pictures."""
    kept = {}
    for claim in (
        AGS,
        NRPS,
        DEEP_LINKING,
        LTI + "custom",
        LTI + "context",
        LTI + "resource_link",
        LTI + "launch_presentation",
    ):
        if claim in claims:
            kept[claim] = claims[claim]
    for claim, fields in DISPLAY_FIELDS.items():
        if claim in kept:
            kept[claim] = {**kept[claim]}
            for field in fields:
                if field in kept[claim]:
                    kept[claim][field] = _display(kept[claim][field])
    return kept


def _display(text: str | None) -> str | None:
    """Display-only text, cut to what the tool shows and stores (lti.launch: claim limits)."""
    if text is None or len(text) <= DISPLAY_MAX:
        return text
    return text[: DISPLAY_MAX - 1] + "\u2026"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(session: Session, platform: LtiPlatform, claims: dict) -> str:
    """Store the launch; return the token its pages carry."""
    token = secrets.token_urlsafe(32)
    role = role_of(claims)
    custom = claims.get(LTI + "custom") or {}
    session.add(
        LtiSession(
            token_hash=token_hash(token),
            platform_id=platform.id,
            deployment_id=claims[LTI + "deployment_id"],
            user_sub=claims.get("sub") or "anonymous",
            user_name=_display(claims.get("name")),
            role=role,
            message_type=claims[LTI + "message_type"],
            context_id=(claims.get(LTI + "context") or {}).get("id"),
            resource_link_id=(claims.get(LTI + "resource_link") or {}).get("id"),
            assessment_code=custom.get("assessment"),
            claims=_kept_claims(claims),
            expires_at=utcnow() + SESSION_LIFETIME,
        )
    )
    session.commit()
    return token


def find(session: Session, token: str | None) -> LtiSession | None:
    if not token:
        return None
    row = session.scalar(select(LtiSession).where(LtiSession.token_hash == token_hash(token)))
    if row is None or row.expires_at < utcnow():
        return None
    return row

"""After a valid launch: who the user is (minimum personal data) and what they may do.

The launch's token (`ls`) travels in page URLs and forms, because LMS frames often block
cookies: it is a bearer credential, so it is kept short and tied to the browser when possible.
- Lifetime: a launch lasts LTI_SESSION_MINUTES (90) as it starts. A learner's is kept open
  until their deadline and AFTER_DEADLINE once their attempt starts, and whenever the deadline
  moves later (extra time granted, a long rest break) or they relaunch during the attempt, so
  that the clock never outlives the page (keep_open_until). A staff launch slides with activity.
- Rotation: a full page load with a token older than LTI_SESSION_ROTATE_MINUTES gets a fresh
  one (lti/pages.py redirects to it); the old token stays valid LTI_SESSION_OVERLAP_MINUTES
  more, so an open page can still save with it.
- Browser binding: the launch also sets a partitioned cookie holding a secret whose hash is
  kept here (as lti/login.py binds the OIDC state). A request with a cookie that does not
  match is refused. Where the frame blocks cookies, the token alone is accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from lti.launch import AGS, DEEP_LINKING, DISPLAY_FIELDS, DISPLAY_MAX, FOR_USER, LTI, NRPS
from lti.models import LtiPlatform, LtiSession
from service import content_cache
from service.models import utcnow

COOKIE = "lti-session-"  # + the session's id
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
    # A submission review's learner: the user id only (the claim may carry names and emails).
    for_user = claims.get(FOR_USER)
    if isinstance(for_user, dict) and isinstance(for_user.get("user_id"), str):
        kept[FOR_USER] = {"user_id": for_user["user_id"]}
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


def lifetime(config) -> timedelta:
    """How long a launch lasts as it starts. The launch reads nothing to decide it (issue 12:
    a class launching at once); a learner's is kept open until their deadline once their
    attempt starts (keep_open_until), a staff launch slides with activity (extend)."""
    return timedelta(minutes=config["LTI_SESSION_MINUTES"])


@dataclass(frozen=True)
class Issued:
    token: str
    browser_secret: str
    session_id: int


def start(
    session: Session,
    platform: LtiPlatform,
    claims: dict,
    duration: timedelta,
    assessment_code: str | None = None,
) -> Issued:
    """Store the launch (the caller commits); return its token and the secret for the
    browser's cookie. `assessment_code` is for launches whose claims need not carry it (a
    submission review takes the course activity's)."""
    token, secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    role = role_of(claims)
    custom = claims.get(LTI + "custom") or {}
    now = utcnow()
    session_id = session.execute(
        ADD_SESSION,
        {
            "token_hash": token_hash(token),
            "token_issued_at": now,
            "browser_hash": token_hash(secret),
            "platform_id": platform.id,
            "deployment_id": claims[LTI + "deployment_id"],
            "user_sub": claims.get("sub") or "anonymous",
            "user_name": _display(claims.get("name")),
            "role": role,
            "message_type": claims[LTI + "message_type"],
            "context_id": (claims.get(LTI + "context") or {}).get("id"),
            "resource_link_id": (claims.get(LTI + "resource_link") or {}).get("id"),
            "assessment_code": custom.get("assessment") or assessment_code,
            "claims": _kept_claims(claims),
            "created_at": now,
            "expires_at": now + duration,
        },
    ).scalar_one()
    return Issued(token, secret, session_id)


# The launch and Start write launch sessions with Core statements built once (below): the ORM's
# statement building and unit of work cost more CPU than the database spends on them.
_SESSIONS = LtiSession.__table__
# Every launch writes one, an object it never reads again (its id is all the redirect needs).
ADD_SESSION = insert(_SESSIONS).returning(_SESSIONS.c.id)


# How long a learner's launch stays open after their deadline (to submit and see the result)
# when the deadline moves after the launch.
AFTER_DEADLINE = timedelta(minutes=30)


def keep_open_until(session: Session, platform_id: int, sub: str, deadline) -> None:
    """The learner's unexpired launches last at least until `deadline` + AFTER_DEADLINE: their
    deadline moved (extra time granted meanwhile, a rest break). Never shortens one."""
    until = deadline + AFTER_DEADLINE
    session.execute(
        KEEP_OPEN,
        {"b_platform_id": platform_id, "b_user_sub": sub, "now": utcnow(), "until": until},
    )


# Every Start runs it (the session's objects were never synchronised with it anyway).
KEEP_OPEN = (
    update(_SESSIONS)
    .where(
        _SESSIONS.c.platform_id == bindparam("b_platform_id"),
        _SESSIONS.c.user_sub == bindparam("b_user_sub"),
        _SESSIONS.c.role == "learner",
        _SESSIONS.c.expires_at > bindparam("now"),
        _SESSIONS.c.expires_at < bindparam("until"),
    )
    .values(expires_at=bindparam("until"))
)


def open_for_attempt(session: Session, row: LtiSession, deadline) -> bool:
    """A learner relaunching during their attempt gets a launch of the default length: keep
    it open as long as their clock runs. Writes (and says so) only when it ends too soon, so
    once per relaunch; the caller commits."""
    if deadline is None or row.expires_at >= deadline + AFTER_DEADLINE:
        return False
    keep_open_until(session, row.platform_id, row.user_sub, deadline)
    return True


def find(session: Session, token: str | None) -> LtiSession | None:
    """The unexpired launch whose current token, or previous token within its overlap, this is."""
    if not token:
        return None
    digest = token_hash(token)
    # The content version comes with the session: every page reads content kept per version
    # (service/content_cache.py), and this saves it a round trip of its own.
    found = session.execute(
        select(LtiSession, content_cache.version_column()).where(
            or_(LtiSession.token_hash == digest, LtiSession.previous_token_hash == digest)
        )
    ).first()
    if found is None:
        return None
    row, content_version = found
    content_cache.noted(session, content_version)
    now = utcnow()
    if row is None or row.expires_at < now:
        return None
    if row.token_hash != digest and (row.previous_expires_at or now) <= now:
        return None
    return row


def browser_allowed(
    session: Session, row: LtiSession, secret: str | None, record_seen: bool = False
) -> bool:
    """Whether the request's session cookie (`secret`, None when absent) fits the launch.
    `record_seen`: a request that writes anyway (a POST) records when the cookie was first
    seen (browser_seen_at), committed with its own writes; a page view writes nothing
    (issue 12: the start page of a class launching at once)."""
    if row.browser_hash is None:
        return True
    if secret is None:
        # No cookie: blocked in this frame, so the token alone. (Requiring it once seen would
        # also stop copied URLs, but Playwright's routed fetches drop partitioned cookies.)
        return True
    if not hmac.compare_digest(token_hash(secret), row.browser_hash):
        return False
    if record_seen and row.browser_seen_at is None:
        row.browser_seen_at = utcnow()
    return True


def due_for_rotation(row: LtiSession, token: str, every: timedelta) -> bool:
    issued = row.token_issued_at or row.created_at
    return row.token_hash == token_hash(token) and utcnow() - issued >= every


def rotate(session: Session, row: LtiSession, token: str, overlap: timedelta) -> str | None:
    """Replace the current token `token` with a fresh one (the caller commits); None when
    another request rotated it first (the caller then goes on with `token`, valid for the
    overlap)."""
    fresh = secrets.token_urlsafe(32)
    now = utcnow()
    changed = session.execute(
        update(LtiSession)
        .where(LtiSession.id == row.id, LtiSession.token_hash == token_hash(token))
        .values(
            token_hash=token_hash(fresh),
            token_issued_at=now,
            previous_token_hash=token_hash(token),
            previous_expires_at=min(now + overlap, row.expires_at),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    return fresh if changed else None


def for_user(lti_session: LtiSession) -> str | None:
    """The learner whose work a submission review launch opens (their platform user id)."""
    return ((lti_session.claims or {}).get(FOR_USER) or {}).get("user_id")


# A staff launch slides with activity (every page load and form extends it by
# LTI_SESSION_MINUTES) but never lasts longer than this after the launch: a long marking
# session is fine, a token copied once is not valid for days.
STAFF_MAX = timedelta(hours=12)
# The longest any launch lasts (no learner's deadline is that far from their launch): the
# browser keeps the launch's cookie this long, and the session's own expiry decides before.
LONGEST = STAFF_MAX
# How long before a staff launch ends its pages warn about it (with a button to continue).
WARN_BEFORE = timedelta(minutes=10)


def extend(row: LtiSession, minutes: int) -> bool:
    """Slide a staff launch: it now ends `minutes` from now (never past STAFF_MAX after the
    launch, never earlier than it did). Learners' launches follow their deadline instead.
    Whether it changed (the caller commits)."""
    if row.role != "staff":
        return False
    now = utcnow()
    until = min(now + timedelta(minutes=minutes), row.created_at + STAFF_MAX)
    if until <= row.expires_at:
        return False
    row.expires_at = until
    return True


def renew(session: Session, row: LtiSession, token: str, config) -> str:
    """The assessor chose to continue: a fresh token (as a page load past the rotation age
    gets one) and a launch extended by LTI_SESSION_MINUTES. Returns the token to use now;
    the caller commits."""
    extend(row, config["LTI_SESSION_MINUTES"])
    overlap = timedelta(minutes=config["LTI_SESSION_OVERLAP_MINUTES"])
    fresh = rotate(session, row, token, overlap) if row.token_hash == token_hash(token) else None
    return fresh or token


def find_ended(session: Session, token: str | None, within: timedelta) -> LtiSession | None:
    """The staff launch this token belonged to if it ended less than `within` ago: whose
    marks, posted too late, are kept as a draft (lti/marking_drafts.py)."""
    if not token:
        return None
    digest = token_hash(token)
    # The content version comes with the session: every page reads content kept per version
    # (service/content_cache.py), and this saves it a round trip of its own.
    found = session.execute(
        select(LtiSession, content_cache.version_column()).where(
            or_(LtiSession.token_hash == digest, LtiSession.previous_token_hash == digest)
        )
    ).first()
    if found is None:
        return None
    row, content_version = found
    content_cache.noted(session, content_version)
    now = utcnow()
    if row is None or row.role != "staff" or row.expires_at >= now:
        return None
    return row if now - row.expires_at <= within else None


def find_superseded(session: Session, token: str | None) -> LtiSession | None:
    """The unexpired staff launch whose previous token this is, past its overlap: a page left
    open across a rotation (another tab got the fresh token). Its marks, posted too late for
    the old token, are kept as a draft like those of an ended launch."""
    if not token:
        return None
    row = session.scalar(
        select(LtiSession).where(LtiSession.previous_token_hash == token_hash(token))
    )
    now = utcnow()
    if row is None or row.role != "staff" or row.expires_at < now:
        return None
    if row.previous_expires_at is None or row.previous_expires_at > now:
        return None  # still within the overlap: the token works as it is
    return row

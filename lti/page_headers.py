"""Headers for the tool's HTML pages, set by each LTI blueprint's after_request hook.

The pages run inside LMS frames, so `frame-ancestors` names the platforms that may frame them:
the platform of the current launch when the request has one (lti/pages.py puts it in
g.lti_session; login and registration name theirs in g.frame_origins), else every active
registered platform. A platform's origins come from its issuer and its authorisation URL (and,
for a launch, the return URLs it signed). Scripts only from here (no inline script), and no
Referer, because page URLs carry the launch's session token.
"""

from __future__ import annotations

import functools

from flask import g
from sqlalchemy.exc import SQLAlchemyError

from lti import platform_cache, url_policy
from lti.models import LtiPlatform, LtiSession
from lti.platform_cache import Registered
from service import db

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'"
)
# Instructure-hosted Canvas frames tools from the school's own *.instructure.com host, while
# its issuer is canvas.instructure.com (or canvas.beta/test.instructure.com).
HOSTED_CANVAS = ".instructure.com"
LAUNCH_PRESENTATION = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"
DEEP_LINKING = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"


def platform_origins(platform: LtiPlatform | Registered) -> frozenset[str]:
    return _origins(platform.issuer, platform.auth_login_url)


# Every page asks for its platform's origins: worked out once per (issuer, login URL), which
# is all they depend on (bounded: an edited registration leaves an entry that ages out).
@functools.lru_cache(maxsize=1024)
def _origins(issuer: str, auth_login_url: str) -> frozenset[str]:
    origins = {url_policy.origin(issuer), url_policy.origin(auth_login_url)}
    if (url_policy.origin(issuer) or "").endswith(HOSTED_CANVAS):
        origins.add("https://*.instructure.com")
    return frozenset(o for o in origins if o)


@functools.lru_cache(maxsize=64)
def _every_platform(registrations: tuple[tuple[str, str], ...]) -> frozenset[str]:
    """The origins of every active registration, (issuer, login URL) each."""
    return frozenset().union(*(_origins(*registration) for registration in registrations))


def _session_origins(lti_session: LtiSession) -> set[str]:
    """The platform's origins and those of the URLs its signed launch told us to return to."""
    origins = set(platform_origins(platform_cache.of_session(db.session(), lti_session)))
    claims = lti_session.claims or {}
    for url in (
        (claims.get(LAUNCH_PRESENTATION) or {}).get("return_url"),
        (claims.get(DEEP_LINKING) or {}).get("deep_link_return_url"),
    ):
        found = url_policy.origin(url) if isinstance(url, str) else None
        if found:
            origins.add(found)
    return origins


def frame_ancestors() -> str:
    origins = g.get("frame_origins")
    if origins is None:
        lti_session = g.get("lti_session")
        if lti_session is not None:
            origins = _session_origins(lti_session)
        else:
            origins = frozenset()
            try:
                registered = platform_cache.all_active(db.session())
                origins = _every_platform(tuple((p.issuer, p.auth_login_url) for p in registered))
            except SQLAlchemyError:
                # The database is down (the page is its 503): no platform may frame it then.
                db.session().rollback()
    return " ".join(["frame-ancestors", "'self'", *sorted(set(origins))])


def lti_page(response):
    """For the LTI blueprints' after_request."""
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", f"{CSP}; {frame_ancestors()}")
        response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response

"""Platform public keys (JWKS), cached in the database so every process shares them.

A launch signed with a kid we have not seen triggers one refetch, at most once per
LTI_JWKS_MIN_REFETCH_SECONDS per platform (a forged kid cannot make us hammer the LMS).
"""

from __future__ import annotations

import json
from datetime import timedelta

from flask import current_app
from sqlalchemy.orm import Session

from lti import platform_cache, platform_http, url_policy
from lti.models import LtiPlatform
from service.models import utcnow


class KeyError_(Exception):
    """The platform's key for this token cannot be found or fetched."""


def _fetch(platform: LtiPlatform) -> dict:
    """The platform's key set, fetched under the URL policy (lti/platform_http.py): the JWKS
    URL was checked when it was registered, and its addresses are checked again now."""
    embedded = url_policy.embedded_default(current_app.config)
    try:
        answer = platform_http.fetch("GET", platform.key_set_url, embedded=embedded)
    except platform_http.FetchError as exc:
        raise KeyError_(f"could not fetch the platform's JWKS: {exc.reason}") from exc
    if answer.status_code != 200:
        raise KeyError_(f"could not fetch the platform's JWKS: HTTP {answer.status_code}")
    try:
        keys = json.loads(answer.body)
    except ValueError as exc:
        raise KeyError_("could not fetch the platform's JWKS: not JSON") from exc
    if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
        raise KeyError_("the platform's JWKS is not a key set")
    return keys


def _find(jwks: dict | None, kid: str) -> dict | None:
    return next((k for k in (jwks or {}).get("keys", []) if k.get("kid") == kid), None)


def public_key_for(session: Session, platform, kid: str) -> dict:
    """`platform`: the launch's registration (lti/platform_cache.py's copy, or a row)."""
    key = _find(platform.jwks, kid)
    if key is not None:
        return key
    # Read the row again, locked (PostgreSQL): when the first launches after a registration
    # arrive together, one process fetches and the others wait for its result. Writing its
    # jwks empties the registration cache (lti/platform_cache.py). The commit ends what the
    # launch has done so far: its login state is used, whatever the signature turns out to be.
    session.commit()
    platform = session.get(LtiPlatform, platform.id, with_for_update=True, populate_existing=True)
    key = _find(platform.jwks, kid)
    if key is not None:
        session.commit()
        # Another process fetched it after this one kept the registration: keep it afresh,
        # or every launch here takes this path until the copy expires.
        platform_cache.forget(session)
        return key
    wait = timedelta(seconds=current_app.config["LTI_JWKS_MIN_REFETCH_SECONDS"])
    now = utcnow()
    if platform.jwks_fetched_at and now - platform.jwks_fetched_at < wait:
        session.commit()
        raise KeyError_(f"unknown kid {kid!r} (key set refetched recently)")
    # The attempt counts against the interval even if it fails: a forged kid must not make us
    # hammer an LMS whose key set is down.
    platform.jwks_fetched_at = now
    try:
        platform.jwks = _fetch(platform)
    finally:
        session.commit()
    key = _find(platform.jwks, kid)
    if key is None:
        raise KeyError_(f"unknown kid {kid!r}")
    return key

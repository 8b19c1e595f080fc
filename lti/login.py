"""OIDC third-party-initiated login: check the platform's request, remember a state bound to
this browser, and send the browser to the platform's authorisation endpoint."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from sqlalchemy import insert
from sqlalchemy.orm import Session

from lti.housekeeping import cap_login_states, sweep_due, sweep_expired
from lti.launch import browser_hash, origin, same_host
from lti.models import LtiLoginState
from lti.tool_conf import DatabaseToolConf
from lti.tool_config import DEEP_LINKING_QUERY
from service.models import utcnow

# Every login writes one: a Core INSERT, without the ORM's unit of work (the launch reads the
# row back by its state).
ADD_STATE = insert(LtiLoginState.__table__)

STATE_LIFETIME = timedelta(minutes=10)
# Login states kept per platform at most (a login needs no authentication, so a flood of them
# must not grow the table without bound); the view passes LTI_MAX_LOGIN_STATES.
MAX_LOGIN_STATES = 10_000
# The parameters a login passes on (and, for the new-window fallback, repeats), with the
# lengths the database keeps.
LOGIN_PARAMETERS = (
    "iss",
    "login_hint",
    "target_link_uri",
    "lti_message_hint",
    "client_id",
    "lti_deployment_id",
    "deployment_id",
    "lti_storage_target",
)
MAX_LENGTHS = {
    "iss": 255,
    "client_id": 255,
    "target_link_uri": 2048,
    "lti_storage_target": 64,
    "login_hint": 2048,
    "lti_message_hint": 4096,
}


class LoginRejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LoginStarted:
    auth_url: str
    state: str
    browser_secret: str
    storage_target: str | None
    platform_origin: str
    # Known at login to be deep linking (deep_linking_at_login): it cannot move to a new window.
    deep_linking: bool = False


# Moodle 4.5 names a "Select content" login's launch "ltilaunch_ContentItemSelectionRequest"
# followed by a number, in lti_message_hint's JSON (mod/lti's build_login_request); a course
# activity's is "ltilaunch<instance>_<number>", with its cmid.
MOODLE_DEEP_LINKING_LAUNCH = "ltilaunch_ContentItemSelectionRequest"


def deep_linking_at_login(params, launch_url: str) -> bool:
    """Whether this login starts deep linking, as far as the login can tell (the message type
    is only in the id_token, after the login). Two signs: the target_link_uri the tool
    registers for deep linking (tool_config.ToolUrls.deep_linking), and Moodle's
    lti_message_hint, which also covers registrations made before that URL existed. Anything
    else is treated as a resource link."""
    target = urlsplit(params.get("target_link_uri") or "")
    if target.path == urlsplit(launch_url).path and target.query == DEEP_LINKING_QUERY:
        return True
    try:
        hint = json.loads(params.get("lti_message_hint") or "")
    except ValueError:
        return False  # Canvas and others send an opaque hint
    launch_id = hint.get("launchid") if isinstance(hint, dict) else None
    return isinstance(launch_id, str) and launch_id.startswith(MOODLE_DEEP_LINKING_LAUNCH)


def start_login(
    session: Session,
    params,
    host_url: str,
    launch_url: str,
    max_states: int = MAX_LOGIN_STATES,
    sweep_every: int = 1,
) -> LoginStarted:
    """Store a login state for the platform's launch to come back with (the caller commits).
    `params`: the login request's parameters (GET query or POST form)."""
    issuer = params.get("iss")
    login_hint = params.get("login_hint")
    target_link_uri = params.get("target_link_uri")
    if not issuer or not login_hint or not target_link_uri:
        raise LoginRejected("iss, login_hint and target_link_uri are required")
    too_long = [name for name, limit in MAX_LENGTHS.items() if len(params.get(name) or "") > limit]
    if too_long:
        raise LoginRejected(f"parameter(s) too long: {', '.join(too_long)}")
    if not same_host(target_link_uri, host_url):
        raise LoginRejected("target_link_uri is not on this host")
    platform = DatabaseToolConf(session).platform(issuer, params.get("client_id"))
    if platform is None:
        raise LoginRejected("no active registration for this issuer and client")
    # Canvas sends deployment_id; the specification says lti_deployment_id.
    deployment_id = params.get("lti_deployment_id") or params.get("deployment_id")
    if deployment_id and deployment_id not in platform.deployment_ids:
        raise LoginRejected("unknown deployment")

    state, nonce, secret = (secrets.token_urlsafe(32) for _ in range(3))
    storage_target = params.get("lti_storage_target") or None
    now = utcnow()
    # In the same transaction as the new state: the table stays bounded without the cron (to
    # the cap plus the logins between two sweeps).
    sweeping = sweep_due(LtiLoginState, sweep_every)
    if sweeping:
        sweep_expired(session, LtiLoginState, platform.id, now)
    session.execute(
        ADD_STATE,
        {
            "state": state,
            "nonce": nonce,
            "platform_id": platform.id,
            "target_link_uri": target_link_uri,
            "browser_hash": browser_hash(secret),
            "storage_target": storage_target,
            "expires_at": now + STATE_LIFETIME,
            "used_at": None,
        },
    )
    if sweeping:
        cap_login_states(session, platform.id, max_states)
    query = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": platform.client_id,
        "redirect_uri": launch_url,
        "login_hint": login_hint,
        "state": state,
        "nonce": nonce,
    }
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if "?" in platform.auth_login_url else "?"
    return LoginStarted(
        auth_url=f"{platform.auth_login_url}{separator}{urlencode(query)}",
        state=state,
        browser_secret=secret,
        storage_target=storage_target,
        platform_origin=origin(platform.auth_login_url),
        deep_linking=deep_linking_at_login(params, launch_url),
    )

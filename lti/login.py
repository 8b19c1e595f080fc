"""OIDC third-party-initiated login: check the platform's request, remember a state bound to
this browser, and send the browser to the platform's authorisation endpoint."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from lti.housekeeping import cap_login_states, sweep_expired
from lti.launch import browser_hash, origin, same_host
from lti.models import LtiLoginState
from lti.tool_conf import DatabaseToolConf
from service.models import utcnow

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


def start_login(
    session: Session,
    params,
    host_url: str,
    launch_url: str,
    max_states: int = MAX_LOGIN_STATES,
) -> LoginStarted:
    """`params`: the login request's parameters (GET query or POST form)."""
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
    if deployment_id and deployment_id not in {d.deployment_id for d in platform.deployments}:
        raise LoginRejected("unknown deployment")

    state, nonce, secret = (secrets.token_urlsafe(32) for _ in range(3))
    storage_target = params.get("lti_storage_target") or None
    now = utcnow()
    # In the same transaction as the new state: the table stays bounded without the cron.
    sweep_expired(session, LtiLoginState, platform.id, now)
    session.add(
        LtiLoginState(
            state=state,
            nonce=nonce,
            platform_id=platform.id,
            target_link_uri=target_link_uri,
            browser_hash=browser_hash(secret),
            storage_target=storage_target,
            expires_at=now + STATE_LIFETIME,
        )
    )
    session.flush()
    cap_login_states(session, platform.id, max_states)
    session.commit()
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
    )

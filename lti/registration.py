"""1EdTech LTI Dynamic Registration 1.0: the exchange with the platform.

The LMS opens GET /lti/register?openid_configuration=URL&registration_token=TOKEN. The tool
fetches the platform's OpenID configuration, checks it, POSTs its own registration
(lti/tool_config.py) to the platform's registration endpoint, and stores the client id (and
deployment id) the platform answers with (lti/platforms.py).

Every URL here comes from whoever opens /lti/register: each passes lti/url_policy.py's rules,
and the tool's requests go through lti/platform_http.py (addresses checked after resolution,
connection pinned to them). A dynamically registered platform stays inactive until an
administrator activates it, except a loopback platform on the embedded default, which is
active at once. The tool asks for the user id and name, never the email address.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lti import platform_http
from lti.models import LtiDeployment, LtiPlatform
from lti.platforms import find_platform
from lti.tool_config import (
    CANVAS,
    PLATFORM_CONFIGURATION,
    TOOL_CONFIGURATION,
    ToolUrls,
    message_types,
    strings,
    tool_registration,
)
from lti.url_policy import is_loopback, issuer_problem, under, url_problem

log = logging.getLogger(__name__)

REQUIRED_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")


class RegistrationError(Exception):
    """Dynamic registration failed. `reason` goes to the log with a reference, never to the
    page; `status` is the page's HTTP status."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass
class Registered:
    platform: LtiPlatform
    created: bool
    deployment_ids: list[str] = field(default_factory=list)
    # Moodle needs a step no registration field can do (the page after registration says it).
    moodle: bool = False


def is_moodle(config: dict) -> bool:
    """The platform says it is Moodle. Moodle 4.5's dynamic registration always stores a tool
    as "preconfigured", never in the activity chooser, and reads no registration field for
    it (mod/lti/classes/local/ltiopenid/registration_helper.php): an administrator or teacher
    has to switch "Show in activity chooser" on."""
    platform = config.get(PLATFORM_CONFIGURATION)
    product = platform.get("product_family_code") if isinstance(platform, dict) else None
    return isinstance(product, str) and product.lower() == "moodle"


def _fetch(what: str, method: str, url: str, token: str, embedded: bool, payload=None):
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        return platform_http.fetch(
            method, url, embedded=embedded, headers=headers, json_body=payload
        )
    except platform_http.FetchError as exc:
        # Refused by the URL policy: the caller's input is bad (400); else the platform (502).
        raise RegistrationError(f"{what}: {exc.reason}", 400 if exc.refused else 502) from exc


def _json_object(answer: platform_http.Answer, what: str) -> dict:
    try:
        data = json.loads(answer.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise RegistrationError(f"{what}: answer is not JSON", 502) from exc
    if not isinstance(data, dict):
        raise RegistrationError(f"{what}: answer is not a JSON object", 502)
    return data


def fetch_configuration(config_url: str, token: str, embedded: bool) -> dict:
    problem = url_problem(config_url, embedded)
    if problem:
        raise RegistrationError(f"openid_configuration {config_url!r}: {problem}")
    answer = _fetch("openid configuration", "GET", config_url, token, embedded)
    if answer.status_code != 200:
        raise RegistrationError(f"openid configuration answered HTTP {answer.status_code}", 502)
    return _json_object(answer, "openid configuration")


def validate_configuration(config: dict, config_url: str, embedded: bool) -> None:
    """What the tool needs from the platform's OpenID configuration (LTI-DR 1.0 §3)."""
    issuer = config.get("issuer")
    problem = issuer_problem(issuer, embedded)
    if problem:
        raise RegistrationError(f"issuer {issuer!r}: {problem}")
    if not under(config_url, issuer):
        raise RegistrationError(
            f"openid configuration URL {config_url!r} is not under issuer {issuer!r}"
        )
    for key in ("registration_endpoint", *REQUIRED_ENDPOINTS):
        problem = url_problem(config.get(key), embedded)
        if problem:
            raise RegistrationError(f"{key} {config.get(key)!r}: {problem}")
    if not under(config["registration_endpoint"], issuer):
        raise RegistrationError(
            f"registration_endpoint {config['registration_endpoint']!r} is not under issuer"
        )
    # Lists the platform may publish: when it does, they must allow what LTI 1.3 needs.
    needs = {
        "response_types_supported": "id_token",
        "id_token_signing_alg_values_supported": "RS256",
        "token_endpoint_auth_methods_supported": "private_key_jwt",
    }
    for key, needed in needs.items():
        if key in config and needed not in (strings(config[key]) or []):
            raise RegistrationError(f"{key} does not include {needed}")
    types = message_types(config)
    if types is not None and "LtiResourceLinkRequest" not in types:
        raise RegistrationError("platform does not support LtiResourceLinkRequest")


def post_registration(config: dict, token: str, payload: dict, embedded: bool) -> dict:
    endpoint = config["registration_endpoint"]
    answer = _fetch("registration POST", "POST", endpoint, token, embedded, payload)
    if answer.status_code not in (200, 201):
        detail = answer.body[:500].decode("utf-8", "replace")
        raise RegistrationError(
            f"platform refused the registration: HTTP {answer.status_code} {detail!r}", 502
        )
    registered = _json_object(answer, "registration answer")
    client_id = registered.get("client_id")
    if isinstance(client_id, int) and not isinstance(client_id, bool):
        client_id = str(client_id)
    if not isinstance(client_id, str) or not client_id or len(client_id) > 255:
        raise RegistrationError("registration answer has no usable client_id", 502)
    registered["client_id"] = client_id
    return registered


def _deployment_id(answer: dict) -> str | None:
    tool_configuration = answer.get(TOOL_CONFIGURATION)
    if not isinstance(tool_configuration, dict):
        return None
    value = tool_configuration.get("deployment_id")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value if isinstance(value, str) and 0 < len(value) <= 255 else None


def _platform_name(config: dict) -> str:
    host = urlsplit(config["issuer"]).netloc
    platform = config.get(PLATFORM_CONFIGURATION)
    platform = platform if isinstance(platform, dict) else {}
    product = platform.get("product_family_code")
    product = product.capitalize() if isinstance(product, str) and product else "LMS"
    account = platform.get(CANVAS + "account_name")
    if isinstance(account, str) and account:
        return f"{account} ({product})"[:255]
    return f"{product} at {host}"[:255]


def store_dynamic(session: Session, config: dict, answer: dict, embedded: bool) -> Registered:
    """The registration (and its deployment) the LMS answered with, written now; the caller
    commits. Raises RegistrationError (409) when another request stored it at the same moment."""
    issuer = config["issuer"]
    deployment_id = _deployment_id(answer)
    platform = find_platform(session, issuer, answer["client_id"])
    created = platform is None
    try:
        with session.begin_nested():  # a duplicate undoes this, not the caller's transaction
            if platform is None:
                audience = config.get("authorization_server")
                platform = LtiPlatform(
                    name=_platform_name(config),
                    issuer=issuer,
                    client_id=answer["client_id"],
                    auth_login_url=config["authorization_endpoint"],
                    auth_token_url=config["token_endpoint"],
                    key_set_url=config["jwks_uri"],
                    # LTI-DR: the aud for token requests; without it the token endpoint is used.
                    auth_audience=audience if isinstance(audience, str) and audience else None,
                    active=embedded and is_loopback(issuer),
                    registered_by="dynamic",
                )
                session.add(platform)
            known = {d.deployment_id for d in platform.deployments}
            if deployment_id and deployment_id not in known:
                platform.deployments.append(LtiDeployment(deployment_id=deployment_id))
    except IntegrityError as exc:  # the same registration stored twice at once
        raise RegistrationError("registration stored concurrently; try again", 409) from exc
    deployments = [d.deployment_id for d in platform.deployments]
    return Registered(platform, created, deployments, moodle=is_moodle(config))


def register_dynamic(
    session: Session, config_url: str, token: str, urls: ToolUrls, embedded: bool
) -> Registered:
    """The whole exchange; the caller commits what it stored. Raises RegistrationError."""
    if not config_url:
        raise RegistrationError("openid_configuration parameter missing")
    if len(config_url) > 2048 or len(token) > 8192:
        raise RegistrationError("openid_configuration or registration_token too long")
    config = fetch_configuration(config_url, token, embedded)
    validate_configuration(config, config_url, embedded)
    answer = post_registration(config, token, tool_registration(urls, config), embedded)
    registered = store_dynamic(session, config, answer, embedded)
    log.info(
        "lti dynamic registration issuer=%s client_id=%s platform=%s created=%s active=%s",
        registered.platform.issuer,
        registered.platform.client_id,
        registered.platform.id,
        registered.created,
        registered.platform.active,
    )
    return registered

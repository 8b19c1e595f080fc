"""Registrations of LMS platforms: 1EdTech LTI Dynamic Registration 1.0, and the ones an
administrator adds by hand (admin API, CLI).

Dynamic registration: the LMS opens GET /lti/register?openid_configuration=URL&
registration_token=TOKEN. The tool fetches the platform's OpenID configuration, checks it,
POSTs its own registration to the platform's registration endpoint, and stores the client id
(and deployment id) the platform answers with.

Rules shared by both ways in:
- in production every platform URL (OpenID configuration, issuer, endpoints) must be https;
  on the embedded default (DEV_PLATFORM) a platform on http://127.0.0.1 or http://localhost
  is accepted too;
- a dynamically registered platform stays inactive until an administrator activates it,
  except a loopback platform on the embedded default, which is active at once;
- the tool asks for the user id and name, never the email address.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from lti.models import LtiDeployment, LtiPlatform
from service.catalogue import Page, count_and_page
from service.models import Centre

log = logging.getLogger(__name__)

TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
CANVAS = "https://canvas.instructure.com/lti/"
TOOL_NAME = "Customer Service Assessments"
TOOL_DESCRIPTION = "Scenario-based assessments with per-criterion grade passback."
# The user id and display name; never "email" (nor given/family names, which add nothing).
CLAIMS = ["iss", "sub", "name"]
# Deep linking (instructors choose an assessment): Moodle's activity chooser ("ContentArea"),
# Canvas's assignment and module-item pickers.
DEEP_LINKING_PLACEMENTS = [
    "ContentArea",
    CANVAS + "assignment_selection",
    CANVAS + "link_selection",
]
FETCH_TIMEOUT = (5, 15)  # connect, read (seconds)
MAX_BODY_BYTES = 512 * 1024
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
REQUIRED_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")


class RegistrationError(Exception):
    """Dynamic registration failed. `reason` goes to the log with a reference, never to the
    page; `status` is the page's HTTP status."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class InvalidPlatform(Exception):
    """Field name -> messages (the API's 422 details)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class DuplicatePlatform(Exception):
    pass


class UnknownCentre(InvalidPlatform):
    def __init__(self, code: str) -> None:
        super().__init__({"centre": [f"No centre with code {code!r}."]})


@dataclass(frozen=True)
class ToolUrls:
    """This tool's own URLs, as the platform must call them."""

    login: str
    launch: str
    jwks: str
    logo: str

    @property
    def domain(self) -> str:
        return urlsplit(self.launch).netloc


@dataclass
class Registered:
    platform: LtiPlatform
    created: bool
    deployment_ids: list[str] = field(default_factory=list)


# --- URL rules ---------------------------------------------------------------------------


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _internal_address(host: str) -> bool:
    """An IP literal that is not on the public internet (or the name localhost)."""
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def url_problem(url: object, embedded: bool, fetched: bool = False) -> str | None:
    """Why this platform URL is not acceptable, or None. `fetched`: the tool itself calls it
    from a public, unauthenticated request (dynamic registration), so in production it must
    not name an internal address."""
    if not isinstance(url, str) or not url:
        return "Missing URL."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "Not a valid URL."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Must be an absolute https URL."
    if parts.username or parts.password:
        return "Must not contain a user name or password."
    if parts.scheme == "http":
        if embedded and is_loopback(url):
            return None
        if embedded:
            return "Must use https (http only for 127.0.0.1 or localhost on the embedded default)."
        return "Must use https."
    if fetched and not embedded and _internal_address(parts.hostname):
        return "Must not point at a private, loopback or link-local address."
    return None


def issuer_problem(issuer: object, embedded: bool, fetched: bool = False) -> str | None:
    problem = url_problem(issuer, embedded, fetched)
    if problem:
        return problem
    parts = urlsplit(issuer)
    if parts.query or parts.fragment:
        return "An issuer has no query or fragment."
    return None


def under(url: str, issuer: str) -> bool:
    """`url` lies under `issuer`: same scheme and host, and the issuer's path is a prefix of
    the URL's path at a segment boundary (so https://lms.example.evil is not under
    https://lms.example)."""
    target, base = urlsplit(url), urlsplit(issuer)
    if (target.scheme.lower(), target.netloc.lower()) != (base.scheme.lower(), base.netloc.lower()):
        return False
    prefix = base.path.rstrip("/")
    return not prefix or target.path == prefix or target.path.startswith(prefix + "/")


# --- Dynamic registration ----------------------------------------------------------------


def _body(response: requests.Response) -> bytes | None:
    """The answer's body, or None when it is larger than MAX_BODY_BYTES."""
    body = b""
    for chunk in response.iter_content(65536):
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return body


def _read_json(response: requests.Response, what: str) -> dict:
    body = _body(response)
    if body is None:
        raise RegistrationError(f"{what}: answer larger than {MAX_BODY_BYTES} bytes", 502)
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise RegistrationError(f"{what}: answer is not JSON", 502) from exc
    if not isinstance(data, dict):
        raise RegistrationError(f"{what}: answer is not a JSON object", 502)
    return data


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"} if token else {}


def fetch_configuration(config_url: str, token: str, embedded: bool) -> dict:
    problem = url_problem(config_url, embedded, fetched=True)
    if problem:
        raise RegistrationError(f"openid_configuration {config_url!r}: {problem}")
    try:
        response = requests.get(
            config_url,
            headers={"Accept": "application/json", **_bearer(token)},
            timeout=FETCH_TIMEOUT,
            allow_redirects=False,
            stream=True,
        )
    except requests.RequestException as exc:
        raise RegistrationError(f"openid configuration fetch failed: {exc}", 502) from exc
    with response:
        if response.status_code != 200:
            raise RegistrationError(
                f"openid configuration answered HTTP {response.status_code}", 502
            )
        return _read_json(response, "openid configuration")


def _strings(value: object) -> list[str] | None:
    """A list of strings, or None when absent or malformed."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _message_types(config: dict) -> set[str] | None:
    platform = config.get(PLATFORM_CONFIGURATION)
    messages = platform.get("messages_supported") if isinstance(platform, dict) else None
    if not isinstance(messages, list):
        return None
    return {m.get("type") for m in messages if isinstance(m, dict)}


def validate_configuration(config: dict, config_url: str, embedded: bool) -> None:
    """What the tool needs from the platform's OpenID configuration (LTI-DR 1.0 §3)."""
    issuer = config.get("issuer")
    problem = issuer_problem(issuer, embedded, fetched=True)
    if problem:
        raise RegistrationError(f"issuer {issuer!r}: {problem}")
    if not under(config_url, issuer):
        raise RegistrationError(
            f"openid configuration URL {config_url!r} is not under issuer {issuer!r}"
        )
    for key in ("registration_endpoint", *REQUIRED_ENDPOINTS):
        problem = url_problem(config.get(key), embedded, fetched=True)
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
        if key in config and needed not in (_strings(config[key]) or []):
            raise RegistrationError(f"{key} does not include {needed}")
    types = _message_types(config)
    if types is not None and "LtiResourceLinkRequest" not in types:
        raise RegistrationError("platform does not support LtiResourceLinkRequest")


def requested_scopes(config: dict) -> list[str]:
    """The tool's scopes (AGS line items, scores, results; NRPS), less any the platform says
    it does not support."""
    from lti.views import SCOPES

    supported = _strings(config.get("scopes_supported"))
    return [s for s in SCOPES if supported is None or s in supported]


def tool_registration(urls: ToolUrls, config: dict) -> dict:
    """The client registration the tool POSTs (LTI-DR 1.0 §3.5, Canvas's documented shape)."""
    types = _message_types(config)
    messages = []
    if types is None or "LtiDeepLinkingRequest" in types:
        # Listed first: Canvas keeps the first message for a placement, and "ContentArea" is
        # its link_selection.
        messages.append(
            {
                "type": "LtiDeepLinkingRequest",
                "target_link_uri": urls.launch,
                "label": f"{TOOL_NAME}: add an assessment",
                "icon_uri": urls.logo,
                "placements": DEEP_LINKING_PLACEMENTS,
                CANVAS + "visibility": "admins",
            }
        )
    messages.append(
        {"type": "LtiResourceLinkRequest", "target_link_uri": urls.launch, "label": TOOL_NAME}
    )
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": urls.login,
        "redirect_uris": [urls.launch],
        "client_name": TOOL_NAME,
        "jwks_uri": urls.jwks,
        "logo_uri": urls.logo,
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(requested_scopes(config)),
        TOOL_CONFIGURATION: {
            "domain": urls.domain,
            "target_link_uri": urls.launch,
            "description": TOOL_DESCRIPTION,
            "claims": CLAIMS,
            "messages": messages,
            CANVAS + "privacy_level": "name_only",
        },
    }


def canvas_configuration(urls: ToolUrls) -> dict:
    """Canvas's LTI 1.3 JSON configuration (Developer Keys > + LTI Key > Paste JSON or
    Enter URL), equivalent to what dynamic registration asks for."""
    from lti.views import SCOPES

    placements = [
        {
            "placement": placement,
            "message_type": "LtiDeepLinkingRequest",
            "target_link_uri": urls.launch,
            "text": f"{TOOL_NAME}: add an assessment",
            "icon_url": urls.logo,
        }
        for placement in ("assignment_selection", "link_selection")
    ]
    return {
        "title": TOOL_NAME,
        "description": TOOL_DESCRIPTION,
        "oidc_initiation_url": urls.login,
        "target_link_uri": urls.launch,
        "public_jwk_url": urls.jwks,
        "scopes": list(SCOPES),
        "custom_fields": {},
        "extensions": [
            {
                "domain": urls.domain,
                "tool_id": "customer-service-assessments",
                "platform": "canvas.instructure.com",
                "privacy_level": "name_only",
                "settings": {"text": TOOL_NAME, "icon_url": urls.logo, "placements": placements},
            }
        ],
    }


def post_registration(config: dict, token: str, payload: dict) -> dict:
    endpoint = config["registration_endpoint"]
    try:
        response = requests.post(
            endpoint,
            json=payload,
            headers={"Accept": "application/json", **_bearer(token)},
            timeout=FETCH_TIMEOUT,
            allow_redirects=False,
            stream=True,
        )
    except requests.RequestException as exc:
        raise RegistrationError(f"registration POST failed: {exc}", 502) from exc
    with response:
        if response.status_code not in (200, 201):
            detail = (_body(response) or b"")[:500]
            raise RegistrationError(
                f"platform refused the registration: HTTP {response.status_code} "
                f"{detail.decode('utf-8', 'replace')!r}",
                502,
            )
        answer = _read_json(response, "registration answer")
    client_id = answer.get("client_id")
    if isinstance(client_id, int) and not isinstance(client_id, bool):
        client_id = str(client_id)
    if not isinstance(client_id, str) or not client_id or len(client_id) > 255:
        raise RegistrationError("registration answer has no usable client_id", 502)
    answer["client_id"] = client_id
    return answer


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


def find_platform(session: Session, issuer: str, client_id: str) -> LtiPlatform | None:
    return session.scalar(
        select(LtiPlatform).where(LtiPlatform.issuer == issuer, LtiPlatform.client_id == client_id)
    )


def store_dynamic(session: Session, config: dict, answer: dict, embedded: bool) -> Registered:
    issuer = config["issuer"]
    deployment_id = _deployment_id(answer)
    platform = find_platform(session, issuer, answer["client_id"])
    created = platform is None
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
    try:
        session.commit()
    except IntegrityError as exc:  # the same registration stored twice at once
        session.rollback()
        raise RegistrationError("registration stored concurrently; try again", 409) from exc
    return Registered(platform, created, [d.deployment_id for d in platform.deployments])


def register_dynamic(
    session: Session, config_url: str, token: str, urls: ToolUrls, embedded: bool
) -> Registered:
    """The whole exchange. Raises RegistrationError."""
    if not config_url:
        raise RegistrationError("openid_configuration parameter missing")
    if len(config_url) > 2048 or len(token) > 8192:
        raise RegistrationError("openid_configuration or registration_token too long")
    config = fetch_configuration(config_url, token, embedded)
    validate_configuration(config, config_url, embedded)
    answer = post_registration(config, token, tool_registration(urls, config))
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


# --- Registrations added by an administrator ---------------------------------------------


def _centre(session: Session, code: str | None) -> Centre | None:
    if not code:
        return None
    centre = session.scalar(select(Centre).where(Centre.code == code))
    if centre is None:
        raise UnknownCentre(code)
    return centre


def check_manual(data: dict, embedded: bool) -> None:
    """The https rule (and URL shape) for an administrator's registration."""
    errors: dict[str, list[str]] = {}
    problem = issuer_problem(data.get("issuer"), embedded)
    if problem:
        errors["issuer"] = [problem]
    for key in ("auth_login_url", "auth_token_url", "key_set_url"):
        problem = url_problem(data.get(key), embedded)
        if problem:
            errors[key] = [problem]
    deployments = data.get("deployment_ids") or []
    if len(set(deployments)) != len(deployments):
        errors["deployment_ids"] = ["Each deployment id once."]
    if errors:
        raise InvalidPlatform(errors)


def add_platform(session: Session, data: dict, embedded: bool) -> LtiPlatform:
    """Add a registration by hand. `data`: name, issuer, client_id, auth_login_url,
    auth_token_url, key_set_url, and optionally auth_audience, deployment_ids, centre (code),
    active. Raises InvalidPlatform or DuplicatePlatform."""
    check_manual(data, embedded)
    if find_platform(session, data["issuer"], data["client_id"]) is not None:
        raise DuplicatePlatform(
            f"Issuer {data['issuer']!r} already has a registration with client id "
            f"{data['client_id']!r}."
        )
    platform = LtiPlatform(
        name=data["name"],
        issuer=data["issuer"],
        client_id=data["client_id"],
        auth_login_url=data["auth_login_url"],
        auth_token_url=data["auth_token_url"],
        key_set_url=data["key_set_url"],
        auth_audience=data.get("auth_audience") or None,
        centre=_centre(session, data.get("centre")),
        active=bool(data.get("active", False)),
        registered_by="manual",
    )
    for deployment_id in data.get("deployment_ids") or []:
        platform.deployments.append(LtiDeployment(deployment_id=deployment_id))
    session.add(platform)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise DuplicatePlatform("That registration already exists.") from exc
    return platform


def get_platform(session: Session, platform_id: int) -> LtiPlatform | None:
    return session.get(LtiPlatform, platform_id)


def list_platforms(session: Session, page: Page) -> tuple[int, list[LtiPlatform]]:
    query = (
        select(LtiPlatform)
        .order_by(LtiPlatform.id)
        .options(selectinload(LtiPlatform.deployments), selectinload(LtiPlatform.centre))
    )
    return count_and_page(session, query, page)


def set_active(
    session: Session, platform: LtiPlatform, active: bool, centre_code: str | None = None
) -> LtiPlatform:
    if centre_code:
        platform.centre = _centre(session, centre_code)
    platform.active = active
    session.commit()
    return platform


def add_deployment(session: Session, platform: LtiPlatform, deployment_id: str) -> LtiPlatform:
    if deployment_id in {d.deployment_id for d in platform.deployments}:
        raise DuplicatePlatform(f"Platform {platform.id} already has deployment {deployment_id!r}.")
    platform.deployments.append(LtiDeployment(deployment_id=deployment_id))
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise DuplicatePlatform("That deployment already exists.") from exc
    return platform


def platform_view(platform: LtiPlatform) -> dict:
    return {
        "id": platform.id,
        "name": platform.name,
        "issuer": platform.issuer,
        "client_id": platform.client_id,
        "auth_login_url": platform.auth_login_url,
        "auth_token_url": platform.auth_token_url,
        "key_set_url": platform.key_set_url,
        "auth_audience": platform.auth_audience,
        "deployment_ids": [d.deployment_id for d in platform.deployments],
        "centre": platform.centre.code if platform.centre else None,
        "active": platform.active,
        "registered_by": platform.registered_by,
        "created_at": platform.created_at,
    }


def embedded_default(config) -> bool:
    """The embedded default (development) set-up: see service.config DEV_PLATFORM."""
    return bool(config.get("DEV_PLATFORM"))


LOGO_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" role="img" '
    'aria-label="Customer Service Assessments">'
    '<rect width="64" height="64" rx="12" fill="#00703c"/>'
    '<text x="32" y="42" font-family="Arial, sans-serif" font-size="26" font-weight="700" '
    'fill="#ffffff" text-anchor="middle">CS</text></svg>'
)

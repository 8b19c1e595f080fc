"""A development-only LTI 1.3 platform, served by this app under /dev-platform.

It has its own signing key, registers itself with the tool on first use, and offers a page
where a newcomer launches the tool as a learner or an instructor, and sees what the tool sent
back. It is off unless DEV_PLATFORM=1 (scripts/serve.sh sets it on the embedded SQLite
default; service.hosts switches it off with any other database), and it registers nothing but
its own loopback base. Tests reuse `id_token_claims` and `sign` to build launches.
"""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import urlencode

import jwt
from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti import keys, page_headers, url_policy
from lti.models import DevPlatformMessage, LtiDeployment, LtiPlatform
from lti.tool_config import DEEP_LINKING_QUERY
from lti.views import host_url
from service import db
from service.identifiers import new_uuid
from service.models import Centre

OWNER = "dev-platform"
CLIENT_ID = "dev-platform-tool"
DEPLOYMENT_ID = "dev-deployment-1"
CENTRE_CODE = "DEV"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
ROLE = {
    "learner": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
    "instructor": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
}
USERS = {
    "learner-1": ("learner", "Ada Learner"),
    "learner-2": ("learner", "Bilal Learner"),
    "instructor-1": ("instructor", "Ian Instructor"),
}

blp = Blueprint("dev_platform", __name__, url_prefix="/dev-platform")


@blp.after_request
def _page_headers(response):
    g.frame_origins = []  # framed by nothing but this app itself
    return page_headers.lti_page(response)


def issuer(base: str) -> str:
    return f"{base}/dev-platform"


def ensure_registered(session: Session, base: str) -> LtiPlatform:
    """Register this platform with the tool (once per base URL), active at once. Only on a
    loopback base: an active registration on a public host would let anyone launch."""
    if not url_policy.is_loopback(base):
        raise ValueError(f"the development platform runs on loopback only, not {base!r}")
    iss = issuer(base)
    platform = session.scalar(
        select(LtiPlatform).where(LtiPlatform.issuer == iss, LtiPlatform.client_id == CLIENT_ID)
    )
    if platform is not None:
        return platform
    centre = session.scalar(select(Centre).where(Centre.code == CENTRE_CODE))
    if centre is None:
        centre = Centre(code=CENTRE_CODE, name="Development centre", uuid=new_uuid())
        session.add(centre)
    platform = LtiPlatform(
        name="Development test platform",
        issuer=iss,
        client_id=CLIENT_ID,
        auth_login_url=f"{iss}/auth",
        auth_token_url=f"{iss}/token",
        key_set_url=f"{iss}/jwks",
        centre=centre,
        active=True,
        registered_by="manual",
    )
    platform.deployments.append(LtiDeployment(deployment_id=DEPLOYMENT_ID))
    session.add(platform)
    session.commit()
    keys.signing_key(session, OWNER)
    return platform


def id_token_claims(
    base: str,
    user: str,
    message_type: str,
    nonce: str,
    *,
    custom: dict | None = None,
    resource_link_id: str = "dev-link-1",
    deep_link_return_url: str | None = None,
    target_link_uri: str | None = None,
) -> dict:
    """The claims a platform sends, shaped like the Moodle 4.5.6 captures."""
    role, name = USERS[user]
    now = int(time.time())
    iss = issuer(base)
    claims = {
        "iss": iss,
        "aud": CLIENT_ID,
        "sub": f"dev-{user}",
        "exp": now + 60,
        "iat": now,
        "nonce": nonce,
        "name": name,
        LTI + "deployment_id": DEPLOYMENT_ID,
        LTI + "message_type": message_type,
        LTI + "version": "1.3.0",
        LTI + "target_link_uri": target_link_uri or f"{base}/lti/launch",
        LTI + "roles": ROLE[role],
        LTI + "context": {
            "id": "dev-course-1",
            "label": "CS101",
            "title": "Customer Service (development course)",
            "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"],
        },
        LTI + "tool_platform": {
            "guid": "dev-platform",
            "name": "Development test platform",
            "product_family_code": "dev",
        },
        LTI + "launch_presentation": {"document_target": "iframe", "locale": "en"},
        "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
            "context_memberships_url": f"{iss}/nrps/dev-course-1",
            "service_versions": ["2.0"],
        },
    }
    if message_type == "LtiResourceLinkRequest":
        claims[LTI + "resource_link"] = {"id": resource_link_id, "title": "Assessment"}
        claims[LTI + "custom"] = custom or {}
        claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"] = {
            "scope": [
                "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
                "https://purl.imsglobal.org/spec/lti-ags/scope/score",
            ],
            "lineitems": f"{iss}/ags/dev-course-1/lineitems",
            "lineitem": f"{iss}/ags/dev-course-1/lineitems/{resource_link_id}",
        }
    else:
        claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = {
            "deep_link_return_url": deep_link_return_url or f"{iss}/deep-link-return",
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["iframe", "window"],
            "accept_multiple": True,
            "auto_create": True,
            "data": "dev-deep-link-data",
        }
    return claims


def sign(session: Session, claims: dict, **header) -> str:
    key = keys.signing_key(session, OWNER)
    return jwt.encode(
        claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid, **header}
    )


def _base() -> str:
    """The tool's base (PUBLIC_BASE_URL or the trusted Host): loopback, or no page at all."""
    base = host_url()
    if not url_policy.is_loopback(base):
        abort(404)
    return base


def _linked() -> dict | None:
    message = db.session().scalar(
        select(DevPlatformMessage)
        .where(DevPlatformMessage.kind == "deep_link")
        .order_by(DevPlatformMessage.id.desc())
    )
    return message.payload if message else None


def _target_link_uri(base: str, kind: str | None) -> str:
    """As Moodle does: the deep-linking URL the tool registers for "Select content"
    (tool_config.ToolUrls.deep_linking), else the launch URL."""
    launch = f"{base}/lti/launch"
    return f"{launch}?{DEEP_LINKING_QUERY}" if kind == "deep_link" else launch


@blp.get("/")
def home():
    session = db.session()
    ensure_registered(session, _base())
    messages = session.scalars(
        select(DevPlatformMessage).order_by(DevPlatformMessage.id.desc()).limit(20)
    ).all()
    return render_template(
        "lti/dev_platform.html", linked=_linked(), messages=messages, users=USERS
    )


@blp.post("/start")
def start():
    """Third-party-initiated login, as an LMS starts it."""
    session = db.session()
    base = _base()
    ensure_registered(session, base)
    user = request.form.get("user", "learner-1")
    kind = request.form.get("message", "resource")
    if user not in USERS:
        return redirect(url_for("dev_platform.home"))
    hint = {"user": user, "message": kind}
    query = {
        "iss": issuer(base),
        "login_hint": user,
        "target_link_uri": _target_link_uri(base, kind),
        "lti_message_hint": json.dumps(hint),
        "client_id": CLIENT_ID,
        "lti_deployment_id": DEPLOYMENT_ID,
    }
    return redirect(f"{base}/lti/login?{urlencode(query)}", code=303)


@blp.get("/auth")
def auth():
    """The platform's OIDC authorisation endpoint: sign an id_token and post it to the tool."""
    session = db.session()
    base = _base()
    args = request.args
    if args.get("client_id") != CLIENT_ID or args.get("redirect_uri") != f"{base}/lti/launch":
        return "invalid_request: unknown client or redirect_uri", 400
    hint = json.loads(args.get("lti_message_hint") or "{}")
    user = hint.get("user") if hint.get("user") in USERS else "learner-1"
    linked = _linked() or {}
    message_type = (
        "LtiDeepLinkingRequest" if hint.get("message") == "deep_link" else "LtiResourceLinkRequest"
    )
    claims = id_token_claims(
        base,
        user,
        message_type,
        args.get("nonce", ""),
        custom=linked.get("custom"),
        target_link_uri=_target_link_uri(base, hint.get("message")),
    )
    return render_template(
        "lti/dev_platform_post.html",
        action=args["redirect_uri"],
        id_token=sign(session, claims),
        state=args.get("state", ""),
    )


@blp.get("/jwks")
def jwks():
    return keys.jwks(db.session(), OWNER)


@blp.post("/deep-link-return")
def deep_link_return():
    """Verify the tool's LtiDeepLinkingResponse against the tool's JWKS and keep the link."""
    session = db.session()
    token = request.form.get("JWT", "")
    try:
        header = jwt.get_unverified_header(token)
        tool_key = next(k for k in keys.jwks(session)["keys"] if k["kid"] == header.get("kid"))
        claims = jwt.decode(
            token,
            RSAAlgorithm.from_jwk(json.dumps(tool_key)),
            algorithms=["RS256"],
            audience=issuer(_base()),
        )
    except (jwt.InvalidTokenError, StopIteration) as exc:
        return f"deep linking response rejected: {type(exc).__name__}", 400
    items = claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/content_items", [])
    for item in items:
        session.add(
            DevPlatformMessage(
                kind="deep_link",
                payload={
                    "title": item.get("title"),
                    "url": item.get("url"),
                    "custom": item.get("custom", {}),
                    "lineItem": item.get("lineItem"),
                },
            )
        )
    session.commit()
    return redirect(url_for("dev_platform.home"), code=303)


def new_nonce() -> str:
    return uuid.uuid4().hex

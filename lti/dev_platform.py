"""A development-only LTI 1.3 platform, served by this app under /dev-platform.

It has its own signing key, registers itself with the tool on first use, and offers a page
where a newcomer launches the tool as a learner or an instructor, and sees what the tool sent
back. It is off unless DEV_PLATFORM=1 (scripts/serve.sh sets it on the embedded SQLite
default; service.hosts switches it off with any other database), and it registers nothing but
its own loopback base. Tests reuse `id_token_claims` and `sign` to build launches.

It also serves what a real platform serves to the tool (lti/dev_platform_services.py): an
OAuth 2.0 token endpoint, AGS 2.0 line items, scores and results, and NRPS 2.0 memberships,
for one course (CONTEXT) whose roster is USERS. Its page is the course's gradebook.

URLs, under {issuer} = {base}/dev-platform:
  {issuer}/token                                         OAuth 2.0 client credentials
  {issuer}/contexts/dev-course-1/lineitems               AGS line items container
  {issuer}/contexts/dev-course-1/lineitems/<id>          a line item (/scores, /results)
  {issuer}/contexts/dev-course-1/memberships             NRPS memberships
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
from lti.models import (
    DevLineItem,
    DevPlatformMessage,
    DevResult,
    DevScore,
    LtiDeployment,
    LtiPlatform,
)
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
# The one course: every launch, line item and membership list is in it.
CONTEXT = {
    "id": "dev-course-1",
    "label": "CS101",
    "title": "Customer Service (development course)",
}
AGS_SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
]
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
# What the token endpoint grants this platform's one registration: every AGS and NRPS scope
# (a superset of what the tool asks for, lti.tool_config.SCOPES), as Moodle grants them.
GRANTABLE_SCOPES = [*AGS_SCOPES, NRPS_SCOPE]
# Line items with this tag are the tool's per-criterion columns (1 met, 0 not yet met).
CRITERION_TAG = "criterion"

blp = Blueprint("dev_platform", __name__, url_prefix="/dev-platform")


@blp.after_request
def _page_headers(response):
    g.frame_origins = []  # framed by nothing but this app itself
    return page_headers.lti_page(response)


def issuer(base: str) -> str:
    return f"{base}/dev-platform"


def user_id(user: str) -> str:
    """The `sub` of a USERS key, as in launches, memberships and scores."""
    return f"dev-{user}"


def lineitems_url(iss: str, context_id: str = CONTEXT["id"]) -> str:
    return f"{iss}/contexts/{context_id}/lineitems"


def lineitem_url(iss: str, item: DevLineItem) -> str:
    return f"{lineitems_url(iss, item.context_id)}/{item.id}"


def memberships_url(iss: str, context_id: str = CONTEXT["id"]) -> str:
    return f"{iss}/contexts/{context_id}/memberships"


def resource_link_id(message: DevPlatformMessage) -> str:
    """A deep-linked resource link's id: stable, made from its row."""
    return f"dev-link-{message.id}"


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
    resource_link_title: str = "Assessment",
    lineitem: str | None = None,
    deep_link_return_url: str | None = None,
    target_link_uri: str | None = None,
) -> dict:
    """The claims a platform sends, shaped like the Moodle 4.5.6 captures. `lineitem` is the
    URL of the link's own line item, when the deep link that made the link declared one."""
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
            **CONTEXT,
            "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"],
        },
        LTI + "tool_platform": {
            "guid": "dev-platform",
            "name": "Development test platform",
            "product_family_code": "dev-platform",
        },
        LTI + "launch_presentation": {"document_target": "iframe", "locale": "en"},
        # As Moodle: the AGS claim in deep linking requests too (no `lineitem` there).
        "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
            "scope": list(AGS_SCOPES),
            "lineitems": lineitems_url(iss),
        },
        "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
            "context_memberships_url": memberships_url(iss),
            "service_versions": ["2.0"],
        },
    }
    if message_type == "LtiResourceLinkRequest":
        claims[LTI + "resource_link"] = {"id": resource_link_id, "title": resource_link_title}
        claims[LTI + "custom"] = custom or {}
        if lineitem:
            claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"]["lineitem"] = lineitem
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


def _linked() -> DevPlatformMessage | None:
    """The latest deep-linked resource link: the one the page launches."""
    return db.session().scalar(
        select(DevPlatformMessage)
        .where(DevPlatformMessage.kind == "deep_link")
        .order_by(DevPlatformMessage.id.desc())
    )


def _link_line_item(session: Session, link_id: str) -> DevLineItem | None:
    """The line item the deep link declared for this resource link (the first made for it
    that is not a criterion column)."""
    return session.scalar(
        select(DevLineItem)
        .where(
            DevLineItem.context_id == CONTEXT["id"],
            DevLineItem.resource_link_id == link_id,
            DevLineItem.tag.is_distinct_from(CRITERION_TAG),
        )
        .order_by(DevLineItem.id)
    )


def _number(value: float | None) -> str:
    """100.0 shown as 100."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def result_score(result: DevResult, item: DevLineItem) -> float | None:
    """The result on the line item's scale (scoreGiven / scoreMaximum x the item's maximum),
    as Moodle reports it; None while the grade is blank."""
    if result.score_given is None or not result.score_maximum:
        return None
    return result.score_given * item.score_maximum / result.score_maximum


def gradebook(session: Session) -> dict:
    """The page's table: one row per learner; per activity line item its grade, progress and
    comment; per criterion line item 1 (met), 0 (not yet met) or blank (pending)."""
    items = session.scalars(
        select(DevLineItem).where(DevLineItem.context_id == CONTEXT["id"]).order_by(DevLineItem.id)
    ).all()
    activities = [item for item in items if item.tag != CRITERION_TAG]
    criteria = [item for item in items if item.tag == CRITERION_TAG]
    results = {
        (r.line_item_id, r.user_id): r
        for r in session.scalars(
            select(DevResult).where(DevResult.line_item_id.in_([i.id for i in items]))
        )
    }
    rows = []
    for user, (role, name) in USERS.items():
        if role != "learner":
            continue
        grades = []
        for item in activities:
            result = results.get((item.id, user_id(user)))
            score = result_score(result, item) if result else None
            grades.append(
                {
                    "score": ""
                    if score is None
                    else f"{_number(score)}/{_number(item.score_maximum)}",
                    "activity": result.activity_progress.value if result else "",
                    "grading": result.grading_progress.value if result else "",
                    "comment": (result.comment or "") if result else "",
                }
            )
        marks = []
        for item in criteria:
            result = results.get((item.id, user_id(user)))
            score = result_score(result, item) if result else None
            if score is None:
                marks.append({"text": "", "class": ""})  # pending: no graded score yet
            elif score >= item.score_maximum:
                marks.append({"text": "1 (met)", "class": "met"})
            elif score == 0:
                marks.append({"text": "0 (not yet met)", "class": "not-met"})
            else:
                marks.append({"text": _number(score), "class": ""})
        rows.append({"name": name, "user_id": user_id(user), "grades": grades, "marks": marks})
    scores = session.scalars(select(DevScore).order_by(DevScore.id.desc()).limit(50)).all()
    return {"activities": activities, "criteria": criteria, "rows": rows, "scores": scores}


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
    linked = _linked()
    return render_template(
        "lti/dev_platform.html",
        linked=linked.payload if linked else None,
        messages=messages,
        users=USERS,
        context=CONTEXT,
        book=gradebook(session),
        number=_number,
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
    message_type = (
        "LtiDeepLinkingRequest" if hint.get("message") == "deep_link" else "LtiResourceLinkRequest"
    )
    link = {}
    linked = _linked()
    if linked is not None:
        link_id = resource_link_id(linked)
        item = _link_line_item(session, link_id)
        link = {
            "custom": linked.payload.get("custom"),
            "resource_link_id": link_id,
            "resource_link_title": linked.payload.get("title") or "Assessment",
            "lineitem": lineitem_url(issuer(base), item) if item else None,
        }
    claims = id_token_claims(
        base,
        user,
        message_type,
        args.get("nonce", ""),
        target_link_uri=_target_link_uri(base, hint.get("message")),
        **link,
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
        declared = item.get("lineItem")
        if declared is not None and _line_item_problem(declared):
            session.rollback()
            return f"deep linking response rejected: lineItem {_line_item_problem(declared)}", 400
        message = DevPlatformMessage(
            kind="deep_link",
            payload={
                "title": item.get("title"),
                "url": item.get("url"),
                "custom": item.get("custom", {}),
                "lineItem": declared,
            },
        )
        session.add(message)
        session.flush()  # its id names the resource link
        message.payload = {**message.payload, "resource_link_id": resource_link_id(message)}
        if declared is not None:
            # As Moodle: the link's gradebook column is made now, and launches name it.
            session.add(
                DevLineItem(
                    context_id=CONTEXT["id"],
                    label=(declared.get("label") or item.get("title") or "Untitled")[:255],
                    score_maximum=float(declared["scoreMaximum"]),
                    resource_id=declared.get("resourceId") or None,
                    tag=declared.get("tag") or None,
                    resource_link_id=resource_link_id(message),
                )
            )
    session.commit()
    return redirect(url_for("dev_platform.home"), code=303)


def _line_item_problem(declared) -> str | None:
    """What is wrong with a deep link's lineItem, or None."""
    if not isinstance(declared, dict):
        return "is not an object"
    maximum = declared.get("scoreMaximum")
    if isinstance(maximum, bool) or not isinstance(maximum, int | float) or not maximum > 0:
        return "needs a scoreMaximum greater than 0"
    for key in ("label", "resourceId", "tag"):
        if declared.get(key) is not None and not isinstance(declared[key], str):
            return f"{key} is not a string"
    return None


def new_nonce() -> str:
    return uuid.uuid4().hex

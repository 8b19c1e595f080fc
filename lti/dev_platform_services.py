"""What the development platform serves to the tool, as a real platform would: an OAuth 2.0
token endpoint (client credentials with a JWT assertion signed by the tool's key), AGS 2.0
line items, scores and results, and NRPS 2.0 memberships, for its one course.

Shapes follow the AGS 2.0 and NRPS 2.0 specifications, and Moodle 4.5 where the specifications
leave a choice (tests/data/captures/moodle-4.5.6/): a stale score timestamp is a 409, compared
in whole seconds; a score that is not FullyGraded blanks the grade but keeps the progress and
comment; results are reported on the line item's scale.

Access tokens are JWTs signed by the platform's own key and checked on every call (signature,
audience, expiry, scopes): nothing to store, and every process can check them. Development
only: the blueprint is registered only when DEV_PLATFORM is on, and answers on loopback only.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime
from urllib.parse import urlencode

import jwt
from flask import Blueprint, Response, abort, request
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti import keys
from lti.ags_vocabulary import ActivityProgress, GradingProgress
from lti.dev_platform import (
    AGS_SCOPES,
    CLIENT_ID,
    CONTEXT,
    GRANTABLE_SCOPES,
    NRPS_SCOPE,
    OWNER,
    ROLE,
    USERS,
    _base,
    ensure_registered,
    issuer,
    lineitem_url,
    memberships_url,
    result_score,
    user_id,
)
from lti.models import DevLineItem, DevResult, DevScore
from lti.service_tokens import ASSERTION_TYPE
from service import db
from service.models import utcnow

LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEM_CONTAINER = "application/vnd.ims.lis.v2.lineitemcontainer+json"
SCORE = "application/vnd.ims.lis.v1.score+json"
RESULT_CONTAINER = "application/vnd.ims.lis.v2.resultcontainer+json"
MEMBERSHIP_CONTAINER = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"

SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE = AGS_SCOPES
TOKEN_LIFETIME = 3600  # seconds, as Moodle
# The access token's JWT type (RFC 9068): an id_token signed by the same key is not one.
ACCESS_TOKEN_TYPE = "at+jwt"
# Entries per page when the tool does not ask for a limit; pages are numbered from 1.
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
TEXT_MAX = 255

blp = Blueprint("dev_platform_services", __name__, url_prefix="/dev-platform")


# --- answers ---------------------------------------------------------------------------------


def _json(body, status: int = 200, content_type: str = "application/json", **headers):
    return Response(json.dumps(body), status=status, content_type=content_type, headers=headers)


def _refuse(status: int, message: str, **headers):
    """Stop the request with a JSON error (a Response passed to abort goes out unchanged)."""
    abort(_json({"error": message}, status, **headers))


def _oauth_error(error: str, status: int, description: str):
    """RFC 6749 §5.2's error shape."""
    return _json(
        {"error": error, "error_description": description},
        status,
        **{"Cache-Control": "no-store"},
    )


def _number(value: float) -> int | float:
    """100.0 sent as 100, as platforms do."""
    return int(value) if float(value).is_integer() else value


# --- the token endpoint ----------------------------------------------------------------------


@blp.post("/token")
def token():
    """OAuth 2.0 client credentials (RFC 6749 §4.4) with a JWT assertion (RFC 7523), as the
    LTI security framework requires: the tool proves it holds its key."""
    form = request.form
    if form.get("grant_type") != "client_credentials":
        return _oauth_error("unsupported_grant_type", 400, "grant_type must be client_credentials")
    if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
        return _oauth_error("invalid_request", 400, f"a client_assertion of {ASSERTION_TYPE}")
    session = db.session()
    platform = ensure_registered(session, _base())
    try:
        _verify_assertion(session, form["client_assertion"], platform.auth_token_url)
    except (jwt.InvalidTokenError, StopIteration, ValueError) as error:
        return _oauth_error("invalid_client", 401, f"client assertion refused: {error}")
    asked = form.get("scope", "").split()
    granted = [scope for scope in (asked or GRANTABLE_SCOPES) if scope in GRANTABLE_SCOPES]
    if not granted:
        return _oauth_error("invalid_scope", 400, "none of the scopes asked for can be granted")
    now = int(time.time())
    claims = {
        "iss": issuer(_base()),
        "aud": issuer(_base()),
        "sub": CLIENT_ID,
        "scope": " ".join(granted),
        "iat": now,
        "exp": now + TOKEN_LIFETIME,
        "jti": uuid.uuid4().hex,
    }
    key = keys.signing_key(session, OWNER)
    access_token = jwt.encode(
        claims,
        key.private_pem,
        algorithm="RS256",
        headers={"kid": key.kid, "typ": ACCESS_TOKEN_TYPE},
    )
    answer = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME,
        "scope": " ".join(granted),
    }
    return _json(answer, **{"Cache-Control": "no-store"})


def _verify_assertion(session: Session, assertion: str, token_url: str) -> dict:
    """The tool's assertion: signed by a key in the tool's JWKS (as deep_link_return checks
    its responses), issued by and about the registration's client id, for this token URL."""
    header = jwt.get_unverified_header(assertion)
    tool_key = next(k for k in keys.jwks(session)["keys"] if k["kid"] == header.get("kid"))
    claims = jwt.decode(
        assertion,
        RSAAlgorithm.from_jwk(json.dumps(tool_key)),
        algorithms=["RS256"],
        audience=token_url,
        issuer=CLIENT_ID,
        options={"require": ["iss", "sub", "aud", "exp", "iat"]},
    )
    if claims["sub"] != CLIENT_ID:
        raise ValueError("sub is not the client id")
    return claims


def _require(*any_of: str) -> None:
    """A valid access token granting one of these scopes, or the request stops: 401 without
    a valid token (RFC 6750 §3.1), 403 when its scopes do not cover the call."""
    authorization = request.headers.get("Authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value:
        _refuse(401, "an access token is required", **{"WWW-Authenticate": "Bearer"})
    session = db.session()
    try:
        header = jwt.get_unverified_header(value)
        if header.get("typ") != ACCESS_TOKEN_TYPE:
            raise jwt.InvalidTokenError("not an access token")
        public = next(k for k in keys.jwks(session, OWNER)["keys"] if k["kid"] == header["kid"])
        iss = issuer(_base())
        claims = jwt.decode(
            value,
            RSAAlgorithm.from_jwk(json.dumps(public)),
            algorithms=["RS256"],
            audience=iss,
            issuer=iss,
            options={"require": ["exp", "scope", "sub"]},
        )
    except (jwt.InvalidTokenError, StopIteration, KeyError):
        _refuse(
            401,
            "the access token is not valid",
            **{"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    if not set(any_of) & set(str(claims["scope"]).split()):
        _refuse(
            403,
            f"the access token does not grant {' or '.join(any_of)}",
            **{"WWW-Authenticate": 'Bearer error="insufficient_scope"'},
        )


# --- paging ----------------------------------------------------------------------------------


def _positive_int(name: str, default: int, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:  # "²" is a digit to isdigit
        _refuse(400, f"{name} must be a positive whole number")
    return min(int(raw), maximum) if maximum else int(raw)


def _paged(rows: list) -> tuple[list, dict]:
    """This page of the rows (?limit= and ?page=), and the Link header to the next page when
    there is one (AGS §3.2.4, NRPS §2.4.2)."""
    limit = _positive_int("limit", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    page = _positive_int("page", 1)
    start = (page - 1) * limit
    headers = {}
    if len(rows) > start + limit:
        query = {**request.args.to_dict(), "limit": str(limit), "page": str(page + 1)}
        headers["Link"] = f'<{_base()}{request.path}?{urlencode(query)}>; rel="next"'
    return rows[start : start + limit], headers


# --- AGS: line items ---------------------------------------------------------------------------


def _context(context_id: str) -> str:
    if context_id != CONTEXT["id"]:
        _refuse(404, "no such context")
    return context_id


def _line_item(context_id: str, item_id: int) -> DevLineItem:
    item = db.session().get(DevLineItem, item_id)
    if item is None or item.context_id != _context(context_id):
        _refuse(404, "no such line item")
    return item


def _line_item_json(item: DevLineItem) -> dict:
    """Fields that are not set are left out (the spec's examples; Moodle sends "")."""
    body = {
        "id": lineitem_url(issuer(_base()), item),
        "label": item.label,
        "scoreMaximum": _number(item.score_maximum),
    }
    for key, value in (
        ("resourceId", item.resource_id),
        ("resourceLinkId", item.resource_link_id),
        ("tag", item.tag),
        ("submissionReview", item.submission_review),
    ):
        if value is not None:
            body[key] = value
    return body


def _body(content_type: str) -> dict:
    """The request's JSON object, sent with the media type the spec names."""
    if request.mimetype != content_type:
        _refuse(415, f"send {content_type}")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        _refuse(400, "the body is not a JSON object")
    return body


def _line_item_fields(body: dict) -> dict:
    """The columns a line item body sets, or a 400 saying what is wrong."""
    label = body.get("label")
    if not isinstance(label, str) or not label.strip() or len(label) > TEXT_MAX:
        _refuse(400, "label must be a non-empty string")
    maximum = body.get("scoreMaximum")
    if isinstance(maximum, bool) or not isinstance(maximum, int | float) or not maximum > 0:
        _refuse(400, "scoreMaximum must be a number greater than 0")
    fields = {"label": label, "score_maximum": float(maximum)}
    for key, column in (("resourceId", "resource_id"), ("tag", "tag")):
        value = body.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > TEXT_MAX):
            _refuse(400, f"{key} must be a string")
        fields[column] = value or None  # "" means unset, as Moodle sends it
    review = body.get("submissionReview")
    if review is not None and not isinstance(review, dict):
        _refuse(400, "submissionReview must be an object")
    fields["submission_review"] = review
    return fields


@blp.get("/contexts/<context_id>/lineitems")
def line_items(context_id: str):
    _require(SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY)
    query = select(DevLineItem).where(DevLineItem.context_id == _context(context_id))
    for arg, column in (
        ("resource_link_id", DevLineItem.resource_link_id),
        ("resource_id", DevLineItem.resource_id),
        ("tag", DevLineItem.tag),
    ):
        if request.args.get(arg) is not None:
            query = query.where(column == request.args[arg])
    rows = db.session().scalars(query.order_by(DevLineItem.id)).all()
    page, headers = _paged(list(rows))
    return _json([_line_item_json(i) for i in page], 200, LINEITEM_CONTAINER, **headers)


@blp.post("/contexts/<context_id>/lineitems")
def create_line_item(context_id: str):
    _require(SCOPE_LINEITEM)
    body = _body(LINEITEM)
    fields = _line_item_fields(body)
    link = body.get("resourceLinkId")
    if link is not None and (not isinstance(link, str) or len(link) > TEXT_MAX):
        _refuse(400, "resourceLinkId must be a string")
    session = db.session()
    item = DevLineItem(context_id=_context(context_id), resource_link_id=link or None, **fields)
    session.add(item)
    session.commit()
    return _json(_line_item_json(item), 201, LINEITEM, Location=lineitem_url(issuer(_base()), item))


@blp.get("/contexts/<context_id>/lineitems/<int:item_id>")
def line_item(context_id: str, item_id: int):
    _require(SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY)
    return _json(_line_item_json(_line_item(context_id, item_id)), 200, LINEITEM)


@blp.put("/contexts/<context_id>/lineitems/<int:item_id>")
def update_line_item(context_id: str, item_id: int):
    """Replace the line item's fields. Its resourceLinkId stays: the spec lets the platform
    keep the link it was made for."""
    _require(SCOPE_LINEITEM)
    item = _line_item(context_id, item_id)
    for column, value in _line_item_fields(_body(LINEITEM)).items():
        setattr(item, column, value)
    db.session().commit()
    return _json(_line_item_json(item), 200, LINEITEM)


@blp.delete("/contexts/<context_id>/lineitems/<int:item_id>")
def delete_line_item(context_id: str, item_id: int):
    """Its results and logged scores go with it (ON DELETE CASCADE)."""
    _require(SCOPE_LINEITEM)
    session = db.session()
    session.delete(_line_item(context_id, item_id))
    session.commit()
    return Response(status=204)


# --- AGS: scores and results -------------------------------------------------------------------


def _timestamp(value) -> datetime:
    """ISO 8601 with a time zone (a zone-less time would be a guess)."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        _refuse(400, "timestamp must be an ISO 8601 date and time with a time zone")
    return moment


def _score_fields(body: dict) -> dict:
    """The score's values, or a 400 saying what is wrong (AGS §3.4)."""
    members = {user_id(user) for user in USERS}
    if body.get("userId") not in members:
        _refuse(400, "userId is not a member of the course")
    try:
        activity = ActivityProgress(body.get("activityProgress"))
        grading = GradingProgress(body.get("gradingProgress"))
    except ValueError:
        _refuse(400, "activityProgress and gradingProgress must be values of their vocabularies")
    given, maximum = body.get("scoreGiven"), body.get("scoreMaximum")
    for name, value in (("scoreGiven", given), ("scoreMaximum", maximum)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            _refuse(400, f"{name} must be a number")
    if given is not None:
        # Above the maximum is allowed: the spec leaves room for extra credit.
        if given < 0:
            _refuse(400, "scoreGiven cannot be negative")
        if maximum is None:
            _refuse(400, "scoreMaximum is required with scoreGiven")
    if maximum is not None and not maximum > 0:
        _refuse(400, "scoreMaximum must be greater than 0")
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        _refuse(400, "comment must be a string")
    return {
        "user_id": body["userId"],
        "score_given": None if given is None else float(given),
        "score_maximum": None if maximum is None else float(maximum),
        "activity_progress": activity,
        "grading_progress": grading,
        "comment": comment,
        "timestamp": _timestamp(body.get("timestamp")),
    }


@blp.post("/contexts/<context_id>/lineitems/<int:item_id>/scores")
def post_score(context_id: str, item_id: int):
    _require(SCOPE_SCORE)
    item = _line_item(context_id, item_id)
    score = _score_fields(_body(SCORE))
    session = db.session()
    result = session.scalar(
        select(DevResult).where(
            DevResult.line_item_id == item.id, DevResult.user_id == score["user_id"]
        )
    )
    # As Moodle: a score must be newer than the one held, in whole seconds.
    stale = result is not None and int(score["timestamp"].timestamp()) <= int(
        result.timestamp.timestamp()
    )
    session.add(DevScore(line_item_id=item.id, accepted=not stale, **score))
    if stale:
        session.commit()  # the log shows refused scores too
        return _json({"error": "the score's timestamp is not newer than the one held"}, 409)
    if result is None:
        result = DevResult(line_item_id=item.id, user_id=score["user_id"])
        session.add(result)
    for column, value in score.items():
        setattr(result, column, value)
    if score["grading_progress"] != GradingProgress.FULLY_GRADED:
        # As Moodle: no grade until the tool says it is final; progress and comment stay.
        result.score_given = None
        result.score_maximum = None
    result.updated_at = utcnow()
    session.commit()
    return Response(status=200)  # Moodle answers 200 with an empty body


@blp.get("/contexts/<context_id>/lineitems/<int:item_id>/results")
def results(context_id: str, item_id: int):
    _require(SCOPE_RESULT_READONLY)
    item = _line_item(context_id, item_id)
    query = select(DevResult).where(DevResult.line_item_id == item.id)
    if request.args.get("user_id") is not None:
        query = query.where(DevResult.user_id == request.args["user_id"])
    rows = db.session().scalars(query.order_by(DevResult.id)).all()
    page, headers = _paged(list(rows))
    url = lineitem_url(issuer(_base()), item)
    body = []
    for result in page:
        entry = {
            "id": f"{url}/results/{result.id}",
            "scoreOf": url,
            "userId": result.user_id,
            "resultMaximum": _number(item.score_maximum),
            "timestamp": result.timestamp.isoformat(),
        }
        score = result_score(result, item)
        if score is not None:
            entry["resultScore"] = _number(score)
        if result.comment is not None:
            entry["comment"] = result.comment
        body.append(entry)
    return _json(body, 200, RESULT_CONTAINER, **headers)


# --- NRPS --------------------------------------------------------------------------------------


def _has_role(roles: list[str], wanted: str) -> bool:
    """?role= may be a full LIS role URI or its short name ("Learner"), as NRPS §2.4.1."""
    return any(wanted in (role, role.rsplit("#", 1)[-1]) for role in roles)


@blp.get("/contexts/<context_id>/memberships")
def memberships(context_id: str):
    _require(NRPS_SCOPE)
    members = []
    for user, (role, name) in USERS.items():
        given, _, family = name.partition(" ")
        members.append(
            {
                "status": "Active",
                "user_id": user_id(user),
                "roles": ROLE[role],
                "name": name,
                "given_name": given,
                "family_name": family,
            }
        )
    wanted = request.args.get("role")
    if wanted:
        members = [m for m in members if _has_role(m["roles"], wanted)]
    page, headers = _paged(members)
    body = {
        "id": memberships_url(issuer(_base()), _context(context_id)),
        "context": dict(CONTEXT),
        "members": page,
    }
    return _json(body, 200, MEMBERSHIP_CONTAINER, **headers)

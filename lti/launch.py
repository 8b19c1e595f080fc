"""Validating an LTI 1.3 launch: pylti1p3's MessageLaunch, with the gaps it leaves closed.

pylti1p3 (and pylti1p3next) check the JWT's format, registration, deployment and message
claims. It does not, by itself: make a nonce single-use, check `aud` beyond its first entry or
check `azp`, bound `iat`, check `target_link_uri`, refetch a platform's JWKS on an unknown
`kid`, or keep state anywhere but one process's session. Each is done here:

- state: a login state row (database), unexpired and unused, bound to the browser by a secret
  the login gave it (a partitioned cookie, or LTI platform storage);
- algorithm: RS256 only, with a kid; `alg: none` and HMAC tokens never reach a key lookup;
- signature: the platform's JWKS cached in the database, refetched once (rate limited) on an
  unknown kid;
- claims: `aud` contains our client id and nothing untrusted, `azp` (when present) is our
  client id, `exp`, and `iat` neither in the future nor older than LTI_MAX_TOKEN_AGE_SECONDS;
- nonce: equal to the one issued at login, and single-use across processes (a unique row);
- version 1.3.0, and `target_link_uri` equal to the login's and on this host;
- claims: the shape and length of every claim the tool reads or stores (validate_claims).

Claim limits, decided per field. Identifiers are refused when too long (cutting them would
merge two learners, courses or links); display-only text is cut to fit (refusing it would stop
a real learner because their course has a long title):

| claim | limit | too long |
| --- | --- | --- |
| sub | 1..255 characters (the LTI 1.3 limit) | refused |
| lti deployment_id, context.id, resource_link.id | 255 characters | refused |
| custom | object, at most 100 scalars; names 255, values 4096 characters | refused |
| custom.assessment | a string of at most 24 characters (an assessment code) | refused |
| custom extra_time_percent and the like | whole numbers in range, true/false | ignored |
| for_user.user_id (a submission review, which needs resource_link.id too) | 1..255 | refused |
| name | 255 characters | cut (lti.sessions) |
| context.title / label, resource_link.title / description | 255 characters | cut |
| the claims kept with the session (service endpoints, settings) | 64 KiB as JSON | refused |
"""

from __future__ import annotations

import hashlib
import json
import time
from urllib.parse import urlsplit

import jwt
from flask import current_app
from jwt.algorithms import RSAAlgorithm
from pylti1p3.contrib.flask import FlaskMessageLaunch
from pylti1p3.exception import LtiException
from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lti import platform_keys, url_policy
from lti.housekeeping import SWEEP_EVERY, sweep_due, sweep_expired
from lti.models import LtiLoginState, LtiNonce
from lti.platform_cache import Registered
from lti.tool_conf import DatabaseToolConf
from service.input_guard import contains_bad_text
from service.models import utcnow

LTI = "https://purl.imsglobal.org/spec/lti/claim/"

# The launch's two writes, built once: a class launching at once runs them per launch, and
# building them through the ORM cost more CPU than the database spends running them.
_STATES = LtiLoginState.__table__
# The state checked (unused, unexpired, this browser's) and marked used in one statement.
USE_STATE = (
    update(_STATES)
    .where(
        _STATES.c.state == bindparam("b_state"),
        _STATES.c.used_at.is_(None),
        _STATES.c.expires_at >= bindparam("now"),
        _STATES.c.browser_hash == bindparam("b_browser_hash"),
    )
    .values(used_at=bindparam("now"))
    .returning(
        _STATES.c.platform_id,
        _STATES.c.nonce,
        _STATES.c.expires_at,
        _STATES.c.target_link_uri,
    )
)
ADD_NONCE = insert(LtiNonce.__table__)

ALLOWED_ALGORITHMS = ("RS256",)


class LaunchRejected(Exception):
    """A launch that must not go ahead. `reason` is for logs (never personal data)."""

    def __init__(self, reason: str, needs_storage: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.needs_storage = needs_storage


def browser_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def same_host(url: str, host_url: str) -> bool:
    """The target_link_uri rule (lti/url_policy.py on_tool_host): this tool's own origin, or
    its http form once the tool serves https on the same host."""
    return url_policy.on_tool_host(url, host_url)


class ServiceMessageLaunch(FlaskMessageLaunch):
    def __init__(self, request, session: Session, host_url: str, browser_secret: str | None):
        super().__init__(request, DatabaseToolConf(session))
        self.session = session
        self.host_url = host_url
        self.browser_secret = browser_secret
        self.login_state: Row | None = None  # USE_STATE's columns
        self.platform: Registered | None = None

    # pylti1p3 keeps launches in the Flask session; ours are LtiSession rows (lti.sessions).
    def save_launch_data(self):
        return self

    def validate(self):
        if self._restored:
            raise LaunchRejected("a restored launch cannot be validated")
        self._validated = True
        try:
            self.validate_state()
            self.validate_jwt_format()
            self.validate_shapes()
            self.validate_algorithm()
            self.validate_registration()
            self.validate_jwt_signature()
            self.validate_claims()
            self.validate_nonce()
            self.validate_deployment()
            self.validate_message()
            self.validate_target_link_uri()
            # Not committed: the view commits the state's use (validate_state) and the nonce
            # with the launch's session, in one transaction; a rejected launch rolls them back.
            self.record_nonce()
        except LtiException as exc:
            self._validated = False
            raise LaunchRejected(str(exc)) from exc
        except Exception:
            self._validated = False
            raise
        return self

    def validate_state(self):
        """The login state: unused, unexpired, bound to this browser, and marked used in the
        same statement, so a second launch with it (another process racing) finds it used.
        Only a refused state is read again, to say why."""
        state = self._get_request_param("state")
        if not state:
            raise LaunchRejected("missing state")
        now = utcnow()
        if self.browser_secret:
            self.login_state = self.session.execute(
                USE_STATE,
                {"b_state": state, "now": now, "b_browser_hash": browser_hash(self.browser_secret)},
            ).one_or_none()
            if self.login_state is not None:
                return self
        row = self.session.scalar(select(LtiLoginState).where(LtiLoginState.state == state))
        if row is None or row.used_at is not None or row.expires_at < now:
            raise LaunchRejected("unknown, used or expired state")
        if not self.browser_secret:
            # Cookies were blocked in the LMS frame: platform storage may hold the secret.
            raise LaunchRejected(
                "state not bound to this browser", needs_storage=bool(row.storage_target)
            )
        raise LaunchRejected("state bound to another browser")

    def validate_shapes(self):
        """Unsigned input reaches us before any signature check: refuse what is not shaped
        like an id_token before anything reads it."""
        header, body = self._jwt.get("header"), self._jwt.get("body")
        if not isinstance(header, dict) or not isinstance(body, dict):
            raise LaunchRejected("the id_token's header or body is not a JSON object")
        audience = body.get("aud")
        audience_ok = isinstance(audience, str) or (
            isinstance(audience, list) and audience and all(isinstance(a, str) for a in audience)
        )
        if not isinstance(body.get("iss"), str) or not audience_ok:
            raise LaunchRejected("iss or aud is not a string (or list of strings)")
        if not isinstance(header.get("kid", ""), str) or not isinstance(header.get("alg", ""), str):
            raise LaunchRejected("kid or alg is not a string")
        return self

    def validate_algorithm(self):
        header = self._jwt.get("header", {})
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise LaunchRejected(f"algorithm {header.get('alg')!r} not allowed")
        if not header.get("kid"):
            raise LaunchRejected("no kid in the JWT header")
        return self

    def validate_registration(self):
        super().validate_registration()
        body = self._get_jwt_body()
        self.platform = DatabaseToolConf(self.session).platform(body["iss"], self.get_client_id())
        if self.platform is None or self.platform.id != self.login_state.platform_id:
            raise LaunchRejected("the token's issuer and client are not the login's")
        audience = body.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        client_id = self.platform.client_id
        if client_id not in audiences:
            raise LaunchRejected("our client id is not in aud")
        if len(audiences) > 1:
            # OIDC Core 3.1.3.7: several audiences need azp; we trust no other audience.
            raise LaunchRejected("aud names other, untrusted audiences")
        if "azp" in body and body["azp"] != client_id:
            raise LaunchRejected("azp is not our client id")
        return self

    def get_client_id(self) -> str:
        # pylti1p3 takes the first aud entry; the checks above look at every entry.
        audience = self._get_jwt_body().get("aud")
        return audience if isinstance(audience, str) else (audience or [""])[0]

    def validate_jwt_signature(self):
        header = self._jwt["header"]
        try:
            jwk = platform_keys.public_key_for(self.session, self.platform, header["kid"])
        except platform_keys.KeyError_ as exc:
            raise LaunchRejected(str(exc)) from exc
        if jwk.get("kty") != "RSA" or jwk.get("alg", "RS256") not in ALLOWED_ALGORITHMS:
            raise LaunchRejected("the platform key is not an RS256 key")
        config = current_app.config
        leeway = config["LTI_CLOCK_LEEWAY_SECONDS"]
        try:
            claims = jwt.decode(
                self._get_id_token(),
                RSAAlgorithm.from_jwk(json.dumps(jwk)),
                algorithms=list(ALLOWED_ALGORITHMS),
                audience=self.platform.client_id,
                issuer=self.platform.issuer,
                leeway=leeway,
                options={"require": ["exp", "iat", "iss", "aud", "nonce"]},
            )
        except jwt.InvalidTokenError as exc:
            raise LaunchRejected(f"id_token rejected: {type(exc).__name__}") from exc
        now = time.time()
        if claims["iat"] > now + leeway:
            raise LaunchRejected("iat is in the future")
        if claims["iat"] < now - config["LTI_MAX_TOKEN_AGE_SECONDS"]:
            raise LaunchRejected("iat is too old")
        return self

    def validate_claims(self):
        """A signed token is still the platform's input: every claim read or stored later must
        have the shape and length the tool and its database columns expect, or a platform's
        odd (or hostile) claims would be a 500 instead of a rejection."""
        problem = claims_problem(self._get_jwt_body())
        if problem:
            raise LaunchRejected(f"claims: {problem}")
        return self

    def validate_nonce(self):
        nonce = self._get_jwt_body().get("nonce")
        if not nonce or nonce != self.login_state.nonce:
            raise LaunchRejected("nonce is not the one issued at login")
        return self

    def record_nonce(self):
        """Single use across processes: a unique row, flushed now, committed by the view."""
        # Each launch adds a nonce: one in LTI_SWEEP_EVERY also removes a batch of expired
        # ones. An expired nonce cannot be replayed: it belonged to a login state that has
        # expired too.
        every = current_app.config.get("LTI_SWEEP_EVERY", SWEEP_EVERY)
        if sweep_due(LtiNonce, every):
            sweep_expired(self.session, LtiNonce, self.platform.id, utcnow())
        try:
            self.session.execute(
                ADD_NONCE,
                {
                    "platform_id": self.platform.id,
                    "nonce": self._get_jwt_body()["nonce"],
                    "expires_at": self.login_state.expires_at,
                },
            )
        except IntegrityError as exc:
            self.session.rollback()
            raise LaunchRejected("nonce already used (replay)") from exc
        return self

    def validate_message(self):
        super().validate_message()
        if self._get_jwt_body().get(LTI + "version") != "1.3.0":
            raise LaunchRejected("LTI version is not 1.3.0")
        return self

    def validate_target_link_uri(self):
        target = self._get_jwt_body().get(LTI + "target_link_uri", "")
        if not same_host(target, self.host_url):
            raise LaunchRejected("target_link_uri is not on this host")
        if target != self.login_state.target_link_uri:
            raise LaunchRejected("target_link_uri differs from the login's")
        return self


# --- claim shapes and limits (see the table in the module docstring) -----------------------

SUB_MAX = 255  # the LTI 1.3 limit; attempts hash a sub too long for learner_ref
ID_MAX = 255
DISPLAY_MAX = 255
MESSAGE_TYPE_MAX = 64
ASSESSMENT_CODE_MAX = 24
CUSTOM_MAX_PARAMETERS = 100
CUSTOM_NAME_MAX = 255
CUSTOM_VALUE_MAX = 4096
KEPT_CLAIMS_MAX_BYTES = 64 * 1024
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DEEP_LINKING = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
# LTI Submission Review 1.0: the learner whose work the reviewer opens from the gradebook.
SUBMISSION_REVIEW = "LtiSubmissionReviewRequest"
FOR_USER = LTI + "for_user"
# Claims that must be JSON objects when present.
OBJECT_CLAIMS = (
    LTI + "context",
    LTI + "resource_link",
    LTI + "custom",
    LTI + "launch_presentation",
    LTI + "tool_platform",
    AGS,
    NRPS,
    DEEP_LINKING,
    FOR_USER,
)
# Display-only text inside object claims: cut to DISPLAY_MAX by lti.sessions.
DISPLAY_FIELDS = {
    LTI + "context": ("title", "label"),
    LTI + "resource_link": ("title", "description"),
}


def _text(value, maximum: int, required: bool = True) -> bool:
    if value is None:
        return not required
    return isinstance(value, str) and (len(value) > 0 or not required) and len(value) <= maximum


def claims_problem(body: dict) -> str | None:
    """What is wrong with a launch's claims, or None. The reason goes to the log only."""
    if contains_bad_text(body):
        return "a claim contains NUL characters or lone surrogates"
    if not _text(body.get("sub"), SUB_MAX):
        return "sub is missing, not a string or too long"
    if not _text(body.get(LTI + "deployment_id"), ID_MAX):
        return "deployment_id is missing, not a string or too long"
    # A missing or unknown message type is pylti1p3's to refuse (validate_message).
    if not _text(body.get(LTI + "message_type"), MESSAGE_TYPE_MAX, required=False):
        return "message_type is not a string or too long"
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        return "name is not a string"
    roles = body.get(LTI + "roles")
    if roles is not None and not (
        isinstance(roles, list) and all(isinstance(r, str) for r in roles)
    ):
        return "roles is not a list of strings"
    for claim in OBJECT_CLAIMS:
        if claim in body and not isinstance(body[claim], dict):
            return f"{claim.rsplit('/', 1)[-1]} is not an object"
    for claim in (LTI + "context", LTI + "resource_link"):
        value = body.get(claim) or {}
        if not _text(value.get("id"), ID_MAX, required=False):
            return f"{claim.rsplit('/', 1)[-1]}.id is not a string or too long"
        for field in DISPLAY_FIELDS[claim]:
            if value.get(field) is not None and not isinstance(value[field], str):
                return f"{claim.rsplit('/', 1)[-1]}.{field} is not a string"
    if body.get(LTI + "message_type") == SUBMISSION_REVIEW:
        problem = _review_problem(body)
        if problem:
            return problem
    problem = _custom_problem(body.get(LTI + "custom") or {})
    if problem:
        return problem
    settings = body.get(DEEP_LINKING)
    if settings is not None and not isinstance(settings.get("deep_link_return_url"), str):
        return "deep_link_return_url is not a string"
    kept = {claim: body[claim] for claim in OBJECT_CLAIMS if claim in body}
    if len(json.dumps(kept).encode()) > KEPT_CLAIMS_MAX_BYTES:
        return "the claims kept with the session are too large"
    return None


def _review_problem(body: dict) -> str | None:
    """A submission review launch names whose work (for_user.user_id, a platform user id
    like `sub`) and the course activity it belongs to (pylti1p3 checks the AGS line item)."""
    for_user = body.get(FOR_USER)
    if not isinstance(for_user, dict) or not _text(for_user.get("user_id"), SUB_MAX):
        return "for_user.user_id is missing, not a string or too long"
    if not (body.get(LTI + "resource_link") or {}).get("id"):
        return "a submission review names no resource link"
    return None


def _custom_problem(custom: dict) -> str | None:
    if len(custom) > CUSTOM_MAX_PARAMETERS:
        return "too many custom parameters"
    for key, value in custom.items():
        if len(key) > CUSTOM_NAME_MAX:
            return "a custom parameter name is too long"
        # LTI says custom values are strings; platforms also send numbers and booleans.
        if value is not None and not isinstance(value, str | int | float | bool):
            return f"custom parameter {key[:40]!r} is not a string"
        if isinstance(value, str) and len(value) > CUSTOM_VALUE_MAX:
            return f"custom parameter {key[:40]!r} is too long"
    if not _text(custom.get("assessment"), ASSESSMENT_CODE_MAX, required=False):
        return "custom.assessment is not an assessment code"
    return None

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
- version 1.3.0, and `target_link_uri` equal to the login's and on this host.
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
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lti import platform_keys
from lti.housekeeping import sweep_expired
from lti.models import LtiLoginState, LtiNonce, LtiPlatform
from lti.tool_conf import DatabaseToolConf
from service.models import utcnow

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
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
    return origin(url) == origin(host_url)


class ServiceMessageLaunch(FlaskMessageLaunch):
    def __init__(self, request, session: Session, host_url: str, browser_secret: str | None):
        super().__init__(request, DatabaseToolConf(session))
        self.session = session
        self.host_url = host_url
        self.browser_secret = browser_secret
        self.login_state: LtiLoginState | None = None
        self.platform: LtiPlatform | None = None

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
            self.validate_nonce()
            self.validate_deployment()
            self.validate_message()
            self.validate_target_link_uri()
            self.use_state()
        except LtiException as exc:
            self._validated = False
            raise LaunchRejected(str(exc)) from exc
        except Exception:
            self._validated = False
            raise
        return self

    def validate_state(self):
        state = self._get_request_param("state")
        if not state:
            raise LaunchRejected("missing state")
        row = self.session.scalar(select(LtiLoginState).where(LtiLoginState.state == state))
        if row is None or row.used_at is not None or row.expires_at < utcnow():
            raise LaunchRejected("unknown, used or expired state")
        if not self.browser_secret:
            # Cookies were blocked in the LMS frame: platform storage may hold the secret.
            raise LaunchRejected(
                "state not bound to this browser", needs_storage=bool(row.storage_target)
            )
        if browser_hash(self.browser_secret) != row.browser_hash:
            raise LaunchRejected("state bound to another browser")
        self.login_state = row
        return self

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

    def validate_nonce(self):
        nonce = self._get_jwt_body().get("nonce")
        if not nonce or nonce != self.login_state.nonce:
            raise LaunchRejected("nonce is not the one issued at login")
        # Each launch adds a nonce: it also removes a few expired ones. An expired nonce cannot
        # be replayed: it belonged to a login state that has expired too.
        sweep_expired(self.session, LtiNonce, self.platform.id, utcnow())
        self.session.add(
            LtiNonce(
                platform_id=self.platform.id, nonce=nonce, expires_at=self.login_state.expires_at
            )
        )
        try:
            self.session.commit()
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

    def use_state(self):
        """Mark the state used, once: a second process racing with the same state loses."""
        used = self.session.execute(
            update(LtiLoginState)
            .where(LtiLoginState.id == self.login_state.id, LtiLoginState.used_at.is_(None))
            .values(used_at=utcnow())
        ).rowcount
        self.session.commit()
        if not used:
            raise LaunchRejected("state already used (replay)")
        return self

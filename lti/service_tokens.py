"""Access tokens for a platform's services: the OAuth 2.0 client-credentials grant with a signed
JWT assertion (RFC 7523, as LTI Advantage's security framework requires), cached in the
database so every process shares one token per platform and scope set.

Each call uses its own short transactions on the engine, never the caller's session: the
caller (a worker) may hold row locks it must keep while we talk to the platform, and no
transaction stays open during an HTTP request. Concurrent refreshes may both fetch a token;
the upsert keeps one row and neither fails.

Tokens are stored as given (they live minutes) and never logged.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

import jwt
import requests
from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lti import keys
from lti.models import LtiPlatform, LtiServiceToken
from lti.service_calls import (
    Delivered,
    Refused,
    ServiceFailure,
    ServiceSettings,
    classify,
    classify_error,
    http_session,
)
from service.models import utcnow

log = logging.getLogger(__name__)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 300


def scope_set_of(scopes: Iterable[str]) -> str:
    """One spelling per set of scopes, whatever the order they were asked for in."""
    return " ".join(sorted(set(scopes)))


def client_assertion(
    client_id: str, audience: str, private_pem: str, kid: str, now: float | None = None
) -> str:
    """The JWT that authenticates this tool to the platform's token endpoint: issued by and
    about our client id, for the token endpoint, signed with our current key."""
    now = int(time.time() if now is None else now)
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, private_pem, algorithm="RS256", headers={"kid": kid})


class ServiceTokens:
    """The token cache of one database. `http` may be shared with the AGS client."""

    def __init__(
        self,
        engine: Engine,
        settings: ServiceSettings | None = None,
        http: requests.Session | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings or ServiceSettings()
        self.http = http or http_session(self.settings)

    @classmethod
    def for_app(cls, app) -> ServiceTokens:
        """The token cache of a Flask app's database, with the app's service settings."""
        return cls(app.extensions["db_engine"], ServiceSettings.from_config(app.config))

    def get(self, platform_id: int, scopes: Iterable[str], fresh: bool = False) -> str:
        """A token for these scopes on this platform: the cached one unless it is about to
        expire (or `fresh` asks for a new one, as the pre-flight check does to try the token
        endpoint now), else a new one. Raises ServiceFailure when the platform will not give
        one."""
        scope_set = scope_set_of(scopes)
        margin = timedelta(seconds=self.settings.token_expiry_margin)
        with Session(self.engine) as session:
            cached = session.scalar(
                select(LtiServiceToken).where(
                    LtiServiceToken.platform_id == platform_id,
                    LtiServiceToken.scope_set == scope_set,
                )
            )
            if not fresh and cached is not None and cached.expires_at - margin > utcnow():
                return cached.token
            platform = session.get(LtiPlatform, platform_id)
            if platform is None:
                raise ServiceFailure(Refused(f"no platform {platform_id}"))
            signing = keys.signing_key(session)
            token_url = platform.auth_token_url
            assertion = client_assertion(
                platform.client_id,
                platform.auth_audience or platform.auth_token_url,
                signing.private_pem,
                signing.kid,
            )
        asked_at = utcnow()
        token, lifetime = self._request(token_url, assertion, scope_set)
        expires_at = asked_at + timedelta(seconds=lifetime)
        self._store(platform_id, scope_set, token, expires_at)
        log.info(
            "service token for platform %s (%s) valid for %ds", platform_id, scope_set, lifetime
        )
        return token

    def discard(self, platform_id: int, scopes: Iterable[str], token: str) -> None:
        """Forget a token the platform refused. Only that token: another process may already
        have stored a newer one."""
        with Session(self.engine) as session:
            session.execute(
                delete(LtiServiceToken).where(
                    LtiServiceToken.platform_id == platform_id,
                    LtiServiceToken.scope_set == scope_set_of(scopes),
                    LtiServiceToken.token == token,
                )
            )
            session.commit()

    def _request(self, token_url: str, assertion: str, scope_set: str) -> tuple[str, float]:
        try:
            response = self.http.post(
                token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_assertion_type": ASSERTION_TYPE,
                    "client_assertion": assertion,
                    "scope": scope_set,
                },
                headers={"Accept": "application/json"},
                timeout=self.settings.timeout,
            )
        except requests.RequestException as error:
            raise ServiceFailure(classify_error(error)) from error
        outcome = classify(response)
        if not isinstance(outcome, Delivered):
            log.warning("token request refused by %s: %s", token_url, outcome)
            raise ServiceFailure(outcome)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise ServiceFailure(Refused("the token endpoint's answer has no access_token"))
        return token, self._lifetime(answer.get("expires_in"))

    def _lifetime(self, expires_in) -> float:
        try:
            lifetime = float(expires_in)
        except (TypeError, ValueError):
            return self.settings.default_token_lifetime
        return lifetime if lifetime > 0 else self.settings.default_token_lifetime

    def _store(self, platform_id: int, scope_set: str, token: str, expires_at: datetime) -> None:
        """Insert, or replace the row another process stored meanwhile (keeping whichever
        token lasts longer): ON CONFLICT, so a race never raises."""
        dialect = self.engine.dialect.name
        insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
        statement = insert(LtiServiceToken).values(
            platform_id=platform_id,
            scope_set=scope_set,
            token=token,
            expires_at=expires_at,
            fetched_at=utcnow(),
        )
        statement = statement.on_conflict_do_update(
            index_elements=[LtiServiceToken.platform_id, LtiServiceToken.scope_set],
            set_={
                "token": statement.excluded.token,
                "expires_at": statement.excluded.expires_at,
                "fetched_at": statement.excluded.fetched_at,
            },
            where=LtiServiceToken.expires_at < statement.excluded.expires_at,
        )
        with Session(self.engine) as session:
            session.execute(statement)
            session.commit()

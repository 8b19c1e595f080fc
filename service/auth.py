"""OAuth 2.0 client credentials (authlib's Flask server) and the scopes every API reuses.

POST /oauth/token issues bearer tokens to clients created with `assessment clients create`.
Clients belong to the awarding body or to one centre; only hashes of secrets and tokens are
stored. Views declare what they need with @require_scope("content:read").
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
import time
from datetime import timedelta
from functools import wraps

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector, current_token
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidScopeError
from authlib.oauth2.rfc6750 import BearerTokenValidator
from flask import Flask, current_app, g, jsonify, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_smorest import Api, abort
from sqlalchemy import select

from schemas.oauth import OAuthErrorSchema, TokenRateLimitedSchema, TokenRequestSchema, TokenSchema
from service import api_rate_limit, client_vocabulary, db
from service.api.blueprint import ServiceBlueprint
from service.client_secrets import hash_secret, verify_secret
from service.client_vocabulary import KIND_SCOPES, KIND_WORDS, ClientKind
from service.errors import rest_error
from service.models import Centre, OAuthClient, OAuthToken, utcnow

# One definition of the scopes and which kind of client may hold each (service/client_vocabulary).
SCOPES = client_vocabulary.SCOPES


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class _UnknownClient:
    """Stands in for a client id we do not know, so that the answer (status, body) and its cost
    (one secret check) are those of a wrong secret: the endpoint does not tell which ids exist."""

    _dummy_hash = hash_secret(secrets.token_urlsafe(32))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return True

    def check_client_secret(self, client_secret: str) -> bool:
        verify_secret(self._dummy_hash, client_secret)
        return False


def _query_client(client_id: str) -> OAuthClient | _UnknownClient:
    client = db.session().scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    return client if client is not None else _UnknownClient()


def _save_token(token: dict, request) -> None:
    session = db.session()
    now = utcnow()
    session.add(
        OAuthToken(
            token_hash=token_hash(token["access_token"]),
            client_id=request.client.id,
            scope=token.get("scope", ""),
            issued_at=now,
            expires_at=now + timedelta(seconds=token["expires_in"]),
        )
    )
    session.commit()


class _Validator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> OAuthToken | None:
        return db.session().scalar(
            select(OAuthToken).where(OAuthToken.token_hash == token_hash(token_string))
        )


class _Protector(ResourceProtector):
    def raise_error_response(self, error):
        # Our one error shape; 401 (no or bad token) and 403 (scope) stay distinct.
        headers = dict(error.get_headers())
        message = {
            "missing_authorization": "Send a bearer token from POST /oauth/token.",
            "invalid_token": "The bearer token is unknown, expired or revoked.",
            "insufficient_scope": "The token's scopes do not allow this.",
        }.get(error.error, error.description or error.error)
        abort(error.status_code, message=message, headers=headers)


class _ClientCredentials(grants.ClientCredentialsGrant):
    # RFC 6749 allows both; many centre integrations can only send the secret in the body.
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def validate_requested_scope(self):
        # RFC 6749 5.2: a scope the client does not hold is invalid_scope, not silently dropped
        # (a client would otherwise learn of it only from 403s later).
        asked = set((self.request.payload.scope or "").split())
        missing = asked - set(self.request.client.scopes.split())
        if missing:
            raise InvalidScopeError(
                description=f"The client does not hold: {' '.join(sorted(missing))}."
            )
        return super().validate_requested_scope()


authorization = AuthorizationServer()
protector = _Protector()
protector.register_token_validator(_Validator())

# A ServiceBlueprint documents what the service's own hooks answer before authlib runs (413,
# 503 in the API's error shape); the OAuth errors below keep RFC 6749's shape.
blp = ServiceBlueprint(
    "oauth",
    __name__,
    description="OAuth 2.0 client credentials (RFC 6749): bearer tokens for the API.",
)


# authlib's descriptions name the wrong cause for the two mistakes centres make most: a wrong
# secret reads as a wrong authentication method, and a JSON body as a wrong grant type.
TOKEN_ERROR_DESCRIPTIONS = {
    "invalid_client": "The client id is unknown or the secret is wrong. Send both by HTTP Basic "
    "auth, or as client_id and client_secret in the form.",
    "unsupported_grant_type": "Send grant_type=client_credentials in a form body "
    "(application/x-www-form-urlencoded); the token endpoint does not read JSON.",
}
TOKEN_ERROR_EXAMPLES = {
    status: {"error": error, "error_description": TOKEN_ERROR_DESCRIPTIONS[error]}
    for status, error in ((400, "unsupported_grant_type"), (401, "invalid_client"))
}


@blp.errorhandler(400)
def _malformed_token_request(error):
    """What the service's input guard refuses (NUL characters, bad JSON...) before authlib runs
    still answers in OAuth's shape here (RFC 6749 5.2 invalid_request), as documented."""
    data = getattr(error, "data", None) or {}
    description = data.get("message") or error.description or "Malformed request."
    return jsonify({"error": "invalid_request", "error_description": description}), 400


@blp.route("/oauth/token", methods=["POST"])
# Nothing in the schema can fail (all optional strings, unknown names ignored); were it to, the
# status is OAuth's 400, not the API's 422.
@blp.arguments(TokenRequestSchema, location="form", error_status_code=400)
@blp.response(200, TokenSchema)
@blp.alt_response(
    400,
    schema=OAuthErrorSchema,
    description="invalid_request, invalid_scope, unsupported_grant_type...",
    example=TOKEN_ERROR_EXAMPLES[400],
)
@blp.alt_response(
    401, schema=OAuthErrorSchema, description="invalid_client", example=TOKEN_ERROR_EXAMPLES[401]
)
@blp.alt_response(
    429,
    schema=TokenRateLimitedSchema,
    description="Too many requests for this client id or from this address; see Retry-After.",
    headers={"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
)
@blp.doc(security=[{"client_basic": []}, {}])
def issue_token(_form):
    """Issue a bearer token (client_credentials grant).

    Authenticate with HTTP Basic (client id and secret) or with client_id and client_secret in
    the form. Errors use OAuth's own shape (RFC 6749 5.2); an unknown client id and a wrong
    secret get the same 401 invalid_client."""
    # authlib reads the request itself; the form schema above documents and bounds it.
    response = authorization.create_token_response()
    body = response.get_json(silent=True) if response.status_code >= 400 else None
    error = (body or {}).get("error")
    unclear = error == "invalid_client" or (error == "unsupported_grant_type" and request.is_json)
    if unclear:
        body["error_description"] = TOKEN_ERROR_DESCRIPTIONS[error]
        response.set_data(json.dumps(body))
    return response


# Rate limits on the token endpoint --------------------------------------------------------------


def _client_id_of_request() -> str:
    if request.authorization and request.authorization.type == "basic":
        return request.authorization.username or ""
    return request.form.get("client_id", "")


def _remember_reset(limit) -> None:
    # flask-limiter calls this for each limit broken; Retry-After is the latest reset among them.
    g.oauth_retry_at = max(g.get("oauth_retry_at", 0), limit.reset_at)


def _too_many_requests(error: RateLimitExceeded):
    retry_after = max(1, math.ceil(g.get("oauth_retry_at", time.time() + 1) - time.time()))
    message = f"Too many token requests; retry after {retry_after} second(s)."
    response, status = rest_error(429, message)
    # OAuth client libraries read `error`; everything else reads the API's shape.
    body = response.get_json() | {"error": "rate_limited", "error_description": message}
    response = current_app.json.response(body)
    response.status_code = status
    response.headers["Retry-After"] = str(retry_after)
    return response


def _init_rate_limits(app: Flask) -> None:
    """One Limiter per app (tests make many apps; a module-level one would share its storage).
    Counts live in Redis when REDIS_URL is set, so every process and host shares them."""
    config = app.config
    limiter = Limiter(
        key_func=lambda: request.remote_addr or "",
        storage_uri=config.get("RATELIMIT_STORAGE_URI") or config["REDIS_URL"] or "memory://",
        key_prefix=config["RATELIMIT_KEY_PREFIX"],
        strategy="moving-window",
        on_breach=_remember_reset,
        # Redis down: answer without limits rather than refuse every token (wrong secrets are
        # cheap to check now); flask-limiter logs the error.
        swallow_errors=True,
    )
    limiter.init_app(app)
    # Per client id: also counts wrong secrets, so one client id cannot be brute-forced.
    limiter.limit(
        lambda: current_app.config["OAUTH_TOKEN_RATE_LIMIT"],
        key_func=lambda: "client:" + _client_id_of_request(),
        exempt_when=lambda: not _client_id_of_request(),
    )(blp)
    # Per address: covers a flood of made-up client ids.
    limiter.limit(
        lambda: current_app.config["OAUTH_TOKEN_ADDRESS_RATE_LIMIT"],
        key_func=lambda: "address:" + (request.remote_addr or ""),
    )(blp)
    app.extensions["oauth_token_limiter"] = limiter
    app.register_error_handler(RateLimitExceeded, _too_many_requests)


def require_scope(*scopes: str):
    """Decorator: a valid bearer token holding every one of `scopes`."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            try:
                token = protector.acquire_token([" ".join(scopes)] if scopes else None)
            except OAuth2Error as error:
                protector.raise_error_response(error)
            api_rate_limit.check(token.client)
            return view(*args, **kwargs)

        # Read by service.api.blueprint: 401, 403 and the security requirement are documented.
        wrapper.required_scopes = scopes
        return wrapper

    return decorate


def require_any_scope(*scopes: str):
    """Decorator: a valid bearer token holding at least one of `scopes` (document the
    alternatives with @blp.doc(security=[{"oauth2": [a]}, {"oauth2": [b]}]))."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            try:
                # authlib reads a list as alternatives: any one of them satisfied suffices.
                token = protector.acquire_token(list(scopes))
            except OAuth2Error as error:
                protector.raise_error_response(error)
            api_rate_limit.check(token.client)
            return view(*args, **kwargs)

        wrapper.required_scopes = scopes
        return wrapper

    return decorate


def caller_scopes() -> set[str]:
    """The scopes of the request's bearer token; none for a caller who sends no token. A token
    that is sent but unknown or expired is a 401, never read as an anonymous call."""
    if not request.headers.get("Authorization"):
        return set()
    try:
        token = protector.acquire_token(None)
    except OAuth2Error as error:
        protector.raise_error_response(error)
    # A caller who sends a token is counted against its client's limit (anonymous reads are
    # public content, cached).
    api_rate_limit.check(token.client)
    return set((token.scope or "").split())


def current_client() -> OAuthClient:
    return current_token.client


def init_app(app: Flask) -> None:
    app.config.setdefault(
        "OAUTH2_TOKEN_EXPIRES_IN", {"client_credentials": app.config["OAUTH_TOKEN_SECONDS"]}
    )
    authorization.init_app(app, query_client=_query_client, save_token=_save_token)
    authorization.register_grant(_ClientCredentials)
    _init_rate_limits(app)


def register_api(api: Api) -> None:
    """The token endpoint in the OpenAPI document, with its HTTP Basic client authentication."""
    api.spec.components.security_scheme(
        "client_basic",
        {"type": "http", "scheme": "basic", "description": "client_id:client_secret"},
    )
    api.register_blueprint(blp)


class ClientError(ValueError):
    """A client that cannot be made as asked (unknown scope, a scope its kind may not hold...)."""


def check_client(kind: ClientKind, scopes: list[str], centre: Centre | None) -> None:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ClientError(f"unknown scope(s): {', '.join(unknown)}")
    if (kind == ClientKind.CENTRE) != (centre is not None):
        raise ClientError("a centre's client names its centre; other kinds name none")
    refused = sorted(set(scopes) - KIND_SCOPES[kind])
    if refused:
        holders = [KIND_WORDS[k] for k in ClientKind if set(refused) <= KIND_SCOPES[k]]
        raise ClientError(
            f"{KIND_WORDS[kind]} may not hold {', '.join(refused)}"
            + (f" (for {' or '.join(holders)} only)" if holders else "")
        )


def new_client(
    session, name: str, scopes: list[str], centre: Centre | None, kind: ClientKind | None = None
) -> tuple[OAuthClient, str]:
    """Add a client to the session (the caller commits); return it with its secret, which is
    shown once and never stored. `kind` defaults to a centre's client when `centre` is given,
    else the awarding body's. ClientError when the kind may not hold the scopes."""
    kind = kind or (ClientKind.CENTRE if centre is not None else ClientKind.AWARDING_BODY)
    check_client(kind, scopes, centre)
    secret = secrets.token_urlsafe(32)
    # Hex, not url-safe base64: an id starting with "-" would read as an option in the CLI.
    client = OAuthClient(
        client_id=secrets.token_hex(16),
        secret_hash=hash_secret(secret),
        name=name,
        scopes=" ".join(sorted(set(scopes))),
        kind=kind,
        centre=centre,
    )
    session.add(client)
    session.flush()
    return client, secret


def create_client(
    session, name: str, scopes: list[str], centre: Centre | None, kind: ClientKind | None = None
):
    """new_client, committed (the secret is shown only once the client exists)."""
    client, secret = new_client(session, name, scopes, centre, kind)
    session.commit()
    return client, secret

"""OAuth 2.0 client credentials (authlib's Flask server) and the scopes every API reuses.

POST /oauth/token issues bearer tokens to clients created with `assessment clients create`.
Clients belong to the awarding body or to one centre; only hashes of secrets and tokens are
stored. Views declare what they need with @require_scope("content:read").
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from functools import wraps

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector, current_token
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from flask import Blueprint, Flask
from flask_smorest import abort
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from service import db
from service.models import Centre, OAuthClient, OAuthToken, utcnow

# What each scope allows. Content scopes (item keys) are for the awarding body's own clients.
SCOPES = {
    "content:read": "read items with their keys, accepted answers and feedback; QTI exports",
    "attempts:write": "start, answer, submit and mark attempts for the client's centre",
    "attempts:read": "read the client's centre's attempts and results",
    "reports:read": "read criterion coverage reports",
    "admin": "manage centres, LTI registrations and clients",
}
AWARDING_BODY_ONLY = {"content:read", "admin"}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _query_client(client_id: str) -> OAuthClient | None:
    return db.session().scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))


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


authorization = AuthorizationServer()
protector = _Protector()
protector.register_token_validator(_Validator())

blp = Blueprint("oauth", __name__)


@blp.post("/oauth/token")
def issue_token():
    """RFC 6749 token endpoint (client_credentials). Errors use OAuth's own shape."""
    return authorization.create_token_response()


def require_scope(*scopes: str):
    """Decorator: a valid bearer token holding every one of `scopes`."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            try:
                protector.acquire_token([" ".join(scopes)] if scopes else None)
            except OAuth2Error as error:
                protector.raise_error_response(error)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def current_client() -> OAuthClient:
    return current_token.client


def init_app(app: Flask) -> None:
    app.config.setdefault(
        "OAUTH2_TOKEN_EXPIRES_IN", {"client_credentials": app.config["OAUTH_TOKEN_SECONDS"]}
    )
    authorization.init_app(app, query_client=_query_client, save_token=_save_token)
    authorization.register_grant(_ClientCredentials)
    app.register_blueprint(blp)


def create_client(session, name: str, scopes: list[str], centre: Centre | None):
    """Create a client; return it with its secret, which is shown once and never stored."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(unknown)}")
    if centre is not None and AWARDING_BODY_ONLY & set(scopes):
        raise ValueError("content:read and admin are for the awarding body's clients only")
    secret = secrets.token_urlsafe(32)
    # Hex, not url-safe base64: an id starting with "-" would read as an option in the CLI.
    client = OAuthClient(
        client_id=secrets.token_hex(16),
        secret_hash=generate_password_hash(secret),
        name=name,
        scopes=" ".join(sorted(set(scopes))),
        centre=centre,
    )
    session.add(client)
    session.commit()
    return client, secret

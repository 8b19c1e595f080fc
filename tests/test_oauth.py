"""OAuth 2.0 client credentials: tokens, scopes, expiry, revocation, hashed storage."""

from __future__ import annotations

import base64
from datetime import timedelta

from sqlalchemy import select, update

from service import db
from service.auth import token_hash
from service.models import OAuthClient, OAuthToken
from tests.conftest import bearer, create_client

AUTHORING = "/api/v1/items/CSC-01-Q001/authoring"


def _token(client, client_id, secret, **extra):
    return client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            **extra,
        },
    )


def test_token_by_post_and_basic_auth(app, client):
    client_id, secret = create_client(app, ["content:read"])
    by_post = _token(client, client_id, secret)
    assert by_post.status_code == 200
    body = by_post.get_json()
    assert body["token_type"] == "Bearer" and body["scope"] == "content:read"
    assert body["expires_in"] == app.config["OAUTH_TOKEN_SECONDS"]
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    by_basic = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert by_basic.status_code == 200
    headers = {"Authorization": f"Bearer {by_basic.get_json()['access_token']}"}
    assert client.get(AUTHORING, headers=headers).status_code == 200


def test_wrong_secret_and_unknown_client_are_refused(app, client):
    client_id, _secret = create_client(app, ["content:read"])
    # RFC 6749 5.2: invalid_client is 400 or 401; it must be 401 with Basic auth.
    wrong = _token(client, client_id, "not-the-secret")
    assert wrong.status_code in (400, 401) and wrong.get_json()["error"] == "invalid_client"
    basic = base64.b64encode(f"{client_id}:wrong".encode()).decode()
    by_basic = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert by_basic.status_code == 401 and by_basic.get_json()["error"] == "invalid_client"
    refused = _token(client, "nobody", "x")
    assert refused.get_json()["error"] == "invalid_client"
    assert "access_token" not in refused.get_json()
    other_grant = client.post(
        "/oauth/token",
        data={"grant_type": "password", "client_id": client_id, "username": "u", "password": "p"},
    )
    assert other_grant.status_code == 400


def test_scope_is_limited_to_what_the_client_holds(app, client):
    client_id, secret = create_client(app, ["attempts:read"], centre_code="C-SCOPE")
    asked = _token(client, client_id, secret, scope="attempts:read content:read")
    assert asked.status_code == 200 and asked.get_json()["scope"] == "attempts:read"
    headers = {"Authorization": f"Bearer {asked.get_json()['access_token']}"}
    forbidden = client.get(AUTHORING, headers=headers)
    assert forbidden.status_code == 403
    assert forbidden.get_json()["code"] == "forbidden"


def test_missing_and_bad_tokens_are_401_in_the_error_shape(client):
    missing = client.get(AUTHORING)
    assert missing.status_code == 401
    assert missing.get_json()["status"] == 401 and missing.get_json()["message"]
    bad = client.get(AUTHORING, headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    assert "Bearer" in bad.headers.get("WWW-Authenticate", "")


def test_expired_and_revoked_tokens_stop_working(app, client):
    headers = bearer(app, ["content:read"])
    assert client.get(AUTHORING, headers=headers).status_code == 200
    raw = headers["Authorization"].split()[1]
    with app.app_context():
        session = db.session()
        token = session.scalar(select(OAuthToken).where(OAuthToken.token_hash == token_hash(raw)))
        session.execute(
            update(OAuthToken)
            .where(OAuthToken.id == token.id)
            .values(expires_at=token.issued_at - timedelta(seconds=1))
        )
        session.commit()
    assert client.get(AUTHORING, headers=headers).status_code == 401

    headers = bearer(app, ["content:read"])
    raw = headers["Authorization"].split()[1]
    with app.app_context():
        session = db.session()
        token = session.scalar(select(OAuthToken).where(OAuthToken.token_hash == token_hash(raw)))
        client_id = token.client.client_id
    result = app.test_cli_runner().invoke(args=["clients", "revoke", client_id])
    assert result.exit_code == 0
    assert client.get(AUTHORING, headers=headers).status_code == 401
    with app.app_context():
        secret_row = db.session().scalar(
            select(OAuthClient).where(OAuthClient.client_id == client_id)
        )
        assert secret_row.revoked_at is not None


def test_secrets_and_tokens_are_stored_only_as_hashes(app):
    client_id, secret = create_client(app, ["attempts:read"], centre_code="C-HASH")
    response = app.test_client().post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    token = response.get_json()["access_token"]
    with app.app_context():
        session = db.session()
        row = session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
        assert secret not in row.secret_hash
        stored = session.scalars(select(OAuthToken.token_hash)).all()
        assert token not in stored and token_hash(token) in stored


def test_cli_creates_lists_and_refuses_content_scope_for_a_centre(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["centres", "create", "C-CLI", "Cli College"]).exit_code == 0
    refused = runner.invoke(
        args=["clients", "create", "--name", "x", "--scope", "content:read", "--centre", "C-CLI"]
    )
    assert refused.exit_code != 0 and "awarding body" in refused.output
    unknown = runner.invoke(args=["clients", "create", "--name", "x", "--scope", "everything"])
    assert unknown.exit_code != 0 and "unknown scope" in unknown.output
    made = runner.invoke(
        args=[
            "clients",
            "create",
            "--name",
            "Cli MIS",
            "--scope",
            "attempts:write",
            "--centre",
            "C-CLI",
        ]
    )
    assert made.exit_code == 0
    client_id = made.output.split("client_id: ")[1].split()[0]
    secret = made.output.split("client_secret: ")[1].split()[0]
    listed = runner.invoke(args=["clients", "list"]).output
    assert client_id in listed and "C-CLI" in listed and secret not in listed

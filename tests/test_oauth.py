"""OAuth 2.0 client credentials: tokens, scopes, expiry, revocation, hashed storage."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta

import pytest
import redis
from sqlalchemy import select, update
from werkzeug.security import generate_password_hash

from service import create_app, db, migrations
from service.auth import token_hash
from service.models import OAuthClient, OAuthToken
from tests.conftest import bearer, create_client, isolated_database

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


def test_scope_the_client_does_not_hold_is_invalid_scope(app, client):
    client_id, secret = create_client(app, ["attempts:read"], centre_code="C-SCOPE")
    # RFC 6749 5.2: refused as invalid_scope, not silently narrowed.
    asked = _token(client, client_id, secret, scope="attempts:read content:read")
    assert asked.status_code == 400
    assert asked.get_json()["error"] == "invalid_scope"
    assert "content:read" in asked.get_json()["error_description"]
    assert "access_token" not in asked.get_json()
    held = _token(client, client_id, secret, scope="attempts:read")
    assert held.status_code == 200 and held.get_json()["scope"] == "attempts:read"
    headers = {"Authorization": f"Bearer {held.get_json()['access_token']}"}
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


def _basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def test_unknown_client_and_wrong_secret_get_the_same_answer(app, client):
    """Nothing tells a caller which client ids exist: same status, same body, similar time."""
    client_id, _secret = create_client(app, ["content:read"])
    by_post = [_token(client, client_id, "wrong"), _token(client, "no-such-client", "wrong")]
    by_basic = [
        client.post("/oauth/token", data={"grant_type": "client_credentials"}, headers=headers)
        for headers in (_basic(client_id, "wrong"), _basic("no-such-client", "wrong"))
    ]
    for wrong, unknown in (by_post, by_basic):
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.get_json() == unknown.get_json()
        assert wrong.get_json()["error"] == "invalid_client"

    # Timing: an unknown id is checked against a dummy hash, so both paths verify one secret
    # (counted, not timed: a timed test would be flaky on a loaded machine).
    from service import auth, models

    checks = []

    def counting(stored, secret):
        checks.append(stored)
        return verify(stored, secret)

    verify = models.verify_secret
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(models, "verify_secret", counting)
        patch.setattr(auth, "verify_secret", counting)
        _token(client, client_id, "wrong")
        assert len(checks) == 1
        _token(client, "no-such-client", "wrong")
        assert len(checks) == 2 and checks[0] != checks[1]


def test_legacy_scrypt_secret_still_works_and_is_rehashed(app, client):
    client_id, secret = create_client(app, ["content:read"])
    with app.app_context():
        session = db.session()
        row = session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
        row.secret_hash = generate_password_hash(secret)  # as stored before the change
        session.commit()
    assert _token(client, client_id, "wrong").status_code == 401
    assert _token(client, client_id, secret).status_code == 200
    with app.app_context():
        stored = db.session().scalar(
            select(OAuthClient.secret_hash).where(OAuthClient.client_id == client_id)
        )
    assert stored.startswith("sha256$") and secret not in stored
    assert _token(client, client_id, secret).status_code == 200
    assert _token(client, client_id, "wrong").status_code == 401


@pytest.fixture()
def limited(tmp_path):
    """make_limited(**config): apps on one migrated database (no content needed) with the
    token-endpoint limits the test sets."""
    apps = []
    with isolated_database(tmp_path) as url:
        migrations.upgrade(url)

        def make_limited(**config):
            application = create_app({"TESTING": True, "DATABASE_URL": url, **config})
            apps.append(application)
            return application

        yield make_limited
        for application in apps:
            application.extensions["db_engine"].dispose()


def _assert_429(response):
    assert response.status_code == 429
    # A one-minute window; flask-limiter's reset time is whole seconds, rounded up here.
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    body = response.get_json()
    assert body["status"] == 429 and body["code"] == "too_many_requests" and body["message"]
    assert body["error"] == "rate_limited"
    assert "access_token" not in body


def test_per_client_limit_answers_429_with_retry_after(limited):
    app = limited(OAUTH_TOKEN_RATE_LIMIT="3/minute", OAUTH_TOKEN_ADDRESS_RATE_LIMIT="100/minute")
    client = app.test_client()
    client_id, secret = create_client(app, ["content:read"])
    other_id, other_secret = create_client(app, ["content:read"])
    for _ in range(2):
        assert _token(client, client_id, "wrong").status_code == 401
    assert _token(client, client_id, secret).status_code == 200
    # Wrong secrets count: the fourth request of this client id is refused, right secret or not.
    _assert_429(_token(client, client_id, secret))
    _assert_429(
        client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers=_basic(client_id, secret),
        )
    )
    # Another client id from the same address is not held back.
    assert _token(client, other_id, other_secret).status_code == 200


def test_per_address_limit_covers_made_up_client_ids(limited):
    app = limited(OAUTH_TOKEN_RATE_LIMIT="100/minute", OAUTH_TOKEN_ADDRESS_RATE_LIMIT="3/minute")
    client = app.test_client()
    attacker = {"REMOTE_ADDR": "192.0.2.10"}
    for n in range(3):
        response = client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": f"guess-{n}",
                "client_secret": "x",
            },
            environ_base=attacker,
        )
        assert response.status_code == 401
    _assert_429(
        client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": "guess-9", "client_secret": "x"},
            environ_base=attacker,
        )
    )
    # A centre at another address still gets its token.
    client_id, secret = create_client(app, ["content:read"])
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert response.status_code == 200


def test_limits_are_shared_by_two_apps_through_redis(limited):
    redis_url = "redis://127.0.0.1:6379/15"
    try:
        store = redis.Redis.from_url(redis_url)
        store.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"test-ratelimit-{uuid.uuid4().hex}"
    config = {
        "REDIS_URL": redis_url,
        "RATELIMIT_KEY_PREFIX": prefix,
        "CACHE_KEY_PREFIX": f"{prefix}-cache:",
        "OAUTH_TOKEN_RATE_LIMIT": "3/minute",
        "OAUTH_TOKEN_ADDRESS_RATE_LIMIT": "100/minute",
    }
    # Two apps stand for two gunicorn workers (or hosts) behind a load balancer.
    first, second = limited(**config), limited(**config)
    client_id, secret = create_client(first, ["content:read"])
    assert _token(first.test_client(), client_id, secret).status_code == 200
    assert _token(second.test_client(), client_id, secret).status_code == 200
    assert _token(first.test_client(), client_id, "wrong").status_code == 401
    _assert_429(_token(second.test_client(), client_id, secret))
    _assert_429(_token(first.test_client(), client_id, secret))
    assert store.keys(f"*{prefix}*"), "the counts are in Redis under the test's prefix"
    store.delete(*store.keys(f"*{prefix}*"))


def test_token_endpoint_is_in_the_openapi_document(client):
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"]["/oauth/token"]["post"]
    body = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    form = spec["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert {"grant_type", "client_id", "client_secret", "scope"} <= set(form["properties"])
    assert {"client_basic": []} in operation["security"]
    assert spec["components"]["securitySchemes"]["client_basic"]["scheme"] == "basic"

    def schema_of(status):
        ref = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]

    assert {"access_token", "token_type", "expires_in", "scope"} <= set(
        schema_of("200")["properties"]
    )
    for status in ("400", "401", "429"):
        assert {"error", "error_description"} <= set(schema_of(status)["properties"])
    assert "Retry-After" in operation["responses"]["429"]["headers"]
    assert "422" not in operation["responses"]


def test_a_malformed_token_request_is_an_oauth_invalid_request(client):
    """The input guard's refusal on the token endpoint keeps RFC 6749's error shape (schemathesis
    found the API's shape there, which the document does not describe)."""
    response = client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": "a\x00b"}
    )
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_request" and "NUL" in body["error_description"]
    assert set(body) == {"error", "error_description"}


def test_token_errors_name_the_real_cause(client):
    """A wrong secret says so (not "cannot authenticate with methods"), and a JSON body is
    told to be a form (not that client_credentials is an unsupported grant type)."""
    wrong = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"},
    )
    assert wrong.status_code == 401
    assert "secret is wrong" in wrong.get_json()["error_description"]
    as_json = client.post(
        "/oauth/token",
        json={"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"},
    )
    assert as_json.status_code == 400
    assert as_json.get_json()["error"] == "unsupported_grant_type"
    assert "form body" in as_json.get_json()["error_description"]

"""Per-client rate limits on the API: a client over API_RATE_LIMIT gets 429 in the API's
error shape with Retry-After; other clients are not held back; the counts are shared through
Redis by every process."""

from __future__ import annotations

import uuid

import pytest
import redis

from tests.conftest import bearer
from tests.test_oauth import limited  # noqa: F401 - the fixture

URL = "/api/v1/performance-evidence"
QUERY = {"learner_ref": "rate-learner"}


def _assert_429(response):
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    body = response.get_json()
    assert body["status"] == 429 and body["code"] == "too_many_requests"
    assert "Try again" in body["message"]


def test_a_client_over_its_limit_gets_429_and_others_go_on(limited):  # noqa: F811
    app = limited(API_RATE_LIMIT="3/minute", OAUTH_TOKEN_RATE_LIMIT="100/minute")
    client = app.test_client()
    busy = bearer(app, ["results:read"], centre_code="RL-A")
    other = bearer(app, ["results:read"], centre_code="RL-A")
    for _ in range(3):
        assert client.get(URL, query_string=QUERY, headers=busy).status_code == 200
    _assert_429(client.get(URL, query_string=QUERY, headers=busy))
    # Counted per client, not per address: another client from the same address goes on.
    assert client.get(URL, query_string=QUERY, headers=other).status_code == 200


def test_unauthenticated_calls_are_refused_before_they_count(limited):  # noqa: F811
    app = limited(API_RATE_LIMIT="1/minute", OAUTH_TOKEN_RATE_LIMIT="100/minute")
    client = app.test_client()
    headers = bearer(app, ["results:read"], centre_code="RL-B")
    for _ in range(3):
        assert client.get(URL, query_string=QUERY).status_code == 401
    assert client.get(URL, query_string=QUERY, headers=headers).status_code == 200
    _assert_429(client.get(URL, query_string=QUERY, headers=headers))


def test_the_limit_is_shared_by_two_apps_through_redis(limited):  # noqa: F811
    redis_url = "redis://127.0.0.1:6379/15"
    try:
        store = redis.Redis.from_url(redis_url)
        store.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"test-api-ratelimit-{uuid.uuid4().hex}"
    config = {
        "REDIS_URL": redis_url,
        "RATELIMIT_KEY_PREFIX": prefix,
        "CACHE_KEY_PREFIX": f"{prefix}-cache:",
        "API_RATE_LIMIT": "2/minute",
        "OAUTH_TOKEN_RATE_LIMIT": "100/minute",
    }
    first, second = limited(**config), limited(**config)
    headers = bearer(first, ["results:read"], centre_code="RL-C")
    assert first.test_client().get(URL, query_string=QUERY, headers=headers).status_code == 200
    assert second.test_client().get(URL, query_string=QUERY, headers=headers).status_code == 200
    _assert_429(first.test_client().get(URL, query_string=QUERY, headers=headers))
    assert store.keys(f"*{prefix}*")
    store.delete(*store.keys(f"*{prefix}*"))


def test_public_operations_count_a_caller_who_sends_a_token(limited):  # noqa: F811
    app = limited(API_RATE_LIMIT="2/minute", OAUTH_TOKEN_RATE_LIMIT="100/minute")
    client = app.test_client()
    content = bearer(app, ["content:read"])
    for _ in range(2):
        assert client.get("/api/v1/items", headers=content).status_code == 200
    _assert_429(client.get("/api/v1/items", headers=content))
    # Anonymous readers of public content are not held back by a client's limit.
    assert client.get("/api/v1/items").status_code == 200

"""The content response cache: hits still answer If-None-Match, and a content load clears it."""

from __future__ import annotations

import json
import shutil
import uuid

import pytest
import redis
import yaml

from service import db
from service.content_loader import load_content
from tests.conftest import CONTENT_DIR, loaded_database, make_app


def _edit_first_criterion(content_dir, text):
    path = content_dir / "units" / "CSC-01.yaml"
    unit = yaml.safe_load(path.read_text(encoding="utf-8"))
    unit["learning_outcomes"][0]["criteria"][0]["text"] = text
    path.write_text(yaml.safe_dump(unit, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _redis_available() -> bool:
    try:
        return redis.Redis.from_url("redis://127.0.0.1:6379/15").ping()
    except redis.RedisError:
        return False


@pytest.mark.parametrize("backend", ["process", "redis"])
def test_content_load_clears_the_cache(tmp_path, backend):
    if backend == "redis" and not _redis_available():
        pytest.skip("no Redis on 127.0.0.1:6379")
    config = {}
    if backend == "redis":
        config = {
            "REDIS_URL": "redis://127.0.0.1:6379/15",
            "CACHE_KEY_PREFIX": f"test-{uuid.uuid4().hex}:",
        }
    content_dir = tmp_path / "criteria_data"
    shutil.copytree(CONTENT_DIR, content_dir)
    with loaded_database(tmp_path) as url:
        app = make_app(url, content_dir, loaded=True, **config)
        # A second app on the same database and cache stands for another gunicorn worker.
        other = make_app(url, content_dir, **config)
        url_path = "/api/v1/criteria/CSC-01.AC1"
        before = app.test_client().get(url_path).get_json()
        etag = app.test_client().get(url_path).headers["ETag"]
        cached = app.test_client().get(url_path, headers={"If-None-Match": etag})
        assert cached.status_code == 304

        _edit_first_criterion(content_dir, "The learner can name two procedures and their purpose.")
        with app.app_context():
            assert load_content(db.session(), content_dir).changed
            db.session().commit()
        # Loaded behind the cache's back: the cached page is still served.
        assert app.test_client().get(url_path).get_json()["version"] == before["version"]
        assert other.test_client().get(url_path).status_code == 200

        result = app.test_cli_runner().invoke(args=["content", "load"])
        assert result.exit_code == 0, result.output

        after = app.test_client().get(url_path).get_json()
        assert after["version"] == before["version"] + 1
        if backend == "redis":
            # The shared cache was cleared for every process, not only the one that loaded.
            assert other.test_client().get(url_path).get_json()["version"] == 2
        for application in (app, other):
            application.extensions["db_engine"].dispose()


class _Planted:
    """What an attacker with write access to Redis would store: unpickling it runs a command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_planted_in_redis_is_not_unpickled(tmp_path):
    if not _redis_available():
        pytest.skip("no Redis on 127.0.0.1:6379")
    import pickle

    prefix = f"test-{uuid.uuid4().hex}:"
    config = {"REDIS_URL": "redis://127.0.0.1:6379/15", "CACHE_KEY_PREFIX": prefix}
    store = redis.Redis.from_url(config["REDIS_URL"])
    with loaded_database(tmp_path) as url:
        app = make_app(url, CONTENT_DIR, loaded=True, **config)
        url_path = "/api/v1/criteria/CSC-01.AC1"
        expected = app.test_client().get(url_path).get_json()
        keys = store.keys(prefix + "*")
        assert keys, "the response was cached in Redis"
        # What is stored is JSON text, not a pickle.
        for key in keys:
            value = store.get(key)
            assert not value.startswith(b"!") and json.loads(value)
        marker = tmp_path / "pwned"
        for key in keys:
            # cachelib's own format for a pickled value: "!" + pickle.
            store.set(key, b"!" + pickle.dumps(_Planted(marker)))
        response = app.test_client().get(url_path)
        assert not marker.exists(), "the planted pickle was unpickled"
        # Treated as a miss: the real answer, which then replaces the planted value.
        assert response.status_code == 200 and response.get_json() == expected
        assert all(json.loads(store.get(key)) for key in keys)
        store.delete(*store.keys(prefix + "*"))
        app.extensions["db_engine"].dispose()


@pytest.mark.parametrize("backend", ["process", "redis"])
def test_a_matching_if_none_match_is_answered_before_the_body_is_built(
    tmp_path, monkeypatch, backend
):
    from service import cache, catalogue

    if backend == "redis" and not _redis_available():
        pytest.skip("no Redis on 127.0.0.1:6379")
    config = {}
    if backend == "redis":
        config = {
            "REDIS_URL": "redis://127.0.0.1:6379/15",
            "CACHE_KEY_PREFIX": f"test-{uuid.uuid4().hex}:",
        }
    with loaded_database(tmp_path) as url:
        application = make_app(url, loaded=True, **config)
        client = application.test_client()
        path = "/api/v1/units/CSC-01/criteria"
        first = client.get(path)
        assert first.status_code == 200
        etag = first.headers["ETag"]

        def built(*_args, **_kwargs):
            raise AssertionError("the body was built for a matching If-None-Match")

        with monkeypatch.context() as patched:
            # Neither the view's query nor the cached body is touched.
            patched.setattr(catalogue, "list_criteria", built)
            patched.setattr(cache, "_from_entry", built)
            answer = client.get(path, headers={"If-None-Match": f'"other", {etag}'})
            assert answer.status_code == 304
            assert answer.headers["ETag"] == etag
            assert answer.headers["Cache-Control"].startswith("public")
            assert answer.data == b""
        # Another ETag gets the page (from the cache).
        stale = client.get(path, headers={"If-None-Match": '"stale"'})
        assert stale.status_code == 200
        assert stale.get_json() == first.get_json()
        application.extensions["db_engine"].dispose()

"""Response cache for the content routes (units, criteria, CASE).

Content changes only when the awarding body loads new files, so responses are cached whole.
With REDIS_URL set the cache is Redis, shared by every process, and `assessment content load`
clears it; without, each process keeps its own and entries expire after CONTENT_CACHE_SECONDS.

What goes into the cache is plain JSON (status, headers, body text), never a pickled object:
cachelib's Redis serializer pickles, and anyone who can write to Redis could then run code in
every web worker that reads the key. Here a value that is not our JSON is a miss.
"""

from __future__ import annotations

import hashlib
import json
from functools import wraps
from typing import Any

from flask import Flask, Response, current_app, request
from flask_caching import Cache
from flask_caching.backends.rediscache import RedisCache

cache = Cache()

# Bumped when the cached entry's shape changes; entries of another shape are misses.
ENTRY_VERSION = 1


class JsonRedisSerializer:
    """cachelib serializer that reads and writes JSON only (never pickle)."""

    def dumps(self, value: Any, protocol: int | None = None) -> bytes:
        # Integers stay plain ASCII, as cachelib's inc/dec (INCRBY) expect; JSON agrees.
        return json.dumps(value, separators=(",", ":")).encode("utf-8")

    def loads(self, value: bytes | None) -> Any:
        if value is None:
            return None
        try:
            return json.loads(value)
        except ValueError:  # includes UnicodeDecodeError: a pickle, or anything else foreign
            return None


class JsonRedisCache(RedisCache):
    """Flask-Caching's RedisCache with the JSON serializer (CACHE_TYPE names this class)."""

    serializer = JsonRedisSerializer()


def init_app(app: Flask) -> None:
    redis_url = app.config.get("REDIS_URL")
    defaults = {
        "CACHE_TYPE": "service.cache.JsonRedisCache" if redis_url else "SimpleCache",
        "CACHE_REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": "assessment:content:",
        "CACHE_DEFAULT_TIMEOUT": app.config["CONTENT_CACHE_SECONDS"],
    }
    for key, value in defaults.items():
        app.config.setdefault(key, value)
    cache.init_app(app)


def _key() -> str:
    # Scheme and host are part of the key: CASE answers carry absolute URIs built from them.
    raw = f"{request.host_url}{request.path}?{sorted(request.args.items(multi=True))}"
    return "view:" + hashlib.sha256(raw.encode()).hexdigest()


def _to_entry(response: Response) -> dict:
    return {
        "v": ENTRY_VERSION,
        "body": response.get_data(as_text=True),
        "mimetype": response.mimetype,
        "headers": [[name, value] for name, value in response.headers if name != "Content-Length"],
    }


def _from_entry(entry: Any) -> Response | None:
    if not (isinstance(entry, dict) and entry.get("v") == ENTRY_VERSION):
        return None
    try:
        response = Response(entry["body"], status=200, mimetype=entry["mimetype"])
        response.headers.clear()
        for name, value in entry["headers"]:
            response.headers.add(str(name), str(value))
    except (KeyError, TypeError, ValueError):
        return None
    return response


def _get(key: str) -> Response | None:
    try:
        return _from_entry(cache.get(key))
    except Exception:
        # A cache that is down is a miss, never an error page.
        current_app.logger.exception("content cache read failed")
        return None


def _set(key: str, response: Response) -> None:
    try:
        cache.set(key, _to_entry(response))
        etag = response.get_etag()[0]
        if etag:
            # Beside the entry, on its own: a revalidation reads this short string only.
            cache.set(_etag_key(key), etag)
    except Exception:
        current_app.logger.exception("content cache write failed")


def _etag_key(key: str) -> str:
    return "etag:" + key


def _not_modified(key: str) -> Response | None:
    """304 if the request's If-None-Match holds the cached page's ETag, read before anything
    of the body is (neither the view nor the cached entry): a client revalidating its copy
    costs one small cache read. None otherwise."""
    if not request.if_none_match:
        return None
    try:
        etag = cache.get(_etag_key(key))
    except Exception:
        current_app.logger.exception("content cache read failed")
        return None
    if not isinstance(etag, str) or not request.if_none_match.contains_weak(etag):
        return None
    response = Response(status=304)
    response.set_etag(etag)
    return response


def content_cached(view):
    """Decorate a view with this directly under @blp.route. Only 200s are kept.

    The value crosses the cache boundary as JSON: body text and headers (ETag included, so
    request_log can still answer If-None-Match with 304 on a hit). A matching If-None-Match
    is answered 304 from the cached ETag alone, before the body is built or read."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = _key()
        not_modified = _not_modified(key)
        if not_modified is not None:
            return not_modified
        hit = _get(key)
        if hit is not None:
            return hit
        response = current_app.make_response(view(*args, **kwargs))
        if response.status_code == 200 and not response.is_streamed:
            _set(key, response)
        return response

    return wrapper


def clear() -> None:
    cache.clear()

"""Response cache for the content routes (units, criteria, CASE).

Content changes only when the awarding body loads new files, so responses are cached whole.
With REDIS_URL set the cache is Redis, shared by every process, and `assessment content load`
clears it; without, each process keeps its own and entries expire after CONTENT_CACHE_SECONDS.
"""

from __future__ import annotations

import hashlib

from flask import Flask, request
from flask_caching import Cache

cache = Cache()


def init_app(app: Flask) -> None:
    redis_url = app.config.get("REDIS_URL")
    defaults = {
        "CACHE_TYPE": "RedisCache" if redis_url else "SimpleCache",
        "CACHE_REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": "assessment:content:",
        "CACHE_DEFAULT_TIMEOUT": app.config["CONTENT_CACHE_SECONDS"],
    }
    for key, value in defaults.items():
        app.config.setdefault(key, value)
    cache.init_app(app)


def _key(*_args, **_kwargs) -> str:
    # Scheme and host are part of the key: CASE answers carry absolute URIs built from them.
    raw = f"{request.host_url}{request.path}?{sorted(request.args.items(multi=True))}"
    return "view:" + hashlib.sha256(raw.encode()).hexdigest()


def _only_successes(response) -> bool:
    return response.status_code == 200


# Decorate a view with this directly under @blp.route.
content_cached = cache.cached(make_cache_key=_key, response_filter=_only_successes)


def clear() -> None:
    cache.clear()

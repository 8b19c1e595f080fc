"""Per-client rate limits on the API (every operation behind @require_scope).

Counted per OAuth client (not per address: a centre's MIS and a college's whole network may
share one address, and one client must not starve the others), with the limit API_RATE_LIMIT
("600/minute", or several: "600/minute;10000/hour"), in the storage of the token endpoint's
flask-limiter (Redis when REDIS_URL is set, so every process and host shares the counts). Over
the limit: 429 in the API's error shape with Retry-After, as documented on every operation by
ServiceBlueprint. Storage down: the request goes through (as for the token endpoint).
"""

from __future__ import annotations

import logging
import math
import time

from flask import current_app, g
from flask_smorest import abort
from limits import parse_many

log = logging.getLogger(__name__)


def check(client) -> None:
    """Count one request of `client` (once, however often a request asks); 429 when it is over
    any of its limits."""
    if g.get("api_rate_counted"):
        return
    g.api_rate_counted = True
    config = current_app.config
    spec = config.get("API_RATE_LIMIT")
    if not spec:
        return
    strategy = current_app.extensions["oauth_token_limiter"].limiter
    key = f"{config['RATELIMIT_KEY_PREFIX']}:api-client:{client.client_id}"
    broken = []
    try:
        for item in parse_many(spec):
            if not strategy.hit(item, key):
                broken.append(strategy.get_window_stats(item, key).reset_time)
    except Exception:  # noqa: BLE001 - the storage's own errors (Redis down) vary by backend
        log.exception("rate limit storage unavailable; request allowed")
        return
    if broken:
        retry_after = max(1, math.ceil(max(broken) - time.time()))
        abort(
            429,
            message=f"Too many requests. Try again in {retry_after} seconds.",
            headers={"Retry-After": str(retry_after)},
        )

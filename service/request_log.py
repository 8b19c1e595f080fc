"""One structured log line per request, with a request id. Paths only: query strings and bodies
can carry personal data (LTI login hints, names), so they are never logged."""

from __future__ import annotations

import json
import logging
import time
import uuid

from flask import Flask, g, request

log = logging.getLogger("service.request")


def init_app(app: Flask) -> None:
    logging.basicConfig(level=app.config["LOG_LEVEL"], format="%(message)s")

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        # Accept a proxy's id only if it looks like one; never echo arbitrary input into logs.
        g.request_id = incoming if incoming.isalnum() and len(incoming) <= 64 else uuid.uuid4().hex

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        _set_cache_control(app, response)
        # Cached responses skip the view (and flask-smorest's If-None-Match check): answer 304 here.
        if request.method == "GET" and response.status_code == 200 and response.get_etag()[0]:
            response.make_conditional(request)
        if log.isEnabledFor(logging.INFO):
            elapsed_ms = (
                time.perf_counter() - g.get("request_started", time.perf_counter())
            ) * 1000
            log.info(
                json.dumps(
                    {
                        "request_id": g.get("request_id"),
                        "method": request.method,
                        "path": request.path,
                        "status": response.status_code,
                        "ms": round(elapsed_ms, 2),
                    }
                )
            )
        return response


def _set_cache_control(app: Flask, response) -> None:
    """Public content may be cached; anything asked for with credentials never is."""
    if "Authorization" in request.headers or request.method != "GET":
        response.headers.setdefault("Cache-Control", "no-store")
        return
    is_content = request.path.startswith(("/api/v1/", "/ims/case/"))
    if is_content and response.status_code in (200, 304):
        response.headers.setdefault(
            "Cache-Control", f"public, max-age={app.config['API_CACHE_MAX_AGE']}"
        )

"""Which host names the service answers to, and the development platform's database rule.

A forged Host (or X-Forwarded-Host behind a trusted proxy) must not change the URLs the tool
generates (redirect_uri, /lti/config, what the development platform registers): Flask checks
the host against app.config["TRUSTED_HOSTS"] and werkzeug answers 400 for any other.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask

log = logging.getLogger(__name__)

# Local health checks (the Dockerfile's HEALTHCHECK) and development. Harmless when
# PUBLIC_BASE_URL is set, as absolute URLs then never come from the request's host.
LOCAL_HOSTS = ["localhost", "127.0.0.1"]


def trusted_hosts(config) -> list[str]:
    configured = config.get("TRUSTED_HOSTS")
    if isinstance(configured, str):
        configured = [h.strip().lower() for h in configured.split(",") if h.strip()]
    if configured:
        return list(configured)
    hosts = list(LOCAL_HOSTS)
    public = urlsplit(config.get("PUBLIC_BASE_URL") or "").hostname
    if public and public not in hosts:
        hosts.insert(0, public)
    return hosts


def init_app(app: Flask) -> None:
    app.config["TRUSTED_HOSTS"] = trusted_hosts(app.config)
    if app.config["TRUSTED_HOSTS"] == LOCAL_HOSTS and not app.config["DEV_PLATFORM"]:
        log.warning(
            "neither PUBLIC_BASE_URL nor TRUSTED_HOSTS is set: only requests for localhost "
            "and 127.0.0.1 are answered"
        )
    database = app.config["DATABASE_URL"]
    # Tests (TESTING) run the development platform on PostgreSQL too; a deployment never does.
    if app.config["DEV_PLATFORM"] and not database.startswith("sqlite") and not app.testing:
        log.error("DEV_PLATFORM is only for the embedded SQLite default: switched off")
        app.config["DEV_PLATFORM"] = False

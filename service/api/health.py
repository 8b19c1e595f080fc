"""The landing page, and liveness and readiness probes."""

from flask import Blueprint, current_app, render_template
from sqlalchemy import text

from service import db

blp = Blueprint("health", __name__)


@blp.get("/")
def home():
    """Where a newcomer lands after the README's run command."""
    return render_template("home.html", dev_platform=current_app.config["DEV_PLATFORM"])


@blp.get("/healthz")
def healthz():
    return {"status": "ok"}


@blp.get("/readyz")
def readyz():
    try:
        with db.engine().connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure to reach the database means "not ready"
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}

"""Keeping an assessor's launch alive (finding S1 of the November 2026 accessibility review).

A staff launch slides with activity (lti.pages.current_session extends it on every request).
When an assessor leaves a page open, its pages warn WARN_BEFORE its end (shown by the server
when the page loads late, and by session.js on a page left open) with a "Continue" button:
a plain form POST to /lti/session/renew, which extends the launch and rotates its token, then
returns to the page (session.js does the same without reloading, so choices not yet saved
stay on the page). Marks posted after the end are kept as a draft (lti/marking_drafts.py).
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, g, jsonify, redirect, request, url_for

from lti import sessions
from lti.pages import LOCAL_TIME_NAME, _clock, _wants_json, blp, current_session
from service import db
from service.models import utcnow

SAFE_RETURN = ("/lti/assessor", "/lti/deep-link", "/lti/review")


def _return_to(path: str | None) -> str:
    """Where the renewal returns: a page of the assessor's own (never another site)."""
    if path and path.startswith(SAFE_RETURN) and "//" not in path and "\\" not in path:
        return path.split("?", 1)[0]
    return url_for(".assessor")


def _this_page() -> str:
    """The page to come back to after renewing: this one (a form's own page for a POST)."""
    if request.method == "GET":
        return request.path
    attempt = request.form.get("attempt")
    if attempt and request.path.startswith("/lti/assessor"):
        return url_for(".assessor_attempt", attempt_uuid=attempt)
    return url_for(".assessor")


def _with_query(path: str, query: dict) -> str:
    return f"{path}?{urlencode(query)}" if query and request.method == "GET" else path


@blp.context_processor
def staff_session_context() -> dict:
    """What the staff pages' session warning needs (nothing on learners' pages)."""
    row = g.get("lti_session")
    if row is None or row.role != "staff":
        return {}
    left = max(0, int((row.expires_at - utcnow()).total_seconds()))
    warn = int(sessions.WARN_BEFORE.total_seconds())
    query = {k: v for k, v in request.args.items() if k != "ls"}
    return {
        "staff_session": {
            "seconds_left": left,
            "warn_seconds": warn,
            "warn_now": left <= warn,
            "ends": _clock(row.expires_at),
            "zone": LOCAL_TIME_NAME,
            "ls": request.values.get("ls", ""),
            "next": _with_query(_this_page(), query),
        }
    }


@blp.post("/session/renew")
def session_renew():
    row = current_session("staff")
    token = request.form.get("ls", "")
    session = db.session()
    fresh = sessions.renew(session, row, token, current_app.config)
    session.commit()
    ends = _clock(row.expires_at)
    if _wants_json():
        left = int((row.expires_at - utcnow()).total_seconds())
        return jsonify({"ls": fresh, "ends": ends, "seconds_left": left})
    target = _return_to(request.form.get("next"))
    query = request.form.get("next", "").partition("?")[2]
    params = [p for p in query.split("&") if p and not p.startswith("ls=")]
    params += [urlencode({"ls": fresh, "renewed": "1"})]
    return redirect(f"{target}?{'&'.join(params)}", code=303)

"""One JSON error shape for the REST API, and CASE's imsx_StatusInfo under /ims/case/."""

from __future__ import annotations

import logging
import uuid
from http import HTTPStatus

import psycopg
from flask import Flask, Response, jsonify, render_template, request
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

CASE_PREFIX = "/ims/case/"
BROWSER_PAGES = ("/lti/", "/dev-platform/")

# CASE's codeMinor vocabulary for the statuses we answer with.
CASE_CODE_MINOR = {
    400: "invalid_selection_field",
    401: "unauthorisedrequest",
    403: "forbidden",
    404: "unknownobject",
    422: "invalid_selection_field",
    429: "server_busy",
    503: "server_busy",
}

# The database cannot be reached (down, restarting, failing over, pool exhausted): a 503 the
# caller may retry, never a 500. Errors in what we asked of it (DataError, IntegrityError...)
# are not here: those are bugs to fix at the boundary.
DATABASE_UNAVAILABLE = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)
RETRY_AFTER_SECONDS = 30
UNAVAILABLE_MESSAGE = "The service cannot reach its database just now. Try again shortly."


def error_code(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def _details(error: HTTPException) -> dict:
    """Views pass abort(..., errors={field: [...]}); webargs puts its messages in
    error.data["messages"] keyed by location, which are flattened."""
    data = getattr(error, "data", None) or {}
    if data.get("errors"):
        return dict(data["errors"])
    messages = data.get("messages") or {}
    details: dict = {}
    for location_messages in messages.values():
        if isinstance(location_messages, dict):
            details.update(location_messages)
    return details


def _message(error: HTTPException, details: dict) -> str:
    message = (getattr(error, "data", None) or {}).get("message")
    if message:
        return message
    if details:
        return "Invalid parameter(s): " + ", ".join(sorted(details))
    return error.description or HTTPStatus(error.code).phrase


def rest_error_body(
    status: int, message: str, details: dict | None = None, reference: str = ""
) -> dict:
    """The REST error shape (also the examples of the OpenAPI document's error responses)."""
    body = {"status": status, "code": error_code(status), "message": message}
    if details:
        body["details"] = details
    if reference:
        body["reference"] = reference
    return body


def rest_error(status: int, message: str, details: dict | None = None, reference: str = ""):
    return jsonify(rest_error_body(status, message, details, reference)), status


def case_error_body(status: int, description: str, code_minor: str | None = None) -> dict:
    """CASE's imsx_StatusInfo (also the examples of the CASE error responses)."""
    minor = code_minor or CASE_CODE_MINOR.get(status, "internal_server_error")
    return {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": description,
        "imsx_codeMinor": {
            "imsx_codeMinorField": [
                {"imsx_codeMinorFieldName": "TargetEndSystem", "imsx_codeMinorFieldValue": minor}
            ]
        },
    }


def case_error(status: int, description: str, code_minor: str | None = None):
    return jsonify(case_error_body(status, description, code_minor)), status


# Where a browser gets an error page rather than JSON: the tool's pages, and any address a
# browser asks for as a page that is not part of an API.
API_PREFIXES = ("/api/", CASE_PREFIX, "/oauth/", "/openapi", "/docs/assets/")
PAGE_ERRORS = {
    404: (
        "Page not found",
        "There is no page at this address. If you typed or pasted it, check it. Otherwise go "
        "back to your course page and open the activity again.",
    ),
    405: (
        "This address cannot be opened directly",
        "This address is used by your course page when it opens the activity. Go back to your "
        "course page and open the activity from there.",
    ),
}


def _wants_error_page() -> bool:
    if request.path.startswith(BROWSER_PAGES):
        return True
    if request.path.startswith(API_PREFIXES):
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html"


def error_page(status: int):
    """An error as a page in plain words, with a way forward and a reference for support."""
    reference = uuid.uuid4().hex[:10].upper()
    log.info("error page status=%s reference=%s path=%s", status, reference, request.path)
    title, message = PAGE_ERRORS.get(
        status,
        (
            "This page could not be opened",
            "Go back to your course page and open the activity again. If it happens again, "
            "tell your tutor or the college's LMS administrator and give them the reference "
            "below.",
        ),
    )
    page = render_template("lti/error.html", title=title, message=message, reference=reference)
    return page, status


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    if status == 304:
        return _not_modified()
    if status in PAGE_ERRORS and _wants_error_page():
        response, status = error_page(status)
        if status == 405 and getattr(error, "valid_methods", None):
            return response, status, {"Allow": ", ".join(error.valid_methods)}
        return response, status
    details = _details(error)
    message = _message(error, details)
    if request.path.startswith(CASE_PREFIX):
        return case_error(status, message, (getattr(error, "data", None) or {}).get("code_minor"))
    response, status = rest_error(status, message, details)
    # e.g. WWW-Authenticate on 401, passed as abort(..., headers={...})
    response.headers.update((getattr(error, "data", None) or {}).get("headers") or {})
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response, status


def _not_modified():
    response = Response(status=304)
    tags = list(request.if_none_match)
    if len(tags) == 1:
        response.set_etag(tags[0])
    return response


def handle_unexpected(error: Exception):
    """Last resort: log with a reference, answer without internals."""
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    reference = uuid.uuid4().hex[:12]
    log.exception("unhandled error reference=%s path=%s", reference, request.path)
    if request.path.startswith(BROWSER_PAGES):
        # Pages inside an LMS frame get a page, never a stack trace.
        page = render_template(
            "lti/error.html", title="Something went wrong", reference=reference.upper()
        )
        return page, 500
    message = f"Something went wrong on our side. Quote reference {reference}."
    if request.path.startswith(CASE_PREFIX):
        return case_error(500, message)
    return rest_error(500, message, reference=reference)


def database_unavailable_page(error: Exception):
    """For pages inside an LMS frame (the LTI blueprints register it): a page, not JSON."""
    log.warning("database unavailable path=%s error=%s", request.path, type(error).__name__)
    page = render_template(
        "lti/error.html",
        title="This page is not available just now",
        reference="",
        message=UNAVAILABLE_MESSAGE,
    )
    return page, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def case_database_unavailable(error: Exception):
    """For the CASE blueprints: imsx_StatusInfo, like every CASE error."""
    log.warning("database unavailable path=%s error=%s", request.path, type(error).__name__)
    response, status = case_error(503, UNAVAILABLE_MESSAGE)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response, status


def database_unavailable(error: Exception):
    log.warning("database unavailable path=%s error=%s", request.path, type(error).__name__)
    response, status = rest_error(503, UNAVAILABLE_MESSAGE)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response, status


def register_for_blueprint(blueprint, handler) -> None:
    for error_class in DATABASE_UNAVAILABLE:
        blueprint.register_error_handler(error_class, handler)


def register(app: Flask) -> None:
    """Call after flask-smorest's Api is set up: this replaces its HTTPException handler."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(InternalServerError, handle_unexpected)
    app.register_error_handler(Exception, handle_unexpected)
    for error_class in DATABASE_UNAVAILABLE:
        app.register_error_handler(error_class, database_unavailable)

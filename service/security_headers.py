"""Headers every response gets unless its blueprint set its own (blueprint after_request hooks
run before this app-wide one): HSTS over https, nosniff, and a strict CSP on HTML pages.

Blueprint-specific policies: lti/page_headers.py (pages inside LMS frames), service/docs.py
(Swagger UI).
"""

from __future__ import annotations

from flask import Flask, request

HSTS = "max-age=31536000; includeSubDomains"
# Scripts and styles only from here, no inline script, and no framing.
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _headers(response):
    # request.is_secure is true for https, or X-Forwarded-Proto: https from TRUSTED_PROXIES
    # (ProxyFix); a client cannot forge it otherwise.
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
    return response


def init_app(app: Flask) -> None:
    app.after_request(_headers)

"""Interactive API docs at /docs, working offline.

Swagger UI 5 (which reads OpenAPI 3.1) comes from the swagger-ui-py package and is served from
here, never from a CDN. The page is ours rather than flask-smorest's so that it has no inline
script: docs/init.js starts Swagger UI, and the page's CSP allows scripts from here only.
"""

from pathlib import Path

import swagger_ui
from flask import Blueprint, Flask, current_app, render_template, send_from_directory

ASSETS = Path(swagger_ui.__file__).resolve().parent / "static"
OWN = Path(__file__).resolve().parent / "static" / "docs"
# Swagger UI sets inline style attributes and shows data: images (icons, "try it out").
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

blp = Blueprint("docs_assets", __name__)


@blp.after_request
def _headers(response):
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = CSP
    return response


@blp.get("/docs")
def docs():
    return render_template(
        "docs.html", title=current_app.config["API_TITLE"], spec_url="/openapi.json"
    )


@blp.get("/docs/init.js")
def init():
    return send_from_directory(OWN, "init.js", max_age=3600)


@blp.get("/docs/assets/<path:filename>")
def asset(filename: str):
    response = send_from_directory(ASSETS, filename, max_age=86400)
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(blp)

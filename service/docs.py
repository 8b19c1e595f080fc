"""Interactive API docs at /docs, working offline.

flask-smorest renders the Swagger UI page; its JavaScript and CSS come from the swagger-ui-py
package (Swagger UI 5, which reads OpenAPI 3.1) and are served from here, never from a CDN.
"""

from pathlib import Path

import swagger_ui
from flask import Blueprint, Flask, send_from_directory

ASSETS = Path(swagger_ui.__file__).resolve().parent / "static"

blp = Blueprint("docs_assets", __name__)


@blp.get("/docs/assets/<path:filename>")
def asset(filename: str):
    response = send_from_directory(ASSETS, filename, max_age=86400)
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(blp)

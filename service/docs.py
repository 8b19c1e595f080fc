"""API documentation at /docs, working offline and with no JavaScript.

/docs is a plain HTML reference rendered here from the OpenAPI document: every operation with
its parameters, scopes, request example and each response (errors included) with its example.
Plain HTML, so it passes WCAG 2.2 AA (tests/test_accessibility.py runs axe-core on it) and
works without JavaScript; its CSP allows no script and no inline style at all.

/docs/explorer keeps Swagger UI 5 (from the swagger-ui-py package, never a CDN) for trying
requests from the browser. Stock Swagger UI fails WCAG AA (contrast, unnamed buttons), so it
is the optional extra, linked from /docs, not the documentation itself.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import swagger_ui
from flask import Blueprint, Flask, current_app, render_template, send_from_directory

ASSETS = Path(swagger_ui.__file__).resolve().parent / "static"
OWN = Path(__file__).resolve().parent / "static" / "docs"
CSP = (
    "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self'; "
    "connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
# Swagger UI sets inline style attributes and shows data: images (icons, "try it out").
EXPLORER_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
METHODS = ("get", "post", "put", "patch", "delete")

blp = Blueprint("docs_assets", __name__)


@blp.get("/docs")
def docs():
    spec = current_app.extensions["service_api"].spec.to_dict()
    response = current_app.make_response(
        render_template(
            "docs.html",
            title=current_app.config["API_TITLE"],
            info=spec["info"],
            tags=reference(spec),
            spec_version=spec["openapi"],
            spec_url="/openapi.json",
        )
    )
    response.headers["Content-Security-Policy"] = CSP
    return response


@blp.get("/docs/explorer")
def explorer():
    response = current_app.make_response(
        render_template(
            "docs_explorer.html", title=current_app.config["API_TITLE"], spec_url="/openapi.json"
        )
    )
    response.headers["Content-Security-Policy"] = EXPLORER_CSP
    return response


@blp.get("/docs/docs.css")
def stylesheet():
    return send_from_directory(OWN, "docs.css", max_age=3600)


@blp.get("/docs/init.js")
def init():
    return send_from_directory(OWN, "init.js", max_age=3600)


@blp.get("/docs/assets/<path:filename>")
def asset(filename: str):
    return send_from_directory(ASSETS, filename, max_age=86400)


def reference(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The document's operations grouped by tag, in the document's order, ready to print."""
    tags = {tag["name"]: {**tag, "operations": []} for tag in spec.get("tags", [])}
    components = spec.get("components", {})
    for path, path_item in spec["paths"].items():
        for method in METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            tag = (operation.get("tags") or ["other"])[0]
            tags.setdefault(tag, {"name": tag, "operations": []})
            # Parameters shared by a path's operations (its {id}) sit on the path item.
            parameters = path_item.get("parameters", []) + operation.get("parameters", [])
            tags[tag]["operations"].append(
                _operation(method, path, {**operation, "parameters": parameters}, components)
            )
    return [tag for tag in tags.values() if tag["operations"]]


def _operation(method: str, path: str, operation: dict, components: dict) -> dict[str, Any]:
    scopes = sorted(
        {
            scope
            for requirement in operation.get("security", [])
            for s in requirement.values()
            for scope in s
        }
    )
    body = operation.get("requestBody")
    return {
        "id": re.sub(r"[^a-z0-9]+", "-", f"{method} {path}".lower()).strip("-"),
        "method": method.upper(),
        "path": path,
        "summary": operation.get("summary", ""),
        "description": operation.get("description", ""),
        "scopes": scopes,
        "parameters": [_resolve(p, components) for p in operation.get("parameters", [])],
        "body": _media(_resolve(body, components)) if body else None,
        "responses": [
            {"status": status, **_response(_resolve(response, components))}
            # Success first, then errors by status, the default last.
            for status, response in sorted(
                operation["responses"].items(), key=lambda kv: (kv[0] == "default", kv[0])
            )
        ],
    }


def _response(response: dict) -> dict[str, Any]:
    return {"description": response.get("description", ""), **(_media(response) or {})}


def _media(holder: dict) -> dict[str, Any] | None:
    for media_type, media in holder.get("content", {}).items():
        schema = media.get("schema", {})
        example = media.get("example")
        return {
            "media_type": media_type,
            "schema": schema.get("$ref", "").rsplit("/", 1)[-1] or schema.get("type", ""),
            "example": None if example is None else json.dumps(example, indent=2),
        }
    return None


def _resolve(item: dict, components: dict) -> dict:
    if "$ref" not in item:
        return item
    _, _, kind, name = item["$ref"].split("/")
    return components[kind][name]


def init_app(app: Flask) -> None:
    app.register_blueprint(blp)

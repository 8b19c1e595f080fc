"""Refuse input containing NUL characters before it reaches a view: no field of this service
accepts them, and PostgreSQL cannot store them in text (it would be a 500, not a 400)."""

from flask import Flask, abort, request


def _has_nul() -> bool:
    if "\x00" in request.path:
        return True
    if any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
        return True
    if request.mimetype == "application/x-www-form-urlencoded" and any(
        "\x00" in key or "\x00" in value for key, value in request.form.items(multi=True)
    ):
        return True
    return request.is_json and _contains_nul(request.get_json(silent=True))


def _contains_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(v) for v in value)
    return False


def init_app(app: Flask) -> None:
    @app.before_request
    def _refuse_nul():
        if _has_nul():
            abort(400, description="Input must not contain NUL characters.")

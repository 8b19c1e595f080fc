"""Refuse input that no field of this service accepts, before it reaches a view, with a 400:

- NUL characters, anywhere (path, query, form or multipart fields and file names, JSON):
  PostgreSQL cannot store them in text (it would be a 500, not a 400);
- lone surrogates in JSON strings ("\\ud800" is valid JSON but not encodable as UTF-8, so
  PostgreSQL cannot store it either);
- JSON nested deeper than MAX_JSON_DEPTH: parsing and walking it would exhaust the stack.

Bodies are read only for methods that carry one; a GET's body is ignored, never parsed. The size
of every body is bounded by MAX_CONTENT_LENGTH (413, raised by Werkzeug when it is read).
"""

import re

from flask import Flask, abort, current_app, request

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
SURROGATE = re.compile("[\ud800-\udfff]")
# A JSON string, so that brackets inside strings do not count towards the depth.
JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def bad_text(value: str) -> bool:
    return "\x00" in value or SURROGATE.search(value) is not None


def contains_bad_text(value) -> bool:
    """NUL or lone surrogates anywhere in a parsed JSON value (keys included)."""
    if isinstance(value, str):
        return bad_text(value)
    if isinstance(value, dict):
        return any(contains_bad_text(k) or contains_bad_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(contains_bad_text(v) for v in value)
    return False


def json_depth(data: bytes) -> int:
    """How deeply a JSON text nests arrays and objects, without parsing it."""
    brackets = JSON_STRING.sub(b"", data).translate(None, NOT_BRACKETS)
    depth = deepest = 0
    for byte in brackets:
        depth += 1 if byte in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _has_nul_outside_body() -> bool:
    if "\x00" in request.path:
        return True
    return any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True))


def _has_bad_form() -> bool:
    """url-encoded and multipart bodies alike (request.form parses both)."""
    if any(bad_text(key) or bad_text(value) for key, value in request.form.items(multi=True)):
        return True
    return any(
        bad_text(key) or bad_text(upload.filename or "")
        for key, upload in request.files.items(multi=True)
    )


def init_app(app: Flask) -> None:
    @app.before_request
    def _refuse_bad_input():
        if _has_nul_outside_body():
            abort(400, description="Input must not contain NUL characters.")
        if request.method not in BODY_METHODS:
            return
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            if _has_bad_form():
                abort(400, description="Input must not contain NUL characters or lone surrogates.")
        elif request.is_json:
            if json_depth(request.get_data(cache=True)) > current_app.config["MAX_JSON_DEPTH"]:
                abort(400, description="The JSON body is nested too deeply.")
            if contains_bad_text(request.get_json(silent=True)):
                abort(400, description="Input must not contain NUL characters or lone surrogates.")

"""A flask-smorest Blueprint whose every operation documents the errors any request can get.

Views document what is theirs to say (404 for an unknown id, 409, 401/403 with their scope);
this documents, for every operation of the blueprint, what the service's hooks and handlers
can answer whatever the view: 400 (NUL characters, lone surrogates, malformed or too deeply
nested JSON), 404 (an unknown id in the path), 413 (a body over MAX_CONTENT_LENGTH), 422
(invalid parameters), 429 (rate limited), 503 (the database cannot be reached; Retry-After)
and a default, each in the blueprint's error shape: the REST Error, or CASE's imsx_StatusInfo.
"""

from __future__ import annotations

from flask_smorest import Blueprint

from schemas.case import CaseStatusInfoSchema
from schemas.errors import ErrorSchema

BODY_METHODS = {"POST", "PUT", "PATCH"}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer"},
    }
}
DESCRIPTIONS = {
    400: "Malformed input: NUL characters, lone surrogates, invalid or too deeply nested JSON",
    404: "Not found",
    413: "The request body is larger than the service accepts",
    422: "Invalid parameters; `details` names each one",
    429: "Too many requests; see Retry-After",
    503: "The database cannot be reached just now; retry after Retry-After seconds",
}


COMMON_STATUSES = (400, 404, 413, 422, 429, 503)


def register_responses(spec) -> None:
    """One response component per status and error shape (ERROR_413, CASE_ERROR_413...)."""
    for blueprint_class in (ServiceBlueprint, CaseBlueprint):
        for status in COMMON_STATUSES:
            response = {
                "description": DESCRIPTIONS[status],
                "content": {"application/json": {"schema": blueprint_class.ERROR_SCHEMA}},
            }
            if status in (429, 503):
                response["headers"] = RETRY_AFTER
            spec.components.response(f"{blueprint_class.RESPONSE_PREFIX}{status}", response)


class ServiceBlueprint(Blueprint):
    # Read by ServiceApi.register_blueprint: the default error response of this blueprint.
    DEFAULT_ERROR_RESPONSE_NAME = "DEFAULT_ERROR"
    ERROR_SCHEMA = ErrorSchema
    RESPONSE_PREFIX = "ERROR_"

    def add_url_rule(
        self, rule, endpoint=None, view_func=None, provide_automatic_options=None, **options
    ):
        if view_func is not None:
            view_func = self._document_errors(rule, view_func, options.get("methods", ("GET",)))
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **options)

    def error_response(self, status: int):
        """alt_response for `status` in this blueprint's error shape."""
        return self.alt_response(status, response=f"{self.RESPONSE_PREFIX}{status}")

    def _document_errors(self, rule: str, view_func, methods):
        apidoc = getattr(view_func, "_apidoc", {})
        documented = {
            int(s) for s in apidoc.get("response", {}).get("responses", {}) if s != "default"
        }
        statuses = {400, 429, 503}
        if "<" in rule:
            statuses.add(404)
        if BODY_METHODS & set(methods):
            statuses.add(413)
        if "arguments" in apidoc and self.ERROR_SCHEMA is not ErrorSchema:
            # flask-smorest documents the 422 of @blp.arguments in the REST shape.
            statuses.add(422)
        for status in sorted(statuses - documented):
            view_func = self.error_response(status)(view_func)
        return self._document_success_content(view_func)

    def _document_success_content(self, view_func):
        return view_func


class CaseBlueprint(ServiceBlueprint):
    """CASE answers every error with imsx_StatusInfo (service.errors.case_error)."""

    DEFAULT_ERROR_RESPONSE_NAME = "CASE_ERROR"
    ERROR_SCHEMA = CaseStatusInfoSchema
    RESPONSE_PREFIX = "CASE_ERROR_"

    def _document_success_content(self, view_func):
        # CASE views return plain dicts (the binding's JSON), documented without a schema:
        # say at least that a 200 is a JSON object.
        success = view_func._apidoc["response"]["responses"][200][0]
        content = {"application/json": {"schema": {"type": "object"}}}
        response = {"description": success["description"], "content": content}
        return self.doc(responses={"200": response})(view_func)

"""A flask-smorest Blueprint whose every operation documents the errors any request can get.

Views document what is theirs to say (409, or 404 beyond an id in the path); a view decorated
with @require_scope gets 401 and 403 and its oauth2 security requirement; and this documents,
for every operation of the blueprint, what the service's hooks and handlers can answer
whatever the view: 400 (NUL characters, lone surrogates, malformed or too deeply
nested JSON), 404 (an unknown id in the path), 413 (a body over MAX_CONTENT_LENGTH), 422
(invalid parameters), 429 (rate limited), 503 (the database cannot be reached; Retry-After)
and a default, each in the blueprint's error shape: the REST Error, or CASE's imsx_StatusInfo.
Every error status has one response component per shape (ERROR_404, CASE_ERROR_404...) with
an example body built by service.errors itself; a view's `alt_response(409,
response="DEFAULT_ERROR")` is documented with the component of its status.
"""

from __future__ import annotations

from http import HTTPStatus

from flask_smorest import Blueprint

from schemas.case import CaseStatusInfoSchema
from schemas.errors import ErrorSchema
from service.errors import case_error_body, rest_error_body

BODY_METHODS = {"POST", "PUT", "PATCH"}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer"},
    }
}
DESCRIPTIONS = {
    400: "Malformed input: NUL characters, lone surrogates, invalid or too deeply nested JSON",
    401: "No bearer token, or one that is unknown, expired or revoked",
    403: "The token's scopes do not allow this",
    404: "Not found",
    409: "The request conflicts with the resource's current state; `message` says how",
    413: "The request body is larger than the service accepts",
    422: "Invalid parameters; `details` names each one",
    429: "Too many requests; see Retry-After",
    503: "The database cannot be reached just now; retry after Retry-After seconds",
}
# The message of each status's example body: what the service really answers.
EXAMPLE_MESSAGES = {
    400: "The request body is not valid JSON.",
    401: "Send a bearer token from POST /oauth/token.",
    403: "The token's scopes do not allow this.",
    404: "Nothing has the id given in the path.",
    409: "This attempt has been submitted; responses can no longer change.",
    413: "The request body is larger than the service accepts.",
    422: "Invalid parameter(s): learner_ref",
    429: "Too many requests. Try again in 30 seconds.",
    503: "The service cannot reach its database just now. Try again shortly.",
}
EXAMPLE_DETAILS = {422: {"learner_ref": ["Missing data for required field."]}}
EXAMPLE_REFERENCE = "3f9a1c0d7b2e"
DEFAULT_EXAMPLE = rest_error_body(
    500,
    f"Something went wrong on our side. Quote reference {EXAMPLE_REFERENCE}.",
    reference=EXAMPLE_REFERENCE,
)


def rest_error_example(status: int) -> dict:
    """The REST error body the service sends with `status`, as an example."""
    message = EXAMPLE_MESSAGES.get(status) or f"{HTTPStatus(status).phrase}."
    return rest_error_body(status, message, EXAMPLE_DETAILS.get(status))


COMMON_STATUSES = (400, 401, 403, 404, 409, 413, 422, 429, 503)


def register_responses(spec) -> None:
    """One response component per status and error shape (ERROR_413, CASE_ERROR_413...)."""
    for blueprint_class in (ServiceBlueprint, CaseBlueprint):
        for status in COMMON_STATUSES:
            media = {
                "schema": blueprint_class.ERROR_SCHEMA,
                "example": blueprint_class.example_error(status),
            }
            response = {"description": DESCRIPTIONS[status], "content": {"application/json": media}}
            if status in (429, 503):
                response["headers"] = RETRY_AFTER
            spec.components.response(f"{blueprint_class.RESPONSE_PREFIX}{status}", response)


class ServiceBlueprint(Blueprint):
    # Read by ServiceApi.register_blueprint: the default error response of this blueprint.
    DEFAULT_ERROR_RESPONSE_NAME = "DEFAULT_ERROR"
    ERROR_SCHEMA = ErrorSchema
    RESPONSE_PREFIX = "ERROR_"

    @staticmethod
    def example_error(status: int) -> dict:
        return rest_error_example(status)

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
        responses = apidoc.get("response", {}).get("responses", {})
        for status, docs in responses.items():
            # The shared DEFAULT_ERROR has no status of its own: use the status's component,
            # whose example is a body of that status.
            if status != "default" and int(status) in COMMON_STATUSES:
                docs[:] = [
                    f"{self.RESPONSE_PREFIX}{status}" if doc == "DEFAULT_ERROR" else doc
                    for doc in docs
                ]
        documented = {int(s) for s in responses if s != "default"}
        statuses = {400, 429, 503}
        scopes = getattr(view_func, "required_scopes", None)
        if scopes is not None:
            statuses |= {401, 403}
            if "security" not in apidoc.get("manual_doc", {}):
                view_func = self.doc(security=[{"oauth2": list(scopes)}])(view_func)
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

    @staticmethod
    def example_error(status: int) -> dict:
        return case_error_body(status, EXAMPLE_MESSAGES[status])

    def _document_success_content(self, view_func):
        # CASE views return plain dicts (the binding's JSON), documented without a schema:
        # say at least that a 200 is a JSON object.
        success = view_func._apidoc["response"]["responses"][200][0]
        content = {"application/json": {"schema": {"type": "object"}}}
        response = {"description": success["description"], "content": content}
        return self.doc(responses={"200": response})(view_func)

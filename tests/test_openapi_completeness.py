"""The OpenAPI document is complete enough to build a client from: every JSON or form body
(request and response, errors included) has an example that validates against its schema,
and every operation lists every error status the service can answer it with."""

from __future__ import annotations

import pytest
from openapi_schema_validator import OAS31Validator

from service import create_app
from service.api.examples import example_for

METHODS = ("get", "post", "put", "patch", "delete")
# Bodies that are documents or archives (QTI XML, a QTI package zip) are not examples' business.
WITH_EXAMPLES = ("application/json", "application/x-www-form-urlencoded")
ERROR_SCHEMAS = {"Error", "CaseStatusInfo", "OAuthError", "TokenRateLimited"}


@pytest.fixture(scope="module")
def document():
    # No database is touched: the document is built from the routes and schemas.
    app = create_app({"DATABASE_URL": "sqlite:///:memory:"})
    return app.extensions["service_api"].spec.to_dict()


def _resolve(item: dict, document: dict) -> dict:
    if "$ref" not in item:
        return item
    _, _, kind, name = item["$ref"].split("/")
    return document["components"][kind][name]


def _operations(document: dict):
    for path, path_item in document["paths"].items():
        for method in METHODS:
            if method in path_item:
                yield f"{method.upper()} {path}", path_item, path_item[method]


def _bodies(document: dict):
    """(where, media) for every request and response body of the document."""
    for where, _path_item, operation in _operations(document):
        if "requestBody" in operation:
            body = _resolve(operation["requestBody"], document)
            for media_type, media in body["content"].items():
                yield f"{where} request {media_type}", media_type, media
        for status, response in operation["responses"].items():
            for media_type, media in _resolve(response, document).get("content", {}).items():
                yield f"{where} {status} {media_type}", media_type, media


def test_every_body_has_an_example_that_its_schema_accepts(document):
    missing, invalid = [], []
    checked = 0
    for where, media_type, media in _bodies(document):
        if media_type not in WITH_EXAMPLES:
            continue
        if "example" not in media:
            missing.append(where)
            continue
        schema = {**media["schema"], "components": document["components"]}
        errors = list(OAS31Validator(schema).iter_errors(media["example"]))
        if errors:
            invalid.append(f"{where}: {errors[0].message}")
        checked += 1
    assert missing == [] and invalid == []
    assert checked > 100  # request and response bodies of ~60 operations


def test_every_operation_documents_every_error_it_can_answer(document):
    gaps = []
    for where, path_item, operation in _operations(document):
        method = where.split()[0]
        parameters = path_item.get("parameters", []) + operation.get("parameters", [])
        expected = {"400", "429", "503", "default"}
        if any(_resolve(p, document)["in"] == "path" for p in parameters):
            expected.add("404")
        if method in ("POST", "PUT", "PATCH"):
            expected.add("413")
        if operation.get("security") and {} not in operation["security"]:
            expected |= {"401", "403"}
        if any(_resolve(p, document)["in"] == "query" for p in parameters) or (
            "requestBody" in operation and "/oauth/" not in where
        ):
            expected.add("422")
        if not expected <= set(operation["responses"]):
            gaps.append(f"{where}: lacks {sorted(expected - set(operation['responses']))}")
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")) or status == "default":
                content = _resolve(response, document).get("content", {})
                schema = content.get("application/json", {}).get("schema", {})
                if schema.get("$ref", "").rsplit("/", 1)[-1] not in ERROR_SCHEMAS:
                    gaps.append(f"{where} {status}: no error body schema")
    assert gaps == []


def test_every_parameter_is_described_and_its_example_fits(document):
    undescribed, invalid = [], []
    for where, path_item, operation in _operations(document):
        for parameter in path_item.get("parameters", []) + operation.get("parameters", []):
            parameter = _resolve(parameter, document)
            if not parameter.get("description"):
                undescribed.append(f"{where} {parameter['name']}")
            if "example" in parameter:
                schema = {**parameter.get("schema", {}), "components": document["components"]}
                if list(OAS31Validator(schema).iter_errors(parameter["example"])):
                    invalid.append(f"{where} {parameter['name']}")
    assert undescribed == [] and invalid == []


def test_the_token_endpoint_is_documented_with_its_errors(document):
    token = document["paths"]["/oauth/token"]["post"]
    assert {"200", "400", "401", "429"} <= set(token["responses"])
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]


def test_error_examples_are_the_bodies_the_service_sends(document):
    responses = document["components"]["responses"]
    assert responses["ERROR_401"]["content"]["application/json"]["example"] == {
        "status": 401,
        "code": "unauthorized",
        "message": "Send a bearer token from POST /oauth/token.",
    }
    case = responses["CASE_ERROR_404"]["content"]["application/json"]["example"]
    assert case["imsx_codeMajor"] == "failure"


def test_generated_examples_follow_the_schema():
    schemas = {"Thing": {"type": "object", "properties": {"n": {"type": "integer"}}}}
    schema = {
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date-time"},
            "kind": {"type": ["string", "null"], "enum": [None, "a", "b"]},
            "things": {"type": "array", "items": {"$ref": "#/components/schemas/Thing"}},
            "code": {"type": "string", "minLength": 8, "maxLength": 10},
            "own": {"type": "string", "example": "CSC-01"},
            "count": {"type": "integer", "minimum": 3},
        },
    }
    example = example_for(schema, schemas)
    assert example == {
        "when": "2026-11-28T09:30:00Z",
        "kind": "a",
        "things": [{"n": 1}],
        "code": "stringxx",
        "own": "CSC-01",
        "count": 3,
    }


def test_a_new_endpoint_gets_its_errors_scopes_and_examples_with_no_work():
    """What another engineer's endpoint gets from ServiceBlueprint, @require_scope and the
    examples: 401/403 and its oauth2 requirement, the common errors, 404 for its path id, and
    examples for its bodies, declaring only the route, the scope, arguments and response."""
    from marshmallow import Schema, fields

    from service.api.blueprint import ServiceBlueprint
    from service.auth import require_scope

    class ThingSchema(Schema):
        name = fields.String(required=True, metadata={"example": "a thing"})
        count = fields.Integer()

    blp = ServiceBlueprint("things", __name__, url_prefix="/api/v1")

    @blp.route("/things/<string:thing_id>", methods=["PUT"])
    @require_scope("attempts:write")
    @blp.arguments(ThingSchema)
    @blp.response(200, ThingSchema)
    @blp.alt_response(409, response="DEFAULT_ERROR")
    def put_thing(data, thing_id):
        return data

    app = create_app({"DATABASE_URL": "sqlite:///:memory:"})
    api = app.extensions["service_api"]
    api.register_blueprint(blp)
    document = api.spec.to_dict()
    operation = document["paths"]["/api/v1/things/{thing_id}"]["put"]
    assert operation["security"] == [{"oauth2": ["attempts:write"]}]
    statuses = {"200", "400", "401", "403", "404", "409", "413", "422", "429", "503", "default"}
    assert set(operation["responses"]) == statuses
    assert operation["responses"]["409"] == {"$ref": "#/components/responses/ERROR_409"}
    body = operation["requestBody"]["content"]["application/json"]
    assert body["example"] == {"name": "a thing", "count": 1}

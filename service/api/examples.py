"""An example for every request and response body of the OpenAPI document.

A body that states its own example (`@blp.doc`, or an `example` in a response component) keeps
it. Every other body gets one built from its schema: a field's own `example` metadata
(`metadata={"example": ...}` on a marshmallow field) where it has one, else its enum's first
value, its default, or a plain value of its type and format. So a new endpoint gets examples
with no work, and better ones by giving its fields `example` metadata.

This runs on the finished document (ExamplesAPISpec.to_dict), when every schema is a component
that a $ref can be resolved against.
"""

from __future__ import annotations

import copy
from typing import Any

import apispec

MEDIA_TYPES_WITH_BODIES = ("application/json", "application/x-www-form-urlencoded")
BY_FORMAT = {
    "date-time": "2026-11-28T09:30:00Z",
    "date": "2026-11-28",
    "url": "https://lms.example.ac.uk/",
    "uri": "https://lms.example.ac.uk/",
    "email": "assessor@example.ac.uk",
    "uuid": "6f1c2d4e-8a3b-4c5d-9e7f-0a1b2c3d4e5f",
}
BY_TYPE = {"string": "string", "integer": 1, "number": 1.0, "boolean": True, "null": None}
# Parameters by name, for those that do not describe themselves: one wording per name across
# every operation. A new endpoint's parameter with a new name needs a line here, or a
# description and example of its own (tests/test_openapi_completeness.py checks).
PARAMETERS = {
    "unit_code": ("A unit's code", "CSC-01"),
    "unit": ("Only those of this unit (its code)", "CSC-01"),
    "criterion_code": ("A criterion's code", "CSC-01.AC1"),
    "criterion": ("Only those of this criterion (its code)", "CSC-01.AC1"),
    "item_id": ("An item's id", "CSC-01-Q001"),
    "assessment_code": ("An assessment's code", "CSC-01-A1"),
    "attempt_id": ("An attempt's id, as answered when it was started", BY_FORMAT["uuid"]),
    "learner_id": ("A learner's id (a UUID)", BY_FORMAT["uuid"]),
    "record_id": ("A performance evidence record's id", BY_FORMAT["uuid"]),
    "webhook_id": ("A webhook's id, as answered when it was registered", BY_FORMAT["uuid"]),
    "delivery_id": ("A webhook delivery's id (its Webhook-Id)", BY_FORMAT["uuid"]),
    "plan_id": ("A sampling plan's id", BY_FORMAT["uuid"]),
    "n": ("A sampled decision's number in the plan, from 1", 1),
    "platform_id": ("An LTI platform registration's id", 1),
    "deployment_id": ("An LTI deployment's id on that platform", "1"),
    "client_id": ("An API client's id (client_id)", "9f2b6c1d0e4a4b7c8d9e0f1a2b3c4d5e"),
    "centre_code": ("A centre's code", "C1"),
    "sourced_id": ("A CASE object's sourcedId (a UUID)", BY_FORMAT["uuid"]),
    "grading": ("Only units graded this way", "graded"),
    "evidence_type": ("Only criteria evidenced this way", "knowledge"),
    "band": ("Only criteria of this grade band", "pass"),
    "type": ("Only items of this type", "single_choice"),
    "page": ("Page number, from 1", 1),
    "page_size": ("Results per page", 20),
    "limit": ("CASE paging: at most this many results", 100),
    "offset": ("CASE paging: skip this many results", 0),
    "orderBy": ("CASE sort order: asc or desc", "asc"),
}
# Deep enough for every schema here; a recursive schema stops with an empty object.
MAX_DEPTH = 8


class ExamplesAPISpec(apispec.APISpec):
    """APISpec whose document gives every JSON body an example (see the module docstring)."""

    def to_dict(self) -> dict[str, Any]:
        return add_examples(super().to_dict())


def add_examples(document: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(document)
    schemas = document.get("components", {}).get("schemas", {})
    for path_item in document.get("paths", {}).values():
        for key, value in path_item.items():
            # A path item's own "parameters" list, or an operation's.
            parameters = value if key == "parameters" else value.get("parameters", [])
            for parameter in parameters:
                _describe_parameter(parameter)
    for response in document.get("components", {}).get("responses", {}).values():
        _add_to_content(response.get("content", {}), schemas)
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            _add_to_content(operation.get("requestBody", {}).get("content", {}), schemas)
            for response in operation["responses"].values():
                _add_to_content(response.get("content", {}), schemas)
    return document


def _describe_parameter(parameter: dict[str, Any]) -> None:
    if "$ref" in parameter or parameter["name"] not in PARAMETERS:
        return
    description, example = PARAMETERS[parameter["name"]]
    parameter.setdefault("description", description)
    if "example" not in parameter and "examples" not in parameter:
        schema = parameter.get("schema", {})
        enum = schema.get("enum")
        parameter["example"] = enum[0] if enum and example not in enum else example


def _add_to_content(content: dict[str, Any], schemas: dict[str, Any]) -> None:
    for media_type, media in content.items():
        if media_type not in MEDIA_TYPES_WITH_BODIES or "schema" not in media:
            continue
        if "example" not in media and "examples" not in media:
            media["example"] = example_for(media["schema"], schemas)


def example_for(schema: dict[str, Any], schemas: dict[str, Any], depth: int = 0) -> Any:
    """A value that validates against `schema` (resolving $refs into `schemas`)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return example_for(schemas[name], schemas, depth)
    if "example" in schema:
        return schema["example"]
    if schema.get("examples"):
        return schema["examples"][0]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return next((v for v in schema["enum"] if v is not None), schema["enum"][0])
    if "default" in schema:
        return schema["default"]
    for combinator in ("allOf", "oneOf", "anyOf"):
        if schema.get(combinator):
            if combinator == "allOf":
                merged: dict[str, Any] = {}
                for part in schema["allOf"]:
                    value = example_for(part, schemas, depth)
                    if isinstance(value, dict):
                        merged.update(value)
                return merged
            return example_for(schema[combinator][0], schemas, depth)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        if depth >= MAX_DEPTH:
            return {}
        properties = schema.get("properties", {})
        return {name: example_for(prop, schemas, depth + 1) for name, prop in properties.items()}
    if kind == "array":
        if depth >= MAX_DEPTH:
            return []
        item = example_for(schema.get("items", {"type": "string"}), schemas, depth + 1)
        return [item] * max(1, schema.get("minItems", 1))
    if kind == "string":
        value = BY_FORMAT.get(schema.get("format"), "string")
        value = value.ljust(schema.get("minLength", 0), "x")
        return value[: schema.get("maxLength", len(value))]
    if kind in ("integer", "number"):
        value = schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1)
        return value if kind == "number" else int(value)
    return BY_TYPE.get(kind)

"""The CASE 1.1 binding (/ims/case/v1p1) checked against 1EdTech's CASE 1.1 definitions.

Sources (CASE 1.1, Final Release, 24 January 2025):

- the REST/JSON binding,
  https://www.imsglobal.org/sites/default/files/spec/case/v1p1/rest_binding/caseservicev1p1_restbindv1p0.html
  (also https://standards.1edtech.org/case/specifications/standards/v1p1/rest). Section 1.3 lists
  what changed from 1.0; section 2.1 the operations, the same as 1.0's; appendix B1.1 the OpenAPI
  2.0 listing, from which the response shapes and the status shape below are transcribed;
- tests/standards/case-v1p1-cfpackage-jsonschema1.json, 1EdTech's JSON Schema for CFPackage,
  which defines every data class (see tests/standards/README.md for where it comes from).

Every v1p1 response is validated against the shape the listing gives its path and status. Then
the v1p1 answers are compared with the v1p0 ones: with the 1.1 additions taken away and the base
path put back, they must be identical, so identifiers and everything else agree across bindings.
"""

from __future__ import annotations

import copy
import functools
import json
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft201909Validator

from tests.test_case import local, nodes, package_of

SCHEMA_FILE = Path(__file__).parent / "standards" / "case-v1p1-cfpackage-jsonschema1.json"
HOST = "http://localhost"
V1P0 = "/ims/case/v1p0"
V1P1 = "/ims/case/v1p1"
FORMATS = Draft201909Validator.FORMAT_CHECKER

# What this service adds in 1.1 (see service/case/framework.py).
FRAMEWORK_TYPE = "Qualification"
DOCUMENT_ADDITIONS = {"caseVersion", "frameworkType"}
ITEM_ADDITIONS = {"subject", "subjectURI"}
NODE_ADDITIONS = {"targetType"}

# The path templates of the operations, as the 1.1 listing spells them.
DOCUMENTS = "/CFDocuments"
DOCUMENT = "/CFDocuments/{sourcedId}"
PACKAGE = "/CFPackages/{sourcedId}"
ITEM = "/CFItems/{sourcedId}"
ASSOCIATION = "/CFAssociations/{sourcedId}"
ITEM_ASSOCIATIONS = "/CFItemAssociations/{sourcedId}"
ITEM_TYPES = "/CFItemTypes/{sourcedId}"
CONCEPTS = "/CFConcepts/{sourcedId}"
SUBJECTS = "/CFSubjects/{sourcedId}"
LICENSES = "/CFLicenses/{sourcedId}"
RUBRICS = "/CFRubrics/{sourcedId}"
BY_ID = [
    DOCUMENT,
    PACKAGE,
    ITEM,
    ASSOCIATION,
    ITEM_ASSOCIATIONS,
    ITEM_TYPES,
    CONCEPTS,
    SUBJECTS,
    LICENSES,
    RUBRICS,
]
DEFINITIONS = {
    "CFItemTypes": ITEM_TYPES,
    "CFConcepts": CONCEPTS,
    "CFSubjects": SUBJECTS,
    "CFLicenses": LICENSES,
}

# The 200 response of each path (appendix B1.1, "paths"); every error is imsx_StatusInfoDType.
RESPONSES = {
    DOCUMENTS: "CFDocumentSetDType",
    DOCUMENT: "CFDocumentDType",
    PACKAGE: "CFPackageDType",
    ITEM: "CFItemDType",
    ASSOCIATION: "CFAssociationDType",
    ITEM_ASSOCIATIONS: "CFAssociationSetDType",
    ITEM_TYPES: "CFItemTypeSetDType",
    CONCEPTS: "CFConceptSetDType",
    SUBJECTS: "CFSubjectSetDType",
    LICENSES: "CFLicenseDType",
    RUBRICS: "CFRubricDType",
}

# The UUID pattern of every identifier in the 1.1 OpenAPI listing.
UUID_PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-[1-5]{1}[0-9a-f]{3}-[8-9a-b]{1}[0-9a-f]{3}-[0-9a-f]{12}"
URI_PROPERTIES = {"uri", "officialSourceURL"}


# --- the official definitions ------------------------------------------------------------------


@functools.cache
def package_schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def _ref(name: str) -> dict:
    return {"$ref": f"#/$defs/{name}"}


def _with_link(member: str, link: str, *, required: bool) -> dict:
    """CFDocumentDType, CFItemDType and CFAssociationDType: the listing gives each flat, as the
    in-package class plus one LinkURI (CFPackageURI required; CFDocumentURI required on items,
    optional on associations)."""
    shape = copy.deepcopy(package_schema()["$defs"][member])
    shape["properties"][link] = _ref("LinkURI")
    if required:
        shape["required"] = [*shape["required"], link]
    return shape


def _set(key: str, member: dict) -> dict:
    """The ...SetDType wrappers: at least one member."""
    return {
        "type": "object",
        "properties": {key: {"type": "array", "minItems": 1, "items": member}},
        "required": [key],
        "additionalProperties": False,
    }


def _response_types() -> dict:
    """The response and status types of appendix B1.1, built on the JSON Schema's classes."""
    root = package_schema()
    package = {k: v for k, v in root.items() if k not in ("$schema", "$id", "$defs")}
    code_minor_values = [
        "forbidden",
        "fullsuccess",
        "internal_server_error",
        "invalid_selection_field",
        "invalid_sort_field",
        "invalid_uuid",
        "server_busy",
        "unauthorised_request",
        "unknownobject",
    ]
    return {
        "CFPackageDType": package,
        "CFDocumentDType": _with_link("CFPckgDocument", "CFPackageURI", required=True),
        "CFItemDType": _with_link("CFPckgItem", "CFDocumentURI", required=True),
        "CFAssociationDType": _with_link("CFPckgAssociation", "CFDocumentURI", required=False),
        "CFDocumentSetDType": _set("CFDocuments", _ref("CFDocumentDType")),
        "CFAssociationSetDType": {
            "type": "object",
            "properties": {
                "CFItem": _ref("CFItemDType"),
                "CFAssociations": {
                    "type": "array",
                    "minItems": 1,
                    "items": _ref("CFPckgAssociation"),
                },
            },
            "required": ["CFItem", "CFAssociations"],
            "additionalProperties": False,
        },
        "CFConceptSetDType": _set("CFConcepts", _ref("CFConcept")),
        "CFSubjectSetDType": _set("CFSubjects", _ref("CFSubject")),
        "CFItemTypeSetDType": _set("CFItemTypes", _ref("CFItemType")),
        "CFLicenseDType": _ref("CFLicense"),
        "CFRubricDType": _ref("CFRubric"),
        "imsx_CodeMinorFieldDType": {
            "type": "object",
            "properties": {
                "imsx_codeMinorFieldName": {"type": "string"},
                "imsx_codeMinorFieldValue": {"type": "string", "enum": code_minor_values},
            },
            "required": ["imsx_codeMinorFieldName", "imsx_codeMinorFieldValue"],
            "additionalProperties": False,
        },
        "imsx_CodeMinorDType": {
            "type": "object",
            "properties": {
                "imsx_codeMinorField": {
                    "type": "array",
                    "minItems": 1,
                    "items": _ref("imsx_CodeMinorFieldDType"),
                }
            },
            "required": ["imsx_codeMinorField"],
            "additionalProperties": False,
        },
        "imsx_StatusInfoDType": {
            "type": "object",
            "properties": {
                "imsx_codeMajor": {
                    "type": "string",
                    "enum": ["failure", "processing", "success", "unsupported"],
                },
                "imsx_severity": {"type": "string", "enum": ["error", "status", "warning"]},
                "imsx_description": {"type": "string"},
                "imsx_codeMinor": _ref("imsx_CodeMinorDType"),
            },
            "required": ["imsx_codeMajor", "imsx_severity"],
            "additionalProperties": False,
        },
    }


def as_in_the_listing(node):
    """The JSON Schema's types as strict as the OpenAPI listing of the same release: there every
    identifier has the UUID pattern (lower case, version 1-5, variant 8-b), which the JSON Schema
    only calls "format: uuid", and every uri has "format: uri". The pattern is anchored: the
    type says the whole value is a UUID."""
    if isinstance(node, list):
        return [as_in_the_listing(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {key: as_in_the_listing(value) for key, value in node.items()}
    if node.get("format") == "uuid":
        node["pattern"] = f"^(?:{UUID_PATTERN})$"
    properties = node.get("properties")
    if isinstance(properties, dict):
        for name in URI_PROPERTIES & properties.keys():
            properties[name] = {**properties[name], "format": "uri"}
    return node


@functools.cache
def _all_types() -> dict:
    return as_in_the_listing({**package_schema()["$defs"], **_response_types()})


@functools.cache
def validator(type_name: str) -> Draft201909Validator:
    schema = {"$ref": f"#/$defs/{type_name}", "$defs": _all_types()}
    Draft201909Validator.check_schema(schema)
    return Draft201909Validator(schema, format_checker=FORMATS)


def validator_for(template: str, status: int = 200) -> Draft201909Validator:
    return validator(RESPONSES[template] if status == 200 else "imsx_StatusInfoDType")


def assert_valid(check: Draft201909Validator, instance, what: str) -> None:
    errors = sorted(check.iter_errors(instance), key=lambda e: list(e.absolute_path))
    problems = [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]
    assert not problems, f"{what} does not match the CASE 1.1 definition:\n" + "\n".join(problems)


# --- requests ----------------------------------------------------------------------------------


def path_of(template: str, sourced_id: str = "", base: str = V1P1) -> str:
    return base + template.replace("{sourcedId}", sourced_id)


def get_valid(client, template: str, sourced_id: str = "", **query) -> dict:
    """GET a v1p1 path; assert 200 and that the body matches the 1.1 type for that path."""
    url = path_of(template, sourced_id)
    response = client.get(url, query_string=query)
    assert response.status_code == 200, (url, response.status_code, response.get_data(True))
    body = response.get_json()
    assert_valid(validator_for(template), body, url)
    return body


def template_of(uri: str) -> tuple[str, str]:
    """(path template, sourcedId) of a v1p1 uri; a rubric criterion or level is a fragment of
    its rubric's uri, the fragment being its identifier."""
    path = local(uri)
    assert path.startswith(V1P1 + "/"), uri
    collection, sourced_id = path.removeprefix(V1P1).strip("/").split("/")
    return f"/{collection}/{{sourcedId}}", urlsplit(uri).fragment or sourced_id


def as_v1p0(value):
    """A v1p1 answer as the v1p0 binding gives it: the 1.1 additions taken away and the uris
    put back under /ims/case/v1p0."""
    if isinstance(value, list):
        return [as_v1p0(v) for v in value]
    if isinstance(value, str):
        return value.replace(f"{HOST}{V1P1}/", f"{HOST}{V1P0}/")
    if not isinstance(value, dict):
        return value
    drop = DOCUMENT_ADDITIONS | NODE_ADDITIONS
    if "fullStatement" in value:  # a CFItem
        drop |= ITEM_ADDITIONS
    return {key: as_v1p0(v) for key, v in value.items() if key not in drop}


@pytest.fixture(scope="module")
def document(app) -> dict:
    return get_valid(app.test_client(), DOCUMENTS)["CFDocuments"][0]


@pytest.fixture(scope="module")
def package(app, document) -> dict:
    return get_valid(app.test_client(), PACKAGE, document["identifier"])


@pytest.fixture(scope="module")
def package_v1p0(app) -> dict:
    """The v1p0 package, itself validated against the CASE 1.0 definition by test_case."""
    return package_of(app)


def _items_of_type(package: dict, item_type: str) -> list[dict]:
    return [i for i in package["CFItems"] if i["CFItemType"] == item_type]


def _every_request(package: dict) -> list[tuple[str, str]]:
    """(template, sourcedId) for every object the package names, through its own endpoint."""
    requests = [(DOCUMENTS, ""), (DOCUMENT, package["CFDocument"]["identifier"])]
    requests.append((PACKAGE, package["CFDocument"]["identifier"]))
    for item in package["CFItems"]:
        requests += [(ITEM, item["identifier"]), (ITEM_ASSOCIATIONS, item["identifier"])]
    requests += [(ASSOCIATION, a["identifier"]) for a in package["CFAssociations"]]
    for collection, template in DEFINITIONS.items():
        requests += [(template, r["identifier"]) for r in package["CFDefinitions"][collection]]
    requests += [(RUBRICS, r["identifier"]) for r in package["CFRubrics"]]
    return requests


# --- 1. the definitions are not vacuous --------------------------------------------------------


def test_the_1p1_definition_is_enforced(package, document):
    """Each rule the tests rely on can fail, including the ones 1.1 changed."""
    check = validator_for(DOCUMENT)
    assert_valid(check, document, "the document")
    broken_documents = {
        "caseVersion other than 1.1": {**document, "caseVersion": "1.0"},
        "no CFPackageURI": {k: v for k, v in document.items() if k != "CFPackageURI"},
        "no creator": {k: v for k, v in document.items() if k != "creator"},
        "unknown property": {**document, "colour": "blue"},
        "upper-case uuid": {**document, "identifier": document["identifier"].upper()},
        "uuid inside a longer string": {**document, "identifier": f"x{document['identifier']}"},
        "uuid version 0": {**document, "identifier": "00000000-0000-0000-8000-000000000000"},
    }
    if "uri" in FORMATS.checkers:
        broken_documents["not a uri"] = {**document, "uri": "not a uri"}
    if "date-time" in FORMATS.checkers:
        broken_documents["not a date-time"] = {**document, "lastChangeDateTime": "23/11/2026"}
    for reason, instance in broken_documents.items():
        assert not check.is_valid(instance), reason
    assert check.is_valid({**document, "extensions": {"anything": [1, 2]}}), "extensions"

    association = package["CFAssociations"][0]
    check = validator_for(ASSOCIATION)
    assert check.is_valid(association), "CFDocumentURI is optional on a CFAssociation"
    for reason, instance in {
        "associationType outside the vocabulary": {**association, "associationType": "isParentOf"},
        "targetType outside the vocabulary": {
            **association,
            "originNodeURI": {**association["originNodeURI"], "targetType": "Other"},
        },
    }.items():
        assert not check.is_valid(instance), reason
    for extended in ({"associationType": "isTranslationOf"}, {"associationType": "ext:mapsTo"}):
        assert check.is_valid({**association, **extended}), extended

    item = package["CFItems"][0]
    assert not validator_for(ITEM).is_valid(item), "CFDocumentURI is required on a CFItem"
    assert not validator_for(PACKAGE).is_valid({**package, "CFDocumentURI": {}}), "package keys"
    assert not validator_for(DOCUMENTS).is_valid({"CFDocuments": []}), "a set has a member"
    status = {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_codeMinor": {
            "imsx_codeMinorField": [
                {"imsx_codeMinorFieldName": "TargetEndSystem", "imsx_codeMinorFieldValue": "x"}
            ]
        },
    }
    field = status["imsx_codeMinor"]["imsx_codeMinorField"][0]
    for value, valid in {"invalid_uuid": True, "unknownobject": True, "invaliduuid": False}.items():
        field["imsx_codeMinorFieldValue"] = value
        assert validator("imsx_StatusInfoDType").is_valid(status) is valid, value


# --- 2. every endpoint answers 200, valid, with the 1.1 properties -----------------------------


@pytest.mark.parametrize(
    "template,pick",
    [
        (DOCUMENT, lambda p: p["CFDocument"]),
        (PACKAGE, lambda p: p["CFDocument"]),
        (ITEM, lambda p: _items_of_type(p, "Unit")[0]),
        (ITEM, lambda p: _items_of_type(p, "Learning Outcome")[0]),
        (ITEM, lambda p: _items_of_type(p, "Assessment Criterion")[0]),
        (ASSOCIATION, lambda p: p["CFAssociations"][0]),
        (ITEM_ASSOCIATIONS, lambda p: _items_of_type(p, "Learning Outcome")[0]),
        (ITEM_TYPES, lambda p: p["CFDefinitions"]["CFItemTypes"][0]),
        (CONCEPTS, lambda p: p["CFDefinitions"]["CFConcepts"][0]),
        (SUBJECTS, lambda p: p["CFDefinitions"]["CFSubjects"][0]),
        (LICENSES, lambda p: p["CFDefinitions"]["CFLicenses"][0]),
        (RUBRICS, lambda p: p["CFRubrics"][0]),
    ],
    ids=[
        "document",
        "package",
        "unit",
        "outcome",
        "criterion",
        "association",
        "item-associations",
        "item-type",
        "concept",
        "subject",
        "license",
        "rubric",
    ],
)
def test_each_endpoint_matches_the_1p1_definition(client, package, template, pick):
    get_valid(client, template, pick(package)["identifier"])


def test_every_object_through_its_own_endpoint_matches(client, package):
    requests = _every_request(package)
    assert len(requests) > 3 * len(package["CFItems"])
    for template, sourced_id in requests:
        get_valid(client, template, sourced_id)


def test_the_document_says_case_1p1_and_its_framework_type(client, document, package):
    for where in (
        document,
        package["CFDocument"],
        get_valid(client, DOCUMENT, document["identifier"]),
    ):
        assert where["caseVersion"] == "1.1"
        assert where["frameworkType"] == FRAMEWORK_TYPE


def test_items_carry_the_subject_of_the_document(client, package):
    subject = package["CFDocument"]["subject"]
    subject_uri = package["CFDocument"]["subjectURI"]
    assert subject and subject_uri
    [definition] = package["CFDefinitions"]["CFSubjects"]
    assert [link["identifier"] for link in subject_uri] == [definition["identifier"]]
    for item in package["CFItems"]:
        assert (item["subject"], item["subjectURI"]) == (subject, subject_uri), item["identifier"]
    unit = _items_of_type(package, "Unit")[0]
    for served in (
        get_valid(client, ITEM, unit["identifier"]),
        get_valid(client, ITEM_ASSOCIATIONS, unit["identifier"])["CFItem"],
    ):
        assert (served["subject"], served["subjectURI"]) == (subject, subject_uri)


def test_association_nodes_say_they_are_case_objects(client, package):
    assert package["CFAssociations"]
    for association in package["CFAssociations"]:
        for end in ("originNodeURI", "destinationNodeURI"):
            assert association[end]["targetType"] == "CASE", association["identifier"]
    served = get_valid(client, ASSOCIATION, package["CFAssociations"][0]["identifier"])
    assert served["originNodeURI"]["targetType"] == served["destinationNodeURI"]["targetType"]
    item = _items_of_type(package, "Learning Outcome")[0]
    for association in get_valid(client, ITEM_ASSOCIATIONS, item["identifier"])["CFAssociations"]:
        assert association["originNodeURI"]["targetType"] == "CASE"


def test_extensions_are_not_sent(package):
    """1.1 allows extensions on every class; we have no proprietary data to put in them."""
    assert not [n for n in nodes(package) if "extensions" in n]


# --- 3. the same framework as v1p0 -------------------------------------------------------------


def test_the_v1p1_package_is_the_v1p0_package_plus_the_1p1_properties(package, package_v1p0):
    assert as_v1p0(package) == package_v1p0
    for added in DOCUMENT_ADDITIONS | NODE_ADDITIONS:
        assert not [n for n in nodes(package_v1p0) if added in n], added
    assert not [i for i in package_v1p0["CFItems"] if ITEM_ADDITIONS & i.keys()]


def test_identifiers_are_the_same_in_both_bindings(package, package_v1p0):
    def identifiers(value) -> set[str]:
        # A set: in 1.1 every item also links to the subject, so identifiers recur more often.
        return {n["identifier"] for n in nodes(value) if "identifier" in n}

    assert identifiers(package) == identifiers(package_v1p0)
    assert {i["identifier"] for i in package["CFItems"]} == {
        i["identifier"] for i in package_v1p0["CFItems"]
    }


def test_every_endpoint_answers_as_v1p0_does_but_for_the_1p1_properties(client, package):
    for template, sourced_id in _every_request(package):
        v1p1 = client.get(path_of(template, sourced_id)).get_json()
        v1p0 = client.get(path_of(template, sourced_id, base=V1P0)).get_json()
        assert as_v1p0(v1p1) == v1p0, (template, sourced_id)


# --- 4. every uri resolves under /ims/case/v1p1 ------------------------------------------------


def _identifier_served(template: str, body: dict) -> str:
    if template == PACKAGE:
        return body["CFDocument"]["identifier"]
    if template == ITEM_ASSOCIATIONS:
        return body["CFItem"]["identifier"]
    if template in DEFINITIONS.values() and template != LICENSES:
        return body[template.split("/")[1]][0]["identifier"]
    return body["identifier"]


def test_every_uri_in_the_package_resolves_under_v1p1(client, package, document):
    links = [n for n in nodes([package, document]) if "uri" in n]
    assert len(links) > 3 * len(package["CFItems"])
    seen: set[str] = set()
    for link in links:
        uri = link["uri"]
        template, sourced_id = template_of(uri)
        assert sourced_id == link["identifier"], uri
        if uri in seen:
            continue
        seen.add(uri)
        response = client.get(local(uri))
        assert response.status_code == 200, uri
        body = response.get_json()
        if urlsplit(uri).fragment:
            assert sourced_id in {n.get("identifier") for n in nodes(body)}, uri
            continue
        assert_valid(validator_for(template), body, uri)
        assert _identifier_served(template, body) == sourced_id, uri
    collections = {template_of(u)[0] for u in seen}
    assert collections == {DOCUMENT, PACKAGE, ITEM, ASSOCIATION, RUBRICS, *DEFINITIONS.values()}


# --- 5. errors are imsx_StatusInfo, in 1.1's vocabulary ----------------------------------------


def _error(client, template: str, url: str, query: dict | None = None):
    response = client.get(url, query_string=query or {})
    body = response.get_json()
    assert_valid(validator_for(template, response.status_code), body, url)
    assert (body["imsx_codeMajor"], body["imsx_severity"]) == ("failure", "error")
    minors = [f["imsx_codeMinorFieldValue"] for f in body["imsx_codeMinor"]["imsx_codeMinorField"]]
    return response.status_code, minors


@pytest.mark.parametrize("template", BY_ID)
def test_unknown_uuid_is_unknownobject(client, template):
    status, minors = _error(client, template, path_of(template, str(uuid.uuid4())))
    assert (status, minors) == (404, ["unknownobject"])


@pytest.mark.parametrize("template", BY_ID)
@pytest.mark.parametrize("sourced_id", ["not-a-uuid", "CSC-01", "12345"])
def test_not_a_uuid_is_invalid_uuid(client, template, sourced_id):
    """1.1 spells it invalid_uuid; 1.0 spelt it invaliduuid, and v1p0 still does."""
    status, minors = _error(client, template, path_of(template, sourced_id))
    assert (status, minors) == (404, ["invalid_uuid"])
    v1p0 = client.get(path_of(template, sourced_id, base=V1P0)).get_json()
    assert v1p0["imsx_codeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"] == (
        "invaliduuid"
    )


def test_an_identifier_from_another_collection_is_unknown(client, package):
    status, minors = _error(client, ITEM, path_of(ITEM, package["CFDocument"]["identifier"]))
    assert (status, minors) == (404, ["unknownobject"])


@pytest.mark.parametrize(
    "query,minor",
    [
        ({"sort": "colour"}, "invalid_sort_field"),
        ({"sort": "colour", "orderBy": "desc"}, "invalid_sort_field"),
        ({"filter": "colour='blue'"}, "invalid_selection_field"),
        ({"filter": "caseVersion='1.1' AND colour='blue'"}, "invalid_selection_field"),
        ({"fields": "caseVersion,colour"}, "invalid_selection_field"),
    ],
)
def test_bad_selection_is_400(client, query, minor):
    status, minors = _error(client, DOCUMENTS, path_of(DOCUMENTS), query)
    assert (status, minors) == (400, [minor])


@pytest.mark.parametrize(
    "query", [{"limit": "0"}, {"limit": "abc"}, {"offset": "-1"}, {"orderBy": "sideways"}]
)
def test_bad_paging_is_a_client_error(client, query):
    status, _minors = _error(client, DOCUMENTS, path_of(DOCUMENTS), query)
    assert 400 <= status < 500


# --- 6. CFDocuments' query parameters know the 1.1 properties ----------------------------------


def _documents(client, base: str = V1P1, **query):
    response = client.get(path_of(DOCUMENTS, base=base), query_string=query)
    return response.status_code, response.get_json(), response.headers


def test_filter_sort_and_fields_on_the_1p1_properties(client, document):
    status, body, headers = _documents(client, filter="caseVersion='1.1'")
    assert (status, body, headers["X-Total-Count"]) == (200, {"CFDocuments": [document]}, "1")
    assert _documents(client, filter=f"frameworkType='{FRAMEWORK_TYPE}'")[1] == {
        "CFDocuments": [document]
    }
    status, body, headers = _documents(client, filter="frameworkType='CourseCodes'")
    assert (status, body, headers["X-Total-Count"]) == (200, {"CFDocuments": []}, "0")
    assert _documents(client, sort="frameworkType", orderBy="desc")[1] == {
        "CFDocuments": [document]
    }
    status, body, _ = _documents(client, fields="identifier,caseVersion,frameworkType")
    assert body == {
        "CFDocuments": [
            {
                "identifier": document["identifier"],
                "caseVersion": "1.1",
                "frameworkType": FRAMEWORK_TYPE,
            }
        ]
    }


def test_v1p0_does_not_know_the_1p1_properties(client):
    for query in ({"filter": "caseVersion='1.1'"}, {"fields": "frameworkType"}):
        status, body, _ = _documents(client, base=V1P0, **query)
        assert status == 400, query
        minors = body["imsx_codeMinor"]["imsx_codeMinorField"]
        assert minors[0]["imsx_codeMinorFieldValue"] == "invalid_selection_field"


# --- 7. caching and the service's own OpenAPI document -----------------------------------------


def test_each_binding_is_cached_on_its_own(client, document):
    """The cache key is the path: an answer cached for one binding never answers the other."""
    sourced_id = document["identifier"]
    for _ in range(2):
        v1p1 = client.get(path_of(DOCUMENT, sourced_id))
        v1p0 = client.get(path_of(DOCUMENT, sourced_id, base=V1P0))
        assert "public" in v1p1.headers.get("Cache-Control", "")
        assert v1p1.get_json()["uri"] == f"{HOST}{path_of(DOCUMENT, sourced_id)}"
        assert v1p0.get_json()["uri"] == f"{HOST}{path_of(DOCUMENT, sourced_id, base=V1P0)}"
        assert "caseVersion" not in v1p0.get_json()


def test_the_openapi_document_lists_both_bindings(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    for template in RESPONSES:
        flask_path = template.replace("{sourcedId}", "{sourced_id}")
        assert V1P0 + flask_path in paths, template
        assert V1P1 + flask_path in paths, template

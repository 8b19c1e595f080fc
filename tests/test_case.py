"""The CASE 1.0 binding (/ims/case/v1p0) checked against 1EdTech's own service definition.

Every response is validated with the schema that tests/standards/case-v1p0-openapi.json
gives for that path and status, so the mapping from endpoint to definition is the spec's.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from jsonschema import Draft4Validator

from service import create_app, db
from service.cache import clear as clear_response_cache
from service.content_loader import load_content
from service.models import Qualification
from tests.conftest import STANDARDS, isolated_database, make_app, on_postgres
from tests.seeds import UNIT_SEEDS, read_seed

SPEC_FILE = STANDARDS / "case-v1p0-openapi.json"
HOST = "http://localhost"
CRITERION_CODE = re.compile(r"^CSC-0[1-5]\.AC[0-9]+$")
FORMATS = Draft4Validator.FORMAT_CHECKER

# The templates of the CASE paths this service answers, as the definition spells them.
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
]
# The package's CFDefinitions collections, with the path that serves each one's members.
DEFINITIONS = {
    "CFItemTypes": ITEM_TYPES,
    "CFConcepts": CONCEPTS,
    "CFSubjects": SUBJECTS,
    "CFLicenses": LICENSES,
}


# --- the official definition, read as it is meant ----------------------------------------------


@functools.cache
def spec() -> dict:
    return json.loads(SPEC_FILE.read_text(encoding="utf-8"))


def flatten(node, definitions: dict):
    """Resolve every "$ref" and flatten every "allOf" into one object schema.

    The definition builds the shapes used outside a package from the in-package ones, e.g.
    CFItem.Type = allOf[CFPckgItem.Type, {CFDocumentURI}], and every branch says
    additionalProperties: false. Read literally under JSON Schema no object satisfies both
    branches (each forbids the other's properties). What is meant is inheritance: the
    outside-package shape has the properties of the package shape plus its own, no others, and
    requires what either branch requires. So the branches' "properties" and "required" are
    merged, and the merged schema keeps additionalProperties: false if any branch had it.

    UUID.Type's pattern is anchored (^...$): JSON Schema patterns match anywhere in the string,
    but the type says the whole value is a lower-case UUID in the 8-4-4-4-12 form.
    """
    if isinstance(node, list):
        return [flatten(n, definitions) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return flatten(definitions[node["$ref"].removeprefix("#/definitions/")], definitions)
    node = {key: flatten(value, definitions) for key, value in node.items()}
    branches = node.pop("allOf", None)
    if branches is None:
        return node
    properties = dict(node.get("properties", {}))
    required = list(node.get("required", []))
    closed = node.get("additionalProperties") is False
    for branch in branches:
        properties.update(branch.get("properties", {}))
        required += [name for name in branch.get("required", []) if name not in required]
        closed = closed or branch.get("additionalProperties") is False
    merged = {**node, "type": "object", "properties": properties}
    if required:  # draft 4 wants a non-empty "required"
        merged["required"] = required
    if closed:
        merged["additionalProperties"] = False
    return merged


@functools.cache
def _definitions() -> dict:
    definitions = copy.deepcopy(spec()["definitions"])
    pattern = definitions["UUID.Type"]["pattern"]
    definitions["UUID.Type"]["pattern"] = f"^(?:{pattern})$"
    return definitions


@functools.cache
def validator_for(template: str, status: int = 200) -> Draft4Validator:
    """The validator for one path's response, by the definition's own responses table."""
    responses = spec()["paths"][template]["get"]["responses"]
    response = responses.get(str(status), responses["default"])
    schema = flatten(response["schema"], _definitions())
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema, format_checker=FORMATS)


def definition_validator(name: str) -> Draft4Validator:
    return Draft4Validator(
        flatten({"$ref": f"#/definitions/{name}"}, _definitions()), format_checker=FORMATS
    )


def assert_valid(validator: Draft4Validator, instance, what: str) -> None:
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    problems = [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]
    assert not problems, f"{what} does not match the CASE definition:\n" + "\n".join(problems)


# --- requests ----------------------------------------------------------------------------------


def path_of(template: str, sourced_id: str = "") -> str:
    return spec()["basePath"] + template.replace("{sourcedId}", sourced_id)


def local(uri: str) -> str:
    """A CASE uri as the test client asks for it: the host (the client's base) taken off."""
    parts, base = urlsplit(uri), urlsplit(HOST)
    assert (parts.scheme, parts.netloc) == (base.scheme, base.netloc), uri
    return urlunsplit(("", "", parts.path, parts.query, ""))


def get_valid(client, template: str, sourced_id: str = "", **query) -> dict:
    """GET a CASE path; assert 200 and that the body matches the definition for that path."""
    url = path_of(template, sourced_id)
    response = client.get(url, query_string=query)
    assert response.status_code == 200, (url, response.status_code, response.get_data(True))
    body = response.get_json()
    assert_valid(validator_for(template), body, url)
    return body


def template_of(uri: str) -> tuple[str, str]:
    """(path template, sourcedId) of a CASE uri. A rubric criterion or level, which CASE 1.0
    gives no endpoint, is a fragment of its rubric's uri: the fragment is its identifier."""
    path = local(uri).removeprefix(spec()["basePath"])
    collection, sourced_id = path.strip("/").split("/")
    return f"/{collection}/{{sourcedId}}", urlsplit(uri).fragment or sourced_id


def package_of(application) -> dict:
    client = application.test_client()
    document = get_valid(client, DOCUMENTS)["CFDocuments"][0]
    return get_valid(client, PACKAGE, document["identifier"])


def nodes(value) -> Iterator[dict]:
    """Every object anywhere in a JSON value."""
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from nodes(child)
    elif isinstance(value, list):
        for child in value:
            yield from nodes(child)


@pytest.fixture(scope="module")
def package(app) -> dict:
    return package_of(app)


@pytest.fixture(scope="module")
def document(app) -> dict:
    return get_valid(app.test_client(), DOCUMENTS)["CFDocuments"][0]


def _items_of_type(package: dict, item_type: str) -> list[dict]:
    return [i for i in package["CFItems"] if i["CFItemType"] == item_type]


# --- 1. every 200 response matches its definition ----------------------------------------------


def test_the_schema_helper_enforces_the_definition(package, document):
    """The flattened schemas are not vacuous: each rule the tests rely on can fail."""
    validator = validator_for(ITEM)
    link = {k: document[k] for k in ("title", "identifier", "uri")}
    item = {**package["CFItems"][0], "CFDocumentURI": link}
    assert_valid(validator, item, "a package item with a CFDocumentURI")
    broken = {
        "required by the CFItem branch": {k: v for k, v in item.items() if k != "CFDocumentURI"},
        "required by the CFPckgItem branch": {
            k: v for k, v in item.items() if k != "fullStatement"
        },
        "unknown property": {**item, "colour": "blue"},
        "uuid inside a longer string": {**item, "identifier": f"x{item['identifier']}x"},
        "upper-case uuid": {**item, "identifier": item["identifier"].upper()},
        "uuid version 0": {**item, "identifier": "00000000-0000-0000-8000-000000000000"},
        "uuid in a LinkURI": {**item, "CFDocumentURI": {**link, "identifier": "CSQ-L23"}},
    }
    if "date-time" in FORMATS.checkers:
        broken["not a date-time"] = {**item, "lastChangeDateTime": "23/11/2026"}
    if "uri" in FORMATS.checkers:
        broken["not a uri"] = {**item, "uri": "not a uri"}
    for reason, instance in broken.items():
        assert not validator.is_valid(instance), reason
    association = {**package["CFAssociations"][0], "associationType": "isParentOf"}
    assert not validator_for(ASSOCIATION).is_valid(association), "associationType enum"
    assert not validator_for(DOCUMENT).is_valid(package["CFDocument"]), "CFPackageURI required"
    assert validator_for(DOCUMENT).is_valid(document)


def test_documents_match_cfdocumentset(client, document):
    body = get_valid(client, DOCUMENTS)
    assert body["CFDocuments"] == [document]
    assert document["CFPackageURI"]["identifier"] == document["identifier"]


@pytest.mark.parametrize(
    "template,pick",
    [
        (DOCUMENT, lambda p: p["CFDocument"]),
        (PACKAGE, lambda p: p["CFDocument"]),
        (ITEM, lambda p: _items_of_type(p, "Unit")[0]),
        (ITEM, lambda p: _items_of_type(p, "Learning Outcome")[0]),
        (ITEM, lambda p: _items_of_type(p, "Assessment Criterion")[0]),
        (ASSOCIATION, lambda p: p["CFAssociations"][0]),
        (ITEM_ASSOCIATIONS, lambda p: _items_of_type(p, "Unit")[0]),
        (ITEM_TYPES, lambda p: p["CFDefinitions"]["CFItemTypes"][0]),
        (CONCEPTS, lambda p: p["CFDefinitions"]["CFConcepts"][0]),
        (SUBJECTS, lambda p: p["CFDefinitions"]["CFSubjects"][0]),
        (LICENSES, lambda p: p["CFDefinitions"]["CFLicenses"][0]),
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
    ],
)
def test_each_endpoint_matches_its_definition(client, package, template, pick):
    get_valid(client, template, pick(package)["identifier"])


def test_every_item_through_its_own_endpoints(client, package):
    document_id = package["CFDocument"]["identifier"]
    assert len(package["CFItems"]) > 5
    for item in package["CFItems"]:
        body = get_valid(client, ITEM, item["identifier"])
        assert body.pop("CFDocumentURI")["identifier"] == document_id
        assert body == item
        involved = [
            a
            for a in package["CFAssociations"]
            if item["identifier"]
            in (a["originNodeURI"]["identifier"], a["destinationNodeURI"]["identifier"])
        ]
        body = get_valid(client, ITEM_ASSOCIATIONS, item["identifier"])
        assert body["CFItem"]["identifier"] == item["identifier"]
        assert sorted(body["CFAssociations"], key=lambda a: a["identifier"]) == sorted(
            involved, key=lambda a: a["identifier"]
        )


def test_every_association_through_its_own_endpoint(client, package):
    document_id = package["CFDocument"]["identifier"]
    assert len(package["CFAssociations"]) == len(package["CFItems"])  # one parent each
    for association in package["CFAssociations"]:
        body = get_valid(client, ASSOCIATION, association["identifier"])
        assert body.pop("CFDocumentURI")["identifier"] == document_id
        assert body == association


def test_every_definition_through_its_own_endpoint(client, package):
    for collection, template in DEFINITIONS.items():
        records = package["CFDefinitions"][collection]
        assert records, collection
        for record in records:
            body = get_valid(client, template, record["identifier"])
            first = body if template == LICENSES else body[collection][0]
            assert first == record
            if template != LICENSES:  # a set: the one asked for, then its children
                prefix = record["hierarchyCode"] + "."
                children = [r for r in records if r["hierarchyCode"].startswith(prefix)]
                assert body[collection][1:] == children


def test_package_members_match_the_in_package_definitions(package):
    """The package's CFItems / CFAssociations are the in-package shapes, document-less."""
    for item in package["CFItems"]:
        assert_valid(definition_validator("CFPckgItem.Type"), item, item["identifier"])
    for association in package["CFAssociations"]:
        assert association["associationType"] == "isChildOf"
        assert_valid(definition_validator("CFPckgAssociation.Type"), association, "association")


# --- 2. errors are imsx_StatusInfo -------------------------------------------------------------


def _error(client, template: str, url: str, query: dict | None = None):
    response = client.get(url, query_string=query or {})
    body = response.get_json()
    assert_valid(validator_for(template, response.status_code), body, url)
    assert body["imsx_codeMajor"] == "failure"
    assert body["imsx_severity"] == "error"
    minors = [f["imsx_codeMinorFieldValue"] for f in body["imsx_codeMinor"]["imsx_codeMinorField"]]
    return response.status_code, minors


@pytest.mark.parametrize("template", BY_ID)
def test_unknown_uuid_is_unknownobject(client, template):
    status, minors = _error(client, template, path_of(template, str(uuid.uuid4())))
    assert (status, minors) == (404, ["unknownobject"])


@pytest.mark.parametrize("template", BY_ID)
@pytest.mark.parametrize("sourced_id", ["not-a-uuid", "CSC-01", "12345"])
def test_not_a_uuid_is_invaliduuid(client, template, sourced_id):
    status, minors = _error(client, template, path_of(template, sourced_id))
    assert (status, minors) == (404, ["invaliduuid"])


def test_an_identifier_from_another_collection_is_unknown(client, package):
    """A document's id is not an item's: the lookup is by collection."""
    status, minors = _error(client, ITEM, path_of(ITEM, package["CFDocument"]["identifier"]))
    assert (status, minors) == (404, ["unknownobject"])


@pytest.mark.parametrize(
    "query,minor",
    [
        ({"sort": "colour"}, "invalid_sort_field"),
        ({"sort": "colour", "orderBy": "desc"}, "invalid_sort_field"),
        ({"filter": "colour='blue'"}, "invalid_selection_field"),
        ({"filter": "title~'Customer' AND colour='blue'"}, "invalid_selection_field"),
        ({"fields": "title,colour"}, "invalid_selection_field"),
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


# --- 3. from the document down to every criterion ----------------------------------------------


def _children(client, parent: dict, expected_type: str) -> list[dict]:
    """The items that are isChildOf the parent, fetched through their own uris."""
    links = get_valid(client, ITEM_ASSOCIATIONS, parent["identifier"])["CFAssociations"]
    children = []
    for association in links:
        if association["associationType"] != "isChildOf":
            continue
        if association["destinationNodeURI"]["identifier"] != parent["identifier"]:
            continue
        template, sourced_id = template_of(association["originNodeURI"]["uri"])
        assert template == ITEM
        child = get_valid(client, ITEM, sourced_id)
        assert child["CFItemType"] == expected_type, child["identifier"]
        children.append(child)
    return children


def test_walk_from_the_document_to_every_criterion(client):
    document = get_valid(client, DOCUMENTS)["CFDocuments"][0]
    template, sourced_id = template_of(document["CFPackageURI"]["uri"])
    assert template == PACKAGE
    package = get_valid(client, PACKAGE, sourced_id)
    assert package["CFDocument"]["identifier"] == document["identifier"]

    units = _items_of_type(package, "Unit")
    assert len(units) == 5
    assert sorted(u["humanCodingScheme"] for u in units) == sorted(UNIT_SEEDS)
    reached: dict[str, list[dict]] = {}
    for unit in units:
        up = [
            a
            for a in get_valid(client, ITEM_ASSOCIATIONS, unit["identifier"])["CFAssociations"]
            if a["originNodeURI"]["identifier"] == unit["identifier"]
        ]
        assert [(a["associationType"], a["destinationNodeURI"]["identifier"]) for a in up] == [
            ("isChildOf", document["identifier"])
        ]
        outcomes = _children(client, unit, "Learning Outcome")
        assert outcomes, unit["humanCodingScheme"]
        for outcome in outcomes:
            criteria = _children(client, outcome, "Assessment Criterion")
            assert criteria, outcome["humanCodingScheme"]
            reached.setdefault(unit["humanCodingScheme"], []).extend(criteria)

    for code, seed_name in UNIT_SEEDS.items():
        criteria = reached[code]
        assert all(c["humanCodingScheme"].startswith(f"{code}.") for c in criteria)
        assert len(criteria) == len(read_seed(seed_name).marking_points), code
        for criterion in criteria:
            assert criterion["fullStatement"].strip(), criterion["identifier"]
            assert CRITERION_CODE.fullmatch(criterion["humanCodingScheme"])
    every_criterion = {c["identifier"] for c in _items_of_type(package, "Assessment Criterion")}
    assert {c["identifier"] for cs in reached.values() for c in cs} == every_criterion


# --- 4. every uri resolves ---------------------------------------------------------------------


def _identifier_served(template: str, body: dict) -> str:
    if template == PACKAGE:
        return body["CFDocument"]["identifier"]
    if template == ITEM_ASSOCIATIONS:
        return body["CFItem"]["identifier"]
    collection = template.split("/")[1]
    if template in DEFINITIONS.values() and template != LICENSES:
        return body[collection][0]["identifier"]
    return body["identifier"]


def test_every_uri_in_the_package_resolves(client, package, document):
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
        if urlsplit(uri).fragment:
            served = {n.get("identifier") for n in nodes(response.get_json())}
            assert sourced_id in served, uri
            continue
        assert _identifier_served(template, response.get_json()) == sourced_id, uri
    collections = {template_of(u)[0] for u in seen}
    assert collections == {DOCUMENT, PACKAGE, ITEM, ASSOCIATION, RUBRICS, *DEFINITIONS.values()}


# --- 5. stable identifiers ---------------------------------------------------------------------


def _identifiers(package: dict) -> set[str]:
    return {n["identifier"] for n in nodes(package) if "identifier" in n}


def _codes(package: dict) -> dict[str, str]:
    return {i["identifier"]: i["humanCodingScheme"] for i in package["CFItems"]}


def test_identifiers_are_the_same_in_a_fresh_database(app, package, tmp_path):
    with isolated_database(tmp_path) as url:
        second = make_app(url)
        try:
            again = package_of(second)
        finally:
            second.extensions["db_engine"].dispose()
    definitions = sum(len(v) for v in package["CFDefinitions"].values())
    rubric_parts = [
        part
        for rubric in package["CFRubrics"]
        for criterion in rubric["CFRubricCriteria"]
        for part in [criterion, *criterion["CFRubricCriterionLevels"]]
    ] + package["CFRubrics"]
    assert package["CFRubrics"], "rubrics are part of the package"
    ids = _identifiers(package)
    assert len(ids) == (
        1
        + len(package["CFItems"])
        + len(package["CFAssociations"])
        + definitions
        + len(rubric_parts)
    )
    assert _identifiers(again) == ids
    assert _codes(again) == _codes(package)


def test_loading_twice_gives_the_same_package(fresh):
    application, content_dir = fresh
    before = package_of(application)
    with application.app_context():
        assert load_content(db.session(), content_dir).changes == []
        clear_response_cache()  # as `assessment content load` does: answer from the database
    assert package_of(application) == before


def _with_session_timezone(url: str, zone: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["options"] = f"-cTimeZone={zone} " + query.get("options", "")
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.mark.skipif(not on_postgres(), reason="only PostgreSQL has a session time zone")
def test_last_change_is_utc_whatever_the_session_time_zone(tmp_path):
    """lastChangeDateTime says +00:00, so it must be the UTC instant even when the database
    session's TimeZone is not UTC (PostgreSQL then answers in that zone)."""
    with isolated_database(tmp_path) as url:
        utc_app = make_app(url)
        tokyo_app = create_app(
            {"TESTING": True, "DATABASE_URL": _with_session_timezone(url, "Asia/Tokyo")}
        )
        try:
            in_utc, in_tokyo = package_of(utc_app), package_of(tokyo_app)
        finally:
            utc_app.extensions["db_engine"].dispose()
            tokyo_app.extensions["db_engine"].dispose()
    stamp = in_utc["CFDocument"]["lastChangeDateTime"]
    assert abs(datetime.fromisoformat(stamp) - datetime.now(UTC)).total_seconds() < 3600
    assert in_tokyo["CFDocument"]["lastChangeDateTime"] == stamp
    assert in_tokyo == in_utc


# --- 6. CFDocuments' query parameters ----------------------------------------------------------


def _documents(client, **query):
    response = client.get(path_of(DOCUMENTS), query_string=query)
    assert response.status_code == 200, (query, response.get_data(True))
    return response.get_json(), response.headers


def test_fields_selects_keys(client, document):
    body, _ = _documents(client, fields="title,identifier")
    assert body == {
        "CFDocuments": [{"title": document["title"], "identifier": document["identifier"]}]
    }


def test_filter_contains_and_equals(client, document):
    body, headers = _documents(client, filter="title~'Customer'")
    assert_valid(validator_for(DOCUMENTS), body, "filtered CFDocuments")
    assert body == {"CFDocuments": [document]}
    assert headers["X-Total-Count"] == "1"
    assert _documents(client, filter="title~'customer service'")[0] == {"CFDocuments": [document]}
    assert _documents(client, filter=f"title='{document['title']}'")[0]["CFDocuments"] == [document]
    # CFDocumentSet.Type asks for at least one document; the service answers a filter that
    # matches nothing with an empty set rather than an error, which is what we assert.
    body, headers = _documents(client, filter="title='nothing like this'")
    assert body == {"CFDocuments": []}
    assert headers["X-Total-Count"] == "0"


def test_sort_and_paging_on_one_document(client, document):
    body, headers = _documents(client, sort="title", orderBy="desc")
    assert_valid(validator_for(DOCUMENTS), body, "sorted CFDocuments")
    assert body == {"CFDocuments": [document]}
    assert headers["X-Total-Count"] == "1"
    body, headers = _documents(client, offset="1")
    assert body == {"CFDocuments": []}
    assert headers["X-Total-Count"] == "1"


def test_sort_filter_and_paging_over_two_documents(fresh, document):
    application, _content_dir = fresh
    other = "Advanced Widget Handling"
    with application.app_context():
        session = db.session()
        session.add(
            Qualification(
                uuid=str(uuid.uuid4()),
                code="WID-01",
                title=other,
                description="Widgets.",
                publisher="Someone Else",
                version="2.0",
                subject="Widgets",
                licence_title="Open",
                licence_text="Use freely.",
            )
        )
        session.commit()
        clear_response_cache()
    client = application.test_client()
    ours = document["title"]

    def titles(**query) -> tuple[list[str], str]:
        body, headers = _documents(client, **query)
        return [d["title"] for d in body["CFDocuments"]], headers["X-Total-Count"]

    assert titles(sort="title") == ([other, ours], "2")
    assert titles(sort="title", orderBy="asc") == ([other, ours], "2")
    assert titles(sort="title", orderBy="desc") == ([ours, other], "2")
    assert titles(sort="title", offset="1") == ([ours], "2")
    assert titles(sort="title", limit="1") == ([other], "2")
    assert titles(sort="title", orderBy="desc", limit="1", offset="1") == ([other], "2")
    assert titles(filter="title~'Customer'") == ([ours], "1")
    assert titles(filter="title~'Widget' OR title~'Customer'", sort="title") == ([other, ours], "2")
    assert titles(filter="title~'Widget' AND version='2.0'") == ([other], "1")
    assert titles(filter="version!='2.0'") == ([ours], "1")
    body = get_valid(client, DOCUMENTS, sort="title")
    assert len(body["CFDocuments"]) == 2


# --- 7. caching --------------------------------------------------------------------------------


@pytest.mark.parametrize("template", [DOCUMENTS, DOCUMENT, PACKAGE, ITEM, CONCEPTS])
def test_case_get_is_cacheable(client, package, template):
    sourced_id = {
        DOCUMENTS: "",
        DOCUMENT: package["CFDocument"]["identifier"],
        PACKAGE: package["CFDocument"]["identifier"],
        ITEM: package["CFItems"][0]["identifier"],
        CONCEPTS: package["CFDefinitions"]["CFConcepts"][0]["identifier"],
    }[template]
    response = client.get(path_of(template, sourced_id))
    assert response.status_code == 200
    cache_control = response.headers.get("Cache-Control", "")
    assert "public" in cache_control
    assert re.search(r"max-age=[1-9][0-9]*", cache_control), cache_control


def test_a_cached_answer_is_the_first_answer(client):
    """Content responses are cached whole: the second answer keeps the body and the headers."""
    first = client.get(path_of(DOCUMENTS), query_string={"offset": "1"})
    second = client.get(path_of(DOCUMENTS), query_string={"offset": "1"})
    assert second.status_code == first.status_code == 200
    assert second.get_json() == first.get_json() == {"CFDocuments": []}
    for header in ("X-Total-Count", "Content-Type", "Cache-Control"):
        assert second.headers.get(header) == first.headers.get(header) is not None, header


def test_uris_follow_the_host_asked_for(app, client, document, monkeypatch):
    """Answers carry absolute uris built from the request's host (one of TRUSTED_HOSTS); a
    cached answer for one host is not served to another."""
    trusted = [*app.config["TRUSTED_HOSTS"], "case.example.org"]
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", trusted)
    path = path_of(DOCUMENT, document["identifier"])
    assert client.get(path).get_json()["uri"].startswith(f"{HOST}/")
    elsewhere = client.get(path, base_url="https://case.example.org").get_json()
    assert elsewhere["uri"] == f"https://case.example.org{path}"
    assert elsewhere["CFPackageURI"]["uri"].startswith("https://case.example.org/")


def test_uris_follow_the_scheme_asked_for(client, document):
    """The uris are built from the request's scheme and host, so an answer cached for
    http://localhost must not be served to https://localhost."""
    path = path_of(DOCUMENT, document["identifier"])
    assert client.get(path).get_json()["uri"] == f"{HOST}{path}"
    secure = client.get(path, base_url="https://localhost").get_json()
    assert secure["uri"] == f"https://localhost{path}"


def test_rubrics_are_served_and_point_at_criteria(client, package):
    items = {i["identifier"]: i for i in package["CFItems"]}
    assert {r["title"][:6] for r in package["CFRubrics"]} == {f"CSC-0{n}" for n in range(1, 6)}
    for rubric in package["CFRubrics"]:
        served = get_valid(client, RUBRICS, rubric["identifier"])
        assert served == rubric
        for criterion in rubric["CFRubricCriteria"]:
            target = items[criterion["CFItemURI"]["identifier"]]
            assert target["CFItemType"] == "Assessment Criterion"
            assert target["humanCodingScheme"] == criterion["category"]
            levels = criterion["CFRubricCriterionLevels"]
            assert [level["score"] for level in levels] == sorted(
                level["score"] for level in levels
            )
            assert {level["quality"] for level in levels} >= {"not yet met", "met"}
            assert all(level["description"] for level in levels)

"""QTI 3.0 export: GET /api/v1/items/{id}/qti and GET /api/v1/assessments/{code}/qti-package.

Reference: 1EdTech QTI 3.0 (Assessment, Section and Item information model; content packaging
v1.2 profile for QTI 3). Elements are kebab-case qti-* in http://www.imsglobal.org/xsd/imsqtiasi_v3p0.

XSD validation: the official QTI 3.0 schema (imsqti_asiv3p0_v1p0.xsd) is not available offline
here. No installed or PyPI package that was checked ships it, the project does not vendor it,
and the tests must not download it. Instead `_structural_problems` checks each document
against what the XSD would enforce that matters for interchange: every element in the QTI
namespace (only xml:lang and xsi:schemaLocation from other namespaces), no qti-* or HTML element
outside an allowlist of spec names, kebab-case attributes, identifiers matching the QTI
identifier pattern (NCName-like), enumerated attribute values and numbers, the XSD's child order
of qti-assessment-item and qti-assessment-test, and that every identifier reference resolves.

Every item in criteria_data/items/ is exported and checked against its YAML: the interaction,
the response declaration and key, one outcome per evidenced criterion, response processing,
per-option feedback, partial credit (the mapping is run against the grading engine) and, for
extended responses, human scoring with the scorer's rubric.
"""

from __future__ import annotations

import io
import itertools
import posixpath
import re
import uuid
import zipfile
from functools import cache

import pytest
import yaml
from lxml import etree

from service import db
from service.auth import create_client
from service.grading.scoring import score_item
from service.item_keys import item_key
from service.models import Centre
from tests.conftest import CONTENT_DIR

QTI = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
CP = "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1"
CSM = "http://www.imsglobal.org/xsd/imscsmetadata_v1p0"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML = "http://www.w3.org/XML/1998/namespace"
NSMAP = {"q": QTI, "cp": CP, "csm": CSM}

# QTI identifiers (xs:NCName in practice; TAO's default validator uses exactly this pattern).
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
IDENTIFIER_ATTRIBUTES = {
    "identifier",
    "response-identifier",
    "outcome-identifier",
    "template-identifier",
    "variable-identifier",
}

# qti-* element names defined by QTI 3.0 ASI (a superset of what the export uses).
QTI_ELEMENTS = {
    "qti-and",
    "qti-any-n",
    "qti-area-map-entry",
    "qti-area-mapping",
    "qti-assessment-item",
    "qti-assessment-item-ref",
    "qti-assessment-section",
    "qti-assessment-section-ref",
    "qti-assessment-stimulus",
    "qti-assessment-stimulus-ref",
    "qti-assessment-test",
    "qti-associable-hotspot",
    "qti-associate-interaction",
    "qti-base-value",
    "qti-branch-rule",
    "qti-card",
    "qti-card-entry",
    "qti-catalog",
    "qti-catalog-info",
    "qti-choice-interaction",
    "qti-companion-materials-info",
    "qti-container-size",
    "qti-contains",
    "qti-content-body",
    "qti-context-declaration",
    "qti-correct",
    "qti-correct-response",
    "qti-custom-interaction",
    "qti-custom-operator",
    "qti-default",
    "qti-default-value",
    "qti-delete",
    "qti-divide",
    "qti-drawing-interaction",
    "qti-duration-gte",
    "qti-duration-lt",
    "qti-end-attempt-interaction",
    "qti-equal",
    "qti-equal-rounded",
    "qti-exit-response",
    "qti-exit-template",
    "qti-exit-test",
    "qti-extended-text-interaction",
    "qti-feedback-block",
    "qti-feedback-inline",
    "qti-field-value",
    "qti-gap",
    "qti-gap-img",
    "qti-gap-match-interaction",
    "qti-gap-text",
    "qti-gcd",
    "qti-graphic-associate-interaction",
    "qti-graphic-gap-match-interaction",
    "qti-graphic-order-interaction",
    "qti-gt",
    "qti-gte",
    "qti-hotspot-choice",
    "qti-hotspot-interaction",
    "qti-hottext",
    "qti-hottext-interaction",
    "qti-index",
    "qti-inline-choice",
    "qti-inline-choice-interaction",
    "qti-inside",
    "qti-integer-divide",
    "qti-integer-modulus",
    "qti-integer-to-float",
    "qti-interpolation-table",
    "qti-interpolation-table-entry",
    "qti-is-null",
    "qti-item-body",
    "qti-item-session-control",
    "qti-lcm",
    "qti-lookup-outcome-value",
    "qti-lt",
    "qti-lte",
    "qti-map-entry",
    "qti-map-response",
    "qti-map-response-point",
    "qti-mapping",
    "qti-match",
    "qti-match-interaction",
    "qti-match-table",
    "qti-match-table-entry",
    "qti-math-constant",
    "qti-math-operator",
    "qti-max",
    "qti-media-interaction",
    "qti-member",
    "qti-min",
    "qti-modal-feedback",
    "qti-multiple",
    "qti-not",
    "qti-null",
    "qti-number-correct",
    "qti-number-incorrect",
    "qti-number-presented",
    "qti-number-responded",
    "qti-number-selected",
    "qti-or",
    "qti-order-interaction",
    "qti-ordered",
    "qti-ordering",
    "qti-outcome-condition",
    "qti-outcome-declaration",
    "qti-outcome-else",
    "qti-outcome-else-if",
    "qti-outcome-if",
    "qti-outcome-maximum",
    "qti-outcome-minimum",
    "qti-outcome-processing",
    "qti-outcome-processing-fragment",
    "qti-pattern-match",
    "qti-portable-custom-interaction",
    "qti-position-object-interaction",
    "qti-position-object-stage",
    "qti-power",
    "qti-pre-condition",
    "qti-printed-variable",
    "qti-product",
    "qti-prompt",
    "qti-random",
    "qti-random-float",
    "qti-random-integer",
    "qti-repeat",
    "qti-response-condition",
    "qti-response-declaration",
    "qti-response-else",
    "qti-response-else-if",
    "qti-response-if",
    "qti-response-processing",
    "qti-response-processing-fragment",
    "qti-round",
    "qti-round-to",
    "qti-rubric-block",
    "qti-select-point-interaction",
    "qti-selection",
    "qti-set-correct-response",
    "qti-set-default-value",
    "qti-set-outcome-value",
    "qti-set-template-value",
    "qti-simple-associable-choice",
    "qti-simple-choice",
    "qti-simple-match-set",
    "qti-slider-interaction",
    "qti-stats-operator",
    "qti-string-match",
    "qti-stylesheet",
    "qti-substring",
    "qti-subtract",
    "qti-sum",
    "qti-template-block",
    "qti-template-condition",
    "qti-template-constraint",
    "qti-template-declaration",
    "qti-template-else",
    "qti-template-else-if",
    "qti-template-if",
    "qti-template-inline",
    "qti-template-processing",
    "qti-test-feedback",
    "qti-test-part",
    "qti-test-variables",
    "qti-text-entry-interaction",
    "qti-time-limits",
    "qti-truncate",
    "qti-upload-interaction",
    "qti-value",
    "qti-variable",
}
# HTML elements QTI 3 content may use (in the QTI namespace).
HTML_ELEMENTS = {
    "a",
    "abbr",
    "address",
    "article",
    "aside",
    "audio",
    "b",
    "bdi",
    "bdo",
    "big",
    "blockquote",
    "br",
    "caption",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "label",
    "li",
    "nav",
    "object",
    "ol",
    "p",
    "picture",
    "pre",
    "q",
    "rb",
    "rp",
    "rt",
    "rtc",
    "ruby",
    "samp",
    "section",
    "small",
    "source",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "track",
    "tt",
    "u",
    "ul",
    "var",
    "video",
    "wbr",
}
INTERACTIONS = {e for e in QTI_ELEMENTS if e.endswith("-interaction")}

BASE_TYPES = {
    "boolean",
    "directedPair",
    "duration",
    "file",
    "float",
    "identifier",
    "integer",
    "pair",
    "point",
    "string",
    "uri",
}
ENUMERATIONS = {
    "cardinality": {"single", "multiple", "ordered", "record"},
    "base-type": BASE_TYPES,
    "show-hide": {"show", "hide"},
    "use": {"instructions", "scoring", "navigation"},
    "view": {"author", "candidate", "proctor", "scorer", "testConstructor", "tutor"},
    "external-scored": {"human", "externalMachine"},
    "navigation-mode": {"linear", "nonlinear"},
    "submission-mode": {"individual", "simultaneous"},
}
BOOLEANS = {
    "adaptive",
    "time-dependent",
    "shuffle",
    "visible",
    "case-sensitive",
    "fixed",
    "with-replacement",
    "keep-together",
    "required",
}
NON_NEGATIVE_INTEGERS = {
    "max-choices",
    "min-choices",
    "match-max",
    "match-min",
    "max-associations",
    "min-associations",
    "expected-length",
    "expected-lines",
    "select",
}
FLOATS = {"max-time", "min-time", "mapped-value", "lower-bound", "upper-bound"}

# The XSD's sequence of children (only the ones that can occur here matter for order).
ITEM_CHILD_ORDER = [
    "qti-context-declaration",
    "qti-response-declaration",
    "qti-outcome-declaration",
    "qti-template-declaration",
    "qti-template-processing",
    "qti-assessment-stimulus-ref",
    "qti-companion-materials-info",
    "qti-stylesheet",
    "qti-item-body",
    "qti-catalog-info",
    "qti-response-processing",
    "qti-modal-feedback",
]
TEST_CHILD_ORDER = [
    "qti-context-declaration",
    "qti-outcome-declaration",
    "qti-time-limits",
    "qti-stylesheet",
    "qti-rubric-block",
    "qti-test-part",
    "qti-outcome-processing",
    "qti-test-feedback",
]
SECTION_CHILD_ORDER = [
    "qti-pre-condition",
    "qti-branch-rule",
    "qti-item-session-control",
    "qti-time-limits",
    "qti-selection",
    "qti-ordering",
    "qti-rubric-block",
    ("qti-assessment-item-ref", "qti-assessment-section", "qti-assessment-section-ref"),
]
RESPONSE_DECLARATION_CHILD_ORDER = [
    "qti-default-value",
    "qti-correct-response",
    ("qti-mapping", "qti-area-mapping"),
]

EXPECTED_INTERACTION = {
    "single_choice": "qti-choice-interaction",
    "multiple_response": "qti-choice-interaction",
    "ordering": "qti-order-interaction",
    "matching": "qti-match-interaction",
    "short_text": "qti-text-entry-interaction",
    "extended_response": "qti-extended-text-interaction",
}
EXPECTED_RESPONSE = {  # cardinality, base-type
    "single_choice": ("single", "identifier"),
    "multiple_response": ("multiple", "identifier"),
    "ordering": ("ordered", "identifier"),
    "matching": ("multiple", "directedPair"),
    "short_text": ("single", "string"),
    "extended_response": ("single", "string"),
}
AUTO_SCORED = ("single_choice", "multiple_response", "ordering", "matching", "short_text")


# ------------------------------------------------------------------ content as written


def _read(folder: str, key: str) -> list[tuple[str, dict]]:
    rows = []
    for path in sorted((CONTENT_DIR / folder).glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        rows.extend((data["unit"], entry) for entry in data[key])
    return rows


ITEMS = {item["id"]: (unit, item) for unit, item in _read("items", "items")}
RUBRICS = {f"{unit}.{r['criterion']}": r for unit, r in _read("rubrics", "rubrics")}
ASSESSMENTS = {a["code"]: (unit, a) for unit, a in _read("assessments", "assessments")}


def _ids(*types: str) -> list[str]:
    return sorted(code for code, (_, item) in ITEMS.items() if not types or item["type"] in types)


def _criteria(item_id: str) -> list[str]:
    unit, item = ITEMS[item_id]
    return [f"{unit}.{c}" for c in item["criteria"]]


def _text(element) -> str:
    return " ".join("".join(element.itertext()).split())


def _q(name: str) -> str:
    return f"{{{QTI}}}{name}"


# ------------------------------------------------------------------ fixtures


def _token(app, client_id: str, secret: str, scope: str | None = None) -> str:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if scope:
        form["scope"] = scope
    response = app.test_client().post("/oauth/token", data=form)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["token_type"].lower() == "bearer"
    return body["access_token"]


@pytest.fixture(scope="module")
def content_token(app):
    """A bearer token of an awarding-body client (no centre) holding content:read."""
    with app.app_context():
        client, secret = create_client(
            db.session(), f"qti-tests-{uuid.uuid4().hex[:8]}", ["content:read"], None
        )
        client_id = client.client_id
    token = _token(app, client_id, secret)
    return token


@pytest.fixture(scope="module")
def centre_client(app):
    """A centre's client with attempts:read only: (client_id, secret)."""
    with app.app_context():
        session = db.session()
        suffix = uuid.uuid4().hex[:8]
        centre = Centre(uuid=str(uuid.uuid4()), code=f"QTI-{suffix}", name=f"QTI centre {suffix}")
        session.add(centre)
        session.commit()
        client, secret = create_client(session, f"qti-centre-{suffix}", ["attempts:read"], centre)
        return client.client_id, secret


@pytest.fixture(scope="module")
def centre_token(app, centre_client):
    return _token(app, *centre_client)


@pytest.fixture(scope="module")
def api(app, content_token):
    """GET with the content:read token."""
    http = app.test_client()

    def get(path: str):
        return http.get(path, headers={"Authorization": f"Bearer {content_token}"})

    return get


@pytest.fixture(scope="module")
def item_xml(api):
    """item id -> parsed qti-assessment-item from GET /api/v1/items/{id}/qti (fetched once)."""

    @cache
    def fetch(item_id: str):
        response = api(f"/api/v1/items/{item_id}/qti")
        assert response.status_code == 200, response.get_data(as_text=True)
        return etree.fromstring(response.data)

    return fetch


@pytest.fixture(scope="module")
def package(api):
    """assessment code -> ZipFile of GET /api/v1/assessments/{code}/qti-package."""

    @cache
    def fetch(code: str) -> zipfile.ZipFile:
        response = api(f"/api/v1/assessments/{code}/qti-package")
        assert response.status_code == 200, response.get_data(as_text=True)
        return zipfile.ZipFile(io.BytesIO(response.data))

    return fetch


@pytest.fixture(scope="module")
def case_id(app):
    """criterion code -> its CASE identifier (the "id" of GET /api/v1/criteria/{code})."""
    http = app.test_client()

    @cache
    def fetch(code: str) -> str:
        response = http.get(f"/api/v1/criteria/{code}")
        assert response.status_code == 200, code
        return response.get_json()["id"]

    return fetch


# ------------------------------------------------------------------ structural checks


def _in_order(children: list[str], order: list) -> list[str]:
    """Problems if children do not follow the XSD's sequence `order` (names or groups)."""
    rank = {}
    for position, entry in enumerate(order):
        for name in (entry,) if isinstance(entry, str) else entry:
            rank[name] = position
    problems = [f"unexpected child <{c}>" for c in children if c not in rank]
    ranks = [rank[c] for c in children if c in rank]
    if ranks != sorted(ranks):
        problems.append(f"children out of the XSD's order: {children}")
    return problems


def _local(element) -> str:
    return etree.QName(element).localname


def _structural_problems(root) -> list[str]:
    """What an XSD (and the spec's identifier rules) would reject, as a list of problems."""
    problems: list[str] = []
    for element in root.iter():
        if not isinstance(element.tag, str):  # comments, processing instructions
            problems.append(f"non-element node {element!r}")
            continue
        qname = etree.QName(element)
        name = qname.localname
        if qname.namespace != QTI:
            problems.append(f"<{element.tag}> is not in the QTI namespace")
        if name.startswith("qti-"):
            if name not in QTI_ELEMENTS:
                problems.append(f"<{name}> is not a QTI 3.0 element")
        elif name not in HTML_ELEMENTS:
            problems.append(f"<{name}> is neither a QTI 3.0 nor an allowed HTML element")
        for attribute, value in element.attrib.items():
            aname = etree.QName(attribute)
            if aname.namespace:
                allowed = (aname.namespace == XML and aname.localname == "lang") or (
                    aname.namespace == XSI
                    and aname.localname == "schemaLocation"
                    and element is root
                )
                if not allowed:
                    problems.append(f"<{name}> has foreign attribute {attribute}")
                continue
            attr = aname.localname
            if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", attr):
                problems.append(f"<{name}> attribute {attr!r} is not kebab-case")
            if attr in IDENTIFIER_ATTRIBUTES and not IDENTIFIER.fullmatch(value):
                problems.append(f"<{name} {attr}={value!r}> is not a QTI identifier")
            if attr in ENUMERATIONS and value not in ENUMERATIONS[attr]:
                problems.append(f"<{name} {attr}={value!r}> is not an allowed value")
            if attr in BOOLEANS and value not in ("true", "false"):
                problems.append(f"<{name} {attr}={value!r}> is not a boolean")
            if attr in NON_NEGATIVE_INTEGERS and not re.fullmatch(r"\d+", value):
                problems.append(f"<{name} {attr}={value!r}> is not a non-negative integer")
            if attr in FLOATS:
                try:
                    float(value)
                except ValueError:
                    problems.append(f"<{name} {attr}={value!r}> is not a number")
    root_name = _local(root)
    if root_name == "qti-assessment-item":
        problems += _in_order([_local(c) for c in root], ITEM_CHILD_ORDER)
        problems += _item_references(root)
    elif root_name == "qti-assessment-test":
        problems += _in_order([_local(c) for c in root], TEST_CHILD_ORDER)
        problems += _test_references(root)
    else:
        problems.append(f"unexpected root <{root_name}>")
    schema_location = root.get(f"{{{XSI}}}schemaLocation", "").split()
    if len(schema_location) != 2 or schema_location[0] != QTI:
        problems.append(f"xsi:schemaLocation {schema_location} does not name the QTI namespace")
    return problems


def _declarations(root) -> dict[str, etree._Element]:
    found: dict[str, etree._Element] = {}
    for kind in ("qti-response-declaration", "qti-outcome-declaration"):
        for declaration in root.findall(f"q:{kind}", NSMAP):
            found.setdefault(declaration.get("identifier"), declaration)
    return found


def _item_references(root) -> list[str]:
    problems = []
    declared = [
        d.get("identifier") for d in root.iterfind("q:*", NSMAP) if "declaration" in _local(d)
    ]
    if len(declared) != len(set(declared)):
        problems.append(f"variables declared twice: {declared}")
    variables = _declarations(root)
    responses = {i for i, d in variables.items() if _local(d) == "qti-response-declaration"}
    outcomes = set(variables) - responses
    choices = [
        c.get("identifier")
        for c in root.iter(_q("qti-simple-choice"), _q("qti-simple-associable-choice"))
    ]
    if len(choices) != len(set(choices)):
        problems.append(f"choice identifiers repeat: {choices}")
    for declaration in root.iterfind("q:qti-response-declaration", NSMAP):
        problems += _in_order([_local(c) for c in declaration], RESPONSE_DECLARATION_CHILD_ORDER)
        base_type = declaration.get("base-type")
        for value in declaration.iterfind("q:qti-correct-response/q:qti-value", NSMAP):
            parts = {"identifier": [value.text], "directedPair": (value.text or "").split()}
            ids = parts.get(base_type)
            if ids is None:
                continue
            if base_type == "directedPair" and len(ids) != 2:
                problems.append(f"directedPair value {value.text!r} is not two identifiers")
            for identifier in ids:
                if identifier not in choices:
                    problems.append(f"correct response {value.text!r} names no choice")
    for element in root.iter():
        name = _local(element)
        if name.endswith("-interaction") and element.get("response-identifier") not in responses:
            problems.append(f"<{name}> answers an undeclared response")
        if name == "qti-variable" and element.get("identifier") not in variables:
            problems.append(f"<qti-variable identifier={element.get('identifier')!r}> undeclared")
        if name in ("qti-correct", "qti-map-response"):
            declaration = variables.get(element.get("identifier"))
            if declaration is None or _local(declaration) != "qti-response-declaration":
                problems.append(f"<{name}> refers to no response declaration")
            elif name == "qti-map-response" and declaration.find("q:qti-mapping", NSMAP) is None:
                problems.append(
                    f"<qti-map-response> on {element.get('identifier')} needs a mapping"
                )
        if name == "qti-set-outcome-value" and element.get("identifier") not in outcomes:
            problems.append(f"<qti-set-outcome-value> sets undeclared {element.get('identifier')}")
        if name == "qti-modal-feedback" and element.get("outcome-identifier") not in outcomes:
            problems.append("<qti-modal-feedback> watches an undeclared outcome")
    return problems


def _test_references(root) -> list[str]:
    problems = []
    identifiers = [
        e.get("identifier")
        for e in root.iter(
            _q("qti-test-part"), _q("qti-assessment-section"), _q("qti-assessment-item-ref")
        )
    ]
    if len(identifiers) != len(set(identifiers)):
        problems.append("test part, section and item-ref identifiers must be unique in a test")
    for section in root.iter(_q("qti-assessment-section")):
        problems += _in_order([_local(c) for c in section], SECTION_CHILD_ORDER)
        selection = section.find("q:qti-selection", NSMAP)
        children = section.findall("q:qti-assessment-item-ref", NSMAP) + section.findall(
            "q:qti-assessment-section", NSMAP
        )
        if (
            selection is not None
            and selection.get("with-replacement") != "true"
            and int(selection.get("select")) > len(children)
        ):
            problems.append(
                f"section {section.get('identifier')} selects {selection.get('select')} "
                f"of {len(children)} children"
            )
    return problems


# ------------------------------------------------------------------ items: HTTP and root


def test_every_item_of_the_bank_is_listed(api):
    """The YAML and the API agree on the bank, so parametrising over the YAML covers it all
    (the live bank is listed to the awarding body's content client only)."""
    listed, page = [], 1
    while True:
        response = api(f"/api/v1/items?page_size=100&page={page}")
        assert response.status_code == 200
        listed += [item["id"] for item in response.get_json()]
        if len(response.get_json()) < 100:
            break
        page += 1
    assert sorted(listed) == sorted(ITEMS)
    assert set(_ids()) == set(ITEMS) and len(ITEMS) > 100


@pytest.mark.parametrize("item_id", _ids())
def test_item_qti_is_well_formed_xml(api, item_id):
    response = api(f"/api/v1/items/{item_id}/qti")
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert "no-store" in response.headers["Cache-Control"]
    assert response.data.startswith(b"<?xml")
    root = etree.fromstring(response.data)  # raises on anything not well-formed
    unit, item = ITEMS[item_id]
    assert root.tag == _q("qti-assessment-item")
    assert root.get("identifier") == item_id
    assert root.get("title") == item["title"]
    assert root.get(f"{{{XML}}}lang"), "xml:lang is required"
    assert root.get("time-dependent") == "false"


@pytest.mark.parametrize("item_id", _ids())
def test_item_is_structurally_valid_qti(item_xml, item_id):
    problems = _structural_problems(item_xml(item_id))
    assert problems == []


# ------------------------------------------------------------------ items: interaction and key


@pytest.mark.parametrize("item_id", _ids())
def test_item_has_exactly_the_interaction_for_its_type(item_xml, item_id):
    root = item_xml(item_id)
    _, item = ITEMS[item_id]
    kind = item["type"]
    interactions = [e for e in root.iter() if _local(e) in INTERACTIONS]
    assert [_local(e) for e in interactions] == [EXPECTED_INTERACTION[kind]]
    interaction = interactions[0]
    assert interaction.get("response-identifier") == "RESPONSE"
    assert root.find("q:qti-item-body", NSMAP) in interaction.iterancestors()
    if kind in ("single_choice", "multiple_response"):
        assert interaction.get("max-choices") == ("1" if kind == "single_choice" else "0")
        choices = interaction.findall("q:qti-simple-choice", NSMAP)
        assert [(c.get("identifier"), _text(c)) for c in choices] == [
            (o["id"], " ".join(o["text"].split())) for o in item["options"]
        ]
    elif kind == "ordering":
        steps = interaction.findall("q:qti-simple-choice", NSMAP)
        assert sorted(s.get("identifier") for s in steps) == sorted(s["id"] for s in item["steps"])
    elif kind == "matching":
        sets = interaction.findall("q:qti-simple-match-set", NSMAP)
        assert len(sets) == 2
        premises, responses = (
            [c.get("identifier") for c in s.findall("q:qti-simple-associable-choice", NSMAP)]
            for s in sets
        )
        assert premises == [p["id"] for p in item["premises"]]
        assert responses == [r["id"] for r in item["responses"]]
    if kind != "short_text":  # text entry is inline: its prompt is the paragraph before it
        assert _text(interaction.find("q:qti-prompt", NSMAP)) == " ".join(item["prompt"].split())
    else:
        assert " ".join(item["prompt"].split()) in _text(root.find("q:qti-item-body", NSMAP))


def _expected_key(item: dict) -> list[str]:
    kind = item["type"]
    if kind in ("single_choice", "multiple_response"):
        return [o["id"] for o in item["options"] if o["correct"]]
    if kind == "ordering":
        return [s["id"] for s in item["steps"]]
    if kind == "matching":
        return [f"{p['id']} {p['match']}" for p in item["premises"]]
    if kind == "short_text":
        return [item["accepted_answers"][0]]
    return []


@pytest.mark.parametrize("item_id", _ids())
def test_item_response_declaration_carries_the_key(item_xml, item_id):
    root = item_xml(item_id)
    _, item = ITEMS[item_id]
    kind = item["type"]
    declarations = root.findall("q:qti-response-declaration", NSMAP)
    assert len(declarations) == 1
    declaration = declarations[0]
    assert declaration.get("identifier") == "RESPONSE"
    assert (declaration.get("cardinality"), declaration.get("base-type")) == EXPECTED_RESPONSE[kind]
    correct = declaration.find("q:qti-correct-response", NSMAP)
    if kind == "extended_response":
        assert correct is None, "an extended response has no key"
        return
    assert correct is not None
    values = [v.text for v in correct.findall("q:qti-value", NSMAP)]
    if kind in ("multiple_response", "matching"):  # multiple cardinality: a set
        assert sorted(values) == sorted(_expected_key(item))
    else:
        assert values == _expected_key(item)


@pytest.mark.parametrize("item_id", _ids("short_text"))
def test_short_text_maps_every_accepted_answer_to_full_points(item_xml, item_id):
    _, item = ITEMS[item_id]
    mapping = item_xml(item_id).find("q:qti-response-declaration/q:qti-mapping", NSMAP)
    assert mapping is not None
    entries = {e.get("map-key"): e for e in mapping.findall("q:qti-map-entry", NSMAP)}
    assert sorted(entries) == sorted(item["accepted_answers"])
    for entry in entries.values():
        assert float(entry.get("mapped-value")) == item["points"]
        assert entry.get("case-sensitive") == "false"
    assert float(mapping.get("default-value", "0")) == 0


# ------------------------------------------------------------------ items: outcomes and scoring


@pytest.mark.parametrize("item_id", _ids())
def test_item_declares_one_outcome_per_criterion(item_xml, item_id):
    root = item_xml(item_id)
    _, item = ITEMS[item_id]
    outcomes = [d.get("identifier") for d in root.findall("q:qti-outcome-declaration", NSMAP)]
    criterion_outcomes = [o for o in outcomes if o.startswith("CRITERION_")]
    assert criterion_outcomes == [f"CRITERION_{code}" for code in _criteria(item_id)]
    assert len(set(criterion_outcomes)) == len(item["criteria"])
    score = root.find("q:qti-outcome-declaration[@identifier='SCORE']", NSMAP)
    maximum = root.find("q:qti-outcome-declaration[@identifier='MAXSCORE']", NSMAP)
    assert (score.get("cardinality"), score.get("base-type")) == ("single", "float")
    value = maximum.find("q:qti-default-value/q:qti-value", NSMAP)
    assert float(value.text) == item["points"]


@pytest.mark.parametrize("item_id", _ids(*AUTO_SCORED))
def test_response_processing_sets_score_and_every_criterion(item_xml, item_id):
    root = item_xml(item_id)
    processing = root.findall("q:qti-response-processing", NSMAP)
    assert len(processing) == 1
    set_here = [e.get("identifier") for e in processing[0].iter(_q("qti-set-outcome-value"))]
    assert "SCORE" in set_here
    for code in _criteria(item_id):
        assert set_here.count(f"CRITERION_{code}") == 1, code
    # Criterion outcomes are set after SCORE, from SCORE, so they carry the item's score.
    for element in processing[0].iter(_q("qti-set-outcome-value")):
        if element.get("identifier", "").startswith("CRITERION_"):
            expression = list(element)
            assert [(_local(e), e.get("identifier")) for e in expression] == [
                ("qti-variable", "SCORE")
            ]
            assert set_here.index("SCORE") < set_here.index(element.get("identifier"))


@pytest.mark.parametrize("item_id", _ids(*AUTO_SCORED))
def test_outcomes_set_from_the_response_have_its_base_type(item_xml, item_id):
    """QTI: a qti-set-outcome-value's expression must have the base-type of the outcome it sets
    (engines such as qti-sdk raise WRONG_VARIABLE_BASETYPE otherwise)."""
    root = item_xml(item_id)
    declarations = _declarations(root)
    mismatches = []
    for rule in root.iter(_q("qti-set-outcome-value")):
        expression = rule[0]
        if _local(expression) != "qti-variable":
            continue
        source = declarations[expression.get("identifier")]
        target = declarations[rule.get("identifier")]
        if source.get("base-type") != target.get("base-type"):
            mismatches.append(
                f"{rule.get('identifier')} ({target.get('cardinality')} "
                f"{target.get('base-type')}) set from {expression.get('identifier')} "
                f"({source.get('cardinality')} {source.get('base-type')})"
            )
    assert mismatches == []


@pytest.mark.parametrize("item_id", _ids("single_choice", "multiple_response"))
def test_every_option_has_modal_feedback_with_its_text(item_xml, item_id):
    root = item_xml(item_id)
    _, item = ITEMS[item_id]
    feedback = {f.get("identifier"): f for f in root.findall("q:qti-modal-feedback", NSMAP)}
    assert sorted(feedback) == sorted(o["id"] for o in item["options"])
    for option in item["options"]:
        element = feedback[option["id"]]
        assert element.get("outcome-identifier") == "FEEDBACK"
        assert element.get("show-hide") == "show"
        body = element.find("q:qti-content-body", NSMAP)
        assert body is not None
        assert _text(body) == " ".join(option["feedback"].split())


def _map_response(mapping, values: set[str]) -> float:
    """QTI mapResponse for a multiple-cardinality response: each distinct value counts once."""
    entries = {e.get("map-key"): float(e.get("mapped-value")) for e in mapping}
    default = float(mapping.get("default-value", "0"))
    total = sum(entries.get(v, default) for v in values)
    if mapping.get("lower-bound") is not None:
        total = max(total, float(mapping.get("lower-bound")))
    if mapping.get("upper-bound") is not None:
        total = min(total, float(mapping.get("upper-bound")))
    return total


def _responses(item: dict):
    """(engine response, QTI response values) pairs covering every partial-credit case."""
    if item["type"] == "multiple_response":
        ids = [o["id"] for o in item["options"]]
        for size in range(len(ids) + 1):
            for chosen in itertools.combinations(ids, size):
                yield list(chosen), set(chosen)
        return
    premises = item["premises"]
    responses = [r["id"] for r in item["responses"]]
    for states in itertools.product(("right", "wrong", "none"), repeat=len(premises)):
        answer = {}
        for premise, state in zip(premises, states, strict=True):
            if state == "right":
                answer[premise["id"]] = premise["match"]
            elif state == "wrong":
                answer[premise["id"]] = next(r for r in responses if r != premise["match"])
        yield answer, {f"{p} {r}" for p, r in answer.items()}


@pytest.mark.parametrize("item_id", _ids("multiple_response", "matching"))
def test_mapping_reproduces_the_engines_partial_credit(item_xml, item_id):
    unit, item = ITEMS[item_id]
    root = item_xml(item_id)
    mapping = root.find("q:qti-response-declaration/q:qti-mapping", NSMAP)
    assert mapping is not None, "partial credit needs a qti-mapping"
    assert float(mapping.get("lower-bound")) == 0
    assert float(mapping.get("upper-bound")) == item["points"]
    assert float(mapping.get("default-value", "0")) == 0
    values = [float(e.get("mapped-value")) for e in mapping]
    assert sum(v for v in values if v > 0) == pytest.approx(item["points"], abs=1e-9)
    processing = root.find("q:qti-response-processing", NSMAP)
    score_rule = processing.find("q:qti-set-outcome-value[@identifier='SCORE']", NSMAP)
    assert [_local(e) for e in score_rule] == ["qti-map-response"]

    key = item_key(unit, item, {})
    checked = 0
    for engine_response, qti_values in _responses(item):
        expected = score_item(key, engine_response).score
        assert _map_response(mapping, qti_values) == pytest.approx(expected, abs=1e-3), (
            engine_response
        )
        checked += 1
    assert checked > 1


# ------------------------------------------------------------------ items: extended responses


@pytest.mark.parametrize("item_id", _ids("extended_response"))
def test_extended_response_is_human_scored_against_the_rubric(item_xml, item_id):
    root = item_xml(item_id)
    _, item = ITEMS[item_id]
    assert root.find("q:qti-response-processing", NSMAP) is None
    outcomes = {d.get("identifier"): d for d in root.findall("q:qti-outcome-declaration", NSMAP)}
    assert outcomes["SCORE"].get("external-scored") == "human"
    for code in _criteria(item_id):
        assert outcomes[f"CRITERION_{code}"].get("external-scored") == "human", code
    blocks = root.findall("q:qti-item-body/q:qti-rubric-block", NSMAP)
    assert len(blocks) == 1
    block = blocks[0]
    assert (block.get("use"), block.get("view")) == ("scoring", "scorer")
    text = _text(block)
    assert " ".join(item["guidance"].split()) in text
    for code in _criteria(item_id):
        rubric = RUBRICS[code]
        assert rubric["title"] in text, code
        for level in rubric["levels"]:
            assert " ".join(level["descriptor"].split()) in text, (code, level["quality"])


# ------------------------------------------------------------------ content packages


def _manifest(archive: zipfile.ZipFile):
    assert "imsmanifest.xml" in archive.namelist()
    root = etree.fromstring(archive.read("imsmanifest.xml"))
    assert root.tag == f"{{{CP}}}manifest"
    return root


def _unit_items(code: str) -> list[str]:
    unit, _ = ASSESSMENTS[code]
    return sorted(i for i, (u, _) in ITEMS.items() if u == unit)


def _test_resource(manifest):
    tests = manifest.findall("cp:resources/cp:resource[@type='imsqti_test_xmlv3p0']", NSMAP)
    assert len(tests) == 1
    return tests[0]


@pytest.mark.parametrize("code", sorted(ASSESSMENTS))
def test_package_is_a_zip_with_a_manifest_of_its_resources(api, package, code):
    response = api(f"/api/v1/assessments/{code}/qti-package")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert "no-store" in response.headers["Cache-Control"]
    assert f"{code}" in response.headers["Content-Disposition"]
    archive = package(code)
    assert archive.testzip() is None
    names = set(archive.namelist())
    manifest = _manifest(archive)
    resources = manifest.findall("cp:resources/cp:resource", NSMAP)
    identifiers = [r.get("identifier") for r in resources]
    assert len(identifiers) == len(set(identifiers))
    _test_resource(manifest)
    items = [r for r in resources if r.get("type") == "imsqti_item_xmlv3p0"]
    assert len(items) == len(_unit_items(code))
    assert len(resources) == len(items) + 1
    for resource in resources:
        assert resource.get("href") in names, resource.get("href")
        files = [f.get("href") for f in resource.findall("cp:file", NSMAP)]
        assert resource.get("href") in files
        assert all(f in names for f in files), files
        for dependency in resource.findall("cp:dependency", NSMAP):
            assert dependency.get("identifierref") in identifiers
    for resource in items:
        item = etree.fromstring(archive.read(resource.get("href")))
        assert item.tag == _q("qti-assessment-item")
    item_ids = sorted(
        etree.fromstring(archive.read(r.get("href"))).get("identifier") for r in items
    )
    assert item_ids == _unit_items(code)


@pytest.mark.parametrize("code", sorted(ASSESSMENTS))
def test_package_item_files_are_the_item_exports(api, package, code):
    archive = package(code)
    manifest = _manifest(archive)
    for resource in manifest.findall(
        "cp:resources/cp:resource[@type='imsqti_item_xmlv3p0']", NSMAP
    ):
        data = archive.read(resource.get("href"))
        item_id = etree.fromstring(data).get("identifier")
        assert data == api(f"/api/v1/items/{item_id}/qti").data, item_id


@pytest.mark.parametrize("code", sorted(ASSESSMENTS))
def test_item_resources_carry_the_criteria_as_case_standards(package, case_id, code):
    manifest = _manifest(package(code))
    archive = package(code)
    for resource in manifest.findall(
        "cp:resources/cp:resource[@type='imsqti_item_xmlv3p0']", NSMAP
    ):
        item_id = etree.fromstring(archive.read(resource.get("href"))).get("identifier")
        sets = resource.findall("cp:metadata/csm:curriculumStandardsMetadataSet", NSMAP)
        assert len(sets) == 1, item_id
        guids = sets[0].findall(
            "csm:curriculumStandardsMetadata/csm:setOfGUIDs/csm:labelledGUID", NSMAP
        )
        labelled = sorted(
            (g.findtext("csm:label", namespaces=NSMAP), g.findtext("csm:GUID", namespaces=NSMAP))
            for g in guids
        )
        assert labelled == sorted((c, case_id(c)) for c in _criteria(item_id)), item_id


def _test_document(archive: zipfile.ZipFile):
    href = _test_resource(_manifest(archive)).get("href")
    return href, etree.fromstring(archive.read(href))


@pytest.mark.parametrize("code", sorted(ASSESSMENTS))
def test_package_test_draws_a_section_per_criterion(app, package, code):
    unit, assessment = ASSESSMENTS[code]
    _, test = _test_document(package(code))
    assert test.tag == _q("qti-assessment-test")
    assert test.get("identifier") == code
    limits = test.find("q:qti-time-limits", NSMAP)
    assert int(limits.get("max-time")) == assessment["time_limit_minutes"] * 60
    criteria = sorted({c for item_id in _unit_items(code) for c in _criteria(item_id)})
    sections = {s.get("title"): s for s in test.iter(_q("qti-assessment-section"))}
    for criterion in criteria:
        section = sections.get(criterion)
        assert section is not None, f"no section for {criterion}"
        selection = section.find("q:qti-selection", NSMAP)
        assert int(selection.get("select")) == assessment["auto_items_per_criterion"]
        refs = section.findall("q:qti-assessment-item-ref", NSMAP)
        assert len(refs) >= assessment["auto_items_per_criterion"], criterion
        for ref in refs:
            item_id = posixpath.splitext(posixpath.basename(ref.get("href")))[0]
            assert criterion in _criteria(item_id)
            assert ITEMS[item_id][1]["type"] != "extended_response"


@pytest.mark.parametrize("code", sorted(ASSESSMENTS))
def test_package_test_references_every_item(package, code):
    _, test = _test_document(package(code))
    referenced = {
        posixpath.splitext(posixpath.basename(ref.get("href")))[0]
        for ref in test.iter(_q("qti-assessment-item-ref"))
    }
    assert referenced == set(_unit_items(code))


@pytest.mark.parametrize("code", sorted(ASSESSMENTS))
def test_package_test_item_refs_resolve_inside_the_package(package, code):
    """An href is a URI reference resolved against the test document's own location (RFC 3986),
    so from tests/X.xml, "items/Y.xml" means tests/items/Y.xml."""
    archive = package(code)
    test_href, test = _test_document(archive)
    names = set(archive.namelist())
    base = posixpath.dirname(test_href)
    targets = {
        ref.get("href"): posixpath.normpath(posixpath.join(base, ref.get("href")))
        for ref in test.iter(_q("qti-assessment-item-ref"))
    }
    unresolved = sorted((href, target) for href, target in targets.items() if target not in names)
    assert unresolved == [], f"{len(unresolved)} item refs from {test_href} resolve to no file"


@pytest.mark.parametrize("code", sorted(ASSESSMENTS))
def test_package_documents_are_structurally_valid_qti(package, code):
    archive = package(code)
    problems = {}
    for name in archive.namelist():
        if name == "imsmanifest.xml":
            continue
        found = _structural_problems(etree.fromstring(archive.read(name)))
        if found:
            problems[name] = found
    assert problems == {}


# ------------------------------------------------------------------ security and errors


ENDPOINTS = ["/api/v1/items/CSC-01-Q001/qti", "/api/v1/assessments/CSC-01-A1/qti-package"]


def _error(response, status: int) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["status"] == status
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["message"], str) and body["message"]
    return body


@pytest.mark.parametrize("path", ENDPOINTS)
def test_without_a_token_the_exports_answer_401(client, path):
    body = _error(client.get(path), 401)
    assert body["code"] == "unauthorized"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_with_an_unknown_token_the_exports_answer_401(client, path):
    response = client.get(path, headers={"Authorization": "Bearer not-a-token"})
    _error(response, 401)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_401_challenges_for_a_bearer_token(client, path):
    """RFC 6750 section 3: a 401 from a protected resource MUST carry WWW-Authenticate."""
    response = client.get(path)
    assert response.status_code == 401
    assert response.headers.get("WWW-Authenticate", "").lower().startswith("bearer")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_token_without_content_read_gets_403(client, centre_token, path):
    response = client.get(path, headers={"Authorization": f"Bearer {centre_token}"})
    body = _error(response, 403)
    assert body["code"] == "forbidden"
    assert b"qti-" not in response.data


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_centre_client_asking_for_content_read_still_gets_no_export(
    app, client, centre_client, path
):
    form = {
        "grant_type": "client_credentials",
        "client_id": centre_client[0],
        "client_secret": centre_client[1],
        "scope": "content:read",
    }
    response = app.test_client().post("/oauth/token", data=form)
    if response.status_code != 200:  # refused outright: fine
        assert response.status_code in (400, 401, 403)
        return
    token = response.get_json()["access_token"]
    assert "content:read" not in response.get_json().get("scope", "").split()
    answer = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 403


def test_a_centre_client_cannot_be_given_content_read(app):
    with app.app_context():
        session = db.session()
        suffix = uuid.uuid4().hex[:8]
        centre = Centre(uuid=str(uuid.uuid4()), code=f"QTX-{suffix}", name=f"QTI x {suffix}")
        session.add(centre)
        session.commit()
        with pytest.raises(ValueError, match="content:read"):
            create_client(session, f"qti-bad-{suffix}", ["content:read"], centre)
        with pytest.raises(ValueError):
            create_client(session, f"qti-bad2-{suffix}", ["attempts:read", "content:read"], centre)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/items/CSC-09-Q999/qti",
        "/api/v1/items/nothing/qti",
        "/api/v1/assessments/CSC-09-A1/qti-package",
        "/api/v1/assessments/nothing/qti-package",
    ],
)
def test_unknown_item_or_assessment_is_404(api, client, path):
    body = _error(api(path), 404)
    assert body["code"] == "not_found"
    # Without a token the answer is 401 all the same: nothing is said about what exists.
    _error(client.get(path), 401)

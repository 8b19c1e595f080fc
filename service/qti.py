"""1EdTech QTI 3.0: an item as a qti-assessment-item, an assessment as a content package.

No maintained Python library writes QTI 3, so this is a small lxml serialiser. What the export
keeps: the interaction, the key (qti-correct-response), scoring (response processing or, for
partial credit, a qti-mapping), per-option feedback, one outcome per assessment criterion the
item evidences (set from SCORE, so criterion scores survive export), and for extended responses
the rubric as a scorer's qti-rubric-block with every outcome external-scored="human".

Known difference: QTI's response processing cannot say "adjacent pairs in order", so ordering
items export as all-or-nothing (match_correct); our engine gives partial credit (see
service.grading.scoring).
"""

from __future__ import annotations

import io
import zipfile

from lxml import etree
from sqlalchemy.orm import Session

from service import bank
from service.models import Assessment, Item, Rubric

NS = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA = "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0_v1p0.xsd"
CP_NS = "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1"
CP_SCHEMA = "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqtiv3p0_imscpv1p2_v1p0.xsd"
CSM_NS = "http://www.imsglobal.org/xsd/imscsmetadata_v1p0"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MATCH_CORRECT = "https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/match_correct.xml"


def _el(parent, tag: str, text: str | None = None, **attrs) -> etree._Element:
    element = etree.SubElement(parent, tag, {k.replace("_", "-"): str(v) for k, v in attrs.items()})
    if text is not None:
        element.text = text
    return element


def _value(parent, text) -> None:
    _el(parent, "qti-value", str(text))


def criterion_outcome(code: str) -> str:
    return f"CRITERION_{code}"


def _outcomes(root, points: int, criteria: list[str], human: bool) -> None:
    extra = {"external_scored": "human"} if human else {}
    for identifier, default in (("SCORE", 0), ("MAXSCORE", points)):
        outcome = _el(
            root,
            "qti-outcome-declaration",
            identifier=identifier,
            cardinality="single",
            base_type="float",
            **(extra if identifier == "SCORE" else {}),
        )
        _value(_el(outcome, "qti-default-value"), default)
    if not human:
        _el(
            root,
            "qti-outcome-declaration",
            identifier="FEEDBACK",
            cardinality="multiple",
            base_type="identifier",
        )
    for code in criteria:
        outcome = _el(
            root,
            "qti-outcome-declaration",
            identifier=criterion_outcome(code),
            cardinality="single",
            base_type="float",
            **extra,
        )
        _value(_el(outcome, "qti-default-value"), 0)


def _scenario(body_el, body: dict) -> None:
    scenario = body["scenario"]
    block = _el(body_el, "div", **{"class": "qti-scenario"})
    facts = [
        ("Channel", scenario["channel"].replace("_", " ")),
        ("Customer", scenario["customer"]),
        ("Need", scenario["need"]),
    ]
    for label, key in (
        ("Vulnerability", "vulnerability"),
        ("Accessibility need", "accessibility_need"),
    ):
        if scenario.get(key):
            facts.append((label, scenario[key]))
    facts.append(("Rule or law in play", scenario["rule"]))
    listing = _el(block, "dl")
    for label, text in facts:
        _el(listing, "dt", label)
        _el(listing, "dd", text)
    _el(block, "p", scenario["situation"])


def _declare_response(root, cardinality: str, base_type: str, correct: list[str]):
    declaration = _el(
        root,
        "qti-response-declaration",
        identifier="RESPONSE",
        cardinality=cardinality,
        base_type=base_type,
    )
    if correct:
        container = _el(declaration, "qti-correct-response")
        for value in correct:
            _value(container, value)
    return declaration


def _mapping(declaration, entries: dict[str, float], upper: float, case_sensitive=None):
    mapping = _el(declaration, "qti-mapping", lower_bound=0, upper_bound=upper, default_value=0)
    for key, value in entries.items():
        attrs = {"case_sensitive": case_sensitive} if case_sensitive is not None else {}
        _el(mapping, "qti-map-entry", map_key=key, mapped_value=round(value, 4), **attrs)


def _processing(root, criteria: list[str], scoring: str, feedback: bool) -> None:
    """scoring: "match" (full points when RESPONSE matches the key) or "map" (map_response).
    `feedback`: set FEEDBACK from RESPONSE (choice items only: both are identifiers)."""
    processing = _el(root, "qti-response-processing")
    if scoring == "match":
        condition = _el(processing, "qti-response-condition")
        branch = _el(condition, "qti-response-if")
        match = _el(branch, "qti-match")
        _el(match, "qti-variable", identifier="RESPONSE")
        _el(match, "qti-correct", identifier="RESPONSE")
        _set(branch, "SCORE", lambda p: _el(p, "qti-variable", identifier="MAXSCORE"))
    else:
        _set(processing, "SCORE", lambda p: _el(p, "qti-map-response", identifier="RESPONSE"))
    if feedback:
        _set(processing, "FEEDBACK", lambda p: _el(p, "qti-variable", identifier="RESPONSE"))
    for code in criteria:
        _set(
            processing,
            criterion_outcome(code),
            lambda p: _el(p, "qti-variable", identifier="SCORE"),
        )


def _set(parent, identifier: str, expression) -> None:
    element = _el(parent, "qti-set-outcome-value", identifier=identifier)
    expression(element)


def _modal_feedback(root, identifier: str, text: str) -> None:
    feedback = _el(
        root,
        "qti-modal-feedback",
        outcome_identifier="FEEDBACK",
        identifier=identifier,
        show_hide="show",
    )
    _el(_el(feedback, "qti-content-body"), "p", text)


def item_element(item: Item, body: dict, rubrics: dict[str, Rubric]) -> etree._Element:
    unit = item.unit.code
    criteria = [f"{unit}.{c}" for c in body["criteria"]]
    kind = body["type"]
    root = etree.Element("qti-assessment-item", nsmap={None: NS, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{NS} {SCHEMA}")
    root.set("identifier", body["id"])
    root.set("title", body["title"])
    root.set("adaptive", "false")
    root.set("time-dependent", "false")
    root.set(XML_LANG, "en-GB")
    points = body["points"]

    if kind in ("single_choice", "multiple_response"):
        keyed = [o["id"] for o in body["options"] if o["correct"]]
        single = kind == "single_choice"
        declaration = _declare_response(
            root, "single" if single else "multiple", "identifier", keyed
        )
        if not single:  # partial credit as service.grading.scoring: keyed +, others -
            others = len(body["options"]) - len(keyed)
            values = {
                o["id"]: points / len(keyed) if o["correct"] else -points / others
                for o in body["options"]
            }
            _mapping(declaration, values, points)
    elif kind == "ordering":
        _declare_response(root, "ordered", "identifier", [s["id"] for s in body["steps"]])
    elif kind == "matching":
        pairs = [f"{p['id']} {p['match']}" for p in body["premises"]]
        declaration = _declare_response(root, "multiple", "directedPair", pairs)
        _mapping(declaration, {pair: points / len(pairs) for pair in pairs}, points)
    elif kind == "short_text":
        answers = body["accepted_answers"]
        declaration = _declare_response(root, "single", "string", [answers[0]])
        _mapping(declaration, dict.fromkeys(answers, points), points, case_sensitive="false")
    else:
        _declare_response(root, "single", "string", [])
    _outcomes(root, points, criteria, human=kind == "extended_response")

    body_el = _el(root, "qti-item-body")
    if kind == "extended_response":
        _scorer_rubric(body_el, body, criteria, rubrics)
    _scenario(body_el, body)
    _interaction(body_el, body)

    if kind in ("single_choice", "multiple_response"):
        _processing(root, criteria, "match" if kind == "single_choice" else "map", True)
        for option in body["options"]:
            _modal_feedback(root, option["id"], option["feedback"])
    elif kind == "ordering":
        _processing(root, criteria, "match", False)
    elif kind in ("matching", "short_text"):
        _processing(root, criteria, "map", False)
    return root


def _interaction(body_el, body: dict) -> None:
    kind = body["type"]
    if kind in ("single_choice", "multiple_response"):
        interaction = _el(
            body_el,
            "qti-choice-interaction",
            response_identifier="RESPONSE",
            shuffle="true",
            max_choices=1 if kind == "single_choice" else 0,
        )
        _el(interaction, "qti-prompt", body["prompt"])
        for option in body["options"]:
            _el(interaction, "qti-simple-choice", option["text"], identifier=option["id"])
    elif kind == "ordering":
        interaction = _el(
            body_el, "qti-order-interaction", response_identifier="RESPONSE", shuffle="true"
        )
        _el(interaction, "qti-prompt", body["prompt"])
        for step in body["steps"]:
            _el(interaction, "qti-simple-choice", step["text"], identifier=step["id"])
    elif kind == "matching":
        interaction = _el(
            body_el,
            "qti-match-interaction",
            response_identifier="RESPONSE",
            shuffle="true",
            max_associations=len(body["premises"]),
        )
        _el(interaction, "qti-prompt", body["prompt"])
        premises = _el(interaction, "qti-simple-match-set")
        for premise in body["premises"]:
            _el(
                premises,
                "qti-simple-associable-choice",
                premise["text"],
                identifier=premise["id"],
                match_max=1,
            )
        responses = _el(interaction, "qti-simple-match-set")
        for response in body["responses"]:
            _el(
                responses,
                "qti-simple-associable-choice",
                response["text"],
                identifier=response["id"],
                match_max=len(body["premises"]),
            )
    elif kind == "short_text":
        _el(body_el, "p", body["prompt"])
        paragraph = _el(body_el, "p")
        _el(
            paragraph,
            "qti-text-entry-interaction",
            response_identifier="RESPONSE",
            expected_length=40,
        )
    else:
        interaction = _el(
            body_el,
            "qti-extended-text-interaction",
            response_identifier="RESPONSE",
            expected_length=body["expected_length_words"] * 6,
        )
        _el(interaction, "qti-prompt", body["prompt"])


def _scorer_rubric(body_el, body: dict, criteria: list[str], rubrics: dict[str, Rubric]) -> None:
    block = _el(body_el, "qti-rubric-block", use="scoring", view="scorer")
    content = _el(block, "qti-content-body")
    _el(content, "p", body["guidance"])
    for code in criteria:
        rubric = rubrics[code]
        _el(content, "h4", f"{code}: {rubric.title}")
        table = _el(content, "table")
        header = _el(_el(table, "thead"), "tr")
        for heading in ("Level", "Score", "Descriptor"):
            _el(header, "th", heading)
        rows = _el(table, "tbody")
        for level in rubric.levels:
            row = _el(rows, "tr")
            _el(row, "td", level["quality"].replace("_", " "))
            _el(row, "td", str(level["score"]))
            _el(row, "td", level["descriptor"])


def _serialise(element) -> bytes:
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def item_xml(item: Item, rubrics: dict[str, Rubric]) -> bytes:
    return _serialise(item_element(item, item.current.body, rubrics))


def _test_element(assessment: Assessment, items: list[Item]) -> etree._Element:
    """Sections draw from per-criterion pools like the service's forms do."""
    root = etree.Element("qti-assessment-test", nsmap={None: NS, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{NS} {SCHEMA}")
    root.set("identifier", assessment.code)
    root.set("title", assessment.title)
    outcome = _el(
        root, "qti-outcome-declaration", identifier="SCORE", cardinality="single", base_type="float"
    )
    _value(_el(outcome, "qti-default-value"), 0)
    _el(root, "qti-time-limits", max_time=assessment.time_limit_minutes * 60)
    part = _el(
        root,
        "qti-test-part",
        identifier="PART-1",
        navigation_mode="nonlinear",
        submission_mode="simultaneous",
    )
    for criterion in assessment.unit.criteria:
        # an auto item counts for its first listed criterion only (service/grading/evidence.py)
        pool = [
            i
            for i in items
            if i.type != "extended_response"
            and i.current.body["criteria"][:1] == [criterion.code.split(".")[1]]
        ]
        section = _el(
            part,
            "qti-assessment-section",
            identifier=f"POOL-{criterion.code}",
            title=f"{criterion.code}",
            visible="false",
        )
        _el(section, "qti-selection", select=assessment.auto_items_per_criterion)
        _el(section, "qti-ordering", shuffle="true")
        for item in pool:
            _el(
                section,
                "qti-assessment-item-ref",
                identifier=f"{criterion.code}-{item.code}",
                href=f"../items/{item.code}.xml",
            )
    extended = [i for i in items if i.type == "extended_response"]
    if assessment.extended_responses:
        section = _el(
            part,
            "qti-assessment-section",
            identifier="POOL-EXTENDED",
            title="Extended response",
            visible="false",
        )
        _el(section, "qti-selection", select=assessment.extended_responses)
        for item in extended:
            _el(
                section,
                "qti-assessment-item-ref",
                identifier=f"X-{item.code}",
                href=f"../items/{item.code}.xml",
            )
    processing = _el(root, "qti-outcome-processing")
    total = _el(_el(processing, "qti-set-outcome-value", identifier="SCORE"), "qti-sum")
    _el(total, "qti-test-variables", variable_identifier="SCORE")
    return root


def _manifest(assessment: Assessment, items: list[Item]) -> etree._Element:
    root = etree.Element("manifest", nsmap={None: CP_NS, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{CP_NS} {CP_SCHEMA}")
    root.set("identifier", f"MANIFEST-{assessment.code}")
    metadata = _el(root, "metadata")
    _el(metadata, "schema", "QTI Package")
    _el(metadata, "schemaversion", "3.0.0")
    _el(root, "organizations")
    resources = _el(root, "resources")
    test = _el(
        resources,
        "resource",
        identifier=f"TEST-{assessment.code}",
        type="imsqti_test_xmlv3p0",
        href=f"tests/{assessment.code}.xml",
    )
    _el(test, "file", href=f"tests/{assessment.code}.xml")
    for item in items:
        _el(test, "dependency", identifierref=f"ITEM-{item.code}")
    for item in items:
        resource = _el(
            resources,
            "resource",
            identifier=f"ITEM-{item.code}",
            type="imsqti_item_xmlv3p0",
            href=f"items/{item.code}.xml",
        )
        _standards(_el(resource, "metadata"), item)
        _el(resource, "file", href=f"items/{item.code}.xml")
    return root


def _standards(metadata, item: Item) -> None:
    """The item's criteria as CASE identifiers (curriculum standards metadata)."""
    csm = etree.SubElement(
        metadata, f"{{{CSM_NS}}}curriculumStandardsMetadataSet", nsmap={"csm": CSM_NS}
    )
    entry = etree.SubElement(
        csm, f"{{{CSM_NS}}}curriculumStandardsMetadata", providerId="1EdTech CASE"
    )
    guids = etree.SubElement(entry, f"{{{CSM_NS}}}setOfGUIDs", region="UK", version="1.0")
    for criterion in item.criteria:
        labelled = etree.SubElement(guids, f"{{{CSM_NS}}}labelledGUID")
        etree.SubElement(labelled, f"{{{CSM_NS}}}label").text = criterion.code
        etree.SubElement(labelled, f"{{{CSM_NS}}}GUID").text = criterion.uuid


def package(session: Session, assessment: Assessment) -> bytes:
    items = bank.items_of_unit(session, assessment.unit_id)
    rubrics = bank.rubrics_by_criterion(session, assessment.unit_id)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("imsmanifest.xml", _serialise(_manifest(assessment, items)))
        archive.writestr(
            f"tests/{assessment.code}.xml", _serialise(_test_element(assessment, items))
        )
        for item in items:
            archive.writestr(f"items/{item.code}.xml", item_xml(item, rubrics))
    return buffer.getvalue()

"""The CASE REST bindings, read-only: CASE 1.0 at /ims/case/v1p0 and CASE 1.1 at /ims/case/v1p1.

CASE 1.1 keeps 1.0's operations ("There has been no change to the set of service operations":
REST/JSON binding 1.1, abstract and section 2.1), so make_blueprint(version) builds either
binding from the same views. What differs is the Binding: the base path, the data model the
framework is built in (service.case.framework says what 1.1 adds), the CFDocument properties that
sort / filter / fields know, and one status code: 1.1 renames the codeMinor for a sourcedId that
is not a UUID from 'invaliduuid' to 'invalid_uuid' (imsx_CodeMinorFieldDType in the 1.1 OpenAPI
listing, appendix B1.1). The one other renamed value, 'unauthorisedrequest' ->
'unauthorised_request', never arises here: the CASE endpoints are public and answer no 401.
Identifiers (sourcedIds) are the same in both bindings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app, request
from flask_smorest import abort

from schemas.case import CaseListArgs
from service import db, errors
from service.api.blueprint import CaseBlueprint
from service.cache import content_cached
from service.case import query
from service.case.framework import Framework, load_frameworks
from service.errors import case_error

V1P0 = "/ims/case/v1p0"
V1P1 = "/ims/case/v1p1"
UUID_PATTERN = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
)

# The CFDocument properties of the 1.0 model: what sort, filter and fields may name.
DOCUMENT_FIELDS = {
    "identifier",
    "uri",
    "creator",
    "title",
    "lastChangeDateTime",
    "officialSourceURL",
    "publisher",
    "description",
    "subject",
    "subjectURI",
    "language",
    "version",
    "adoptionStatus",
    "statusStartDate",
    "statusEndDate",
    "licenseURI",
    "notes",
    "CFPackageURI",
}
# CASE 1.1 adds three properties to CFDocument.
DOCUMENT_FIELDS_V1P1 = DOCUMENT_FIELDS | {"frameworkType", "caseVersion", "extensions"}


@dataclass(frozen=True)
class Binding:
    """What one CASE REST binding says that the other does not."""

    name: str
    case_version: str
    prefix: str
    document_fields: frozenset[str]
    invalid_uuid: str  # codeMinor for a sourcedId that is not a UUID
    description: str


BINDINGS = {
    "1.0": Binding(
        name="case_v1p0",
        case_version="1.0",
        prefix=V1P0,
        document_fields=frozenset(DOCUMENT_FIELDS),
        invalid_uuid="invaliduuid",
        description="1EdTech CASE 1.0: the qualification as a competency framework "
        "(document, units, learning outcomes and criteria as CFItems).",
    ),
    "1.1": Binding(
        name="case_v1p1",
        case_version="1.1",
        prefix=V1P1,
        document_fields=frozenset(DOCUMENT_FIELDS_V1P1),
        invalid_uuid="invalid_uuid",
        description="1EdTech CASE 1.1: the same framework and identifiers as CASE 1.0, in the "
        "1.1 data model (caseVersion, frameworkType, subjects on items, targetType on "
        "association nodes).",
    ),
}


def _frameworks(binding: Binding) -> list[Framework]:
    root = current_app.config["PUBLIC_BASE_URL"] or request.host_url.rstrip("/")
    return load_frameworks(db.session(), root + binding.prefix, binding.case_version)


def _find(binding: Binding, collection: str, sourced_id: str):
    """Return (framework, record) for an identifier in one of the framework's collections."""
    if not UUID_PATTERN.fullmatch(sourced_id):
        abort(404, message=f"Invalid UUID: {sourced_id!r}.", code_minor=binding.invalid_uuid)
    for fw in _frameworks(binding):
        if collection == "document" and fw.document["identifier"] == sourced_id:
            return fw, fw.document
        records = getattr(fw, collection, {}) if collection != "document" else {}
        if sourced_id in records:
            return fw, records[sourced_id]
    abort(404, message=f"Unknown object: no {collection} with sourcedId {sourced_id!r}.")


def _definition_set(binding: Binding, collection: str, key: str, sourced_id: str) -> dict:
    """CASE answers definition lookups with a set: the one asked for first, then its children
    by hierarchyCode."""
    fw, record = _find(binding, collection, sourced_id)
    prefix = record["hierarchyCode"] + "."
    children = [
        r for r in getattr(fw, collection).values() if r["hierarchyCode"].startswith(prefix)
    ]
    return {key: [record, *children]}


def make_blueprint(case_version: str) -> CaseBlueprint:
    """The REST binding of CASE `case_version` ("1.0" or "1.1"): every operation CASE defines
    that this service can answer (all but getCFAssociationGrouping: we have no groupings)."""
    binding = BINDINGS[case_version]
    blp = CaseBlueprint(
        binding.name, __name__, url_prefix=binding.prefix, description=binding.description
    )
    errors.register_for_blueprint(blp, errors.case_database_unavailable)

    @blp.route("/CFDocuments")
    @content_cached
    @blp.arguments(CaseListArgs, location="query")
    @blp.response(200, description="CFDocumentSet: every framework this service publishes")
    def get_all_documents(args):
        """getAllCFDocuments"""
        documents = [fw.document_out() for fw in _frameworks(binding)]
        known = binding.document_fields
        try:
            if "filter" in args:
                documents = query.apply_filter(documents, args["filter"], known)
            if "sort" in args:
                documents = query.apply_sort(
                    documents, args["sort"], args.get("orderBy", "asc"), known
                )
            total = len(documents)
            documents = documents[args["offset"] : args["offset"] + args["limit"]]
            if "fields" in args:
                documents = query.select_fields(documents, args["fields"], known)
        except query.QueryError as exc:
            return case_error(400, str(exc), exc.code_minor)
        return {"CFDocuments": documents}, 200, {"X-Total-Count": str(total)}

    @blp.route("/CFDocuments/<string:sourced_id>")
    @content_cached
    @blp.response(200, description="CFDocument")
    def get_document(sourced_id):
        """getCFDocument"""
        fw, _ = _find(binding, "document", sourced_id)
        return fw.document_out()

    @blp.route("/CFPackages/<string:sourced_id>")
    @content_cached
    @blp.response(200, description="CFPackage: the document with all its items and associations")
    def get_package(sourced_id):
        """getCFPackage"""
        fw, _ = _find(binding, "document", sourced_id)
        return fw.package()

    @blp.route("/CFItems/<string:sourced_id>")
    @content_cached
    @blp.response(200, description="CFItem: a unit, learning outcome or assessment criterion")
    def get_item(sourced_id):
        """getCFItem"""
        fw, _ = _find(binding, "items", sourced_id)
        return fw.item_out(sourced_id)

    @blp.route("/CFAssociations/<string:sourced_id>")
    @content_cached
    @blp.response(200, description="CFAssociation")
    def get_association(sourced_id):
        """getCFAssociation"""
        fw, _ = _find(binding, "associations", sourced_id)
        return fw.association_out(sourced_id)

    @blp.route("/CFItemAssociations/<string:sourced_id>")
    @content_cached
    @blp.response(200, description="CFAssociationSet: the item and every association it is in")
    def get_item_associations(sourced_id):
        """getCFItemAssociations"""
        fw, _ = _find(binding, "items", sourced_id)
        return {
            "CFItem": fw.item_out(sourced_id),
            "CFAssociations": fw.associations_of(sourced_id),
        }

    @blp.route("/CFItemTypes/<string:sourced_id>")
    @content_cached
    @blp.response(200, description="CFItemTypeSet")
    def get_item_type(sourced_id):
        """getCFItemType"""
        return _definition_set(binding, "item_types", "CFItemTypes", sourced_id)

    @blp.route("/CFConcepts/<string:sourced_id>")
    @content_cached
    @blp.response(200, description="CFConceptSet: a unit's knowledge topic")
    def get_concept(sourced_id):
        """getCFConcept"""
        return _definition_set(binding, "concepts", "CFConcepts", sourced_id)

    @blp.route("/CFSubjects/<string:sourced_id>")
    @content_cached
    @blp.response(200, description="CFSubjectSet")
    def get_subject(sourced_id):
        """getCFSubject"""
        return _definition_set(binding, "subjects", "CFSubjects", sourced_id)

    @blp.route("/CFRubrics/<string:sourced_id>")
    @content_cached
    @blp.response(200, description="CFRubric: a unit's rubric, criteria pointing at CFItems")
    def get_rubric(sourced_id):
        """getCFRubric"""
        _fw, record = _find(binding, "rubrics", sourced_id)
        return record

    @blp.route("/CFLicenses/<string:sourced_id>")
    @content_cached
    @blp.response(200, description="CFLicense")
    def get_licence(sourced_id):
        """getCFLicense"""
        _fw, record = _find(binding, "licences", sourced_id)
        return record

    return blp


blp_v1p0 = make_blueprint("1.0")
blp_v1p1 = make_blueprint("1.1")

"""The CASE 1.0 REST binding (/ims/case/v1p0), read-only."""

from __future__ import annotations

import re

from flask import current_app, request
from flask_smorest import Blueprint, abort

from schemas.case import CaseListArgs
from service import db
from service.cache import content_cached
from service.case import query
from service.case.framework import Framework, load_frameworks
from service.errors import case_error

V1P0 = "/ims/case/v1p0"
UUID_PATTERN = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
)

blp_v1p0 = Blueprint(
    "case_v1p0",
    __name__,
    url_prefix=V1P0,
    description="1EdTech CASE 1.0: the qualification as a competency framework "
    "(document, units, learning outcomes and criteria as CFItems).",
)

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


def _base() -> str:
    root = current_app.config["PUBLIC_BASE_URL"] or request.host_url.rstrip("/")
    return root + V1P0


def _frameworks() -> list[Framework]:
    return load_frameworks(db.session(), _base())


def _find(collection: str, sourced_id: str):
    """Return (framework, record) for an identifier in one of the framework's collections."""
    if not UUID_PATTERN.fullmatch(sourced_id):
        abort(404, message=f"Invalid UUID: {sourced_id!r}.", code_minor="invaliduuid")
    for fw in _frameworks():
        if collection == "document" and fw.document["identifier"] == sourced_id:
            return fw, fw.document
        records = getattr(fw, collection, {}) if collection != "document" else {}
        if sourced_id in records:
            return fw, records[sourced_id]
    abort(404, message=f"Unknown object: no {collection} with sourcedId {sourced_id!r}.")


@blp_v1p0.route("/CFDocuments")
@content_cached
@blp_v1p0.arguments(CaseListArgs, location="query")
@blp_v1p0.response(200, description="CFDocumentSet: every framework this service publishes")
def get_all_documents(args):
    """getAllCFDocuments"""
    documents = [fw.document_out() for fw in _frameworks()]
    try:
        if "filter" in args:
            documents = query.apply_filter(documents, args["filter"], DOCUMENT_FIELDS)
        if "sort" in args:
            documents = query.apply_sort(
                documents, args["sort"], args.get("orderBy", "asc"), DOCUMENT_FIELDS
            )
        total = len(documents)
        documents = documents[args["offset"] : args["offset"] + args["limit"]]
        if "fields" in args:
            documents = query.select_fields(documents, args["fields"], DOCUMENT_FIELDS)
    except query.QueryError as exc:
        return case_error(400, str(exc), exc.code_minor)
    return {"CFDocuments": documents}, 200, {"X-Total-Count": str(total)}


@blp_v1p0.route("/CFDocuments/<string:sourced_id>")
@content_cached
@blp_v1p0.response(200, description="CFDocument")
def get_document(sourced_id):
    """getCFDocument"""
    fw, _ = _find("document", sourced_id)
    return fw.document_out()


@blp_v1p0.route("/CFPackages/<string:sourced_id>")
@content_cached
@blp_v1p0.response(200, description="CFPackage: the document with all its items and associations")
def get_package(sourced_id):
    """getCFPackage"""
    fw, _ = _find("document", sourced_id)
    return fw.package()


@blp_v1p0.route("/CFItems/<string:sourced_id>")
@content_cached
@blp_v1p0.response(200, description="CFItem: a unit, learning outcome or assessment criterion")
def get_item(sourced_id):
    """getCFItem"""
    fw, _ = _find("items", sourced_id)
    return fw.item_out(sourced_id)


@blp_v1p0.route("/CFAssociations/<string:sourced_id>")
@content_cached
@blp_v1p0.response(200, description="CFAssociation")
def get_association(sourced_id):
    """getCFAssociation"""
    fw, _ = _find("associations", sourced_id)
    return fw.association_out(sourced_id)


@blp_v1p0.route("/CFItemAssociations/<string:sourced_id>")
@content_cached
@blp_v1p0.response(200, description="CFAssociationSet: the item and every association it is in")
def get_item_associations(sourced_id):
    """getCFItemAssociations"""
    fw, _ = _find("items", sourced_id)
    return {"CFItem": fw.item_out(sourced_id), "CFAssociations": fw.associations_of(sourced_id)}


def _definition_set(collection: str, key: str, sourced_id: str) -> dict:
    """CASE answers definition lookups with a set: the one asked for first, then its children
    by hierarchyCode."""
    fw, record = _find(collection, sourced_id)
    prefix = record["hierarchyCode"] + "."
    children = [
        r for r in getattr(fw, collection).values() if r["hierarchyCode"].startswith(prefix)
    ]
    return {key: [record, *children]}


@blp_v1p0.route("/CFItemTypes/<string:sourced_id>")
@content_cached
@blp_v1p0.response(200, description="CFItemTypeSet")
def get_item_type(sourced_id):
    """getCFItemType"""
    return _definition_set("item_types", "CFItemTypes", sourced_id)


@blp_v1p0.route("/CFConcepts/<string:sourced_id>")
@content_cached
@blp_v1p0.response(200, description="CFConceptSet: a unit's knowledge topic")
def get_concept(sourced_id):
    """getCFConcept"""
    return _definition_set("concepts", "CFConcepts", sourced_id)


@blp_v1p0.route("/CFSubjects/<string:sourced_id>")
@content_cached
@blp_v1p0.response(200, description="CFSubjectSet")
def get_subject(sourced_id):
    """getCFSubject"""
    return _definition_set("subjects", "CFSubjects", sourced_id)


@blp_v1p0.route("/CFRubrics/<string:sourced_id>")
@content_cached
@blp_v1p0.response(200, description="CFRubric: a unit's rubric, criteria pointing at CFItems")
def get_rubric(sourced_id):
    """getCFRubric"""
    _fw, record = _find("rubrics", sourced_id)
    return record


@blp_v1p0.route("/CFLicenses/<string:sourced_id>")
@content_cached
@blp_v1p0.response(200, description="CFLicense")
def get_licence(sourced_id):
    """getCFLicense"""
    _fw, record = _find("licences", sourced_id)
    return record

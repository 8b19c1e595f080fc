"""REST: the awarding body's item administration: approval for live use (content:approve) and
item statistics from real attempts (content:read).

This module is the transaction edge: an approval commits after the domain function succeeds;
a typed refusal (service.item_provenance.ProvenanceError) is rolled back and answered 404
(no such item) or 409 (a draft cannot be approved).
"""

from __future__ import annotations

from flask import Response, request

from schemas.item_provenance import ApproveItemSchema, ItemProvenanceSchema
from schemas.item_statistics import StatisticsQueryArgs, StatisticsSchema
from service import cache, db, item_provenance, item_statistics
from service.api.blueprint import ServiceBlueprint
from service.auth import require_scope
from service.errors import rest_error

blp = ServiceBlueprint(
    "item_admin",
    __name__,
    url_prefix="/api/v1",
    description="Item provenance and approval for live use, and item statistics (facility, "
    "discrimination, omissions, distractor analysis, criteria met) from fully graded attempts.",
)
APPROVE = [{"oauth2": ["content:approve"]}]
CONTENT_READ = [{"oauth2": ["content:read"]}]


@blp.errorhandler(item_provenance.ProvenanceError)
def _refused(error: item_provenance.ProvenanceError):
    db.session().rollback()
    if isinstance(error, item_provenance.UnknownItem):
        return rest_error(404, error.message)
    if isinstance(error, item_provenance.NotReviewed):
        return rest_error(409, error.message)
    return rest_error(422, error.message)


@blp.route("/items/<string:item_id>/approval")
@blp.doc(security=CONTENT_READ)
@require_scope("content:read")
@blp.response(200, ItemProvenanceSchema)
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
def get_provenance(item_id):
    """Who wrote and reviewed the item, its status, and its approval for live use if any."""
    return item_provenance.provenance(item_provenance.get_item(db.session(), item_id))


@blp.route("/items/<string:item_id>/approval", methods=["PUT"])
@blp.doc(security=APPROVE)
@require_scope("content:approve")
@blp.arguments(ApproveItemSchema)
@blp.response(200, ItemProvenanceSchema)
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.alt_response(409, response="DEFAULT_ERROR")
def approve_item(data, item_id):
    """Approve the item's current version for live use, in the name of the person given.
    A draft (no recorded review) is refused with 409. A later change to the item is a new
    version, which needs approving again."""
    item = item_provenance.approve(db.session(), item_id, data["by"])
    db.session().commit()
    cache.clear()
    return item_provenance.provenance(item)


@blp.route("/items/<string:item_id>/approval", methods=["DELETE"])
@blp.doc(security=APPROVE)
@require_scope("content:approve")
@blp.response(200, ItemProvenanceSchema)
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
def withdraw_approval(item_id):
    """Withdraw the item's approval: it goes back to the status its review record gives it
    and, where delivery is limited to approved items, leaves new forms."""
    item = item_provenance.withdraw_approval(db.session(), item_id)
    db.session().commit()
    cache.clear()
    return item_provenance.provenance(item)


@blp.route("/items/statistics")
@blp.doc(
    security=CONTENT_READ,
    responses={
        "200": {
            "description": "The statistics (JSON), or with Accept: text/csv or format=csv one "
            "CSV table: a row per item, per choice of an item and per criterion (column kind)",
            "content": {
                "application/json": {"schema": StatisticsSchema},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
@require_scope("content:read")
@blp.arguments(StatisticsQueryArgs, location="query")
@blp.response(200, StatisticsSchema)
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
def get_statistics(args):
    """Item statistics from fully graded attempts, by unit and submission dates: per item n,
    facility, discrimination (item-rest correlation), omission rate and choice rates; per
    criterion the rate met."""
    rows = item_statistics.load(
        db.session(), args.get("unit"), args.get("since"), args.get("until")
    )
    stats = item_statistics.compute(rows)
    wants_csv = args.get("format") == "csv" or (
        "format" not in args
        and request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"
    )
    if wants_csv:
        return Response(
            item_statistics.as_csv(stats),
            mimetype="text/csv",
            headers={
                "Content-Disposition": 'attachment; filename="item-statistics.csv"',
                "Cache-Control": "no-store",
            },
        )
    return stats

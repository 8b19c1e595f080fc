"""REST: items, rubrics and assessments (/api/v1)."""

from flask import Response, current_app
from flask_smorest import abort

from schemas.items import (
    AssessmentQueryArgs,
    AssessmentSchema,
    AuthoringItemSchema,
    ItemQueryArgs,
    LearnerItemSchema,
    RubricQueryArgs,
    RubricSchema,
)
from service import bank, db, qti
from service.api.blueprint import ServiceBlueprint
from service.api.paging import paginated
from service.auth import require_scope
from service.cache import content_cached
from service.choice_ids import ChoiceIds

blp = ServiceBlueprint(
    "bank",
    __name__,
    url_prefix="/api/v1",
    description="Scenario-based items, rubrics and assessments. Public views never carry keys; "
    "the authoring view and QTI exports need the content:read scope.",
)
CONTENT_READ = [{"oauth2": ["content:read"]}]


def _catalogue_ids() -> ChoiceIds:
    """Choice ids for items shown outside an attempt: opaque too, and never valid in one."""
    return ChoiceIds(current_app.config["SECRET_KEY"], "catalogue")


def _item_or_404(code: str):
    item = bank.get_item(db.session(), code)
    if item is None:
        abort(404, message=f"No item with id {code!r}.")
    return item


@blp.route("/items")
@content_cached
@blp.etag
@blp.arguments(ItemQueryArgs, location="query")
@blp.response(200, LearnerItemSchema(many=True))
@blp.paginate()
def list_items(args, pagination_parameters):
    """Items (learner view), filtered by unit, criterion or type."""
    items = paginated(pagination_parameters, bank.list_items, db.session(), **args)
    return [bank.learner_view(item, item.current, _catalogue_ids()) for item in items]


@blp.route("/items/<string:item_id>")
@content_cached
@blp.etag
@blp.response(200, LearnerItemSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
def get_item(item_id):
    """One item as a learner sees it: stimulus, prompt and options, without the key."""
    item = _item_or_404(item_id)
    return bank.learner_view(item, item.current, _catalogue_ids())


@blp.route("/items/<string:item_id>/authoring")
@blp.doc(security=CONTENT_READ)
@require_scope("content:read")
@blp.response(200, AuthoringItemSchema)
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.alt_response(404, response="DEFAULT_ERROR")
def get_item_authoring(item_id):
    """The whole item: key, accepted answers, feedback and review record."""
    return bank.authoring_view(_item_or_404(item_id))


@blp.route("/items/<string:item_id>/qti")
@blp.doc(
    security=CONTENT_READ,
    responses={
        "200": {"description": "A QTI 3.0 assessment item", "content": {"application/xml": {}}}
    },
)
@require_scope("content:read")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.alt_response(404, response="DEFAULT_ERROR")
def get_item_qti(item_id):
    """The item as a 1EdTech QTI 3.0 assessment item (XML, with its response processing)."""
    item = _item_or_404(item_id)
    xml = qti.item_xml(item, bank.rubrics_for(db.session(), item))
    return Response(xml, mimetype="application/xml", headers={"Cache-Control": "no-store"})


@blp.route("/rubrics")
@content_cached
@blp.etag
@blp.arguments(RubricQueryArgs, location="query")
@blp.response(200, RubricSchema(many=True))
@blp.paginate()
def list_rubrics(args, pagination_parameters):
    """Rubrics (one per criterion that extended responses evidence), by unit or criterion."""
    return paginated(pagination_parameters, bank.list_rubrics, db.session(), **args)


@blp.route("/rubrics/<string:criterion_code>")
@content_cached
@blp.etag
@blp.response(200, RubricSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
def get_rubric(criterion_code):
    """The rubric for one criterion: its performance levels, scores and descriptors."""
    rubric = bank.get_rubric(db.session(), criterion_code)
    if rubric is None:
        abort(404, message=f"No rubric for criterion {criterion_code!r}.")
    return rubric


@blp.route("/assessments")
@content_cached
@blp.etag
@blp.arguments(AssessmentQueryArgs, location="query")
@blp.response(200, AssessmentSchema(many=True))
@blp.paginate()
def list_assessments(args, pagination_parameters):
    """Assessments, by unit."""
    return paginated(pagination_parameters, bank.list_assessments, db.session(), **args)


def _assessment_or_404(code: str):
    assessment = bank.get_assessment(db.session(), code)
    if assessment is None:
        abort(404, message=f"No assessment with code {code!r}.")
    return assessment


@blp.route("/assessments/<string:assessment_code>")
@content_cached
@blp.etag
@blp.response(200, AssessmentSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
def get_assessment(assessment_code):
    """One assessment: time limit, how its forms are drawn and its published grade descriptors."""
    return _assessment_or_404(assessment_code)


@blp.route("/assessments/<string:assessment_code>/qti-package")
@blp.doc(
    security=CONTENT_READ,
    responses={
        "200": {"description": "A QTI 3.0 content package", "content": {"application/zip": {}}}
    },
)
@require_scope("content:read")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.alt_response(404, response="DEFAULT_ERROR")
def get_assessment_package(assessment_code):
    """The assessment and its whole item bank as a QTI 3.0 content package (zip)."""
    assessment = _assessment_or_404(assessment_code)
    data = qti.package(db.session(), assessment)
    return Response(
        data,
        mimetype="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{assessment.code}-qti3.zip"',
            "Cache-Control": "no-store",
        },
    )

"""REST: items, rubrics and assessments (/api/v1)."""

from flask import Response, current_app, request
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
from service.auth import caller_scopes, require_scope
from service.cache import content_cached
from service.choice_ids import ChoiceIds

blp = ServiceBlueprint(
    "bank",
    __name__,
    url_prefix="/api/v1",
    description="Scenario-based items, rubrics and assessments. The live item bank is "
    "confidential: live items (learner view, authoring view, QTI exports) need the content:read "
    "scope, which only the awarding body's clients hold; published samples (sample: true) are "
    "public. Rubrics and assessments are public. Learner views never carry keys or the bank's "
    "choice ids.",
)
CONTENT_READ = [{"oauth2": ["content:read"]}]
# Anonymous callers get the samples; a token with content:read gets the live items too.
PUBLIC_OR_CONTENT_READ = [{}, {"oauth2": ["content:read"]}]


def _catalogue_ids() -> ChoiceIds:
    """Choice ids for items shown outside an attempt: opaque too, and never valid in one."""
    return ChoiceIds(current_app.config["SECRET_KEY"], "catalogue")


def _item_or_404(code: str):
    item = bank.get_item(db.session(), code)
    if item is None:
        abort(404, message=f"No item with id {code!r}.")
    return item


@blp.after_request
def _vary_on_the_caller(response):
    # The item routes answer the public (samples) and content clients (the whole bank)
    # differently: an HTTP cache must not hand one's answer to the other.
    if request.path.startswith("/api/v1/items"):
        response.vary.add("Authorization")
    return response


def _sees_live_items() -> bool:
    """Live items are confidential: only the awarding body's clients hold content:read (a
    centre's client cannot), so anyone else, anonymous or not, sees the samples only."""
    return "content:read" in caller_scopes()


# The item routes answer per caller (samples or the whole bank), so they are not in the shared
# content cache; CASE, criteria, rubrics and assessments stay public and cached.
@blp.route("/items")
@blp.doc(security=PUBLIC_OR_CONTENT_READ)
@blp.etag
@blp.arguments(ItemQueryArgs, location="query")
@blp.response(200, LearnerItemSchema(many=True))
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.paginate()
def list_items(args, pagination_parameters):
    """Items (learner view), filtered by unit, criterion or type. Anyone sees the published
    samples; live items are listed only to a token with content:read (the awarding body's)."""
    samples_only = not _sees_live_items()
    items = paginated(
        pagination_parameters, bank.list_items, db.session(), samples_only=samples_only, **args
    )
    return [bank.learner_view(item, item.current, _catalogue_ids()) for item in items]


@blp.route("/items/<string:item_id>")
@blp.doc(security=PUBLIC_OR_CONTENT_READ)
@blp.etag
@blp.response(200, LearnerItemSchema)
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.alt_response(404, response="DEFAULT_ERROR")
def get_item(item_id):
    """One item as a learner sees it: stimulus, prompt and options, without the key. A
    published sample is public; a live item needs a token with content:read (401 without a
    token, 403 with one that lacks it)."""
    item = _item_or_404(item_id)
    if not item.sample and not _sees_live_items():
        if not caller_scopes():
            abort(401, message="Live items are confidential: send a bearer token.")
        abort(403, message="Live items are for the awarding body's content clients only.")
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

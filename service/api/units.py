"""REST: units and their criteria (/api/v1)."""

from flask_smorest import abort

from schemas.criteria import CriteriaQueryArgs, CriterionDetailSchema, CriterionSchema
from schemas.units import UnitQueryArgs, UnitSchema, UnitSummarySchema
from service import catalogue, db
from service.api.blueprint import ServiceBlueprint
from service.api.paging import paginated
from service.cache import content_cached

blp = ServiceBlueprint(
    "units",
    __name__,
    url_prefix="/api/v1",
    description="The qualification's units, learning outcomes and assessment criteria.",
)


@blp.route("/units")
@content_cached
@blp.etag
@blp.arguments(UnitQueryArgs, location="query")
@blp.response(200, UnitSummarySchema(many=True))
@blp.paginate()
def list_units(args, pagination_parameters):
    """List units, filtered by level, grading or text."""
    return paginated(pagination_parameters, catalogue.list_units, db.session(), **args)


@blp.route("/units/<string:unit_code>")
@content_cached
@blp.etag
@blp.response(200, UnitSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
def get_unit(unit_code):
    """One unit with its knowledge topics, guidance, misconceptions and learning outcomes."""
    unit = catalogue.get_unit(db.session(), unit_code)
    if unit is None:
        abort(404, message=f"No unit with code {unit_code!r}.")
    return unit


@blp.route("/units/<string:unit_code>/criteria")
@content_cached
@blp.etag
@blp.arguments(CriteriaQueryArgs, location="query")
@blp.response(200, CriterionSchema(many=True))
@blp.alt_response(404, response="DEFAULT_ERROR")
@blp.paginate()
def list_unit_criteria(args, unit_code, pagination_parameters):
    """The unit's criteria (current versions), filtered by evidence type, band or text."""
    unit_id = catalogue.unit_id_for(db.session(), unit_code)
    if unit_id is None:
        abort(404, message=f"No unit with code {unit_code!r}.")
    return paginated(
        pagination_parameters, catalogue.list_criteria, db.session(), unit_id=unit_id, **args
    )


@blp.route("/criteria/<string:criterion_code>")
@content_cached
@blp.etag
@blp.response(200, CriterionDetailSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
def get_criterion(criterion_code):
    """One criterion with its learning outcome, every version and its guidance."""
    criterion = catalogue.get_criterion(db.session(), criterion_code)
    if criterion is None:
        abort(404, message=f"No assessment criterion with code {criterion_code!r}.")
    return criterion

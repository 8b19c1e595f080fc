"""REST: LTI 1.3 registrations (the LMS platforms that may launch the tool). Admin scope.

Platforms registered by LTI Dynamic Registration (GET /lti/register) start inactive in
production; an administrator activates them here or with `assessment lti platforms activate`.
Also: a deployment's Canvas choice, the pre-flight check of a registration's services
(lti/preflight.py) and gradebook reconciliation (lti/reconcile.py).
"""

from flask import current_app
from flask_smorest import abort

from lti import platforms, preflight, reconcile, resource_links, url_policy
from lti.gradebook_vocabulary import CanvasCriteria
from lti.service_tokens import ServiceTokens
from schemas.lti import (
    ActivateSchema,
    DeploymentCreateSchema,
    DeploymentSchema,
    DeploymentUpdateSchema,
    PlatformCreateSchema,
    PlatformSchema,
    PreflightQuerySchema,
    PreflightReportSchema,
    PreflightRunSchema,
    ReconcileQuerySchema,
    ReconciliationSchema,
)
from service import db
from service.api.blueprint import ServiceBlueprint
from service.api.paging import paginated
from service.auth import require_scope
from service.models import utcnow

blp = ServiceBlueprint(
    "lti_admin",
    __name__,
    url_prefix="/api/v1/admin/lti",
    description="LTI 1.3 registrations: list, add by hand, activate, disable, add deployments, "
    "choose a deployment's Canvas criteria; check a registration's grade services (pre-flight) "
    "and reconcile its gradebooks. Needs the admin scope.",
)
ADMIN = [{"oauth2": ["admin"]}]


def _embedded() -> bool:
    return url_policy.embedded_default(current_app.config)


def _platform_or_404(platform_id: int):
    platform = platforms.get_platform(db.session(), platform_id)
    if platform is None:
        abort(404, message=f"No LTI registration {platform_id}.")
    return platform


def _run(action, *args, **kwargs):
    """A change to registrations, committed; its typed errors as 409 and 422."""
    session = db.session()
    try:
        result = action(session, *args, **kwargs)
    except platforms.DuplicatePlatform as exc:
        abort(409, message=str(exc))
    except platforms.InvalidPlatform as exc:
        abort(
            422, message="Invalid parameter(s): " + ", ".join(sorted(exc.errors)), errors=exc.errors
        )
    session.commit()
    return result


@blp.route("/platforms")
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.response(200, PlatformSchema(many=True))
@blp.paginate()
def list_platforms(pagination_parameters):
    """List registrations.

    Every registration, active or not, oldest first."""
    rows = paginated(pagination_parameters, platforms.list_platforms, db.session())
    return [platforms.platform_view(p) for p in rows]


@blp.route("/platforms", methods=["POST"])
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.arguments(PlatformCreateSchema)
@blp.response(201, PlatformSchema)
@blp.alt_response(409, response="DEFAULT_ERROR")
def create_platform(data):
    """Add a registration by hand.

    With the values the LMS shows for the tool: issuer, client id, endpoints, deployment ids.
    Inactive unless `active` is true. In production every URL must be https."""
    platform = _run(platforms.add_platform, data, _embedded())
    return platforms.platform_view(platform)


@blp.route("/platforms/<int(max=2147483647):platform_id>")
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.response(200, PlatformSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
def get_platform(platform_id):
    """Get one registration."""
    return platforms.platform_view(_platform_or_404(platform_id))


@blp.route("/platforms/<int(max=2147483647):platform_id>/activate", methods=["POST"])
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.arguments(ActivateSchema, required=False)
@blp.response(200, PlatformSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
def activate_platform(data, platform_id):
    """Activate a registration.

    Its platform can launch the tool from now on. `centre` also binds it to a centre."""
    platform = _platform_or_404(platform_id)
    platform = _run(platforms.set_active, platform, True, data.get("centre"))
    return platforms.platform_view(platform)


@blp.route("/platforms/<int(max=2147483647):platform_id>/disable", methods=["POST"])
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.response(200, PlatformSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
def disable_platform(platform_id):
    """Disable a registration.

    Its platform can no longer launch the tool; the registration is kept."""
    platform = _platform_or_404(platform_id)
    return platforms.platform_view(_run(platforms.set_active, platform, False))


@blp.route("/platforms/<int(max=2147483647):platform_id>/deployments", methods=["POST"])
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.arguments(DeploymentCreateSchema)
@blp.response(201, PlatformSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
@blp.alt_response(409, response="DEFAULT_ERROR")
def add_deployment(data, platform_id):
    """Add a deployment id.

    Canvas shows it once the app is added to an account or course; Moodle sends it with
    dynamic registration."""
    platform = _platform_or_404(platform_id)
    platform = _run(platforms.add_deployment, platform, data["deployment_id"])
    return platforms.platform_view(platform)


@blp.route(
    "/platforms/<int(max=2147483647):platform_id>/deployments/<string(maxlength=255):deployment_id>",
    methods=["PATCH"],
)
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.arguments(DeploymentUpdateSchema)
@blp.response(200, DeploymentSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
def update_deployment(data, platform_id, deployment_id):
    """Choose how a Canvas deployment shows criteria.

    `comment` (the default): the grade's comment and submission carry criterion coverage.
    `assignments`: one Canvas assignment per criterion, which learners see. Other platforms
    ignore it. Scores queued from now on follow the choice."""
    platform = _platform_or_404(platform_id)
    session = db.session()
    try:
        deployment = platforms.set_canvas_criteria(
            session, platform, deployment_id, CanvasCriteria(data["canvas_criteria"])
        )
    except platforms.UnknownDeployment as exc:
        abort(404, message=str(exc))
    session.commit()
    return platforms.deployment_view(deployment)


def _tokens() -> ServiceTokens:
    return ServiceTokens.for_app(current_app)


def _preflight(platform_id: int, link: int | None, round_trip: bool) -> dict:
    _platform_or_404(platform_id)
    session = db.session()
    try:
        target = preflight.target(session, platform_id, link)
    except resource_links.UnknownResourceLink as exc:
        abort(404, message=str(exc))
    # End the read: no transaction stays open while the platform answers.
    session.rollback()
    return preflight.as_dict(preflight.run(_tokens(), target, round_trip))


@blp.route("/platforms/<int(max=2147483647):platform_id>/preflight")
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.arguments(PreflightQuerySchema, location="query")
@blp.response(200, PreflightReportSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
def get_preflight(args, platform_id):
    """Check a registration's grade services (reads only).

    On one resource link (`link`, default: the most recently launched): the AGS scopes and
    names and roles service its launch granted, a token for them, and a GET of the line items
    container. Failures carry the platform's answer. Nothing is written to the gradebook."""
    return _preflight(platform_id, args["link"], round_trip=False)


@blp.route("/platforms/<int(max=2147483647):platform_id>/preflight", methods=["POST"])
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.arguments(PreflightRunSchema, required=False)
@blp.response(200, PreflightReportSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
def post_preflight(data, platform_id):
    """Check a registration's grade services, optionally with a round trip.

    As GET; with `round_trip: true` also creates a test line item ("Assessment service
    connection check", tag `preflight`) in the course's gradebook, reads it back and deletes
    it."""
    return _preflight(platform_id, data.get("link"), bool(data.get("round_trip")))


def _compare(platform_id: int, link: int | None) -> reconcile.Reconciliation:
    _platform_or_404(platform_id)
    session = db.session()
    try:
        plans = reconcile.plan(session, platform_id, link)
    except resource_links.UnknownResourceLink as exc:
        abort(404, message=str(exc))
    # End the read: no transaction stays open while the platform answers.
    session.rollback()
    return reconcile.compare(_tokens(), plans)


@blp.route("/platforms/<int(max=2147483647):platform_id>/reconciliation")
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.arguments(ReconcileQuerySchema, location="query")
@blp.response(200, ReconciliationSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
def get_reconciliation(args, platform_id):
    """Compare the platform's gradebook with what the tool sent.

    Reads each line item's results (the result scope) of one resource link (`link`) or of every
    link, and lists the learners whose result is missing or differs from the last score the
    platform accepted. Scores awaiting an assessor are not compared."""
    return reconcile.as_dict(_compare(platform_id, args["link"]))


@blp.route("/platforms/<int(max=2147483647):platform_id>/reconciliation/resend", methods=["POST"])
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.arguments(ReconcileQuerySchema, required=False)
@blp.response(200, ReconciliationSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
def resend_reconciliation(data, platform_id):
    """Compare, then queue every mismatched score again.

    As GET .../reconciliation; each mismatch is queued again with a new, later timestamp, and
    the worker sends it. `queued` counts them."""
    outcome = _compare(platform_id, data.get("link"))
    session = db.session()
    queued = reconcile.resend(session, outcome.mismatches, utcnow())
    session.commit()
    return reconcile.as_dict(outcome, queued)

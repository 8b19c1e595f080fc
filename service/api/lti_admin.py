"""REST: LTI 1.3 registrations (the LMS platforms that may launch the tool). Admin scope.

Platforms registered by LTI Dynamic Registration (GET /lti/register) start inactive in
production; an administrator activates them here or with `assessment lti platforms activate`.
"""

from flask import current_app
from flask_smorest import abort

from lti import platforms, url_policy
from schemas.lti import (
    ActivateSchema,
    DeploymentCreateSchema,
    PlatformCreateSchema,
    PlatformSchema,
)
from service import db
from service.api.blueprint import ServiceBlueprint
from service.api.paging import paginated
from service.auth import require_scope

blp = ServiceBlueprint(
    "lti_admin",
    __name__,
    url_prefix="/api/v1/admin/lti",
    description="LTI 1.3 registrations: list, add by hand, activate, disable, add deployments. "
    "Needs the admin scope.",
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
    try:
        return action(db.session(), *args, **kwargs)
    except platforms.DuplicatePlatform as exc:
        abort(409, message=str(exc))
    except platforms.InvalidPlatform as exc:
        abort(
            422, message="Invalid parameter(s): " + ", ".join(sorted(exc.errors)), errors=exc.errors
        )


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

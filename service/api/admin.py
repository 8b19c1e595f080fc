"""REST: the awarding body's administration of centres, API clients, external verifiers'
(EQA) centre assignments, and the audit log. Admin scope.

The CLI has the same (`assessment centres|clients|eqa ...`); both go through
service/client_admin.py, which records every change in the audit log. This module is the
transaction edge: it commits after the domain function succeeds; a typed refusal is rolled
back and answered 404, 409 or 422 in the one error shape. Secrets are in the answer once
(create, rotate) and never again; rotating revokes the client's tokens.
"""

from __future__ import annotations

from schemas.admin import (
    AssignmentSchema,
    AuditEventSchema,
    AuditQuerySchema,
    CentreCreateSchema,
    CentreSchema,
    ClientCreateSchema,
    ClientQuerySchema,
    ClientSchema,
    ClientSecretSchema,
)
from service import audit_log, client_admin, db
from service.api.blueprint import ServiceBlueprint
from service.api.paging import paginated
from service.audit import actor_of_client
from service.audit_vocabulary import AuditAction
from service.auth import current_client, require_scope
from service.client_vocabulary import ClientKind
from service.errors import rest_error

blp = ServiceBlueprint(
    "admin",
    __name__,
    url_prefix="/api/v1/admin",
    description="Centres, API clients (create, list, rotate the secret, revoke), the centres "
    "each external verifier's client may see, and the audit log of who read or changed "
    "learners' data. Needs the admin scope. Every change is in the audit log.",
)
ADMIN = [{"oauth2": ["admin"]}]


@blp.errorhandler(client_admin.AdminError)
def _refused(error: client_admin.AdminError):
    db.session().rollback()
    status = {client_admin.NotFound: 404, client_admin.Conflict: 409}.get(type(error), 422)
    return rest_error(status, error.message)


def _actor() -> str:
    return actor_of_client(current_client())


def centre_view(centre) -> dict:
    return {
        "code": centre.code,
        "name": centre.name,
        "uuid": centre.uuid,
        "created_at": centre.created_at,
    }


def client_view(session, client, secret: str | None = None) -> dict:
    assigned = client_admin.assigned_centres(session, client) if client.kind == "eqa" else []
    view = {
        "client_id": client.client_id,
        "name": client.name,
        "kind": client.kind.value,
        "scopes": client.scopes.split(),
        "centre": client.centre.code if client.centre else None,
        "centres": [a.centre.code for a in assigned],
        "created_at": client.created_at,
        "revoked_at": client.revoked_at,
    }
    if secret is not None:
        view["client_secret"] = secret
    return view


def assignment_view(assignment) -> dict:
    return {
        "client_id": assignment.client.client_id,
        "centre": assignment.centre.code,
        "assigned_at": assignment.assigned_at,
        "assigned_by": assignment.assigned_by,
    }


# Centres ----------------------------------------------------------------------------------------


@blp.route("/centres")
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.response(200, CentreSchema(many=True))
@blp.paginate()
def list_centres(pagination_parameters):
    """List centres, by code."""
    rows = paginated(pagination_parameters, client_admin.list_centres, db.session())
    return [centre_view(c) for c in rows]


@blp.route("/centres", methods=["POST"])
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.arguments(CentreCreateSchema)
@blp.response(201, CentreSchema)
@blp.alt_response(409, response="DEFAULT_ERROR")
def create_centre(data):
    """Add a centre. 409 if its code is taken."""
    session = db.session()
    centre = client_admin.create_centre(session, _actor(), data["code"], data["name"])
    answer = centre_view(centre)
    session.commit()
    return answer


# Clients ----------------------------------------------------------------------------------------


@blp.route("/clients")
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.arguments(ClientQuerySchema, location="query")
@blp.response(200, ClientSchema(many=True))
@blp.paginate()
def list_clients(args, pagination_parameters):
    """List API clients, oldest first, revoked ones included (never their secrets)."""
    session = db.session()
    kind = ClientKind(args["kind"]) if args["kind"] else None
    rows = paginated(
        pagination_parameters,
        client_admin.list_clients,
        session,
        kind=kind,
        centre_code=args["centre"],
    )
    return [client_view(session, c) for c in rows]


@blp.route("/clients", methods=["POST"])
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.arguments(ClientCreateSchema)
@blp.response(201, ClientSecretSchema)
def create_client(data):
    """Create an API client; the answer holds its secret, shown this once. 422 for a scope its
    kind may not hold, a centre's client without a centre (or another kind with one), or an
    unknown centre."""
    session = db.session()
    try:
        made = client_admin.create_client(
            session,
            _actor(),
            data["name"],
            ClientKind(data["kind"]),
            data["scopes"],
            data["centre"],
        )
    except client_admin.NotFound as exc:
        raise client_admin.Invalid(exc.message) from None
    answer = client_view(session, made.client, made.secret)
    session.commit()
    return answer


@blp.route("/clients/<string:client_id>")
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.response(200, ClientSchema)
def get_client(client_id):
    """One API client (never its secret)."""
    session = db.session()
    return client_view(session, client_admin.client_by_id(session, client_id))


@blp.route("/clients/<string:client_id>/rotate", methods=["POST"])
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.response(200, ClientSecretSchema)
@blp.alt_response(409, response="DEFAULT_ERROR")
def rotate_client(client_id):
    """Give the client a new secret, shown this once. The old secret stops working at once
    and every token the client holds is revoked. 409 for a revoked client."""
    session = db.session()
    made = client_admin.rotate(session, _actor(), client_id)
    answer = client_view(session, made.client, made.secret)
    session.commit()
    return answer


@blp.route("/clients/<string:client_id>/revoke", methods=["POST"])
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.response(200, ClientSchema)
def revoke_client(client_id):
    """Revoke the client and every token it holds. Revoking again changes nothing."""
    session = db.session()
    client = client_admin.revoke(session, _actor(), client_id)
    answer = client_view(session, client)
    session.commit()
    return answer


@blp.route("/clients/<string:client_id>/centres/<string:centre_code>", methods=["PUT"])
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.response(200, AssignmentSchema)
@blp.alt_response(409, response="DEFAULT_ERROR")
@blp.alt_response(422, response="DEFAULT_ERROR")
def assign_centre(client_id, centre_code):
    """Assign an external verifier's client to a centre: it sees the centre's records from now
    on. Assigning again keeps the first assignment. 422 for a client that is not an EQA's, 409
    for a revoked one."""
    session = db.session()
    assignment = client_admin.assign(session, _actor(), client_id, centre_code)
    answer = assignment_view(assignment)
    session.commit()
    return answer


@blp.route("/clients/<string:client_id>/centres/<string:centre_code>", methods=["DELETE"])
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.response(204)
def unassign_centre(client_id, centre_code):
    """End an external verifier's client's assignment to a centre: its next request no longer
    sees the centre. 404 if it was not assigned."""
    session = db.session()
    client_admin.unassign(session, _actor(), client_id, centre_code)
    session.commit()


# Audit log --------------------------------------------------------------------------------------


@blp.route("/audit-events")
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditEventSchema(many=True))
@blp.paginate()
def list_audit_events(args, pagination_parameters):
    """The audit log, newest first: who read or changed which learner's data (EQAs' reads
    included), and every change to clients, centres and assignments. Filters combine."""
    filters = audit_log.Filters(
        learner_uuid=str(args["learner"]) if args["learner"] else None,
        actor=args["actor"],
        centre_code=args["centre"],
        action=AuditAction(args["action"]) if args["action"] else None,
        since=args["since"],
        until=args["until"],
    )
    return paginated(pagination_parameters, audit_log.events, db.session(), filters)

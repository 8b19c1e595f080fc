"""REST: a centre's learners (/api/v1/learners): reference, name and LMS identities.

Tenancy as everywhere (service/tenancy.py): a centre's client its own centre, an EQA's client
its assigned centres (read only: EQA clients cannot hold learners:write), the awarding body all;
another centre's learner is answered exactly like a missing one. Every read and change of a
learner is written to the audit log (one row per learner) in the view's transaction.

LMS identities are named as a centre knows its LMS: the issuer and client id of the centre's
LTI registration with this tool, and the user's id there (the LTI `sub`).
"""

from __future__ import annotations

from flask_smorest import abort
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lti.models import LtiPlatform
from schemas.learners import (
    CreateLearnerSchema,
    LearnerQuerySchema,
    LearnerSchema,
    UpdateLearnerSchema,
)
from service import audit, db, idempotency
from service import learner_directory as directory
from service.api.blueprint import ServiceBlueprint
from service.api.paging import paginated
from service.attempt_access import lti_learner
from service.audit_vocabulary import AuditAction
from service.auth import current_client, require_scope
from service.errors import rest_error
from service.tenancy import of_client

blp = ServiceBlueprint(
    "learners",
    __name__,
    url_prefix="/api/v1",
    description="A centre's learners: its own reference (MIS id), name, and LMS identities "
    "(issuer and client id of the centre's LMS registration, and the LMS user id). Linking an "
    "LMS identity joins the learner's LMS launches to them. Every read and change is audited.",
)


@blp.errorhandler(directory.LearnerError)
def _refused(error: directory.LearnerError):
    db.session().rollback()
    status = 422 if isinstance(error, directory.ReferenceFixed) else 409
    return rest_error(status, error.message, error.details)


def _tenancy():
    return of_client(db.session(), current_client())


def _platforms(ids) -> dict[int, LtiPlatform]:
    ids = sorted({i for i in ids if i is not None})
    if not ids:
        return {}
    rows = db.session().scalars(select(LtiPlatform).where(LtiPlatform.id.in_(ids)))
    return {p.id: p for p in rows}


def learner_view(learner, platforms: dict[int, LtiPlatform]) -> dict:
    identities = []
    for identity in learner.identities:
        platform = platforms.get(identity.lti_platform_id)
        identities.append(
            {
                "learner_ref": identity.learner_ref,
                "kind": "lms" if identity.lti_platform_id is not None else "reference",
                "issuer": platform.issuer if platform else None,
                "client_id": platform.client_id if platform else None,
                "user_id": identity.lti_sub,
            }
        )
    return {
        "id": learner.uuid,
        "centre": learner.centre.code if learner.centre else None,
        "reference": learner.reference,
        "name": learner.name,
        "identities": identities,
        "created_at": learner.created_at,
        "updated_at": learner.updated_at,
        "pseudonymised": learner.pseudonymised_at is not None,
    }


def _views(learners) -> list[dict]:
    platforms = _platforms(i.lti_platform_id for lr in learners for i in lr.identities)
    return [learner_view(lr, platforms) for lr in learners]


def _audit(action: AuditAction, learners) -> None:
    for learner in learners:
        audit.record(
            db.session(),
            audit.actor_of_client(current_client()),
            action,
            f"learner:{learner.uuid}",
            [(learner.id, learner.centre_id)],
        )


def _identities(centre_id: int | None, given: list[dict]) -> list[directory.LmsIdentity]:
    """The LMS identities given, resolved to the centre's LTI registrations (422 if none)."""
    resolved = []
    for n, identity in enumerate(given):
        platform = db.session().scalar(
            select(LtiPlatform).where(
                LtiPlatform.issuer == identity["issuer"],
                LtiPlatform.client_id == identity["client_id"],
                LtiPlatform.centre_id.is_not_distinct_from(centre_id),
            )
        )
        if platform is None:
            abort(
                422,
                message="No LMS registration of the learner's centre has that issuer and "
                "client id.",
                errors={"identities": {str(n): ["Unknown issuer and client_id for the centre."]}},
            )
        ref = lti_learner(platform, identity["user_id"]).ref
        resolved.append(directory.LmsIdentity(platform.id, identity["user_id"], ref))
    return resolved


def _learner_or_404(learner_id: str):
    learner = directory.find(db.session(), _tenancy(), learner_id)
    if learner is None:
        abort(404, message=f"No learner {learner_id!r}.")
    return learner


def _commit_or_conflict() -> None:
    try:
        db.session().commit()
    except IntegrityError:
        # A concurrent create of the same reference (the unique index decides).
        db.session().rollback()
        raise directory.ReferenceTaken(
            "Another request created a learner with this reference just now."
        ) from None


@blp.route("/learners")
@require_scope("learners:read")
@blp.arguments(LearnerQuerySchema, location="query")
@blp.response(200, LearnerSchema(many=True))
@blp.paginate()
def list_learners(args, pagination_parameters):
    """The learners of the client's centre(s), oldest first, filtered by reference, by text in
    the name (`q`) or by LMS user id. Each learner returned is recorded in the audit log."""
    found = paginated(
        pagination_parameters, directory.list_learners, db.session(), _tenancy(), **args
    )
    answer = _views(found)
    _audit(AuditAction.READ, found)
    db.session().commit()
    return answer


@blp.route("/learners/<string:learner_id>")
@require_scope("learners:read")
@blp.response(200, LearnerSchema)
def get_learner(learner_id):
    """One learner with their identities. Audited."""
    learner = _learner_or_404(learner_id)
    answer = _views([learner])[0]
    _audit(AuditAction.READ, [learner])
    db.session().commit()
    return answer


@blp.route("/learners", methods=["POST"])
@require_scope("learners:write")
@blp.doc(parameters=[idempotency.PARAMETER])
@idempotency.idempotent
@blp.arguments(CreateLearnerSchema)
@blp.response(201, LearnerSchema)
@blp.alt_response(409, response="DEFAULT_ERROR")
def create_learner(data):
    """Create a learner of the client's centre under the centre's reference, with a name and
    LMS identities if given. 409 if the centre has a learner with that reference (records sent
    under it made one: update it with PATCH) or an identity belongs to another learner with a
    reference. Only a centre's client creates learners (its centre is theirs)."""
    client = current_client()
    if client.centre_id is None:
        abort(
            422,
            message="Only a centre's client creates learners.",
            errors={"client": ["Not a centre's client."]},
        )
    identities = _identities(client.centre_id, data["identities"])
    learner = directory.create(
        db.session(), client.centre_id, data["reference"], data["name"], identities
    )
    answer = _views([learner])[0]
    _audit(AuditAction.CREATE, [learner])
    _commit_or_conflict()
    return answer


@blp.route("/learners/<string:learner_id>", methods=["PATCH"])
@require_scope("learners:write")
@blp.arguments(UpdateLearnerSchema)
@blp.response(200, LearnerSchema)
@blp.alt_response(409, response="DEFAULT_ERROR")
def update_learner(data, learner_id):
    """Change a learner's name (null clears it), give a learner known only from the LMS the
    centre's reference (a reference once set is fixed: 422), or link LMS identities (an
    identity used by an LMS-only learner moves here and that learner, left empty, is removed;
    one linked to another learner with a reference is 409)."""
    learner = _learner_or_404(learner_id)
    if learner.pseudonymised_at is not None:
        abort(409, message="This learner's personal data was erased; it cannot be changed.")
    identities = _identities(learner.centre_id, data.get("identities", []))
    learner = directory.update(
        db.session(),
        learner,
        reference=data.get("reference"),
        name=data.get("name"),
        set_name="name" in data,
        identities=identities,
    )
    answer = _views([learner])[0]
    _audit(AuditAction.UPDATE, [learner])
    _commit_or_conflict()
    return answer

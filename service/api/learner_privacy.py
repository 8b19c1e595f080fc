"""REST: UK GDPR requests for one learner, for the awarding body's administrators: export
everything held about them (a subject access request) and erase them by pseudonymisation
(service/learner_privacy.py). The CLI has the same: `assessment learners export|erase`."""

from flask import Response, current_app
from flask_smorest import abort

from schemas.learner_privacy import ErasureSchema, LearnerExportSchema
from service import audit, db
from service import learner_privacy as privacy
from service.api.blueprint import ServiceBlueprint
from service.audit_vocabulary import AuditAction
from service.auth import current_client, require_scope

blp = ServiceBlueprint(
    "learner_privacy",
    __name__,
    url_prefix="/api/v1/admin/learners",
    description="UK GDPR: a learner's subject access export (everything held about them, "
    "machine-readable JSON) and erasure by pseudonymisation, which keeps the anonymous "
    "evidence (scores, criterion decisions, marks) the awarding body must retain. Attempts' "
    "personal data is also pseudonymised after the retention period by the scheduled "
    "`assessment learners retention`. Needs the admin scope.",
)
ADMIN = [{"oauth2": ["admin"]}]


def _learner(session, learner_id: str):
    try:
        return privacy.find(session, learner_id)
    except privacy.LearnerNotFound:
        abort(404, message=f"No learner {learner_id!r}.")


@blp.route("/<string:learner_id>/export")
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.response(200, LearnerExportSchema)
def export_learner(learner_id):
    """Export everything held about a learner (subject access request).

    The learner's reference, name and LMS identities; every attempt with its responses,
    scores, criterion decisions, assessor marks and comments; performance evidence; access
    arrangements; launch sessions; scores sent to the LMS; and who has read or changed their
    data. The export itself is recorded in the audit log."""
    session = db.session()
    learner = _learner(session, learner_id)
    document = privacy.export(session, learner)
    actor = audit.actor_of_client(current_client())
    audit.record(
        session,
        actor,
        AuditAction.EXPORT,
        f"learner:{learner.uuid}",
        [(learner.id, learner.centre_id)],
    )
    session.commit()
    body = current_app.json.dumps(LearnerExportSchema().dump(document))
    # A download a person keeps: not cached by anything in between.
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="learner-{learner.uuid}.json"',
            "Cache-Control": "no-store",
        },
    )


@blp.route("/<string:learner_id>/erase", methods=["POST"])
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.response(200, ErasureSchema)
def erase_learner(learner_id):
    """Erase a learner's personal data (pseudonymisation).

    Removes the centre's reference, the name, LMS user ids, launch sessions, unsent scores and
    free text that may name them (extended responses, comments, evidence descriptions), and
    keeps their attempts' scores, decisions and marks under an anonymous id. Repeating it
    changes nothing (`erased_now` false)."""
    session = db.session()
    learner = _learner(session, learner_id)
    erased_now = privacy.pseudonymise(session, learner, audit.actor_of_client(current_client()))
    kept = len(privacy.attempt_ids(session, learner))
    session.commit()
    return {
        "learner": learner.uuid,
        "pseudonymised_at": learner.pseudonymised_at.isoformat(),
        "erased_now": erased_now,
        "attempts_kept": kept,
    }

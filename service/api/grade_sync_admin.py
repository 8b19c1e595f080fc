"""REST: the scores queued for LMS gradebooks (the outbox `assessment worker` sends), for
administrators: each learner's newest score per line item, and retrying failed ones. Admin
scope. The CLI has the same: `assessment grades list|retry`."""

from lti import passback_admin
from lti.gradebook_vocabulary import DeliveryStatus
from schemas.grade_sync import (
    GradeSyncEntrySchema,
    GradeSyncQuerySchema,
    GradeSyncRetryResultSchema,
    GradeSyncRetrySchema,
)
from service import db
from service.api.blueprint import ServiceBlueprint
from service.api.paging import paginated
from service.auth import require_scope
from service.models import utcnow

blp = ServiceBlueprint(
    "grade_sync_admin",
    __name__,
    url_prefix="/api/v1/admin/grade-sync",
    description="Scores on their way to LMS gradebooks (LTI AGS): each learner's newest score "
    "per line item with its status, tries and the platform's last answer; retry failed ones. "
    "Needs the admin scope.",
)
ADMIN = [{"oauth2": ["admin"]}]


@blp.route("")
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.arguments(GradeSyncQuerySchema, location="query")
@blp.response(200, GradeSyncEntrySchema(many=True))
@blp.paginate()
def list_grade_sync(args, pagination_parameters):
    """List each learner's newest score per line item.

    Newest first. `status` keeps those whose newest score is pending, sending, sent, failed
    or superseded. A failed score waits for a person: retry it once the cause is fixed."""
    status = DeliveryStatus(args["status"]) if args["status"] else None
    entries = paginated(pagination_parameters, passback_admin.newest, db.session(), status)
    return [passback_admin.as_dict(entry) for entry in entries]


@blp.route("/retry", methods=["POST"])
@blp.doc(security=ADMIN)
@require_scope("admin")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.arguments(GradeSyncRetrySchema)
@blp.response(200, GradeSyncRetryResultSchema)
def retry_grade_sync(data):
    """Send scores again now.

    The scores named in `ids`, and with `failed: true` every failed one, become due now with
    their tries counted afresh. Only failed or pending scores are retried: a superseded one
    never reaches the platform, and a sent one is resent by reconciliation."""
    session = db.session()
    wanted = data["ids"] + (passback_admin.failed_ids(session) if data["failed"] else [])
    result = passback_admin.retry(session, wanted, utcnow())
    session.commit()
    skipped = [{"id": row_id, "reason": reason} for row_id, reason in result.skipped.items()]
    return {"retried": result.retried, "skipped": skipped}

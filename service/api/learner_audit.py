"""The audit log entries of the API's views that read or change one learner's data.

Views call these in their own transaction (and commit, reads included), so a read is recorded
exactly when its answer is given. The learner is found by the learner_ref the record is kept
under (every learner_ref has a LearnerIdentity, service/learners.py); a learner_ref nobody has
used yet is recorded with its centre and no learner.
"""

from __future__ import annotations

from sqlalchemy import select

from service import audit, db
from service.audit_vocabulary import AuditAction
from service.auth import current_client
from service.models import LearnerIdentity


def learner_id(centre_id: int | None, learner_ref: str) -> int | None:
    return db.session().scalar(
        select(LearnerIdentity.learner_id).where(
            LearnerIdentity.centre_id.is_not_distinct_from(centre_id),
            LearnerIdentity.learner_ref == learner_ref,
        )
    )


def record(action: AuditAction, subject: str, centre_id: int | None, learner_ref: str) -> None:
    """Record the calling client's `action` on `subject`, a record of this learner."""
    audit.record(
        db.session(),
        audit.actor_of_client(current_client()),
        action,
        subject,
        [(learner_id(centre_id, learner_ref), centre_id)],
    )

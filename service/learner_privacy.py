"""UK GDPR for one learner: everything held about them (a subject access request), and erasure
by pseudonymisation that keeps the anonymous evidence the awarding body must retain.

What a learner's personal data is here: the centre's reference and the name (learners), the
LMS user ids (identities, attempts, launch sessions, queued scores), and free text that may
name them (extended responses, assessors' comments, performance evidence descriptions).
Pseudonymisation removes all of that and re-keys the learner's records under
"erased:{learner uuid}:{n}", so the records stay joined to one anonymous learner: scores,
criterion decisions, marks, the choices made on auto-scored items, evidence types and dates,
which item statistics, coverage reports and verification need. The audit log keeps who did what
(actors are clients and staff, not the learner).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from lti.gradebook_vocabulary import DeliveryStatus
from lti.models import LtiSession, ScoreDelivery
from service import audit
from service.audit_vocabulary import AuditAction
from service.grading.scoring import EXTENDED
from service.models import (
    AccessArrangement,
    Attempt,
    AttemptComment,
    AttemptResponse,
    AuditEvent,
    Item,
    Learner,
    LearnerIdentity,
    PerformanceEvidence,
    UTCDateTime,
    utcnow,
)

ERASED_TEXT = "[removed: personal data erased]"


class LearnerNotFound(Exception):
    """No learner with that id (or not one the caller may see)."""


def find(session: Session, learner_uuid: str) -> Learner:
    learner = session.scalar(
        select(Learner)
        .where(Learner.uuid == learner_uuid)
        .options(selectinload(Learner.identities), selectinload(Learner.centre))
    )
    if learner is None:
        raise LearnerNotFound(learner_uuid)
    return learner


def _refs(model, learner: Learner):
    """WHERE: the rows of `model` kept under one of the learner's learner_refs."""
    return or_(
        *(
            (model.centre_id.is_not_distinct_from(i.centre_id))
            & (model.learner_ref == i.learner_ref)
            for i in learner.identities
        )
    )


def _attempts(session: Session, learner: Learner) -> list[Attempt]:
    if not learner.identities:
        return []
    return list(
        session.scalars(
            select(Attempt)
            .where(_refs(Attempt, learner))
            .order_by(Attempt.id)
            .options(
                selectinload(Attempt.assessment),
                selectinload(Attempt.response_rows),
                selectinload(Attempt.score_rows),
                selectinload(Attempt.decision_rows),
                selectinload(Attempt.mark_rows),
                selectinload(Attempt.rest_breaks),
            )
        )
    )


def attempt_ids(session: Session, learner: Learner) -> list[int]:
    if not learner.identities:
        return []
    return list(session.scalars(select(Attempt.id).where(_refs(Attempt, learner))))


def _rows(session: Session, model, learner: Learner) -> list:
    if not learner.identities:
        return []
    return list(session.scalars(select(model).where(_refs(model, learner)).order_by(model.id)))


def _lms_users(learner: Learner) -> list[tuple[int, str]]:
    return [(i.lti_platform_id, i.lti_sub) for i in learner.identities if i.lti_sub]


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export(session: Session, learner: Learner) -> dict:
    """Everything held about the learner, machine-readable (a subject access request)."""
    attempts = _attempts(session, learner)
    attempt_ids = [a.id for a in attempts]
    comments = (
        session.scalars(
            select(AttemptComment)
            .where(AttemptComment.attempt_id.in_(attempt_ids))
            .order_by(AttemptComment.id)
        ).all()
        if attempt_ids
        else []
    )
    scores = (
        session.scalars(
            select(ScoreDelivery)
            .where(ScoreDelivery.attempt_id.in_(attempt_ids))
            .order_by(ScoreDelivery.id)
        ).all()
        if attempt_ids
        else []
    )
    sessions = [
        s
        for platform_id, sub in _lms_users(learner)
        for s in session.scalars(
            select(LtiSession).where(
                LtiSession.platform_id == platform_id, LtiSession.user_sub == sub
            )
        )
    ]
    audit_rows = session.scalars(
        select(AuditEvent).where(AuditEvent.learner_id == learner.id).order_by(AuditEvent.id)
    ).all()
    uuid_of = {a.id: a.uuid for a in attempts}
    return {
        "learner": {
            "id": learner.uuid,
            "centre": learner.centre.code if learner.centre else None,
            "reference": learner.reference,
            "name": learner.name,
            "created_at": _time(learner.created_at),
            "pseudonymised_at": _time(learner.pseudonymised_at),
        },
        "identities": [
            {
                "learner_ref": i.learner_ref,
                "lms_platform": i.lti_platform_id,
                "lms_user_id": i.lti_sub,
            }
            for i in learner.identities
        ],
        "attempts": [_attempt(a, comments) for a in attempts],
        "performance_evidence": [
            {
                "id": r.uuid,
                "criterion": r.criterion.code,
                "evidence_type": r.evidence_type.value,
                "evidenced_on": r.evidenced_on.isoformat(),
                "description": r.description,
                "decision": r.decision.value,
                "assessor": r.assessor,
                "reference": r.reference,
                "recorded_at": _time(r.created_at),
                "withdrawn_at": _time(r.withdrawn_at),
                "withdrawn_reason": r.withdrawn_reason,
            }
            for r in _rows(session, PerformanceEvidence, learner)
        ],
        "access_arrangements": [
            {
                "id": r.uuid,
                "assessment": r.assessment.code if r.assessment else None,
                "extra_time_percent": r.extra_time_percent,
                "extra_time_minutes": r.extra_time_minutes,
                "rest_breaks": r.rest_breaks,
                "rest_break_max_minutes": r.rest_break_max_minutes,
                "time_limit_minutes": r.time_limit_minutes,
                "reason": r.reason.value if r.reason else None,
                "set_by": r.set_by,
                "set_at": _time(r.set_at),
            }
            for r in _rows(session, AccessArrangement, learner)
        ],
        "lms_launch_sessions": [
            {"created_at": _time(s.created_at), "expires_at": _time(s.expires_at)} for s in sessions
        ],
        "scores_sent_to_the_lms": [
            {
                "attempt": uuid_of[s.attempt_id],
                "score_given": s.score_given,
                "score_maximum": s.score_maximum,
                "grading_progress": s.grading_progress,
                "comment": s.comment,
                "status": s.status.value,
                "sent_at": _time(s.sent_at),
            }
            for s in scores
        ],
        # Who has read or changed this learner's data (the recipients, UK GDPR Art. 15(1)(c)).
        "accesses": [
            {"at": _time(e.at), "by": e.actor, "action": e.action.value, "what": e.subject}
            for e in audit_rows
        ],
    }


def _attempt(attempt: Attempt, comments: list[AttemptComment]) -> dict:
    return {
        "id": attempt.uuid,
        "assessment": attempt.assessment.code,
        "status": attempt.status.value,
        "opened_at": _time(attempt.opened_at),
        "started_at": _time(attempt.started_at),
        "deadline": _time(attempt.deadline),
        "submitted_at": _time(attempt.submitted_at),
        "graded_at": _time(attempt.graded_at),
        "score": attempt.score,
        "max_score": attempt.max_score,
        "percent": attempt.percent,
        "grade": attempt.grade,
        "responses": [
            {"item": r.item_code, "response": r.response, "saved_at": _time(r.saved_at)}
            for r in attempt.response_rows
        ],
        "item_scores": [
            {"item": s.item_code, "score": s.score, "max_score": s.max_score, "pending": s.pending}
            for s in attempt.score_rows
        ],
        "criterion_decisions": [
            {"criterion": d.criterion_code, "decision": d.decision.value, "evidence": d.evidence}
            for d in attempt.decision_rows
        ],
        "assessor_marks": [
            {
                "item": m.item_code,
                "criterion": m.criterion_code,
                "level": m.quality,
                "marked_by": m.marked_by,
                "marked_at": _time(m.marked_at),
            }
            for m in attempt.mark_rows
        ],
        "comments": [
            {
                "criterion": c.criterion_code,
                "text": c.text,
                "by": c.author,
                "at": _time(c.written_at),
            }
            for c in comments
            if c.attempt_id == attempt.id
        ],
        "rest_breaks": [
            {"started_at": _time(b.started_at), "ended_at": _time(b.ended_at)}
            for b in attempt.rest_breaks
        ],
    }


def pseudonymise(session: Session, learner: Learner, actor: str, now: datetime | None = None):
    """Erase the learner's personal data, keeping their anonymous evidence (see the module's
    docstring). Returns False if they were already pseudonymised (nothing changes). Writes in
    the caller's transaction, with an audit event."""
    if learner.pseudonymised_at is not None:
        return False
    now = now or utcnow()
    attempt_ids = [a.id for a in _attempts(session, learner)]
    _remove_free_text(session, learner, attempt_ids)
    _forget_lms_user(session, learner, attempt_ids)
    for n, identity in enumerate(learner.identities, 1):
        new_ref = f"erased:{learner.uuid}:{n}"
        for model in (Attempt, PerformanceEvidence, AccessArrangement):
            values = {"learner_ref": new_ref}
            if model is Attempt:
                values["lti_sub"] = None
            session.execute(
                update(model)
                .where(
                    model.centre_id.is_not_distinct_from(identity.centre_id),
                    model.learner_ref == identity.learner_ref,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        identity.learner_ref = new_ref
        identity.lti_sub = None
    learner.reference = None
    learner.name = None
    learner.pseudonymised_at = now
    learner.updated_at = now
    audit.record(
        session,
        actor,
        AuditAction.ERASE,
        f"learner:{learner.uuid}",
        [(learner.id, learner.centre_id)],
    )
    session.flush()
    return True


def _remove_free_text(session: Session, learner: Learner, attempt_ids: list[int]) -> None:
    if attempt_ids:
        extended = select(Item.code).where(Item.type == EXTENDED)
        session.execute(
            update(AttemptResponse)
            .where(
                AttemptResponse.attempt_id.in_(attempt_ids),
                AttemptResponse.item_code.in_(extended),
            )
            .values(response=ERASED_TEXT)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(AttemptComment)
            .where(AttemptComment.attempt_id.in_(attempt_ids))
            .values(text=ERASED_TEXT)
            .execution_options(synchronize_session=False)
        )
    if learner.identities:
        session.execute(
            update(PerformanceEvidence)
            .where(_refs(PerformanceEvidence, learner))
            .values(description=ERASED_TEXT, withdrawn_reason=None)
            .execution_options(synchronize_session=False)
        )


def _forget_lms_user(session: Session, learner: Learner, attempt_ids: list[int]) -> None:
    """The LMS user id goes from launch sessions (deleted: they are transient) and queued scores
    (unsent ones can no longer be addressed and are dropped; sent ones keep no user id)."""
    for platform_id, sub in _lms_users(learner):
        session.execute(
            delete(LtiSession).where(
                LtiSession.platform_id == platform_id, LtiSession.user_sub == sub
            )
        )
    if attempt_ids:
        in_learner = ScoreDelivery.attempt_id.in_(attempt_ids)
        session.execute(
            delete(ScoreDelivery).where(
                in_learner,
                ScoreDelivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
            )
        )
        session.execute(
            update(ScoreDelivery)
            .where(in_learner)
            .values(user_sub="erased", comment=None)
            .execution_options(synchronize_session=False)
        )


def last_activity(session: Session):
    """Per learner: the newest of their record's dates (a subquery: learner_id, last_at)."""
    dated = [
        (Attempt, func.coalesce(Attempt.graded_at, Attempt.submitted_at, Attempt.opened_at)),
        (PerformanceEvidence, PerformanceEvidence.created_at),
        (AccessArrangement, AccessArrangement.set_at),
    ]
    parts = [
        select(LearnerIdentity.learner_id, func.max(column).label("at"))
        .join(
            model,
            (model.centre_id.is_not_distinct_from(LearnerIdentity.centre_id))
            & (model.learner_ref == LearnerIdentity.learner_ref),
        )
        .group_by(LearnerIdentity.learner_id)
        for model, column in dated
    ]
    parts.append(select(Learner.id.label("learner_id"), Learner.updated_at.label("at")))
    union = parts[0].union_all(*parts[1:]).subquery()
    return (
        select(union.c.learner_id, func.max(union.c.at).label("last_at"))
        .group_by(union.c.learner_id)
        .subquery()
    )


def due_for_retention(session: Session, retention_days: int, now: datetime | None = None):
    """Learners not yet pseudonymised with nothing newer than the retention period."""
    cutoff = bindparam(
        "cutoff", (now or utcnow()) - timedelta(days=retention_days), type_=UTCDateTime()
    )
    activity = last_activity(session)
    return list(
        session.scalars(
            select(Learner)
            .join(activity, activity.c.learner_id == Learner.id)
            .where(Learner.pseudonymised_at.is_(None), activity.c.last_at < cutoff)
            .order_by(Learner.id)
            .options(selectinload(Learner.identities), selectinload(Learner.centre))
        )
    )

"""REST: learners' access arrangements (extra time, rest breaks, a different time limit), for
centres' systems.

Scoped like attempts (service.attempt_access): a centre's client reads and sets its own
centre's learners only. Setting needs evidence:write (the scope that records what the centre
knows of a learner); reading needs attempts:read (arrangements govern attempts in progress).
A change moves the deadline of the learner's attempts in progress at once. Every read and
change is in the audit log (service/api/learner_audit.py).

This module is the transaction edge: a write commits after the domain function succeeds; a
typed refusal (service.access_arrangements.ArrangementError) is rolled back and answered 409
(changed by someone else meanwhile) or 422 (the input), in the one error shape.
"""

from __future__ import annotations

from flask_smorest import abort
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from schemas.access_arrangements import (
    LearnerArrangementsSchema,
    LearnerQuerySchema,
    SetArrangementSchema,
)
from service import access_arrangements as arrangements
from service import attempt_access, bank, db
from service.access_vocabulary import SetBy
from service.api import learner_audit
from service.api.blueprint import ServiceBlueprint
from service.audit_vocabulary import AuditAction
from service.auth import current_client, require_scope
from service.client_vocabulary import ClientKind
from service.errors import rest_error

blp = ServiceBlueprint(
    "access_arrangements",
    __name__,
    url_prefix="/api/v1",
    description="Access arrangements: a learner's extra time (a percentage or minutes), "
    "supervised rest breaks that stop the clock, and a different time limit for an "
    "assessment; set by the centre here, by an assessor in the tool, or by the LMS through a "
    "custom launch parameter. Every change is kept with who made it and when. The learner is "
    "the opaque learner_ref attempts use: no names, and no medical details (a broad reason "
    "category at most).",
)
WRITE = [{"oauth2": ["evidence:write"]}]
READ = [{"oauth2": ["attempts:read"]}]

EXAMPLE_ROW = {
    "id": "2f7c9a1e-4b7d-4c51-9a55-0b1f3e6d2a10",
    "assessment": None,
    "extra_time_percent": 25,
    "extra_time_minutes": None,
    "rest_breaks": True,
    "rest_break_max_minutes": 20,
    "time_limit_minutes": None,
    "reason": "cognition_and_learning",
    "set_by_kind": "api_client",
    "set_by": "client:mis-college-a",
    "set_at": "2026-11-28T09:00:00+00:00",
    "current": True,
    "supersedes": None,
}
EXAMPLE_ANSWER = {
    "learner_ref": "L-2026-0042",
    "current": [EXAMPLE_ROW],
    "history": [EXAMPLE_ROW],
}
EXAMPLE_SET = {
    "learner_ref": "L-2026-0042",
    "assessment": None,
    "extra_time_percent": 25,
    "rest_breaks": True,
    "rest_break_max_minutes": 20,
    "reason": "cognition_and_learning",
}


@blp.errorhandler(arrangements.ArrangementError)
def _refused(error: arrangements.ArrangementError):
    db.session().rollback()
    status = 409 if isinstance(error, arrangements.ArrangementChanged) else 422
    return rest_error(status, error.message, error.details)


def row_view(row) -> dict:
    return {
        "id": row.uuid,
        "assessment": row.assessment.code if row.assessment else None,
        "extra_time_percent": row.extra_time_percent,
        "extra_time_minutes": row.extra_time_minutes,
        "rest_breaks": row.rest_breaks,
        "rest_break_max_minutes": row.rest_break_max_minutes,
        "time_limit_minutes": row.time_limit_minutes,
        "reason": row.reason,
        "set_by_kind": row.set_by_kind,
        "set_by": row.set_by,
        "set_at": row.set_at,
        "current": arrangements.is_current(row),
        "supersedes": row.supersedes.uuid if row.supersedes else None,
    }


def learner_view(session, learner: attempt_access.Learner) -> dict:
    rows = arrangements.history(session, learner)
    return {
        "learner_ref": learner.ref,
        "current": [row_view(r) for r in rows if arrangements.is_current(r)],
        "history": [row_view(r) for r in rows],
    }


def _learner(learner_ref: str) -> attempt_access.Learner:
    client = current_client()
    if client.kind == ClientKind.EQA:
        # A learner_ref names a learner within the caller's own centre; an EQA has none.
        abort(404, message=f"No learner {learner_ref!r}.")
    return attempt_access.api_learner(client, learner_ref)


@blp.route("/access-arrangements")
@blp.doc(security=READ)
@require_scope("attempts:read")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.arguments(LearnerQuerySchema, location="query")
@blp.response(200, LearnerArrangementsSchema, example=EXAMPLE_ANSWER)
@blp.alt_response(404, response="DEFAULT_ERROR")
def get_arrangements(args):
    """A learner's access arrangements: those that apply now (the general one and any per
    assessment) and every change, oldest first, with who made it. A learner with none gets
    empty lists."""
    session = _db()
    learner = _learner(args["learner_ref"])
    answer = learner_view(session, learner)
    learner_audit.record(AuditAction.READ, "access-arrangements", learner.centre_id, learner.ref)
    try:
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        raise
    return answer


@blp.route("/access-arrangements", methods=["PUT"])
@blp.doc(security=WRITE)
@require_scope("evidence:write")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.arguments(SetArrangementSchema, example=EXAMPLE_SET)
@blp.response(200, LearnerArrangementsSchema, example=EXAMPLE_ANSWER)
@blp.alt_response(409, response="DEFAULT_ERROR")
def set_arrangements(data):
    """Set a learner's access arrangements, for every assessment (`assessment` null) or for
    one (it then applies there instead of the general one). The change is a new entry in the
    history, recorded as yours; the same values as now record nothing; all empty records "no
    arrangements". Attempts in progress get their deadline moved at once. 422: extra time both
    as a percentage and as minutes, values out of range, a different time limit without an
    assessment, an unknown assessment. 409: changed by someone else at the same moment."""
    session = _db()
    assessment = None
    if data["assessment"] is not None:
        assessment = bank.get_assessment(session, data["assessment"])
        if assessment is None:
            message = f"No assessment with code {data['assessment']!r}."
            raise arrangements.InvalidArrangement(message, {"assessment": [message]})
    new = arrangements.NewArrangement(
        extra_time_percent=data["extra_time_percent"],
        extra_time_minutes=data["extra_time_minutes"],
        rest_breaks=data["rest_breaks"],
        rest_break_max_minutes=data["rest_break_max_minutes"],
        time_limit_minutes=data["time_limit_minutes"],
        reason=data["reason"],
    )
    learner = _learner(data["learner_ref"])
    try:
        arrangements.set_arrangement(
            session,
            learner,
            assessment,
            new,
            SetBy.API_CLIENT,
            f"client:{current_client().client_id}",
        )
    except IntegrityError:
        session.rollback()
        raise arrangements.ArrangementChanged() from None
    answer = learner_view(session, learner)
    learner_audit.record(AuditAction.UPDATE, "access-arrangements", learner.centre_id, learner.ref)
    try:
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        raise
    return answer


def _db():
    return db.session()

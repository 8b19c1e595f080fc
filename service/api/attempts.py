"""REST: attempts, for centres' systems. Needs OAuth 2.0 scopes; a centre's client sees only
its own centre's attempts (service.attempt_access is the one policy, shared with LTI pages).

Authentication comes before validation: require_scope wraps @blp.arguments, so a caller with
no or a bad token gets 401, never a 422 describing the payload.

This module is the transaction edge: each view commits after the domain function succeeds, and
a typed domain refusal (service.attempts.AttemptError) is rolled back and mapped to 409 or 422
by this blueprint's error handler, in the service's one JSON error shape.
"""

from authlib.integrations.flask_oauth2 import current_token
from flask import current_app
from flask_smorest import abort
from sqlalchemy.exc import SQLAlchemyError

from schemas.attempts import (
    AttemptSchema,
    MarkSchema,
    ResponsesSchema,
    StartAttemptSchema,
    SubmitSchema,
)
from service import attempt_access, attempts, bank, db, idempotency
from service.api import learner_audit
from service.api.blueprint import ServiceBlueprint
from service.audit_vocabulary import AuditAction
from service.auth import current_client, require_any_scope, require_scope
from service.errors import rest_error

blp = ServiceBlueprint(
    "attempts",
    __name__,
    url_prefix="/api/v1",
    description="Start, answer, submit and mark attempts; results with per-criterion decisions. "
    "A token with attempts:write but not attempts:read gets a receipt back from writes (id, "
    "status, grading_progress, deadline, submitted_at and saved: item ids with saved_at), "
    "never the attempt's items, responses or result.",
)
WRITE = [{"oauth2": ["attempts:write"]}]
READ = [{"oauth2": ["attempts:read"]}]

# 409: the attempt's state does not allow it; everything else the domain refuses is 422.
CONFLICTS = (
    attempts.AttemptClosed,
    attempts.TimeLimitPassed,
    attempts.NotSubmitted,
    attempts.MarksChanged,
    attempts.NotStarted,
    attempts.OnBreak,
    attempts.NoLiveForm,
)


@blp.errorhandler(attempts.AttemptError)
def _attempt_refused(error: attempts.AttemptError):
    db.session().rollback()
    status = 409 if isinstance(error, CONFLICTS) else 422
    return rest_error(status, error.message, error.details)


def _attempt_or_404(attempt_id: str):
    scope = attempt_access.api_scope(db.session(), current_client())
    attempt = attempt_access.find(db.session(), scope, attempt_id)
    if attempt is None:  # another centre's attempt is answered exactly like a missing one
        abort(404, message=f"No attempt {attempt_id!r}.")
    return attempt


def _secret() -> str:
    """What the attempt's opaque choice ids are derived from (service.choice_ids)."""
    return current_app.config["SECRET_KEY"]


def _bank_ids(attempt, responses: dict) -> dict:
    """The caller's responses (the attempt's opaque choice ids) in the bank's ids."""
    return attempts.from_learner(db.session(), attempt, responses, _secret())


def _commit() -> None:
    try:
        db.session().commit()
    except SQLAlchemyError:
        db.session().rollback()
        raise


def _written(attempt):
    """The answer to a write: the full view for a reader, the receipt otherwise. Built before
    the commit, from what this transaction wrote and read under the attempt's lock, so the
    answer describes this write (its saved_at), not a later one."""
    if "attempts:read" in (current_token.scope or "").split():
        answer = attempts.attempt_view(db.session(), attempt, _secret())
    else:
        answer = attempts.write_receipt(attempt)
    _commit()
    return answer


@blp.route("/assessments/<string:assessment_code>/attempts", methods=["POST"])
@blp.doc(security=WRITE)
@require_scope("attempts:write")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.doc(parameters=[idempotency.PARAMETER])
@idempotency.idempotent
@blp.arguments(StartAttemptSchema)
@blp.response(201, AttemptSchema, description="A new attempt was started")
@blp.alt_response(
    200, schema=AttemptSchema, description="The learner's open attempt was resumed (same body)"
)
@blp.alt_response(404, response="DEFAULT_ERROR")
@blp.alt_response(409, response="DEFAULT_ERROR")
def start_attempt(data, assessment_code):
    """Start an attempt for a learner (201), or resume their open one (200, the same body
    shape). Its form evidences every
    criterion of the unit; the same learner's form is reproducible. Simultaneous starts for one
    learner all get the same attempt. Where delivery is limited to approved items, 409 says too
    few are approved to build a form.
    With attempts:write only, the answer is the receipt (id, status, grading_progress, deadline,
    submitted_at, saved); items, responses and result need attempts:read too.
    """
    assessment = bank.get_assessment(db.session(), assessment_code)
    if assessment is None:
        abort(404, message=f"No assessment with code {assessment_code!r}.")
    learner = attempt_access.api_learner(current_client(), data["learner_ref"])
    approved_only = current_app.config["DELIVER_APPROVED_ONLY"]
    attempt = attempts.start_attempt(db.session(), assessment, learner, approved_only=approved_only)
    status = 201 if attempts.was_created(db.session(), attempt) else 200
    return _written(attempt), status


@blp.route("/attempts/<string:attempt_id>")
@blp.doc(security=READ + [{"oauth2": ["results:read"]}])
@require_any_scope("attempts:read", "results:read")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.response(200, AttemptSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
def get_attempt(attempt_id):
    """An attempt: its items (learner view), responses, and once submitted its result. Needs
    attempts:read (an attempt in progress) or results:read (an external verifier's scope)."""
    attempt = _attempt_or_404(attempt_id)
    answer = attempts.attempt_view(db.session(), attempt, _secret())
    learner_audit.record(
        AuditAction.READ, f"attempt:{attempt.uuid}", attempt.centre_id, attempt.learner_ref
    )
    _commit()
    return answer


@blp.route("/attempts/<string:attempt_id>/responses", methods=["PUT"])
@blp.doc(security=WRITE)
@require_scope("attempts:write")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.arguments(ResponsesSchema)
@blp.response(200, AttemptSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
@blp.alt_response(409, response="DEFAULT_ERROR")
def save_responses(data, attempt_id):
    """Save responses as the learner goes (merged with those saved before; each item's latest
    save wins). Refused with 409 once the attempt is submitted or past its time limit (extra
    time and rest breaks included), before Start, or during a rest break.
    With attempts:write only, the answer is the receipt (id, status, grading_progress, deadline,
    submitted_at, saved); items, responses and result need attempts:read too.
    """
    attempt = _attempt_or_404(attempt_id)
    responses = _bank_ids(attempt, data["responses"])
    return _written(attempts.save_responses(db.session(), attempt, responses))


@blp.route("/attempts/<string:attempt_id>/submit", methods=["POST"])
@blp.doc(security=WRITE)
@require_scope("attempts:write")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.arguments(SubmitSchema)
@blp.response(200, AttemptSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
@blp.alt_response(409, response="DEFAULT_ERROR")
def submit(data, attempt_id):
    """Submit (with any last responses) and get the scored result with per-criterion
    decisions. Submitting again returns the same result: an attempt is scored once, from every
    response saved before the submission.
    With attempts:write only, the answer is the receipt (id, status, grading_progress, deadline,
    submitted_at, saved); items, responses and result need attempts:read too.
    """
    attempt = _attempt_or_404(attempt_id)
    responses = _bank_ids(attempt, data["responses"])
    attempt, _first = attempts.submit(db.session(), attempt, responses)
    return _written(attempt)


@blp.route("/attempts/<string:attempt_id>/marks", methods=["POST"])
@blp.doc(security=WRITE)
@require_scope("attempts:write")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.arguments(MarkSchema)
@blp.response(200, AttemptSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
@blp.alt_response(409, response="DEFAULT_ERROR")
def mark(data, attempt_id):
    """An assessor's rubric levels for an extended response; the attempt is regraded and is
    fully graded once every extended response is marked. Send `previous` (the item's levels as
    you read them, {} when unmarked) so that a mark made by another assessor in between is
    answered 409 with the levels now stored instead of being overwritten; without it the later
    mark of a criterion wins. The result is always the grading of the stored marks and
    responses.
    With attempts:write only, the answer is the receipt (id, status, grading_progress, deadline,
    submitted_at, saved); items, responses and result need attempts:read too.
    """
    attempt = _attempt_or_404(attempt_id)
    marked_by = f"client:{current_client().client_id}"
    return _written(
        attempts.mark(
            db.session(),
            attempt,
            data["item"],
            data["levels"],
            marked_by=marked_by,
            previous=data.get("previous"),
        )
    )

"""REST: attempts, for centres' systems (and, later, the LTI pages). Needs OAuth 2.0 scopes;
a centre's client sees only its own centre's attempts."""

from flask_smorest import Blueprint, abort

from schemas.attempts import (
    AttemptSchema,
    MarkSchema,
    ResponsesSchema,
    StartAttemptSchema,
    SubmitSchema,
)
from service import attempts, bank, db
from service.auth import current_client, require_scope

blp = Blueprint(
    "attempts",
    __name__,
    url_prefix="/api/v1",
    description="Start, answer, submit and mark attempts; results with per-criterion decisions.",
)
WRITE = [{"oauth2": ["attempts:write"]}]
READ = [{"oauth2": ["attempts:read"]}]


def _attempt_or_404(attempt_id: str):
    attempt = attempts.find_attempt(db.session(), attempt_id)
    client = current_client()
    # Another centre's attempt is answered exactly like a missing one.
    if attempt is None or (client.centre_id is not None and attempt.centre_id != client.centre_id):
        abort(404, message=f"No attempt {attempt_id!r}.")
    return attempt


def _view(attempt):
    return attempts.attempt_view(db.session(), attempt)


def _run(action, *args, **kwargs):
    try:
        return action(db.session(), *args, **kwargs)
    except attempts.AttemptError as exc:
        abort(exc.status, message=exc.message, errors=exc.details)


@blp.route("/assessments/<string:assessment_code>/attempts", methods=["POST"])
@blp.doc(security=WRITE)
@blp.arguments(StartAttemptSchema)
@blp.response(201, AttemptSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
@require_scope("attempts:write")
def start_attempt(data, assessment_code):
    """Start an attempt for a learner, or resume their open one. Its form evidences every
    criterion of the unit; the same learner's form is reproducible."""
    assessment = bank.get_assessment(db.session(), assessment_code)
    if assessment is None:
        abort(404, message=f"No assessment with code {assessment_code!r}.")
    attempt = _run(
        attempts.start_attempt, assessment, data["learner_ref"], current_client().centre_id
    )
    return _view(attempt)


@blp.route("/attempts/<string:attempt_id>")
@blp.doc(security=READ)
@blp.response(200, AttemptSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
@require_scope("attempts:read")
def get_attempt(attempt_id):
    """An attempt: its items (learner view), responses, and once submitted its result."""
    return _view(_attempt_or_404(attempt_id))


@blp.route("/attempts/<string:attempt_id>/responses", methods=["PUT"])
@blp.doc(security=WRITE)
@blp.arguments(ResponsesSchema)
@blp.response(200, AttemptSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
@blp.alt_response(409, response="DEFAULT_ERROR")
@require_scope("attempts:write")
def save_responses(data, attempt_id):
    """Save responses as the learner goes (merged with those saved before)."""
    attempt = _attempt_or_404(attempt_id)
    return _view(_run(attempts.save_responses, attempt, data["responses"]))


@blp.route("/attempts/<string:attempt_id>/submit", methods=["POST"])
@blp.doc(security=WRITE)
@blp.arguments(SubmitSchema)
@blp.response(200, AttemptSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
@require_scope("attempts:write")
def submit(data, attempt_id):
    """Submit (with any last responses) and get the scored result with per-criterion
    decisions. Submitting again returns the same result: an attempt is scored once."""
    attempt = _attempt_or_404(attempt_id)
    attempt, _first = _run(attempts.submit, attempt, data["responses"])
    return _view(attempt)


@blp.route("/attempts/<string:attempt_id>/marks", methods=["POST"])
@blp.doc(security=WRITE)
@blp.arguments(MarkSchema)
@blp.response(200, AttemptSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
@blp.alt_response(409, response="DEFAULT_ERROR")
@require_scope("attempts:write")
def mark(data, attempt_id):
    """An assessor's rubric levels for an extended response; the attempt is regraded and is
    fully graded once every extended response is marked."""
    attempt = _attempt_or_404(attempt_id)
    return _view(_run(attempts.mark, attempt, data["item"], data["levels"]))

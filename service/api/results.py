"""REST: attempts' results with the evidence behind each decision, and learners' unit status,
for centres and external verifiers (results:read).

Tenancy as everywhere (service/tenancy.py); another centre's attempt or learner is a 404.
Every read is audited: one row per learner whose results were returned.
"""

from __future__ import annotations

from flask import current_app
from flask_smorest import abort
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from schemas.performance_evidence import UnitStatusSchema
from schemas.results import AttemptQuerySchema, AttemptResultSchema, RecordedAttemptSchema
from service import attempt_access, attempt_results, attempts, audit, bank, db, idempotency
from service import learner_directory as directory
from service.api.blueprint import ServiceBlueprint
from service.api.paging import paginated
from service.api.performance_evidence import status_view
from service.attempt_mode import AttemptMode
from service.audit_vocabulary import AuditAction
from service.auth import current_client, require_scope
from service.errors import rest_error
from service.models import Criterion, Unit
from service.performance_evidence import uk_today
from service.tenancy import of_client
from service.unit_status import person_unit_status

blp = ServiceBlueprint(
    "results",
    __name__,
    url_prefix="/api/v1",
    description="Attempts and their results: each criterion's decision with the evidence behind "
    "it (item responses and scores, assessors' marks with who and when, performance evidence "
    "records); and each learner's status in every unit. Reads are audited.",
)


def _tenancy():
    return of_client(db.session(), current_client())


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def result_view(found: attempt_results.AttemptResult) -> dict:
    attempt = found.attempt
    scores = {s.item_code: s for s in attempt.score_rows}
    criteria = []
    for decision in attempt.decision_rows:
        code = decision.criterion_code
        items = []
        for item_code in decision.evidence:
            score = scores.get(item_code)
            items.append(
                {
                    "item_id": item_code,
                    "response": found.responses.get(item_code),
                    "score": score.score if score else None,
                    "max_score": score.max_score if score else None,
                    "pending": score.pending if score else None,
                }
            )
        criteria.append(
            {
                "criterion": code,
                "decision": decision.decision,
                "items": items,
                "marks": [
                    {
                        "item_id": m.item_code,
                        "level": m.quality,
                        "marked_by": m.marked_by,
                        "marked_at": m.marked_at,
                    }
                    for m in attempt.mark_rows
                    if m.criterion_code == code
                ],
                "performance_evidence": [
                    {
                        "id": r.uuid,
                        "evidence_type": r.evidence_type,
                        "evidenced_on": r.evidenced_on,
                        "decision": r.decision,
                        "assessor": r.assessor,
                    }
                    for r in found.evidence.get(code, [])
                ],
            }
        )
    learner = found.learner
    return {
        "id": attempt.uuid,
        "assessment": attempt.assessment.code,
        "centre": attempt.centre.code if attempt.centre else None,
        "learner": {"id": learner.uuid, "reference": learner.reference} if learner else None,
        "learner_ref": attempt.learner_ref,
        "status": attempt.status,
        "mode": attempt.mode,
        "taken_on": attempt.taken_on,
        "recorded_by": attempt.recorded_by,
        "started_at": attempt.started_at,
        "submitted_at": attempt.submitted_at,
        "graded_at": attempt.graded_at,
        "score": attempt.score,
        "max_score": attempt.max_score,
        "percent": attempt.percent,
        "grade": attempt.grade,
        "criteria": criteria,
    }


def _audit(results) -> None:
    """One row per learner whose results were read (attempts with no learner row: one row)."""
    seen = {}
    for found in results:
        attempt = found.attempt
        key = found.learner.id if found.learner else None
        seen.setdefault(key, (key, attempt.centre_id))
    if seen:
        audit.record(
            db.session(),
            audit.actor_of_client(current_client()),
            AuditAction.READ,
            "results",
            list(seen.values()),
        )


@blp.route("/attempts")
@require_scope("results:read")
@blp.arguments(AttemptQuerySchema, location="query")
@blp.response(200, AttemptResultSchema(many=True))
@blp.paginate()
def list_attempts(args, pagination_parameters):
    """The client's centres' attempts, oldest first, filtered by learner, assessment, status,
    submission time (from inclusive, to exclusive) or LMS course, each with its criteria's
    decisions and the evidence behind them. A page costs a fixed handful of queries."""
    filters = attempt_results.Filters(
        learner_uuid=args.get("learner"),
        assessment=args.get("assessment"),
        status=args.get("status"),
        submitted_from=args.get("submitted_from"),
        submitted_to=args.get("submitted_to"),
        course=args.get("course"),
    )
    found = paginated(
        pagination_parameters,
        attempt_results.list_attempts,
        db.session(),
        _tenancy(),
        filters=filters,
        secret=_secret(),
    )
    answer = [result_view(f) for f in found]
    _audit(found)
    db.session().commit()
    return answer


@blp.route("/attempts/<string:attempt_id>/result")
@require_scope("results:read")
@blp.response(200, AttemptResultSchema)
def get_result(attempt_id):
    """One attempt's result with the evidence behind each criterion's decision."""
    found = attempt_results.find(db.session(), _tenancy(), attempt_id, _secret())
    if found is None:
        abort(404, message=f"No attempt {attempt_id!r}.")
    answer = result_view(found)
    _audit([found])
    db.session().commit()
    return answer


@blp.route("/learners/<string:learner_id>/units")
@require_scope("results:read")
@blp.response(200, UnitStatusSchema(many=True))
def learner_units(learner_id):
    """The learner's status in every unit: achieved or not yet, each criterion met by the
    evidence it requires (knowledge criteria from the latest fully graded attempt under any of
    the learner's identities; performance criteria from current performance evidence)."""
    session = db.session()
    learner = directory.find(session, _tenancy(), learner_id)
    if learner is None:
        abort(404, message=f"No learner {learner_id!r}.")
    refs = directory.refs_of(learner)
    units = session.scalars(
        select(Unit)
        .order_by(Unit.code)
        .options(selectinload(Unit.criteria).selectinload(Criterion.versions))
    ).all()
    answer = (
        [status_view(person_unit_status(session, unit, refs)) for unit in units] if refs else []
    )
    audit.record(
        session,
        audit.actor_of_client(current_client()),
        AuditAction.READ,
        f"learner:{learner.uuid}:units",
        [(learner.id, learner.centre_id)],
    )
    session.commit()
    return answer


@blp.errorhandler(attempts.AttemptError)
def _attempt_refused(error: attempts.AttemptError):
    db.session().rollback()
    return rest_error(422, error.message, error.details)


@blp.route("/assessments/<string:assessment_code>/recorded-attempts", methods=["POST"])
@require_scope("attempts:write")
@blp.doc(parameters=[idempotency.PARAMETER])
@idempotency.idempotent
@blp.arguments(RecordedAttemptSchema)
@blp.response(201, AttemptResultSchema)
def record_attempt(data, assessment_code):
    """Record an attempt taken elsewhere (a paper sitting, another platform), stored as a
    submitted attempt with its mode and day so that listings, unit status and coverage count
    it. Either the learner's item responses (scored by the engine like an online attempt;
    extended responses then wait for marks) or the assessor's per-criterion decisions (no
    score; criteria not named are not_evidenced). The answer is the attempt's result. Unit
    status takes the latest fully graded attempt by when it was graded, so a sitting recorded
    late counts as the latest. Needs attempts:write; reading it back needs results:read."""
    session = db.session()
    assessment = bank.get_assessment(session, assessment_code)
    if assessment is None:
        abort(404, message=f"No assessment with code {assessment_code!r}.")
    if data["taken_on"] > uk_today():
        abort(422, errors={"taken_on": ["Must not be after today."]})
    client = current_client()
    learner = attempt_access.api_learner(client, data["learner_ref"])
    recorded_by = data.get("assessor") or audit.actor_of_client(client)
    attempt = attempts.record_taken_elsewhere(
        session,
        assessment,
        learner,
        AttemptMode(data["mode"]),
        data["taken_on"],
        recorded_by,
        responses=data.get("responses"),
        decisions=data.get("decisions"),
    )
    found = attempt_results.with_evidence(session, [attempt], _secret())[0]
    answer = result_view(found)
    audit.record(
        session,
        audit.actor_of_client(client),
        AuditAction.CREATE,
        f"attempt:{attempt.uuid}",
        [(found.learner.id if found.learner else None, attempt.centre_id)],
    )
    session.commit()
    return answer

"""REST: performance evidence records and learners' unit status, for centres' systems.

Scoped exactly like attempts (service.attempt_access): a centre's client records and reads its
own centre's learners only, and another centre's record is answered exactly like a missing
one. Recording and withdrawing need evidence:write; reading needs results:read. Every read
and change is in the audit log (service/api/learner_audit.py).

This module is the transaction edge: each write commits after the domain function succeeds; a
typed refusal (service.performance_evidence.EvidenceError) is rolled back and answered 409
(the record is already superseded or withdrawn) or 422 (the input), in the one error shape.
"""

from __future__ import annotations

from flask_smorest import abort
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from schemas.performance_evidence import (
    EvidenceQuerySchema,
    LearnerQuerySchema,
    PerformanceEvidenceSchema,
    RecordEvidenceSchema,
    UnitStatusSchema,
    WithdrawSchema,
)
from service import attempt_access, catalogue, db, idempotency
from service import performance_evidence as evidence
from service.api import learner_audit
from service.api.blueprint import ServiceBlueprint
from service.audit_vocabulary import AuditAction
from service.auth import current_client, require_scope
from service.client_vocabulary import ClientKind
from service.errors import rest_error
from service.unit_status import learner_unit_status

blp = ServiceBlueprint(
    "performance_evidence",
    __name__,
    url_prefix="/api/v1",
    description="Performance evidence (observation, witness testimony, workplace records...) "
    "recorded by assessors for performance criteria, which the online assessment never "
    "meets; and each learner's unit status: the knowledge attempt and the evidence combined. "
    "Records are never changed: a correction supersedes a record, and a record given in error "
    "is withdrawn with a reason; both stay in the history external verifiers sample.",
)
WRITE = [{"oauth2": ["evidence:write"]}]
READ = [{"oauth2": ["results:read"]}]


@blp.errorhandler(evidence.EvidenceError)
def _refused(error: evidence.EvidenceError):
    db.session().rollback()
    status = 409 if isinstance(error, evidence.RecordClosed) else 422
    # OtherCentre carries exactly a missing record's message: nothing says it exists elsewhere.
    return rest_error(status, error.message, error.details)


def _learner(learner_ref: str) -> attempt_access.Learner:
    client = current_client()
    if client.kind == ClientKind.EQA:
        # A learner_ref names a learner within the caller's own centre; an EQA has none (it
        # would otherwise read the records kept under no centre).
        abort(404, message=f"No learner {learner_ref!r}.")
    return attempt_access.api_learner(client, learner_ref)


def _author() -> str:
    return f"client:{current_client().client_id}"


def _audit(action: AuditAction, record) -> None:
    subject = f"performance-evidence:{record.uuid}"
    learner_audit.record(action, subject, record.centre_id, record.learner_ref)


def _commit() -> None:
    try:
        db.session().commit()
    except SQLAlchemyError:
        db.session().rollback()
        raise


def record_view(record) -> dict:
    return {
        "id": record.uuid,
        "learner_ref": record.learner_ref,
        "criterion": record.criterion.code,
        "criterion_version": record.criterion_version.version,
        "evidence_type": record.evidence_type,
        "evidenced_on": record.evidenced_on,
        "description": record.description,
        "decision": record.decision,
        "assessor": record.assessor,
        "reference": record.reference,
        "created_at": record.created_at,
        "status": evidence.status_of(record),
        "supersedes": record.supersedes.uuid if record.supersedes else None,
        "superseded_by": record.superseded_by.uuid if record.superseded_by else None,
        "withdrawn_at": record.withdrawn_at,
        "withdrawn_by": record.withdrawn_by,
        "withdrawn_reason": record.withdrawn_reason,
    }


def status_view(found) -> dict:
    attempt = found.knowledge_attempt
    return {
        "unit": found.unit.code,
        "grading": found.unit.grading,
        "learner_ref": found.learner.ref,
        "outcome": found.status.outcome,
        "knowledge_attempt": {
            "id": attempt.uuid,
            "assessment": attempt.assessment.code,
            "graded_at": attempt.graded_at,
            "knowledge_result": attempt.grade,
        }
        if attempt
        else None,
        "criteria": [
            {
                "criterion": c.code,
                "band": c.band,
                "evidence_required": c.evidence_required,
                "decision": c.decision,
                "evidence": list(c.evidence),
                "supporting_knowledge": c.supporting_knowledge,
            }
            for c in found.status.criteria
        ],
    }


@blp.route("/performance-evidence", methods=["POST"])
@blp.doc(security=WRITE)
@require_scope("evidence:write")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.doc(parameters=[idempotency.PARAMETER])
@idempotency.idempotent
@blp.arguments(RecordEvidenceSchema)
@blp.response(201, PerformanceEvidenceSchema)
@blp.alt_response(409, response="DEFAULT_ERROR")
def record_evidence(data):
    """Record performance evidence for one of a learner's performance criteria. 422 for a
    knowledge criterion (the online assessment decides those), an unknown criterion, a date
    after today (UK date) or an empty description. With `supersedes`, the record corrects a
    current record of the same learner and criterion (409 if that one is already superseded
    or withdrawn)."""
    new = evidence.NewRecord(
        criterion=data["criterion"],
        evidence_type=data["evidence_type"],
        evidenced_on=data["evidenced_on"],
        description=data["description"],
        decision=data["decision"],
        reference=data.get("reference"),
        supersedes=data.get("supersedes"),
    )
    try:
        created = evidence.record(db.session(), _learner(data["learner_ref"]), new, _author())
    except IntegrityError:
        # Another correction of the same record won the race (supersedes_id is unique).
        db.session().rollback()
        raise evidence.RecordClosed(
            "That record was corrected by someone else just now: read the current record."
        ) from None
    answer = record_view(created)
    _audit(AuditAction.CREATE, created)
    _commit()
    return answer


@blp.route("/performance-evidence")
@blp.doc(security=READ)
@require_scope("results:read")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.arguments(EvidenceQuerySchema, location="query")
@blp.response(200, PerformanceEvidenceSchema(many=True))
@blp.alt_response(404, response="DEFAULT_ERROR")
def list_evidence(args):
    """A learner's performance evidence records, history included (superseded and withdrawn
    records, each with its status) unless current_only; filtered by unit or criterion. A
    learner with no record gets an empty list."""
    learner = _learner(args["learner_ref"])
    found = evidence.for_learner(
        db.session(),
        learner,
        unit_code=args.get("unit"),
        criterion_code=args.get("criterion"),
        current_only=args["current_only"],
    )
    answer = [record_view(r) for r in found]
    learner_audit.record(AuditAction.READ, "performance-evidence", learner.centre_id, learner.ref)
    _commit()
    return answer


@blp.route("/performance-evidence/<string:record_id>")
@blp.doc(security=READ)
@require_scope("results:read")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.response(200, PerformanceEvidenceSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
def get_evidence(record_id):
    """One performance evidence record, with where it stands in the history."""
    session = db.session()
    found = evidence.find(session, attempt_access.api_scope(session, current_client()), record_id)
    if found is None:
        abort(404, message=f"No performance evidence record {record_id!r}.")
    answer = record_view(found)
    _audit(AuditAction.READ, found)
    _commit()
    return answer


@blp.route("/performance-evidence/<string:record_id>/withdraw", methods=["POST"])
@blp.doc(security=WRITE)
@require_scope("evidence:write")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.arguments(WithdrawSchema)
@blp.response(200, PerformanceEvidenceSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
@blp.alt_response(409, response="DEFAULT_ERROR")
def withdraw_evidence(data, record_id):
    """Withdraw a record given in error, with the reason. It stays in the history and no
    longer counts. 409 if it is already withdrawn or superseded (withdraw the current one)."""
    session = db.session()
    found = evidence.find(session, attempt_access.api_scope(session, current_client()), record_id)
    if found is None:
        abort(404, message=f"No performance evidence record {record_id!r}.")
    learner = attempt_access.Learner(found.learner_ref, found.centre_id)
    withdrawn = evidence.withdraw(session, learner, record_id, data["reason"], _author())
    answer = record_view(withdrawn)
    _audit(AuditAction.UPDATE, withdrawn)
    _commit()
    return answer


@blp.route("/units/<string:unit_code>/learner-status")
@blp.doc(security=READ)
@require_scope("results:read")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.arguments(LearnerQuerySchema, location="query")
@blp.response(200, UnitStatusSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
def unit_status(args, unit_code):
    """A learner's status in a unit: each criterion met by the evidence it requires. Knowledge
    criteria come from the learner's latest fully graded attempt at the unit's assessment;
    performance criteria only from current performance evidence records judged met (the
    online assessment's decision on them is shown as supporting knowledge only). The outcome
    follows from the criteria alone."""
    session = db.session()
    unit = catalogue.get_unit(session, unit_code)
    if unit is None:
        abort(404, message=f"No unit with code {unit_code!r}.")
    learner = _learner(args["learner_ref"])
    answer = status_view(learner_unit_status(session, unit, learner))
    learner_audit.record(
        AuditAction.READ, f"unit-status:{unit.code}", learner.centre_id, learner.ref
    )
    _commit()
    return answer

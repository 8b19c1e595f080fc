"""REST: external verifiers' sampling plans and verdicts, and assessor consistency.

Who sees what (service/tenancy.py): an external verifier's (EQA) client the centres assigned
to it, the awarding body's clients every centre. Building plans and giving verdicts needs
sampling:write, which only those two kinds may hold, so a centre's client is refused (403).
Reading plans and assessor consistency needs coverage:read: a centre's client may read its OWN
centre's plans, with the verdicts and actions given (the centre has to produce the sampled
work and act on the verifiers' findings; nothing in a plan is confidential to the centre).
Another centre's plan, or a centre the client is not assigned to, is a 404.

Plans and verdicts name learners by the centre's opaque learner_ref, never by name; each read
or verdict is recorded in the audit log, one row per learner. This module is the transaction
edge: views commit.
"""

from __future__ import annotations

from flask import Response, request

from schemas.sampling import (
    AssessorConsistencySchema,
    ConsistencyQuerySchema,
    NewPlanSchema,
    PlanQuerySchema,
    PlanSchema,
    SampledDecisionSchema,
    VerdictSchema,
)
from service import assessor_consistency, audit, db, sampling, tenancy
from service.api.blueprint import ServiceBlueprint
from service.audit_vocabulary import AuditAction
from service.auth import current_client, require_scope
from service.errors import rest_error
from service.sampling_vocabulary import PlanKind, Verdict

blp = ServiceBlueprint(
    "sampling",
    __name__,
    url_prefix="/api/v1",
    description="External quality assurance: sampling plans of a centre's assessor decisions "
    "(rubric levels on extended responses, performance evidence), chosen reproducibly from a "
    "seed and weighted towards risk as UK EQA plans are (CAMERA: every assessor, new "
    "assessors, overturned decisions, unusual pass rates, every unit and method); verifiers' "
    "verdicts, every one kept; and assessor consistency. Verifiers and the awarding body "
    "build plans and give verdicts; a centre reads its own plans.",
)
WRITE = [{"oauth2": ["sampling:write"]}]
READ = [{"oauth2": ["coverage:read"]}]


@blp.errorhandler(sampling.SamplingError)
def _refused(error: sampling.SamplingError):
    db.session().rollback()
    status = 404 if isinstance(error, sampling.NotFound) else 422
    return rest_error(status, error.message, error.details)


def _tenancy():
    return tenancy.of_client(db.session(), current_client())


def _actor() -> str:
    return audit.actor_of_client(current_client())


def _verdict_view(verdict) -> dict:
    return {
        "verdict": verdict.verdict,
        "reason": verdict.reason,
        "action": verdict.action,
        "given_by": verdict.given_by,
        "given_at": verdict.given_at,
    }


def _decision_view(row) -> dict:
    current = sampling.current_verdict(row)
    return {
        "n": row.position,
        "source": row.source,
        "method": row.method,
        "learner_ref": sampling.learner_ref(row),
        "unit": row.unit_code,
        "criterion": row.criterion_code,
        "attempt_id": row.attempt.uuid if row.attempt else None,
        "item": row.item_code,
        "performance_evidence_id": row.performance_evidence.uuid
        if row.performance_evidence
        else None,
        "assessor": row.assessor,
        "decision": row.decision,
        "decided_at": row.decided_at,
        "reasons": list(row.reasons),
        "verdict": _verdict_view(current) if current else None,
        "history": [_verdict_view(v) for v in row.verdicts],
    }


def _plan_view(plan) -> dict:
    return {
        "id": plan.uuid,
        "centre": plan.centre.code,
        "kind": plan.kind,
        "size": plan.size,
        "seed": plan.seed,
        "unit": plan.unit_code,
        "course": plan.course,
        "created_by": plan.created_by,
        "created_at": plan.created_at,
        "decisions": [_decision_view(row) for row in plan.decisions],
    }


def _audit_read(session, plans) -> None:
    rows = [row for plan in plans for row in plan.decisions]
    learners = sampling.learners_of(session, rows)
    if learners:
        subject = f"sampling-plan:{plans[0].uuid}" if len(plans) == 1 else "sampling-plans"
        audit.record(session, _actor(), AuditAction.READ, subject, learners)


@blp.route("/sampling-plans", methods=["POST"])
@blp.doc(security=WRITE)
@require_scope("sampling:write")
@blp.arguments(NewPlanSchema)
@blp.response(201, PlanSchema)
def create_plan(data):
    """Build a sampling plan of a centre's assessor decisions. The same seed on the same data
    gives the same sample (a seed is generated and stored when none is given). Each sampled
    decision says why it was chosen. 404 for a centre that is not the client's to verify;
    422 for an unknown unit, or when there is nothing to sample."""
    session = db.session()
    new = sampling.NewPlan(
        centre_code=data["centre"],
        kind=PlanKind(data["kind"]),
        size=data["size"],
        seed=data.get("seed"),
        unit_code=data.get("unit"),
        course=data.get("course"),
    )
    plan = sampling.build_plan(session, _tenancy(), new, _actor())
    session.refresh(plan)
    answer = _plan_view(plan)
    _audit_read(session, [plan])
    session.commit()
    return answer


@blp.route("/sampling-plans")
@blp.doc(security=READ)
@require_scope("coverage:read")
@blp.arguments(PlanQuerySchema, location="query")
@blp.response(200, PlanSchema(many=True))
def list_plans(args):
    """The sampling plans of the client's centres, newest first, with their decisions and
    verdicts; filtered by centre."""
    session = db.session()
    plans = sampling.list_plans(session, _tenancy(), args.get("centre"))
    answer = [_plan_view(plan) for plan in plans]
    if plans:
        _audit_read(session, plans)
    session.commit()
    return answer


def _plan(session, plan_id):
    return sampling.find_plan(session, _tenancy(), plan_id)


@blp.route("/sampling-plans/<string:plan_id>")
@blp.doc(security=READ)
@require_scope("coverage:read")
@blp.response(200, PlanSchema)
def get_plan(plan_id):
    """One sampling plan, each decision with its current verdict and verdict history."""
    session = db.session()
    plan = _plan(session, plan_id)
    answer = _plan_view(plan)
    _audit_read(session, [plan])
    session.commit()
    return answer


@blp.route("/sampling-plans/<string:plan_id>/decisions/<int:n>/verdict", methods=["PUT"])
@blp.doc(security=WRITE)
@require_scope("sampling:write")
@blp.arguments(VerdictSchema)
@blp.response(200, SampledDecisionSchema)
def put_verdict(data, plan_id, n):
    """Give a verdict on sampled decision `n` of a plan: agree, disagree (with the reason) or
    an action for the centre (its text). Every verdict is kept: a new one becomes current and
    the earlier ones stay in `history`; repeating the current verdict word for word changes
    nothing. Who gave it and when are kept, and it is recorded in the audit log."""
    session = db.session()
    plan = _plan(session, plan_id)
    row = sampling.sampled(plan, n)
    given = sampling.give_verdict(
        session,
        row,
        Verdict(data["verdict"]),
        data.get("reason"),
        data.get("action"),
        _actor(),
    )
    if given:
        learners = sampling.learners_of(session, [row]) or [(None, row.centre_id)]
        audit.record(
            session, _actor(), AuditAction.VERDICT, f"sampling-plan:{plan.uuid}/{n}", learners
        )
    answer = _decision_view(row)
    session.commit()
    return answer


@blp.route("/assessor-consistency")
@blp.doc(
    security=READ,
    responses={
        "200": {
            "description": "Assessor consistency (JSON), or with Accept: text/csv or format=csv "
            "one CSV table: a row per assessor, then per criterion (column kind)",
            "content": {
                "application/json": {"schema": AssessorConsistencySchema},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
@require_scope("coverage:read")
@blp.arguments(ConsistencyQuerySchema, location="query")
@blp.response(200, AssessorConsistencySchema)
def consistency(args):
    """Per assessor and per criterion of a centre: how assessors' rubric levels agree with the
    auto-scored evidence of the same criterion in the same attempt (met against evidence
    below mastery, and the reverse), and external verifiers' verdicts on their sampled
    decisions (agree rate: agree / (agree + disagree)). Counts only, no learner. 404 for a
    centre that is not the client's."""
    session = db.session()
    centre = sampling.visible_centre(session, _tenancy(), args["centre"])
    found = assessor_consistency.report(session, centre)
    wants_csv = args.get("format") == "csv" or (
        "format" not in args
        and request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"
    )
    if wants_csv:
        return Response(
            assessor_consistency.as_csv(found),
            mimetype="text/csv",
            headers={
                "Content-Disposition": (
                    f'attachment; filename="assessor-consistency-{centre.code}.csv"'
                ),
                "Cache-Control": "no-store",
            },
        )
    return found

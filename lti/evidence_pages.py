"""The assessor's performance evidence pages: for the learner of an attempt in the course
activity the instructor launched from (the same scope as marking), record observation, witness
testimony and other performance evidence per performance criterion, withdraw a record given in
error, and see the learner's unit status (the knowledge attempt and the evidence combined).

The session token (`ls`) in every form, bound to the browser that launched, is what stops a
cross-site post, as on the marking pages. Each POST is the transaction edge."""

from __future__ import annotations

import re
from datetime import date

from flask import redirect, request, url_for

from lti.assessor_pages import _author, _display_name, _learner_names, _scoped_attempt, _staff_names
from lti.models import LtiSession
from lti.pages import (
    DECISION_WORDS,
    GRADE_WORDS,
    LOCAL_TIME_NAME,
    _clock,
    _date_words,
    _page,
    blp,
    current_session,
)
from service import db
from service import performance_evidence as evidence
from service.attempt_access import Learner
from service.grading.unit_outcome import EvidenceRequired
from service.grading.vocabulary import EVIDENCE_DECISIONS, EvidenceType
from service.models import Attempt
from service.unit_status import learner_unit_status

EVIDENCE_TYPE_WORDS = {
    EvidenceType.OBSERVATION: "Observation",
    EvidenceType.WITNESS_TESTIMONY: "Witness testimony",
    EvidenceType.WORKPLACE_RECORD: "Workplace record",
    EvidenceType.PROFESSIONAL_DISCUSSION: "Professional discussion",
    EvidenceType.PRODUCT_EVIDENCE: "Product evidence",
}
STATUS_DECISION_WORDS = {
    **DECISION_WORDS,
    "not_evidenced": "No evidence yet",
    "pending": "Waiting for marking",
}
RECORD_STATUS_WORDS = {
    evidence.RecordStatus.CURRENT: "Counts",
    evidence.RecordStatus.SUPERSEDED: "Replaced by a correction",
    evidence.RecordStatus.WITHDRAWN: "Withdrawn",
}
# Form field -> the id suffix of its input, for the error summary's links.
FIELDS = {
    "evidence_type": "type",
    "evidenced_on": "date",
    "description": "description",
    "decision": "decision",
    "reference": "reference",
    "criterion": "description",
    "supersedes": "description",
}


def _slug(code: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", code)


def _learner(attempt: Attempt) -> Learner:
    return Learner(attempt.learner_ref, attempt.centre_id)


def _evidence_page(
    lti_session: LtiSession,
    attempt: Attempt,
    posted: dict | None = None,
    errors: dict | None = None,
    withdraw_errors: dict | None = None,
    problem: str | None = None,
    status: int = 200,
):
    """`posted` and `errors`: the record form just posted ({"criterion": code, field: value})
    and its messages per field; `withdraw_errors`: {record id: message}."""
    session = db.session()
    unit = attempt.assessment.unit
    learner = _learner(attempt)
    found = learner_unit_status(session, unit, learner)
    history = evidence.for_learner(session, learner, unit.code)
    who = _staff_names({r.assessor for r in history} | {r.withdrawn_by or "" for r in history})
    errors, withdraw_errors = errors or {}, withdraw_errors or {}
    texts = {c.code: c.current for c in unit.criteria}
    summary = []
    sections = []
    for criterion in unit.criteria:
        if criterion.current.evidence_type != EvidenceRequired.PERFORMANCE:
            continue
        slug = _slug(criterion.code)
        mine = posted is not None and posted.get("criterion") == criterion.code
        field_errors = errors if mine else {}
        for field, message in field_errors.items():
            summary.append((f"{slug}-{FIELDS.get(field, 'description')}", message))
        records = []
        for r in (r for r in history if r.criterion_id == criterion.id):
            record_status = evidence.status_of(r)
            records.append(
                {
                    "id": r.uuid,
                    "evidenced_on": _date_words_only(r.evidenced_on),
                    "type": EVIDENCE_TYPE_WORDS.get(r.evidence_type, r.evidence_type),
                    "decision": r.decision,
                    "decision_words": DECISION_WORDS.get(r.decision, r.decision),
                    "description": r.description,
                    "reference": r.reference,
                    "who": who.get(r.assessor, r.assessor),
                    "when": f"{_clock(r.created_at)}, {_date_words(r.created_at)}",
                    "status": record_status,
                    "status_words": RECORD_STATUS_WORDS[record_status],
                    "withdrawn_reason": r.withdrawn_reason,
                    "withdrawn_by": who.get(r.withdrawn_by or "", r.withdrawn_by),
                    "withdraw_error": withdraw_errors.get(r.uuid),
                    "reason": (posted or {}).get("reason", "") if r.uuid in withdraw_errors else "",
                }
            )
            if r.uuid in withdraw_errors:
                summary.append((f"reason-{r.uuid}", withdraw_errors[r.uuid]))
        sections.append(
            {
                "code": criterion.code,
                "slug": slug,
                "text": criterion.current.text,
                "required": criterion.current.evidence,
                "records": records,
                "values": posted if mine else {},
                "errors": field_errors,
            }
        )
    if errors and posted and posted.get("criterion") not in {x["code"] for x in sections}:
        # Not a performance criterion of this unit (a form tampered with): no field to point at.
        problem = " ".join(errors.values())
    rows = [
        {
            "code": c.code,
            "text": texts[c.code].text if c.code in texts else "",
            "performance": c.evidence_required == EvidenceRequired.PERFORMANCE,
            "decision": c.decision,
            "words": STATUS_DECISION_WORDS.get(c.decision, c.decision),
            "supporting": DECISION_WORDS.get(c.supporting_knowledge or "", None),
        }
        for c in found.status.criteria
    ]
    knowledge = found.knowledge_attempt
    return _page(
        "lti/evidence.html",
        status,
        ls=request.values.get("ls"),
        attempt=attempt,
        assessment=attempt.assessment,
        unit=unit,
        learner=_display_name(attempt, _learner_names([attempt])),
        outcome=GRADE_WORDS.get(found.status.outcome, found.status.outcome),
        achieved=found.status.achieved,
        knowledge=knowledge,
        knowledge_result=GRADE_WORDS.get(knowledge.grade or "", knowledge.grade)
        if knowledge
        else None,
        knowledge_when=_date_words(knowledge.graded_at) if knowledge else "",
        rows=rows,
        sections=sections,
        types=[(t.value, EVIDENCE_TYPE_WORDS[t]) for t in EvidenceType],
        decisions=[(d.value, DECISION_WORDS[d]) for d in EVIDENCE_DECISIONS],
        today=evidence.uk_today().isoformat(),
        description_max=evidence.DESCRIPTION_MAX,
        reference_max=evidence.REFERENCE_MAX,
        reason_max=evidence.REASON_MAX,
        summary=summary,
        problem=problem,
        saved=request.args.get("saved"),
        zone=LOCAL_TIME_NAME,
    )


def _date_words_only(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


@blp.get("/assessor/attempt/<string:attempt_uuid>/evidence")
def assessor_evidence(attempt_uuid: str):
    lti_session = current_session("staff")
    return _evidence_page(lti_session, _scoped_attempt(lti_session, attempt_uuid))


def _back(attempt: Attempt, saved: str):
    return redirect(
        url_for(
            ".assessor_evidence",
            attempt_uuid=attempt.uuid,
            ls=request.form.get("ls"),
            saved=saved,
        ),
        code=303,
    )


@blp.post("/assessor/evidence")
def assessor_record_evidence():
    lti_session = current_session("staff")
    attempt = _scoped_attempt(lti_session, request.form.get("attempt", ""))
    form = {
        key: request.form.get(key, "")
        for key in (
            "criterion",
            "evidence_type",
            "evidenced_on",
            "description",
            "decision",
            "reference",
        )
    }
    errors = {}
    if not form["evidence_type"]:
        errors["evidence_type"] = "Choose the type of evidence"
    try:
        evidenced_on = date.fromisoformat(form["evidenced_on"])
    except ValueError:
        evidenced_on = None
        errors["evidenced_on"] = (
            "Enter the date of the evidence as year, month and day, for example "
            f"{evidence.uk_today().isoformat()}"
        )
    if not form["decision"]:
        errors["decision"] = "Choose whether the evidence meets the criterion"
    if not form["description"].strip():
        errors["description"] = "Describe the evidence: what you saw, read or discussed"
    if errors:
        return _evidence_page(lti_session, attempt, form, errors, status=422)
    new = evidence.NewRecord(
        criterion=form["criterion"],
        evidence_type=form["evidence_type"],
        evidenced_on=evidenced_on,
        description=form["description"],
        decision=form["decision"],
        reference=form["reference"] or None,
    )
    session = db.session()
    try:
        evidence.record(session, _learner(attempt), new, assessor=_author(lti_session))
        session.commit()
    except evidence.EvidenceError as exc:
        session.rollback()
        details = {field: " ".join(map(str, messages)) for field, messages in exc.details.items()}
        return _evidence_page(
            lti_session, attempt, form, details or {"description": exc.message}, status=422
        )
    return _back(attempt, "recorded")


@blp.post("/assessor/evidence/withdraw")
def assessor_withdraw_evidence():
    lti_session = current_session("staff")
    attempt = _scoped_attempt(lti_session, request.form.get("attempt", ""))
    record_id = request.form.get("record", "")
    reason = request.form.get("reason", "")
    session = db.session()
    try:
        evidence.withdraw(session, _learner(attempt), record_id, reason, _author(lti_session))
        session.commit()
    except evidence.EvidenceError as exc:
        session.rollback()
        if isinstance(exc, evidence.RecordNotFound):
            # Not this learner's record (or none): nothing on the page to point at.
            problem = "Choose a record of this learner to withdraw."
            return _evidence_page(lti_session, attempt, problem=problem, status=404)
        if isinstance(exc, evidence.RecordClosed):
            # Withdrawn or corrected meanwhile: the page shows where it stands now.
            return _evidence_page(lti_session, attempt, problem=exc.message, status=409)
        message = " ".join(" ".join(map(str, m)) for m in exc.details.values()) or exc.message
        return _evidence_page(
            lti_session,
            attempt,
            {"reason": reason},
            withdraw_errors={record_id: message},
            status=422,
        )
    return _back(attempt, "withdrawn")

"""The assessor's pages: the attempts of the linked assessment started from the course activity
the instructor launched from (never the rest of the centre), and
marking extended responses with the rubric."""

from __future__ import annotations

import re

from flask import (
    abort,
    redirect,
    request,
    url_for,
)
from sqlalchemy import select

from lti import resource_links
from lti.models import LtiResourceLink, LtiSession
from lti.pages import (
    GRADE_WORDS,
    LOCAL_TIME_NAME,
    QUALITY_WORDS,
    SCENARIO_LABELS,
    STAFF_DECISION_WORDS,
    STATUS_WORDS,
    _clock,
    _date_words,
    _linked_assessment,
    _message,
    _number,
    _page,
    blp,
    current_session,
)
from service import attempt_access, bank, db
from service import attempts as attempt_service
from service.attempts import AttemptError, MarksChanged, NotSubmitted
from service.grading.vocabulary import AttemptStatus
from service.models import Attempt, utcnow

# ---------------------------------------------------------------------------- the assessor


def _learner_names(attempts: list[Attempt]) -> dict[int, str]:
    """attempt id -> the name from that learner's newest launch that gave one, found by the
    attempt's LTI platform and user id columns (API-started attempts have neither)."""
    wanted = {(a.lti_platform_id, a.lti_sub) for a in attempts if a.lti_platform_id is not None}
    if not wanted:
        return {}
    rows = db.session().execute(
        select(LtiSession.platform_id, LtiSession.user_sub, LtiSession.user_name)
        .where(
            LtiSession.platform_id.in_({p for p, _ in wanted}),
            LtiSession.user_sub.in_({s for _, s in wanted}),
            LtiSession.user_name.is_not(None),
        )
        .order_by(LtiSession.id)
    )
    by_user = {(platform_id, sub): name for platform_id, sub, name in rows if name}
    return {
        a.id: by_user[(a.lti_platform_id, a.lti_sub)]
        for a in attempts
        if (a.lti_platform_id, a.lti_sub) in by_user
    }


def _display_name(attempt: Attempt, names: dict[int, str]) -> str:
    if attempt.id in names:
        return names[attempt.id]
    return f"Learner {attempt.lti_sub or attempt.learner_ref}"


def _course_link(lti_session: LtiSession) -> LtiResourceLink | None:
    """The course activity this staff launch came from (None for a launch without one)."""
    return resource_links.find(db.session(), lti_session.platform_id, lti_session.resource_link_id)


def _course_scope(lti_session: LtiSession) -> attempt_access.Scope:
    """Only the learners of the course and activity the instructor launched from."""
    link = _course_link(lti_session)
    return attempt_access.course_scope(lti_session.platform, link.id if link else None)


@blp.get("/assessor")
def assessor():
    lti_session = current_session("staff")
    assessment = _linked_assessment(lti_session)
    if assessment is None:
        return _message(
            "No assessment is linked to this activity yet",
            [
                "Choose an assessment for this activity first: edit the activity in your course "
                "and select an assessment from this tool. Then open the activity again to see "
                "your learners' attempts.",
            ],
        )
    rows = attempt_access.attempts_at(db.session(), _course_scope(lti_session), assessment)
    order = {
        AttemptStatus.PENDING_MANUAL: 0,
        AttemptStatus.IN_PROGRESS: 1,
        AttemptStatus.FULLY_GRADED: 2,
    }
    found = sorted(
        rows,
        key=lambda a: (order.get(a.status, 3), -(a.submitted_at or a.started_at).timestamp()),
    )
    names = _learner_names(found)
    now = utcnow()
    listed = [
        {
            "uuid": a.uuid,
            "name": _display_name(a, names),
            "status": a.status,
            "status_words": (
                "Not submitted (time limit passed)"
                if a.status == "in_progress" and now > a.deadline
                else STATUS_WORDS.get(a.status, a.status)
            ),
            "grade": GRADE_WORDS.get(a.grade or "", a.grade) if a.grade else None,
            "percent": _number(a.percent) if a.percent is not None else None,
            "submitted": f"{_clock(a.submitted_at)}, {_date_words(a.submitted_at)}"
            if a.submitted_at
            else None,
        }
        for a in found
    ]
    return _page(
        "lti/assessor.html",
        ls=request.values["ls"],
        assessment=assessment,
        attempts=listed,
        pending=sum(1 for a in listed if a["status"] == "pending_manual"),
        zone=LOCAL_TIME_NAME,
    )


def _scoped_attempt(lti_session: LtiSession, attempt_uuid: str) -> Attempt:
    """The attempt, if this launch's staff may see it; otherwise a 404 page."""
    assessment = _linked_assessment(lti_session)
    found = None
    if assessment is not None and attempt_uuid:
        scope = _course_scope(lti_session)
        found = attempt_access.find(db.session(), scope, attempt_uuid, assessment.id)
    if found is None:
        abort(
            _message(
                "Attempt not found",
                [
                    "There is no such attempt among this course activity's attempts at the "
                    "assessment linked to it.",
                    "Go back to the list of attempts and choose one from there.",
                ],
                404,
            )
        )
    return found


def _marking_page(
    lti_session: LtiSession,
    attempt: Attempt,
    chosen: dict | None = None,
    errors: dict | None = None,
    problem: str | None = None,
    status: int = 200,
):
    """`chosen` and `errors` are for the one item whose marks were just posted:
    {"item": code, "levels": {criterion: quality}} and {criterion or "item": message}."""
    session = db.session()
    assessment = attempt.assessment
    unit = assessment.unit
    criteria = {c.code: c for c in unit.criteria}
    rubrics = bank.rubrics_by_criterion(session, unit.id)
    errors = errors or {}
    questions, summary = [], []
    pairs = attempt_service.form_items(session, attempt)
    for number, (_item, version) in enumerate(pairs, 1):
        body = version.body
        if body["type"] != "extended_response":
            continue
        code = body["id"]
        posted = chosen is not None and chosen["item"] == code
        levels = chosen["levels"] if posted else attempt.marks.get(code, {})
        rows = []
        for short in body["criteria"]:
            full = f"{unit.code}.{short}"
            criterion = criteria.get(full)
            rubric = rubrics.get(full)
            slug = re.sub(r"[^A-Za-z0-9-]", "-", f"{code}-{full}")
            row = {
                "code": full,
                "slug": slug,
                "text": criterion.current.text if criterion else "",
                "marking_point": criterion.current.marking_point if criterion else "",
                "levels": [
                    {**level, "words": QUALITY_WORDS.get(level["quality"], level["quality"])}
                    for level in (rubric.levels if rubric else [])
                ],
                "chosen": levels.get(full),
                "stored": attempt.marks.get(code, {}).get(full, ""),
                "error": errors.get(full) if posted else None,
            }
            if row["error"]:
                summary.append((f"{slug}-{row['levels'][0]['quality']}", row["error"]))
            rows.append(row)
        if posted and errors.get("item"):
            summary.append((f"mark-{code}", errors["item"]))
        questions.append(
            {
                "number": number,
                "id": code,
                "title": body["title"],
                "scenario": {
                    k: body["scenario"][k] for k in SCENARIO_LABELS if k in body["scenario"]
                },
                "prompt": body["prompt"],
                "guidance": body.get("guidance", ""),
                "expected_length_words": body.get("expected_length_words"),
                "response": attempt.responses.get(code) or "",
                "words": len(str(attempt.responses.get(code) or "").split()),
                "criteria": rows,
                "marked": code in attempt.marks,
            }
        )
    names = _learner_names([attempt])
    decisions = []
    if attempt.result:
        decisions = [
            {
                "code": c["criterion"],
                "text": criteria[c["criterion"]].current.text if c["criterion"] in criteria else "",
                "words": STAFF_DECISION_WORDS.get(c["decision"], c["decision"]),
                "decision": c["decision"],
            }
            for c in attempt.result["criteria"]
        ]
    marked = request.args.get("marked")
    return _page(
        "lti/marking.html",
        status,
        ls=request.values.get("ls"),
        attempt=attempt,
        assessment=assessment,
        learner=_display_name(attempt, names),
        questions=questions,
        decisions=decisions,
        summary=summary,
        problem=problem,
        status_words=STATUS_WORDS.get(attempt.status, attempt.status),
        grade=GRADE_WORDS.get(attempt.grade or "", attempt.grade) if attempt.grade else None,
        score=_number(attempt.score),
        percent=_number(attempt.percent),
        marked_number=next((q["number"] for q in questions if q["id"] == marked), None),
        scenario_labels=SCENARIO_LABELS,
    )


@blp.get("/assessor/attempt/<string:attempt_uuid>")
def assessor_attempt(attempt_uuid: str):
    lti_session = current_session("staff")
    return _marking_page(lti_session, _scoped_attempt(lti_session, attempt_uuid))


@blp.post("/assessor/mark")
def assessor_mark():
    lti_session = current_session("staff")
    attempt = _scoped_attempt(lti_session, request.form.get("attempt", ""))
    session = db.session()
    item_code = request.form.get("item", "")
    levels = {
        key.removeprefix("level-"): value
        for key, value in request.form.items()
        if key.startswith("level-") and value
    }
    # The levels this assessor's page showed: a mark by someone else since is a conflict.
    previous = {
        key.removeprefix("previous-"): value
        for key, value in request.form.items()
        if key.startswith("previous-") and value
    }
    chosen = {"item": item_code, "levels": levels}
    unit_code = attempt.assessment.unit.code
    bodies = {v.body["id"]: v.body for _, v in attempt_service.form_items(session, attempt)}
    body = bodies.get(item_code)
    if body is None or body["type"] != "extended_response":
        return _marking_page(
            lti_session,
            attempt,
            problem="Choose a written answer of this attempt to mark.",
            status=422,
        )
    texts = {c.code: c.current.text for c in attempt.assessment.unit.criteria}
    errors = {}
    for short in body["criteria"]:
        full = f"{unit_code}.{short}"
        if full not in levels:
            errors[full] = f"Choose a level for {full}: {texts.get(full, '')}".rstrip(": ")
    if errors:
        return _marking_page(lti_session, attempt, chosen, errors, status=422)
    marked_by = f"lti:{lti_session.platform_id}:{lti_session.user_sub}"
    try:
        attempt_service.mark(
            session, attempt, item_code, levels, marked_by=marked_by, previous=previous
        )
        session.commit()
    except AttemptError as exc:
        session.rollback()
        if isinstance(exc, NotSubmitted | MarksChanged):
            # The page shows the levels now stored; what this assessor chose is not applied.
            return _marking_page(lti_session, attempt, problem=exc.message, status=409)
        details = {
            key: f"{key}: {'; '.join(map(str, value))}" for key, value in exc.details.items()
        }
        if not details:
            details = {"item": exc.message}
        return _marking_page(lti_session, attempt, chosen, details, status=422)
    return redirect(
        url_for(
            ".assessor_attempt",
            attempt_uuid=attempt.uuid,
            ls=request.form.get("ls"),
            marked=item_code,
        ),
        code=303,
    )

"""The assessor's access arrangements page: for the learner of an attempt in the course
activity the instructor launched from (the same scope as marking), see the arrangements that
apply (extra time, rest breaks, a different time limit), the attempt's clock and every change
with who made it; and change them. A change is recorded as made by this assessor and moves the
deadline of the learner's attempt in progress at once.

The session token (`ls`) in the form, bound to the browser that launched, is what stops a
cross-site post, as on the marking pages. The POST is the transaction edge."""

from __future__ import annotations

import math

from flask import redirect, request, url_for
from sqlalchemy.exc import IntegrityError

from lti.assessor_pages import _author, _display_name, _learner_names, _scoped_attempt, _staff_names
from lti.models import LtiSession
from lti.pages import LOCAL_TIME_NAME, _clock, _date_words, _page, blp, current_session
from service import access_arrangements as arrangements
from service import attempt_clock, db
from service.access_vocabulary import ReasonCategory, SetBy
from service.attempt_access import Learner
from service.attempts import AttemptError
from service.grading.vocabulary import AttemptStatus
from service.models import AccessArrangement, Attempt, utcnow

REASON_WORDS = {
    ReasonCategory.COGNITION_AND_LEARNING: "Cognition and learning",
    ReasonCategory.COMMUNICATION_AND_INTERACTION: "Communication and interaction",
    ReasonCategory.SENSORY_AND_PHYSICAL: "Sensory and physical",
    ReasonCategory.SOCIAL_EMOTIONAL_MENTAL_HEALTH: "Social, emotional and mental health",
    ReasonCategory.TEMPORARY_INJURY_OR_ILLNESS: "Temporary injury or illness",
    ReasonCategory.OTHER: "Other",
}
SET_BY_WORDS = {
    SetBy.ASSESSOR: "an assessor",
    SetBy.API_CLIENT: "the centre's system",
    SetBy.LMS: "the course (LMS)",
}
SCOPES = {"assessment": "This assessment only", "all": "Every assessment"}
NUMBER_FIELDS = (
    "extra_time_percent",
    "extra_time_minutes",
    "rest_break_max_minutes",
    "time_limit_minutes",
)
# Form field -> the id of its input, for the error summary's links.
FIELD_IDS = {
    "extra_time_percent": "extra-time-percent",
    "extra_time_minutes": "extra-time-minutes",
    "rest_breaks": "rest-breaks",
    "rest_break_max_minutes": "rest-break-max-minutes",
    "time_limit_minutes": "time-limit-minutes",
    "reason": "reason",
    "applies_to": "applies-to",
}


def _learner(attempt: Attempt) -> Learner:
    return Learner(attempt.learner_ref, attempt.centre_id)


def _minutes(seconds: float) -> str:
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def describe(row: AccessArrangement | None) -> list[str]:
    """The arrangement in words, one line per adjustment."""
    if row is None:
        return ["None"]
    lines = []
    if row.extra_time_percent:
        lines.append(f"{row.extra_time_percent}% extra time")
    if row.extra_time_minutes:
        lines.append(f"{row.extra_time_minutes} minutes extra time")
    if row.time_limit_minutes:
        lines.append(f"Time limit of {row.time_limit_minutes} minutes instead of the usual")
    if row.rest_breaks:
        lines.append(
            f"Rest breaks that stop the clock, up to {row.rest_break_max_minutes} minutes in all"
            if row.rest_break_max_minutes
            else "Rest breaks that stop the clock"
        )
    return lines or ["None"]


def _arrangements_page(
    lti_session: LtiSession,
    attempt: Attempt,
    posted: dict | None = None,
    errors: dict | None = None,
    problem: str | None = None,
    status: int = 200,
):
    session = db.session()
    learner = _learner(attempt)
    assessment = attempt.assessment
    general = arrangements.current(session, learner, None)
    own = arrangements.current(session, learner, assessment.id)
    applies = own or general
    history = arrangements.history(session, learner)
    who = _staff_names({r.set_by for r in history if r.set_by_kind == SetBy.ASSESSOR})
    rows = [
        {
            "when": f"{_clock(r.set_at)}, {_date_words(r.set_at)}",
            "who": who.get(r.set_by, r.set_by)
            if r.set_by_kind == SetBy.ASSESSOR
            else SET_BY_WORDS[r.set_by_kind],
            "scope": r.assessment.code if r.assessment else "Every assessment",
            "what": describe(r),
            "reason": REASON_WORDS.get(r.reason) if r.reason else "Not given",
            "current": arrangements.is_current(r),
        }
        for r in reversed(history)
    ]
    clock = arrangements.clock_view(session, attempt)
    errors = errors or {}
    summary = [
        (FIELD_IDS.get(field, "extra-time-percent"), message) for field, message in errors.items()
    ]
    editing = own if own is not None else general
    values = posted or {
        "applies_to": "assessment" if own is not None or general is None else "all",
        "extra_time_percent": editing.extra_time_percent if editing else None,
        "extra_time_minutes": editing.extra_time_minutes if editing else None,
        "rest_breaks": editing.rest_breaks if editing else False,
        "rest_break_max_minutes": editing.rest_break_max_minutes if editing else None,
        "time_limit_minutes": own.time_limit_minutes if own else None,
        "reason": editing.reason if editing else "",
    }
    return _page(
        "lti/arrangements.html",
        status,
        ls=request.values.get("ls"),
        attempt=attempt,
        assessment=assessment,
        learner=_display_name(attempt, _learner_names([attempt])),
        applies=describe(applies),
        applies_scope="this assessment" if own is not None else "every assessment",
        in_progress=attempt.status == AttemptStatus.IN_PROGRESS,
        clock=clock,
        deadline=f"{_clock(clock['deadline'])}, {_date_words(clock['deadline'])}"
        if clock["deadline"]
        else None,
        time_allowed=_minutes(clock["time_allowed_seconds"]),
        time_left=_minutes(clock["time_left_seconds"]) if clock["time_left_seconds"] else None,
        history=rows,
        values={k: ("" if v is None else v) for k, v in values.items()},
        seen_general=general.uuid if general else "",
        seen_own=own.uuid if own else "",
        reasons=[(r.value, REASON_WORDS[r]) for r in ReasonCategory],
        scopes=list(SCOPES.items()),
        limits={
            "extra_time_percent": arrangements.EXTRA_PERCENT_MAX,
            "extra_time_minutes": arrangements.EXTRA_MINUTES_MAX,
            "rest_break_max_minutes": arrangements.BREAK_MINUTES_MAX,
            "time_limit_minutes": arrangements.TIME_LIMIT_MAX,
        },
        errors=errors,
        summary=summary,
        problem=problem,
        saved=request.args.get("saved") == "1",
        rest_break=request.args.get("break"),
        zone=LOCAL_TIME_NAME,
    )


@blp.get("/assessor/attempt/<string:attempt_uuid>/arrangements")
def assessor_arrangements(attempt_uuid: str):
    lti_session = current_session("staff")
    return _arrangements_page(lti_session, _scoped_attempt(lti_session, attempt_uuid))


def _parse(form) -> tuple[dict, dict, dict]:
    """(what was typed, the values as numbers, errors per field)."""
    posted = {key: form.get(key, "").strip() for key in (*NUMBER_FIELDS, "reason", "applies_to")}
    posted["rest_breaks"] = form.get("rest_breaks") == "yes"
    values: dict = {"rest_breaks": posted["rest_breaks"], "reason": posted["reason"] or None}
    errors = {}
    for field in NUMBER_FIELDS:
        text = posted[field]
        if not text:
            values[field] = None
        elif text.isdigit():
            values[field] = int(text)
        else:
            errors[field] = (
                "Enter a whole number of "
                + ("per cent" if field == "extra_time_percent" else "minutes")
                + ", or leave it empty"
            )
    if posted["applies_to"] not in SCOPES:
        errors["applies_to"] = "Choose whether the arrangements are for this assessment only"
    if posted["reason"] and posted["reason"] not in set(ReasonCategory):
        errors["reason"] = "Choose a reason from the list, or leave it empty"
    return posted, values, errors


@blp.post("/assessor/arrangements")
def assessor_set_arrangements():
    lti_session = current_session("staff")
    attempt = _scoped_attempt(lti_session, request.form.get("attempt", ""))
    posted, values, errors = _parse(request.form)
    if errors:
        return _arrangements_page(lti_session, attempt, posted, errors, status=422)
    session = db.session()
    learner = _learner(attempt)
    for_assessment = posted["applies_to"] == "assessment"
    target = attempt.assessment if for_assessment else None
    if values["time_limit_minutes"] and not for_assessment:
        errors["time_limit_minutes"] = (
            "A different time limit is for this assessment only: choose \u201cThis assessment "
            "only\u201d, or leave the time limit empty"
        )
        return _arrangements_page(lti_session, attempt, posted, errors, status=422)
    # What this assessor's page showed: a change by someone else since is not overwritten.
    shown = request.form.get("seen_own" if for_assessment else "seen_general", "")
    now_current = arrangements.current(session, learner, target.id if target else None)
    if (now_current.uuid if now_current else "") != shown:
        problem = (
            "Someone else changed these access arrangements while you were editing. The page "
            "now shows what applies; make your change again if it is still needed."
        )
        return _arrangements_page(lti_session, attempt, problem=problem, status=409)
    new = arrangements.NewArrangement(**values)
    try:
        arrangements.set_arrangement(
            session, learner, target, new, SetBy.ASSESSOR, _author(lti_session), utcnow()
        )
        session.commit()
    except arrangements.InvalidArrangement as exc:
        session.rollback()
        details = {field: " ".join(map(str, m)) for field, m in exc.details.items()}
        return _arrangements_page(
            lti_session, attempt, posted, details or {"extra_time_percent": exc.message}, status=422
        )
    except IntegrityError:
        session.rollback()
        problem = "Someone else changed these access arrangements just now. Check them again."
        return _arrangements_page(lti_session, attempt, problem=problem, status=409)
    return redirect(
        url_for(
            ".assessor_arrangements",
            attempt_uuid=attempt.uuid,
            ls=request.form.get("ls"),
            saved="1",
        ),
        code=303,
    )


@blp.post("/assessor/rest-break")
def assessor_rest_break():
    """A supervisor starts or ends the learner's rest break: the clock stops, or runs again
    with the deadline moved by the break."""
    lti_session = current_session("staff")
    attempt = _scoped_attempt(lti_session, request.form.get("attempt", ""))
    action = request.form.get("action", "")
    session = db.session()
    try:
        if action == "start":
            attempt_clock.take_break(session, attempt)
        elif action == "end":
            attempt_clock.end_break(session, attempt)
        else:
            return _arrangements_page(
                lti_session, attempt, problem="Choose to start or end the break.", status=422
            )
        session.commit()
    except AttemptError as exc:
        session.rollback()
        return _arrangements_page(lti_session, attempt, problem=exc.message, status=409)
    return redirect(
        url_for(
            ".assessor_arrangements",
            attempt_uuid=attempt.uuid,
            ls=request.form.get("ls"),
            **{"break": "started" if action == "start" else "ended"},
        ),
        code=303,
    )

"""The learner's exam around the questions: the start page (the clock starts at Start, not when
the activity is opened), supervised rest breaks, time up, and check your answers before a
confirmed submit (WCAG 3.3.4). Every page works without JavaScript: plain forms, and the time
left is rendered by the server on every page load.

The attempt page itself (the questions) is lti/learner_pages.py; it calls `before_questions`
to send the learner here when the questions must not be shown.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from datetime import datetime

from flask import current_app, redirect, request, url_for

from lti import resource_links, sessions
from lti.models import LtiSession
from lti.pages import LOCAL_TIME_NAME, _clock, _date_words, _local, _page, blp
from service import attempt_clock, db, exam_clock
from service import attempts as attempt_service
from service.access_arrangements import effective, for_clock, live_deadline
from service.attempt_access import Learner
from service.attempts import GRACE, AttemptError, NoLiveForm
from service.bank import unit_criteria
from service.models import Assessment, Attempt, utcnow

CONFIRM_FIELD = "confirmed"
NOT_CONFIRMED = (
    "Your answers have not been submitted yet. Check your answers first, then select "
    "Submit your answers on the check page. The answers you sent were saved."
)
_QUESTION_ANCHOR = re.compile(r"^question-\d{1,3}$")


# ---------------------------------------------------------------------------- the clock, in words


def _minutes_words(minutes: int) -> str:
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def timer(attempt: Attempt, now: datetime | None = None) -> dict:
    """The clock as every learner page shows it (server-rendered: works without JavaScript).
    Time left runs to the deadline the saves are checked against (the stored one, or while a
    rest break is open, the clock's)."""
    session = db.session()
    now = now or utcnow()
    clock = attempt_clock.state(session, attempt, now)
    deadline = live_deadline(session, attempt, now) if clock.started else None
    if deadline is None:
        seconds = math.floor(clock.time_left.total_seconds())
    else:
        seconds = max(0, math.floor((deadline - now).total_seconds()))
    minutes = seconds // 60
    expired = clock.started and seconds == 0
    # `remaining` follows "Time left:" beside the Submit buttons ("left" said once).
    if expired:
        left, remaining = "Time is up", "none"
    elif minutes == 0:
        left, remaining = "Less than 1 minute left", "less than 1 minute"
    else:
        left, remaining = f"{_minutes_words(minutes)} left", _minutes_words(minutes)
    warning = None
    if not expired and seconds <= 60:
        warning = "1 minute left. Submit your answers now."
    elif not expired and seconds <= 300:
        warning = "5 minutes left. Your answers are saved as you go; submit before the time is up."
    saved_at = max((r.saved_at for r in attempt.response_rows), default=None)
    return {
        "seconds": seconds,
        "left": left,
        "remaining": remaining,
        "expired": expired,
        "grace_over": deadline is not None and now > deadline + GRACE,
        "allowed_minutes": math.ceil(clock.allowed.total_seconds() / 60),
        "deadline_clock": _clock(deadline) if deadline else None,
        "deadline_date": _date_words(deadline) if deadline else None,
        "zone": LOCAL_TIME_NAME,
        "on_break": clock.on_break,
        "warning": warning,
        "break_minutes": math.floor(clock.break_time.total_seconds() / 60),
        "break_left_minutes": None
        if clock.break_time_left is None
        else math.floor(clock.break_time_left.total_seconds() / 60),
        "breaks": breaks_allowed(attempt),
        "saved_at": _local(saved_at).strftime("%H:%M:%S") if saved_at else None,
        "started": clock.started,
    }


def breaks_allowed(attempt: Attempt) -> bool:
    learner = Learner(attempt.learner_ref, attempt.centre_id)
    return for_clock(effective(db.session(), learner, attempt.assessment_id)).rest_breaks


def confirm_token(attempt: Attempt) -> str:
    """What only the check-your-answers page puts in its Submit form: keyed by the attempt's
    seed, which no learner page shows, so a submit cannot skip the check page."""
    message = f"confirm-submit:{attempt.uuid}".encode()
    return hmac.new(attempt.seed.encode(), message, hashlib.sha256).hexdigest()


def confirmed(attempt: Attempt, form) -> bool:
    return hmac.compare_digest(form.get(CONFIRM_FIELD, ""), confirm_token(attempt))


def question_anchor(form) -> str | None:
    """The question the learner was on (attempt.js records it); None when not known."""
    at = form.get("at", "")
    return at if _QUESTION_ANCHOR.match(at) else None


# ---------------------------------------------------------------------------- the pages


def _learner_context():
    from lti.learner_pages import _learner_context as context

    return context()


def _secret() -> str:
    from lti.learner_pages import _secret as secret

    return secret()


def _back(endpoint: str = ".attempt", anchor: str | None = None, **params):
    return redirect(
        url_for(endpoint, ls=request.values.get("ls"), _anchor=anchor, **params), code=303
    )


def start_page(
    lti_session: LtiSession,
    assessment: Assessment,
    learner: Learner,
    attempt: Attempt | None = None,
    question_count: int | None = None,
):
    """Before you start: what the assessment covers, its questions and the learner's time.
    A new learner has no attempt yet (Start creates it): `question_count` is then the form
    Start will draw, and the time is the learner's allowance from their access arrangements."""
    session = db.session()
    unit = assessment.unit
    if attempt is not None:
        question_count = len(attempt.items)
        clock = timer(attempt)
    else:
        clock = _allowance(assessment, learner)
    return _page(
        "lti/exam_start.html",
        ls=request.values.get("ls"),
        attempt=attempt,
        assessment=assessment,
        unit=unit,
        criteria=[{"code": c.code, "text": c.text} for c in unit_criteria(session, unit.id)],
        question_count=question_count,
        clock=clock,
        limit_minutes=assessment.time_limit_minutes,
        arrangements=effective(session, learner, assessment.id) is not None,
    )


def _allowance(assessment: Assessment, learner: Learner) -> dict:
    """What the start page shows of the clock before an attempt exists (nothing runs yet)."""
    arranged = for_clock(effective(db.session(), learner, assessment.id))
    clock = exam_clock.clock(assessment.time_limit_minutes, arranged, None, [], utcnow())
    return {
        "allowed_minutes": math.ceil(clock.allowed.total_seconds() / 60),
        "breaks": arranged.rest_breaks,
        "break_left_minutes": None
        if clock.break_time_left is None
        else math.floor(clock.break_time_left.total_seconds() / 60),
    }


def break_page(lti_session: LtiSession, attempt: Attempt):
    return _page(
        "lti/exam_break.html",
        ls=request.values.get("ls"),
        attempt=attempt,
        assessment=attempt.assessment,
        clock=timer(attempt),
    )


def time_up_page(attempt: Attempt):
    return _page(
        "lti/exam_time_up.html",
        ls=request.values.get("ls"),
        attempt=attempt,
        assessment=attempt.assessment,
        saved=len(attempt.response_rows),
    )


def before_questions(lti_session: LtiSession, attempt: Attempt):
    """What to show instead of the questions, or None to show them: the start page before
    Start, the break page on a rest break, and at time up (past the grace for the last save)
    the attempt submitted with the answers saved in time."""
    session = db.session()
    now = utcnow()
    clock = timer(attempt, now)
    if not clock["started"]:
        learner = Learner(attempt.learner_ref, attempt.centre_id)
        return start_page(lti_session, attempt.assessment, learner, attempt)
    if sessions.open_for_attempt(session, lti_session, attempt.deadline):
        session.commit()
    if clock["on_break"]:
        return break_page(lti_session, attempt)
    if clock["grace_over"]:
        # Saved work is never lost: the answers saved in time are scored as they stand.
        attempt_service.submit(session, attempt, None, now)
        session.commit()
        return time_up_page(attempt)
    return None


def _open_attempt():
    lti_session, assessment, attempt = _learner_context()
    if attempt is None or attempt.status != "in_progress":
        return lti_session, None
    if request.method == "POST" and request.form.get("attempt") != attempt.uuid:
        return lti_session, None  # a stale page: show where the attempt stands
    return lti_session, attempt


def _clock_step(step, attempt: Attempt) -> None:
    """A clock step whose refusal needs no message (a second Start, a break another tab
    ended): the page it returns to shows where the attempt stands."""
    session = db.session()
    try:
        step(session, attempt)
        session.commit()
    except AttemptError:
        session.rollback()


@blp.post("/attempt/start")
def attempt_start():
    """Start: the clock starts. A new learner's attempt (and its form) is created here, in
    this request, not when the start page is shown; two Starts at once (two tabs) get the one
    attempt the database allows, started once."""
    lti_session, assessment, attempt = _learner_context()
    if attempt is None and assessment is not None and not request.form.get("attempt"):
        return _start_new(lti_session, assessment)
    if attempt is None or attempt.status != "in_progress":
        return _back()
    if request.form.get("attempt") != attempt.uuid:
        return _back()  # a stale page: show where the attempt stands
    _clock_step(attempt_clock.start, attempt)
    return _back()


def _start_new(lti_session: LtiSession, assessment: Assessment):
    from lti.learner_pages import _learner, _not_ready

    session = db.session()
    try:
        attempt = attempt_service.start_attempt(
            session,
            assessment,
            _learner(lti_session),
            # Found by the attempt's INSERT itself: no round trip of its own.
            resource_link_id=resource_links.id_of(
                lti_session.platform_id, lti_session.resource_link_id
            ),
            approved_only=current_app.config["DELIVER_APPROVED_ONLY"],
            # The view has just read the learner's attempts (_learner_context): they have none.
            # Two Starts at once still make one attempt: the database refuses the second.
            attempts=(),
        )
    except NoLiveForm:
        session.rollback()
        return _not_ready()
    session.commit()
    if attempt.status == "in_progress" and attempt.started_at is None:
        _clock_step(attempt_clock.start, attempt)  # resumed one opened before Start existed
    return _back()


@blp.post("/attempt/break")
def attempt_break():
    """ "Take a rest break" on the attempt page: save the answers on the page, then stop the
    clock (the break page hides the questions)."""
    from lti.learner_pages import _attempt_page, _bank_ids, _parse

    lti_session, attempt = _open_attempt()
    if attempt is None:
        return _back()
    session = db.session()
    view = attempt_service.attempt_view(session, attempt, _secret())
    responses, typed, errors = _parse(view["items"], request.form)
    responses = _bank_ids(attempt, view, responses, errors)  # the attempt's opaque choice ids
    if errors:
        return _attempt_page(lti_session, attempt, view, typed, errors, status=422)
    try:
        if responses:
            attempt_service.save_responses(session, attempt, responses)
        attempt_clock.take_break(session, attempt)
        session.commit()
    except AttemptError as exc:
        session.rollback()
        return _attempt_page(lti_session, attempt, view, typed, problem=exc.message, status=409)
    return _back()


@blp.post("/attempt/break/end")
def attempt_break_end():
    _lti_session, attempt = _open_attempt()
    if attempt is None:
        return _back()
    _clock_step(attempt_clock.end_break, attempt)
    return _back(anchor=question_anchor(request.form))


def check_page(lti_session: LtiSession, attempt: Attempt, problem: str | None = None):
    from lti.result_page import _answer_words

    session = db.session()
    view = attempt_service.attempt_view(session, attempt, _secret())
    questions = []
    for number, item in enumerate(view["items"], 1):
        answer = _answer_words(item, view["responses"].get(item["id"]))
        questions.append({"number": number, "title": item["title"], "answer": answer})
    unanswered = sum(1 for q in questions if q["answer"] is None)
    return _page(
        "lti/exam_check.html",
        409 if problem else 200,
        ls=request.values.get("ls"),
        attempt=attempt,
        assessment=attempt.assessment,
        questions=questions,
        unanswered=unanswered,
        clock=timer(attempt),
        token=confirm_token(attempt),
        confirm_field=CONFIRM_FIELD,
        problem=problem,
    )


@blp.get("/attempt/check")
def attempt_check():
    lti_session, attempt = _open_attempt()
    if attempt is None:
        return _back()
    elsewhere = before_questions(lti_session, attempt)
    if elsewhere is not None:
        return elsewhere
    return check_page(lti_session, attempt)


@blp.post("/attempt/check")
def attempt_save_and_check():
    """The attempt form's "Check your answers" button: save what is on the page, then show
    the check page (the learner's answers are never lost on the way)."""
    from lti.learner_pages import _attempt_page, _bank_ids, _parse, _refused

    lti_session, attempt = _open_attempt()
    if attempt is None:
        return _back()
    session = db.session()
    view = attempt_service.attempt_view(session, attempt, _secret())
    responses, typed, errors = _parse(view["items"], request.form)
    responses = _bank_ids(attempt, view, responses, errors)  # the attempt's opaque choice ids
    if errors:
        return _attempt_page(lti_session, attempt, view, typed, errors, status=422)
    if attempt.deadline is None:
        return _back()  # not started: the start page
    now = utcnow()
    if responses and now <= attempt.deadline + GRACE:
        try:
            attempt_service.save_responses(session, attempt, responses, now)
            session.commit()
        except AttemptError as exc:
            return _refused(exc, lti_session, attempt, view, typed)
    return _back(".attempt_check")


def refuse_unconfirmed(lti_session: LtiSession, attempt: Attempt, responses: dict):
    """A submit that did not come through the check page: keep what it sent (if the clock
    allows saving) and show the check page with why nothing was submitted."""
    session = db.session()
    if responses:
        try:
            attempt_service.save_responses(session, attempt, responses)
            session.commit()
        except AttemptError:
            session.rollback()
    return check_page(lti_session, attempt, problem=NOT_CONFIRMED)

"""The learner's pages: the attempt form (works without JavaScript; attempt.js adds autosave
and a live countdown) and the result per assessment criterion."""

from __future__ import annotations

import re
from typing import Any

from flask import (
    current_app,
    jsonify,
    redirect,
    request,
    url_for,
)
from sqlalchemy.orm import raiseload

from lti import exam_pages, platform_cache
from lti.models import LtiSession
from lti.pages import (
    LOCAL_TIME_NAME,
    SCENARIO_LABELS,
    _linked_assessment,
    _local,
    _message,
    _page,
    _wants_json,
    blp,
    current_session,
)
from lti.result_page import result_page as _result_page
from service import attempt_access, db
from service import attempts as attempt_service
from service.attempts import (
    AttemptClosed,
    AttemptError,
    InvalidResponses,
    NoLiveForm,
    NotStarted,
    OnBreak,
    TimeLimitPassed,
)
from service.models import Assessment, Attempt, utcnow

TIME_UP = (
    "The time limit has passed, so these answers were not saved. The answers you saved before "
    "the time limit are kept. Submit your attempt now to get your result."
)

ON_BREAK = (
    "You are on a rest break, so these answers were not saved and your clock is stopped. The "
    "answers you saved before the break are kept. When your supervisor ends the break, reload "
    "the page to carry on."
)

_HOW_MANY = re.compile(
    r"\bselect (?:the )?(all|one|two|three|four|five|six|\d+)\b(?: that apply)?", re.IGNORECASE
)


# ---------------------------------------------------------------------------- the learner


def _secret() -> str:
    """What the attempt's opaque choice ids are derived from (service.choice_ids)."""
    return current_app.config["SECRET_KEY"]


def _learner(lti_session: LtiSession):
    platform = platform_cache.of_session(db.session(), lti_session)
    return attempt_access.lti_learner(platform, lti_session.user_sub)


def _no_assessment():
    return _message(
        "No assessment is linked to this activity yet",
        [
            "This course activity has not been set up with an assessment, so there is nothing "
            "to answer here yet.",
            "Please tell your tutor. They can choose the assessment for this activity in the "
            "course settings. Then open the activity again.",
        ],
    )


def _not_ready():
    # Delivery is limited to approved items and too few are approved: the awarding body's
    # matter, not the learner's or the tutor's settings.
    return _message(
        "This assessment is not available yet",
        [
            "The questions for this assessment are still being approved, so it cannot start.",
            "Please tell your tutor. Nothing has been recorded; open the activity again later.",
        ],
    )


# The question page (issue 12: a class opens it at once) reads the attempt with its form,
# responses and rest breaks, each once; anything else of the attempt that would need SQL
# raises instead of loading lazily (tests/test_question_page_loading.py).
QUESTION_PAGE_LOADING = (*attempt_service.VIEW_LOADING, raiseload("*", sql_only=True))


def _learner_context(*loading) -> tuple[LtiSession, Assessment | None, Attempt | None]:
    """The learner's launch, its assessment and their latest attempt (read with `loading`,
    loader options, when given)."""
    lti_session = current_session("learner")
    assessment = _linked_assessment(lti_session)
    if assessment is None:
        return lti_session, None, None
    found = attempt_access.latest_attempt(db.session(), assessment, _learner(lti_session), *loading)
    return lti_session, assessment, found


def _hint(item: dict) -> str | None:
    """How to answer, for screen readers and everyone: read with the question's group."""
    kind = item["type"]
    if kind == "multiple_response":
        # The prompt that already says how many to select needs no hint repeating it (A10).
        if _HOW_MANY.search(item["prompt"]):
            return None
        return "Select all that apply."
    if kind == "ordering":
        steps = len(item["steps"])
        return (
            f"The steps are in a random order. For each step, choose its position: 1 for the "
            f"first step, {steps} for the last. Use each position once."
        )
    if kind == "matching":
        return "For each one, choose its match from the list."
    if kind == "extended_response":
        return f"Aim for about {item['expected_length_words']} words."
    return None


def _field_ids(item: dict) -> list[str]:
    """The id of each control of an item; the first is where error links point."""
    code, kind = item["id"], item["type"]
    if kind in ("single_choice", "multiple_response"):
        return [f"{code}-{o['id']}" for o in item["options"]]
    if kind == "ordering":
        return [f"{code}-{s['id']}" for s in item["steps"]]
    if kind == "matching":
        return [f"{code}-{p['id']}" for p in item["premises"]]
    return [f"{code}-answer"]


def _order_preview(item: dict, value: Any) -> list[str]:
    """An ordering question's steps in the order the learner's positions put them (A11: the
    selects alone do not show the sequence): one line per position. attempt.js redraws it
    as positions change, in the same words."""
    chosen = value if isinstance(value, dict) else {}
    lines = []
    for position in range(1, len(item["steps"]) + 1):
        texts = [s["text"] for s in item["steps"] if chosen.get(s["id"]) == str(position)]
        if not texts:
            lines.append("No step chosen yet")
        elif len(texts) == 1:
            lines.append(texts[0])
        else:
            lines.append(f"{len(texts)} steps have this position: {'; '.join(texts)}")
    return lines


def _shown_values(item: dict, response: Any) -> Any:
    """A stored response in the shape the form shows it."""
    if item["type"] == "ordering":
        if not isinstance(response, list):
            return {}
        return {step: str(n) for n, step in enumerate(response, 1)}
    if item["type"] == "matching":
        return response if isinstance(response, dict) else {}
    if item["type"] == "multiple_response":
        return response if isinstance(response, list) else []
    return response if isinstance(response, str) else ""


def _parse(items: list[dict], form) -> tuple[dict, dict, dict]:
    """Read the attempt form. Returns (responses, values as typed, errors), each by item id.
    An item whose fields were not posted (a disabled or stale form) is left out."""
    responses: dict[str, Any] = {}
    typed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for number, item in enumerate(items, 1):
        code, kind = item["id"], item["type"]
        if f"item-{code}" not in form:
            continue
        if kind == "single_choice":
            typed[code] = form.get(f"answer-{code}", "")
            if typed[code]:
                responses[code] = typed[code]
        elif kind == "multiple_response":
            typed[code] = form.getlist(f"answer-{code}")
            responses[code] = typed[code]
        elif kind == "ordering":
            steps = [s["id"] for s in item["steps"]]
            typed[code] = {s: form.get(f"position-{code}-{s}", "") for s in steps}
            given = {s: p for s, p in typed[code].items() if p}
            if not given:
                responses[code] = None
                continue
            try:
                positions = {s: int(p) for s, p in given.items()}
            except ValueError:
                positions = {}
            if len(given) < len(steps) or sorted(positions.values()) != list(
                range(1, len(steps) + 1)
            ):
                errors[code] = (
                    f"Question {number}: give each step a different position, from 1 to "
                    f"{len(steps)}"
                )
                continue
            responses[code] = sorted(positions, key=positions.__getitem__)
        elif kind == "matching":
            premises = [p["id"] for p in item["premises"]]
            typed[code] = {p: form.get(f"match-{code}-{p}", "") for p in premises}
            responses[code] = {p: r for p, r in typed[code].items() if r}
        else:
            typed[code] = form.get(f"answer-{code}", "")
            responses[code] = typed[code]
    return responses, typed, errors


def _bank_ids(attempt: Attempt, view: dict, responses: dict, errors: dict) -> dict:
    """The form's responses (the attempt's opaque choice ids) in bank ids. A choice id this
    attempt does not show (a forged or stale form) becomes that question's error message."""
    session = db.session()
    try:
        return attempt_service.from_learner(session, attempt, responses, _secret())
    except InvalidResponses as exc:
        errors.update(_service_errors(view["items"], exc.details))
        rest = {k: v for k, v in responses.items() if k not in exc.details}
        return attempt_service.from_learner(session, attempt, rest, _secret())


def _service_errors(items: list[dict], details: dict) -> dict[str, str]:
    numbers = {item["id"]: n for n, item in enumerate(items, 1)}
    errors = {}
    for code, messages in details.items():
        if code not in numbers:
            continue
        text = "; ".join(str(m) for m in messages) if isinstance(messages, list) else messages
        text = str(text).removeprefix(f"{code}: ")
        errors[code] = f"Question {numbers[code]}: this answer does not fit the question ({text})"
    return errors


def _time_left(clock: dict) -> dict:
    """The exam clock (the learner's extra time and rest breaks included) as the questions
    page words it, from exam_pages.timer's `clock` of a started attempt: the clock is worked
    out once per page."""
    seconds = clock["seconds"]
    minutes = seconds // 60
    if seconds == 0:
        words = "Time is up"
    elif minutes == 0:
        words = "Less than 1 minute left"
    else:
        words = f"{minutes} minute{'s' if minutes != 1 else ''} left"
    return {
        "seconds": seconds,
        "words": words,
        "expired": seconds == 0,
        "deadline_clock": clock["deadline_clock"],
        "deadline_date": clock["deadline_date"],
        "zone": LOCAL_TIME_NAME,
        "limit_minutes": clock["allowed_minutes"],
    }


def _attempt_page(
    lti_session: LtiSession,
    attempt: Attempt,
    view: dict,
    typed: dict | None = None,
    errors: dict | None = None,
    problem: str | None = None,
    status: int = 200,
):
    typed, errors = typed or {}, errors or {}
    questions = []
    for number, item in enumerate(view["items"], 1):
        code = item["id"]
        value = typed[code] if code in typed else _shown_values(item, view["responses"].get(code))
        questions.append(
            {
                "number": number,
                "item": item,
                "value": value,
                "error": errors.get(code),
                "ids": _field_ids(item),
                "hint": _hint(item),
                # As the form posts them (the page compares them with the chosen positions).
                "positions": [str(n) for n in range(1, len(item.get("steps", [])) + 1)],
                "order": _order_preview(item, value) if item["type"] == "ordering" else None,
            }
        )
    # Error links go to the question's fieldset, so its legend and prompt come into view
    # (GOV.UK pattern; attempt.js then focuses the question's first control).
    summary = [(f"question-{q['number']}", q["error"]) for q in questions if q["error"]]
    clock = exam_pages.timer(attempt)
    return _page(
        "lti/attempt.html",
        status,
        ls=request.values.get("ls"),
        attempt=attempt,
        assessment=attempt.assessment,
        questions=questions,
        scenario_labels=SCENARIO_LABELS,
        time=_time_left(clock),
        summary=summary,
        problem=problem,
        saved=request.args.get("saved") == "1",
        clock=clock,
    )


@blp.get("/attempt")
def attempt():
    lti_session, assessment, attempt = _learner_context(*QUESTION_PAGE_LOADING)
    if assessment is None:
        return _no_assessment()
    session = db.session()
    if attempt is None:
        # A new learner: the start page needs no attempt. Start creates it, with its form
        # (lti/exam_pages.attempt_start), so opening the activity writes nothing.
        learner = _learner(lti_session)
        approved_only = current_app.config["DELIVER_APPROVED_ONLY"]
        try:
            _seed, codes = attempt_service.draw_form(session, assessment, learner, 1, approved_only)
        except NoLiveForm:
            return _not_ready()
        return exam_pages.start_page(lti_session, assessment, learner, question_count=len(codes))
    if attempt.status == "in_progress":
        elsewhere = exam_pages.before_questions(lti_session, attempt)
        if elsewhere is not None:
            return elsewhere
    if attempt.status != "in_progress":
        # The result page reads the attempt's marks, scores and decisions too.
        session.refresh(attempt, ["mark_rows", "score_rows", "decision_rows"])
        return _result_page(attempt, attempt_service.attempt_view(session, attempt, _secret()))
    view = attempt_service.attempt_view(session, attempt, _secret())
    return _attempt_page(lti_session, attempt, view)


def _back_to_attempt(**params):
    return redirect(url_for(".attempt", ls=request.form.get("ls"), **params), code=303)


def _refused(exc: AttemptError, lti_session, attempt: Attempt, view: dict, typed: dict):
    """The form again, with what the service refused: the time limit (409) or answers that do
    not fit their questions (422). What the learner typed stays on the page."""
    db.session().rollback()
    if isinstance(exc, NotStarted):
        return _back_to_attempt()  # the start page: the clock has not started
    if isinstance(exc, OnBreak):
        return _attempt_page(lti_session, attempt, view, typed, problem=ON_BREAK, status=409)
    if isinstance(exc, TimeLimitPassed | AttemptClosed):
        return _attempt_page(lti_session, attempt, view, typed, problem=TIME_UP, status=409)
    errors = _service_errors(view["items"], exc.details)
    return _attempt_page(lti_session, attempt, view, typed, errors, status=422)


def _current_form_attempt(attempt: Attempt | None) -> bool:
    return attempt is not None and request.form.get("attempt") == attempt.uuid


@blp.post("/attempt/save")
def attempt_save():
    lti_session, assessment, attempt = _learner_context()
    as_json = _wants_json()
    if not _current_form_attempt(attempt) or attempt.status != "in_progress":
        if as_json:
            message = "This page is out of date. Reload it to see your attempt."
            return jsonify({"saved": False, "message": message}), 409
        return _back_to_attempt()
    session = db.session()
    view = attempt_service.attempt_view(session, attempt, _secret())
    responses, typed, errors = _parse(view["items"], request.form)
    responses = _bank_ids(attempt, view, responses, errors)
    if as_json:
        return _autosave(attempt, view, responses, errors)
    if errors:
        return _attempt_page(lti_session, attempt, view, typed, errors, status=422)
    try:
        attempt_service.save_responses(session, attempt, responses)
        session.commit()
    except AttemptError as exc:
        return _refused(exc, lti_session, attempt, view, typed)
    # Back to the question the learner was on (attempt.js records it), else to the buttons.
    anchor = exam_pages.question_anchor(request.form) or "attempt-actions"
    return redirect(
        url_for(".attempt", ls=request.form.get("ls"), saved="1", _anchor=anchor), code=303
    )


def _autosave(attempt: Attempt, view: dict, responses: dict, errors: dict):
    """JavaScript's save as you go: store what fits, report what does not (its stored
    response is left as it was)."""
    session = db.session()
    for _ in range(2):
        try:
            attempt_service.save_responses(session, attempt, responses)
            session.commit()
            break
        except AttemptError as exc:
            session.rollback()
            if isinstance(exc, AttemptClosed):
                message = "This attempt has been submitted. Reload the page to see your result."
                return jsonify({"saved": False, "message": message}), 409
            if isinstance(exc, OnBreak):
                return jsonify({"saved": False, "message": ON_BREAK}), 409
            if isinstance(exc, NotStarted):
                message = "The assessment has not started. Reload the page and select Start."
                return jsonify({"saved": False, "message": message}), 409
            if not isinstance(exc, InvalidResponses):
                return jsonify({"saved": False, "message": TIME_UP}), 409
            found = _service_errors(view["items"], exc.details)
            if not found:
                return jsonify({"saved": False, "message": exc.message}), 422
            errors.update(found)
            responses = {k: v for k, v in responses.items() if k not in found}
    else:
        return jsonify({"saved": False, "message": "Your answers could not be saved."}), 422
    now = utcnow()
    return jsonify(
        {
            "saved": True,
            "saved_at": now.isoformat(),
            "saved_at_text": _local(now).strftime("%H:%M:%S"),
            "not_saved": [{"item": code, "message": text} for code, text in errors.items()],
        }
    )


@blp.post("/attempt/submit")
def attempt_submit():
    lti_session, assessment, attempt = _learner_context()
    if attempt is None or attempt.status != "in_progress" or not _current_form_attempt(attempt):
        return _back_to_attempt()  # submitted already (or a stale page): show where it stands
    session = db.session()
    view = attempt_service.attempt_view(session, attempt, _secret())
    responses, typed, errors = _parse(view["items"], request.form)
    responses = _bank_ids(attempt, view, responses, errors)
    if errors:
        return _attempt_page(lti_session, attempt, view, typed, errors, status=422)
    if not exam_pages.confirmed(attempt, request.form):
        return exam_pages.refuse_unconfirmed(lti_session, attempt, responses)  # WCAG 3.3.4
    now = utcnow()
    late = now > attempt.deadline + attempt_service.GRACE
    changed = any(attempt.responses.get(k) != v for k, v in responses.items() if v)
    try:
        attempt_service.submit(session, attempt, None if late else responses, now)
        session.commit()
    except AttemptError as exc:
        return _refused(exc, lti_session, attempt, view, typed)
    return _back_to_attempt(**({"late": "1"} if late and changed else {}))

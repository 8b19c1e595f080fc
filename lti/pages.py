"""Pages inside the LMS frame: deep linking (instructors choose an assessment), the learner's
attempt and result, and the assessor's list and marking pages. Every page carries the launch's
session token (`ls`) in its URL or form, because cookies are often blocked in LMS iframes.

The learner's pages work without JavaScript: one form posts every answer; attempt.js only adds
autosave and a live countdown. Keys and feedback never reach a page before submission."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import (
    Blueprint,
    abort,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from pylti1p3.deep_link import DeepLink
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem
from sqlalchemy import select

from lti import sessions
from lti.models import LtiSession
from lti.tool_conf import DatabaseToolConf
from lti.views import host_url, rejected
from service import attempts as attempt_service
from service import bank, db
from service.attempts import AttemptError
from service.catalogue import Page
from service.models import Assessment, Attempt, utcnow

blp = Blueprint("lti_pages", __name__, url_prefix="/lti")

# Learners and assessors are in the UK: times are shown in UK time (UTC without a tz database).
try:
    LOCAL_TIME: ZoneInfo | None = ZoneInfo("Europe/London")
    LOCAL_TIME_NAME = "UK time"
except ZoneInfoNotFoundError:
    LOCAL_TIME, LOCAL_TIME_NAME = None, "UTC"

SCENARIO_LABELS = {
    "channel": "Channel",
    "customer": "Customer",
    "need": "What they need",
    "vulnerability": "Vulnerability",
    "accessibility_need": "Accessibility need",
    "rule": "Rules and procedures",
    "situation": "Situation",
}
GRADE_WORDS = {
    "achieved": "Achieved",
    "not_yet_achieved": "Not yet achieved",
    "pass": "Pass",
    "merit": "Merit",
    "distinction": "Distinction",
}
DECISION_WORDS = {
    "met": "Met",
    "not_yet_met": "Not yet met",
    "pending": "Waiting for your assessor",
    "not_evidenced": "Not assessed in this attempt",
}
STAFF_DECISION_WORDS = {**DECISION_WORDS, "pending": "Waiting for marking"}
QUALITY_WORDS = {
    "not_yet_met": "Not yet met",
    "met": "Met",
    "merit": "Merit",
    "distinction": "Distinction",
}
STATUS_WORDS = {
    "in_progress": "In progress",
    "pending_manual": "Waiting for marking",
    "fully_graded": "Marked",
}
TIME_UP = (
    "The time limit has passed, so these answers were not saved. The answers you saved before "
    "the time limit are kept. Submit your attempt now to get your result."
)
_HOW_MANY = re.compile(
    r"\bselect (?:the )?(all|one|two|three|four|five|six|\d+)\b(?: that apply)?", re.IGNORECASE
)


# ---------------------------------------------------------------------------- common


def _stop(reason: str, status: int = 403, title: str = "This page has expired"):
    abort(make_response(rejected(reason, status, title)))


def current_session(role: str | None = None) -> LtiSession:
    """The launch this request belongs to, or a 403 page."""
    token = request.values.get("ls")
    lti_session = sessions.find(db.session(), token)
    if lti_session is None or (role and lti_session.role != role):
        _stop("page: missing, expired or wrong-role session token")
    return lti_session


@blp.after_request
def _no_store(response):
    # Pages carry the session token and personal answers: never cache them.
    response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def _page(template: str, status: int = 200, **context):
    return make_response(render_template(template, **context), status)


def _message(title: str, paragraphs: list[str], status: int = 200):
    return _page("lti/message.html", status, title=title, paragraphs=paragraphs)


def _local(moment: datetime) -> datetime:
    return moment.astimezone(LOCAL_TIME) if LOCAL_TIME else moment


def _clock(moment: datetime) -> str:
    return _local(moment).strftime("%H:%M")


def _date_words(moment: datetime) -> str:
    local = _local(moment)
    return f"{local:%A} {local.day} {local:%B %Y}"


def _number(value: float | None) -> str:
    if value is None:
        return "0"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and "application/json" in request.accept_mimetypes


# ---------------------------------------------------------------------------- deep linking


def _assessments_by_unit() -> dict:
    _total, assessments = bank.list_assessments(db.session(), Page(1, 100))
    by_unit: dict = {}
    for assessment in assessments:
        by_unit.setdefault(assessment.unit, []).append(assessment)
    return by_unit


@blp.get("/deep-link")
def deep_link():
    lti_session = current_session("staff")
    if lti_session.message_type != "LtiDeepLinkingRequest":
        _stop("deep link page opened from a resource launch")
    return render_template(
        "lti/deep_link.html", by_unit=_assessments_by_unit(), ls=request.values["ls"]
    )


@blp.post("/deep-link")
def deep_link_choose():
    lti_session = current_session("staff")
    if lti_session.message_type != "LtiDeepLinkingRequest":
        _stop("deep link posted from a resource launch")
    code = request.form.get("assessment", "")
    assessment = bank.get_assessment(db.session(), code)
    if assessment is None:
        return render_template(
            "lti/deep_link.html",
            by_unit=_assessments_by_unit(),
            ls=request.form.get("ls"),
            error="Choose an assessment.",
        ), 422
    settings = lti_session.claims[sessions.DEEP_LINKING]
    platform = lti_session.platform
    registration = DatabaseToolConf(db.session()).registration(platform)
    line_item = (
        LineItem()
        .set_label(f"{assessment.code}: {assessment.title}")
        .set_score_maximum(100)
        .set_resource_id(assessment.code)
        .set_tag("assessment")
    )
    resource = (
        DeepLinkResource()
        .set_url(host_url() + url_for("lti.launch"))
        .set_title(f"{assessment.code}: {assessment.title}")
        .set_lineitem(line_item)
        .set_custom_params({"assessment": assessment.code})
    )
    jwt_value = DeepLink(registration, lti_session.deployment_id, settings).get_response_jwt(
        [resource]
    )
    return render_template(
        "lti/deep_link_return.html",
        jwt=jwt_value,
        return_url=settings["deep_link_return_url"],
        assessment=assessment,
    )


# ---------------------------------------------------------------------------- the learner


def _linked_assessment(lti_session: LtiSession) -> Assessment | None:
    code = lti_session.assessment_code
    return bank.get_assessment(db.session(), code) if code else None


def _latest_attempt(lti_session: LtiSession, assessment: Assessment) -> Attempt | None:
    """The learner's newest attempt at the linked assessment, submitted or not. An unsubmitted
    attempt past its deadline is kept (the learner may still submit it), not replaced."""
    return db.session().scalar(
        select(Attempt)
        .where(
            Attempt.assessment_id == assessment.id,
            Attempt.learner_ref == sessions.learner_ref(lti_session),
            Attempt.centre_id.is_not_distinct_from(lti_session.platform.centre_id),
        )
        .order_by(Attempt.id.desc())
        .limit(1)
    )


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


def _learner_context() -> tuple[LtiSession, Assessment | None, Attempt | None]:
    lti_session = current_session("learner")
    assessment = _linked_assessment(lti_session)
    attempt = _latest_attempt(lti_session, assessment) if assessment else None
    return lti_session, assessment, attempt


def _hint(item: dict) -> str | None:
    """How to answer, for screen readers and everyone: read with the question's group."""
    kind = item["type"]
    if kind == "multiple_response":
        found = _HOW_MANY.search(item["prompt"])
        if found is None or found.group(1).lower() == "all":
            return "Select all that apply."
        return f"Select {found.group(1).lower()}."
    if kind == "ordering":
        steps = len(item["steps"])
        return f"For each step, choose its position: 1 for the first step, {steps} for the last."
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


def _time_left(attempt: Attempt, now: datetime) -> dict:
    seconds = max(0, math.floor((attempt.deadline - now).total_seconds()))
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
        "deadline_clock": _clock(attempt.deadline),
        "deadline_date": _date_words(attempt.deadline),
        "zone": LOCAL_TIME_NAME,
        "limit_minutes": attempt.assessment.time_limit_minutes,
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
                "positions": list(range(1, len(item.get("steps", [])) + 1)),
            }
        )
    summary = [(q["ids"][0], q["error"]) for q in questions if q["error"]]
    return _page(
        "lti/attempt.html",
        status,
        ls=request.values.get("ls"),
        attempt=attempt,
        assessment=attempt.assessment,
        questions=questions,
        scenario_labels=SCENARIO_LABELS,
        time=_time_left(attempt, utcnow()),
        summary=summary,
        problem=problem,
        saved=request.args.get("saved") == "1",
    )


def _answer_words(item: dict, response: Any) -> Any:
    """The learner's answer, readable, for the result page."""
    if response in (None, "", [], {}):
        return None
    kind = item["type"]
    if kind == "single_choice":
        return next((o["text"] for o in item["options"] if o["id"] == response), response)
    if kind == "multiple_response":
        texts = {o["id"]: o["text"] for o in item["options"]}
        return [texts.get(r, r) for r in response]
    if kind == "ordering":
        texts = {s["id"]: s["text"] for s in item["steps"]}
        return [texts.get(r, r) for r in response]
    if kind == "matching":
        texts = {r["id"]: r["text"] for r in item["responses"]}
        return [
            (p["text"], texts.get(response.get(p["id"]), "No answer")) for p in item["premises"]
        ]
    return response


def _result_page(attempt: Attempt, view: dict):
    result = view["result"]
    unit = attempt.assessment.unit
    texts = {c.code: c.current.text for c in unit.criteria}
    criteria = [
        {
            "code": c["criterion"],
            "text": texts.get(c["criterion"], ""),
            "decision": c["decision"],
            "words": DECISION_WORDS.get(c["decision"], c["decision"]),
        }
        for c in result["criteria"]
    ]
    scored = {entry["item_id"]: entry for entry in result["items"]}
    questions = []
    for number, item in enumerate(view["items"], 1):
        entry = scored.get(item["id"], {})
        questions.append(
            {
                "number": number,
                "item": item,
                "pending": entry.get("pending", False),
                "score": _number(entry.get("score")),
                "max_score": entry.get("max_score", item["points"]),
                "feedback": entry.get("feedback", []),
                "answer": _answer_words(item, view["responses"].get(item["id"])),
            }
        )
    return _page(
        "lti/result.html",
        assessment=attempt.assessment,
        attempt=attempt,
        pending=attempt.status == "pending_manual",
        grade=GRADE_WORDS.get(result["grade"] or "", result["grade"]),
        score=_number(result["score"]),
        max_score=result["max_score"],
        percent=_number(result["percent"]),
        criteria=criteria,
        questions=questions,
        submitted=f"{_clock(attempt.submitted_at)} {LOCAL_TIME_NAME} on "
        f"{_date_words(attempt.submitted_at)}"
        if attempt.submitted_at
        else "",
        late=request.args.get("late") == "1",
    )


@blp.get("/attempt")
def attempt():
    lti_session, assessment, attempt = _learner_context()
    if assessment is None:
        return _no_assessment()
    session = db.session()
    if attempt is None:
        attempt = attempt_service.start_attempt(
            session,
            assessment,
            sessions.learner_ref(lti_session),
            lti_session.platform.centre_id,
        )
    view = attempt_service.attempt_view(session, attempt)
    if attempt.status != "in_progress":
        return _result_page(attempt, view)
    return _attempt_page(lti_session, attempt, view)


def _back_to_attempt(**params):
    return redirect(url_for(".attempt", ls=request.form.get("ls"), **params), code=303)


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
    view = attempt_service.attempt_view(session, attempt)
    responses, typed, errors = _parse(view["items"], request.form)
    if as_json:
        return _autosave(attempt, view, responses, errors)
    if errors:
        return _attempt_page(lti_session, attempt, view, typed, errors, status=422)
    try:
        attempt_service.save_responses(session, attempt, responses)
    except AttemptError as exc:
        session.rollback()
        if exc.status == 409:
            return _attempt_page(lti_session, attempt, view, typed, problem=TIME_UP, status=409)
        errors = _service_errors(view["items"], exc.details)
        return _attempt_page(lti_session, attempt, view, typed, errors, status=422)
    return _back_to_attempt(saved="1")


def _autosave(attempt: Attempt, view: dict, responses: dict, errors: dict):
    """JavaScript's save as you go: store what fits, report what does not (its stored
    response is left as it was)."""
    session = db.session()
    for _ in range(2):
        try:
            attempt_service.save_responses(session, attempt, responses)
            break
        except AttemptError as exc:
            session.rollback()
            if exc.status == 409:
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
    view = attempt_service.attempt_view(session, attempt)
    responses, typed, errors = _parse(view["items"], request.form)
    if errors:
        return _attempt_page(lti_session, attempt, view, typed, errors, status=422)
    now = utcnow()
    late = now > attempt.deadline + attempt_service.GRACE
    changed = any(attempt.responses.get(k) != v for k, v in responses.items() if v)
    try:
        attempt_service.submit(session, attempt, None if late else responses, now)
    except AttemptError as exc:
        session.rollback()
        if exc.status == 409:
            return _attempt_page(lti_session, attempt, view, typed, problem=TIME_UP, status=409)
        errors = _service_errors(view["items"], exc.details)
        return _attempt_page(lti_session, attempt, view, typed, errors, status=422)
    return _back_to_attempt(**({"late": "1"} if late and changed else {}))


# ---------------------------------------------------------------------------- the assessor


def _staff_attempts(lti_session: LtiSession, assessment: Assessment):
    """Conditions for the attempts this launch's staff may see: the linked assessment, in the
    platform's centre (or, for a platform with no centre, its own learners only)."""
    platform = lti_session.platform
    conditions = [Attempt.assessment_id == assessment.id]
    if platform.centre_id is None:
        conditions += [
            Attempt.centre_id.is_(None),
            Attempt.learner_ref.startswith(f"lti:{platform.id}:", autoescape=True),
        ]
    else:
        conditions.append(Attempt.centre_id == platform.centre_id)
    return conditions


def _learner_names(refs: list[str]) -> dict[str, str]:
    """learner_ref -> the name from that learner's newest launch that gave one."""
    wanted: dict[tuple[int, str], str] = {}
    for ref in refs:
        parts = ref.split(":", 2)
        if len(parts) == 3 and parts[0] == "lti" and parts[1].isdigit():
            wanted[(int(parts[1]), parts[2])] = ref
    names: dict[str, str] = {}
    if not wanted:
        return names
    rows = db.session().execute(
        select(LtiSession.platform_id, LtiSession.user_sub, LtiSession.user_name)
        .where(
            LtiSession.platform_id.in_({p for p, _ in wanted}),
            LtiSession.user_sub.in_({s for _, s in wanted}),
            LtiSession.user_name.is_not(None),
        )
        .order_by(LtiSession.id)
    )
    for platform_id, sub, name in rows:
        ref = wanted.get((platform_id, sub))
        if ref and name:
            names[ref] = name
    return names


def _display_name(ref: str, names: dict[str, str]) -> str:
    if ref in names:
        return names[ref]
    return f"Learner {ref.split(':', 2)[-1]}"


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
    rows = db.session().scalars(select(Attempt).where(*_staff_attempts(lti_session, assessment)))
    order = {"pending_manual": 0, "in_progress": 1, "fully_graded": 2}
    found = sorted(
        rows,
        key=lambda a: (order.get(a.status, 3), -(a.submitted_at or a.started_at).timestamp()),
    )
    names = _learner_names([a.learner_ref for a in found])
    now = utcnow()
    listed = [
        {
            "uuid": a.uuid,
            "name": _display_name(a.learner_ref, names),
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
        found = db.session().scalar(
            select(Attempt).where(
                Attempt.uuid == attempt_uuid, *_staff_attempts(lti_session, assessment)
            )
        )
    if found is None:
        abort(
            _message(
                "Attempt not found",
                [
                    "There is no such attempt among your centre's attempts at the assessment "
                    "linked to this activity.",
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
    names = _learner_names([attempt.learner_ref])
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
        learner=_display_name(attempt.learner_ref, names),
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
    try:
        attempt_service.mark(session, attempt, item_code, levels)
    except AttemptError as exc:
        session.rollback()
        if exc.status == 409:
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

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

from lti import marking_drafts, nrps, preflight, resource_links, sessions
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
from service.comments import current_comments
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


def _queue_of(rows: list[Attempt]) -> list[Attempt]:
    """The attempts awaiting marking, oldest submitted first: the order assessors work
    through them ("Save and mark next")."""
    waiting = [a for a in rows if a.status == AttemptStatus.PENDING_MANUAL]
    return sorted(waiting, key=lambda a: (a.submitted_at or a.opened_at, a.id))


def _queue(lti_session: LtiSession, assessment) -> list[Attempt]:
    """This course activity's marking queue."""
    return _queue_of(
        attempt_access.attempts_at(db.session(), _course_scope(lti_session), assessment)
    )


def _first_unmarked(attempt: Attempt) -> str | None:
    """The anchor of the attempt's first written answer still to mark: the marking page opens
    there (not at the top, one scroll fewer per script)."""
    marked = attempt.marks
    for _item, version in attempt_service.form_items(db.session(), attempt):
        body = version.body
        if body["type"] == "extended_response" and body["id"] not in marked:
            return f"mark-{body['id']}"
    return None


def _roster(lti_session: LtiSession, link: LtiResourceLink | None) -> nrps.Roster:
    if link is None:
        return nrps.Roster(problem="the launch came from no resource link")
    return nrps.roster(lti_session.platform_id, link.id, link.nrps_url)


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
    session = db.session()
    link = _course_link(lti_session)
    rows = attempt_access.attempts_at(session, _course_scope(lti_session), assessment)
    # The marking queue first (oldest submitted first), then attempts in progress and marked
    # ones, newest first.
    queue = _queue_of(rows)
    others = sorted(
        (a for a in rows if a.status != AttemptStatus.PENDING_MANUAL),
        key=lambda a: (
            a.status != AttemptStatus.IN_PROGRESS,
            -(a.submitted_at or a.opened_at).timestamp(),
        ),
    )
    found = queue + others
    names = _learner_names(found)
    now = utcnow()
    listed = [
        {
            "uuid": a.uuid,
            "name": _display_name(a, names),
            "status": a.status,
            "status_words": (
                "Not submitted (time limit passed)"
                if a.status == "in_progress" and a.deadline is not None and now > a.deadline
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
    # Learners of the course (NRPS) with no attempt here yet. Matched by the platform's user
    # id, which is the attempt's lti_sub.
    roster = _roster(lti_session, link)
    started = {a.lti_sub for a in rows if a.lti_platform_id == lti_session.platform_id}
    not_started = sorted(
        (m.name or f"Learner {m.user_id}" for m in roster.learners if m.user_id not in started),
        key=str.casefold,
    )
    listed += [
        {
            "uuid": None,
            "name": name,
            "status": "not_started",
            "status_words": "Not started",
            "grade": None,
            "percent": None,
            "submitted": None,
        }
        for name in not_started
    ]
    gradebook = preflight.summary_for_link(session, link) if link is not None else None
    return _page(
        "lti/assessor.html",
        ls=request.values["ls"],
        assessment=assessment,
        attempts=listed,
        pending=len(queue),
        next_uuid=queue[0].uuid if queue else None,
        next_anchor=_first_unmarked(queue[0]) if queue else None,
        submitted_count=sum(1 for a in rows if a.status != AttemptStatus.IN_PROGRESS),
        marked_count=sum(1 for a in rows if a.status == AttemptStatus.FULLY_GRADED),
        roster_available=roster.available,
        not_started=len(not_started),
        gradebook=gradebook.sentence if gradebook else None,
        queue_done=request.args.get("queue") == "done",
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
    {"item": code, "levels": {criterion: quality}, "comments": {criterion: text}} and
    {criterion or "item": message}; for the attempt's comment form, {"comment": text} and
    {"comment": message}."""
    session = db.session()
    comments = current_comments(session, attempt.id)
    assessment = attempt.assessment
    unit = assessment.unit
    criteria = {c.code: c for c in unit.criteria}
    rubrics = bank.rubrics_by_criterion(session, unit.id)
    errors = errors or {}
    # Marks this assessor posted after an earlier launch ended (lti/marking_drafts.py).
    drafts = marking_drafts.restore(session, lti_session, attempt.uuid)
    questions, summary = [], []
    pairs = attempt_service.form_items(session, attempt)
    for number, (_item, version) in enumerate(pairs, 1):
        body = version.body
        if body["type"] != "extended_response":
            continue
        code = body["id"]
        posted = chosen is not None and chosen.get("item") == code
        draft = drafts.get(code) if chosen is None else None
        levels = chosen["levels"] if posted else attempt.marks.get(code, {})
        posted_comments = chosen.get("comments", {}) if posted else {}
        if draft:
            levels = {**levels, **draft["levels"]}
            posted_comments = draft["comments"]
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
                "stored": draft["previous"].get(full, "")
                if draft and full in draft["previous"]
                else attempt.marks.get(code, {}).get(full, ""),
                "error": errors.get(full) if posted else None,
                "comment": posted_comments.get(
                    full, comments[full].text if full in comments else ""
                ),
                "comment_error": errors.get(f"comment-{full}") if posted else None,
            }
            if row["error"]:
                summary.append((f"{slug}-{row['levels'][0]['quality']}", row["error"]))
            if row["comment_error"]:
                summary.append((f"comment-{slug}", row["comment_error"]))
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
                "draft": bool(draft),
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
    history = _history(attempt, questions, criteria)
    chosen_overall = (chosen or {}).get("comment")
    overall = comments[None].text if None in comments else ""
    # The comment on the whole attempt posted after an earlier launch ended.
    overall_draft = drafts.get(marking_drafts.ATTEMPT) if chosen is None else None
    if overall_draft is not None:
        chosen_overall = overall_draft["comment"]
    if errors.get("comment"):
        summary.append(("comment-attempt", errors["comment"]))
    queue = [a.uuid for a in _queue(lti_session, assessment) if a.id != attempt.id]
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
        commented=request.args.get("commented") == "1",
        scenario_labels=SCENARIO_LABELS,
        overall_comment=chosen_overall if chosen_overall is not None else overall,
        comment_error=errors.get("comment"),
        comment_max=attempt_service.COMMENT_MAX,
        history=history,
        drafts_shown=[q["number"] for q in questions if q["draft"]],
        comment_draft_shown=overall_draft is not None,
        others_waiting=len(queue),
        zone=LOCAL_TIME_NAME,
    )


def _history(attempt: Attempt, questions: list[dict], criteria: dict) -> list[dict]:
    """The attempt's marking decisions, newest first, in words."""
    events = attempt_service.mark_history(db.session(), attempt.id)
    numbers = {q["id"]: q["number"] for q in questions}
    who = _staff_names({e.marked_by for e in events if e.marked_by})
    return [
        {
            "when": f"{_clock(e.marked_at)}, {_date_words(e.marked_at)}",
            "who": who.get(e.marked_by or "", "Someone using the API")
            if e.marked_by
            else "Unknown",
            "question": f"Question {numbers[e.item_code]}"
            if e.item_code in numbers
            else e.item_code,
            "criterion": e.criterion_code,
            "old": QUALITY_WORDS.get(e.old_quality or "", e.old_quality)
            if e.old_quality
            else "Not marked",
            "new": QUALITY_WORDS.get(e.new_quality, e.new_quality),
        }
        for e in reversed(events)
    ]


def _staff_names(marked_by: set[str]) -> dict[str, str]:
    """marked_by ("lti:{platform}:{sub}", or an API client id) -> the assessor's name from
    their newest launch that gave one; "Assessor {sub}" without one, the client id for API
    clients."""
    wanted = {}
    for value in marked_by:
        parts = value.split(":", 2)
        if len(parts) == 3 and parts[0] == "lti" and parts[1].isdigit():
            wanted[value] = (int(parts[1]), parts[2])
    names = {value: value for value in marked_by}
    for value, (_platform_id, sub) in wanted.items():
        names[value] = f"Assessor {sub}"
    if wanted:
        rows = db.session().execute(
            select(LtiSession.platform_id, LtiSession.user_sub, LtiSession.user_name)
            .where(
                LtiSession.platform_id.in_({p for p, _ in wanted.values()}),
                LtiSession.user_sub.in_({s for _, s in wanted.values()}),
                LtiSession.user_name.is_not(None),
            )
            .order_by(LtiSession.id)
        )
        by_user = {(platform_id, sub): name for platform_id, sub, name in rows if name}
        for value, key in wanted.items():
            if key in by_user:
                names[value] = by_user[key]
    return names


@blp.get("/assessor/attempt/<string:attempt_uuid>")
def assessor_attempt(attempt_uuid: str):
    lti_session = current_session("staff")
    return _marking_page(lti_session, _scoped_attempt(lti_session, attempt_uuid))


def _author(lti_session: LtiSession) -> str:
    return f"lti:{lti_session.platform_id}:{lti_session.user_sub}"


def _after_saving(lti_session: LtiSession, attempt: Attempt, **shown):
    """Where a saved marking form goes: "Save and mark next" opens the attempt waiting
    longest (the list, saying so, when none is left); otherwise this attempt's page again."""
    ls = request.form.get("ls")
    if request.form.get("then") == "next":
        waiting = [a for a in _queue(lti_session, attempt.assessment) if a.id != attempt.id]
        if not waiting:
            return redirect(url_for(".assessor", ls=ls, queue="done"), code=303)
        anchor = _first_unmarked(waiting[0])
        target = url_for(".assessor_attempt", attempt_uuid=waiting[0].uuid, ls=ls, _anchor=anchor)
        return redirect(target, code=303)
    return redirect(
        url_for(".assessor_attempt", attempt_uuid=attempt.uuid, ls=ls, **shown), code=303
    )


def _posted_marks() -> tuple[dict, dict, dict]:
    """A marking form's levels, the levels its page showed, and comments, by criterion."""
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
    # What the assessor wrote to the learner about each criterion of this item ("" clears).
    comments = {
        key.removeprefix("comment-"): value
        for key, value in request.form.items()
        if key.startswith("comment-")
    }
    return levels, previous, comments


def _kept_for_later(ended: LtiSession, superseded: bool = False):
    """Marks posted after the assessor's launch ended (or with a token it replaced): kept as
    their draft, and said so."""
    session = db.session()
    levels, previous, comments = _posted_marks()
    kept = marking_drafts.keep(
        session,
        ended,
        request.form.get("attempt", ""),
        request.form.get("item", ""),
        levels,
        previous,
        comments,
    )
    session.commit()
    shown = [
        {
            "code": code,
            "level": QUALITY_WORDS.get(levels.get(code, ""), "No level chosen"),
            "comment": comments.get(code, "").strip(),
        }
        for code in sorted({*levels, *comments})
    ]
    return _page("lti/marks_kept.html", 403, kept=kept, marks=shown, superseded=superseded)


def _comment_kept_for_later(ended: LtiSession, superseded: bool = False):
    """The comment on the whole attempt posted after the launch ended (or with a token it
    replaced): kept as the assessor's draft, and said so (as _kept_for_later for marks)."""
    session = db.session()
    text = request.form.get("comment", "")
    kept = marking_drafts.keep_comment(session, ended, request.form.get("attempt", ""), text)
    session.commit()
    return _page(
        "lti/marks_kept.html",
        403,
        kept=kept,
        marks=[],
        overall_comment=text.strip() if kept else "",
        comment_only=True,
        superseded=superseded,
    )


def _in_course(lti_session: LtiSession, attempt_uuid: str) -> bool:
    """Whether the attempt is one of this launch's course activity (as _scoped_attempt)."""
    assessment = _linked_assessment(lti_session)
    if assessment is None or not attempt_uuid:
        return False
    scope = _course_scope(lti_session)
    return attempt_access.find(db.session(), scope, attempt_uuid, assessment.id) is not None


def _superseded_launch() -> LtiSession | None:
    """The launch of a marking form posted with a token it replaced more than the overlap ago
    (a page left open while another tab went on): the launch still runs, so what was posted
    is kept for the assessor, but only for an attempt of that launch's course; otherwise None
    (the usual refusal)."""
    row = sessions.find_superseded(db.session(), request.form.get("ls"))
    if row is None:
        return None
    cookie = request.cookies.get(sessions.COOKIE + str(row.id))
    if not sessions.browser_allowed(db.session(), row, cookie):
        return None
    if not _in_course(row, request.form.get("attempt", "")):
        return None
    return row


def _ended_launch() -> LtiSession | None:
    """The launch of a marking form posted after it ended (within KEEP_FOR), from the browser
    it was opened in; otherwise None."""
    ended = sessions.find_ended(db.session(), request.form.get("ls"), marking_drafts.KEEP_FOR)
    cookie = request.cookies.get(sessions.COOKIE + str(ended.id)) if ended else None
    if ended is not None and sessions.browser_allowed(db.session(), ended, cookie):
        return ended
    return None


@blp.post("/assessor/mark")
def assessor_mark():
    ended = _ended_launch()
    if ended is not None:
        return _kept_for_later(ended)
    superseded = _superseded_launch()
    if superseded is not None:
        return _kept_for_later(superseded, superseded=True)
    lti_session = current_session("staff")
    attempt = _scoped_attempt(lti_session, request.form.get("attempt", ""))
    session = db.session()
    item_code = request.form.get("item", "")
    levels, previous, comments = _posted_marks()
    chosen = {"item": item_code, "levels": levels, "comments": comments}
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
    for code, text in comments.items():
        if len(text.strip()) > attempt_service.COMMENT_MAX:
            errors[f"comment-{code}"] = (
                f"Write at most {attempt_service.COMMENT_MAX} characters in the comment on {code}"
            )
    if errors:
        return _marking_page(lti_session, attempt, chosen, errors, status=422)
    author = _author(lti_session)
    try:
        attempt_service.mark(
            session, attempt, item_code, levels, marked_by=author, previous=previous
        )
        # In the marking's transaction: the score it queues carries the comments too.
        attempt_service.comment(session, attempt, comments, author=author)
        marking_drafts.discard(session, lti_session, attempt.uuid, item_code)
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
    return _after_saving(lti_session, attempt, marked=item_code)


@blp.post("/assessor/comment")
def assessor_comment():
    """The assessor's comment to the learner on the attempt as a whole."""
    ended = _ended_launch()
    if ended is not None:
        return _comment_kept_for_later(ended)
    superseded = _superseded_launch()
    if superseded is not None:
        return _comment_kept_for_later(superseded, superseded=True)
    lti_session = current_session("staff")
    attempt = _scoped_attempt(lti_session, request.form.get("attempt", ""))
    session = db.session()
    text = request.form.get("comment", "")
    if len(text.strip()) > attempt_service.COMMENT_MAX:
        error = f"Write at most {attempt_service.COMMENT_MAX} characters in your comment"
        return _marking_page(
            lti_session, attempt, {"comment": text}, {"comment": error}, status=422
        )
    try:
        attempt_service.comment(session, attempt, {None: text}, author=_author(lti_session))
        marking_drafts.discard(session, lti_session, attempt.uuid, marking_drafts.ATTEMPT)
        session.commit()
    except AttemptError as exc:
        session.rollback()
        return _marking_page(lti_session, attempt, problem=exc.message, status=409)
    return _after_saving(lti_session, attempt, commented="1")

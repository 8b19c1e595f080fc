"""The learner's result page: each criterion's decision explained in plain words, the
assessor's feedback, feedback on each answer that names the option it is about, and what
happens next.

The explanations follow the grading model (service/grading/MODEL.md): a pass criterion needs
its questions to reach the mastery share AND every written answer covering it rated met, so
an assessor's "met" on the written answer can sit beside "not yet met" for the criterion; a
merit or distinction criterion is decided by the assessor's rating alone; a performance
criterion also needs recorded evidence of the work before the unit is achieved.
"""

from __future__ import annotations

import re
from typing import Any

from flask import request

from lti.page_words import BAND_WORDS, DECISION_WORDS, GRADE_WORDS, words
from lti.pages import LOCAL_TIME_NAME, _clock, _date_words, _number, _page
from service import attempts as attempt_service
from service import db
from service.comments import current_comments
from service.feedback import feedback_for
from service.grading.vocabulary import Band, Decision, Grade, RubricLevel
from service.models import Attempt
from service.unit_status import performance_codes

EXTENDED = "extended_response"
_LEARNER_CAN = re.compile(r"^the learner can\s+", re.IGNORECASE)
_CORRECT = re.compile(r"^correct[.!:]\s*", re.IGNORECASE)


def learner_wording(text: str) -> str:
    """A criterion as the learner reads it: "The learner can X" becomes "You need to show that
    you can X" (the criteria are written for assessors)."""
    text = " ".join(text.split())
    if _LEARNER_CAN.match(text):
        text = _LEARNER_CAN.sub("", text)
        for theirs in ("their organisation", "their own"):
            text = text.replace(theirs, "your" + theirs.removeprefix("their"))
        return f"You need to show that you can {text}"
    return text


def percent_words(value: float | None) -> str:
    """A whole-number percentage (the page never shows 7.14%)."""
    return f"{round(value or 0)}%"


def _marks_words(score: float, available: int) -> str:
    mark = "mark" if available == 1 else "marks"
    return f"{_number(score)} of {available} {mark}"


def _question_evidence(
    code: str, number: int, item: dict, entry: dict, marks: dict
) -> dict[str, Any]:
    """One question's part in a criterion's decision."""
    if item["type"] == EXTENDED:
        quality = (marks.get(item["id"]) or {}).get(code)
        if quality is None:
            said = "not marked yet"
        elif quality == RubricLevel.MET:
            said = "your assessor marked it met"
        else:
            said = "your assessor marked it not yet met"
        return {"number": number, "written": True, "quality": quality, "words": said}
    score, available = entry.get("score") or 0, entry.get("max_score") or item["points"]
    share = score / available if available else 0
    return {
        "number": number,
        "written": False,
        "share": share,
        "words": _marks_words(score, available),
    }


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _explain(decision: str, band: str, evidence: list[dict], mastery: int) -> str:
    """Why the criterion got its decision, in words a 17-year-old apprentice understands."""
    auto = [e for e in evidence if not e["written"]]
    written = [e for e in evidence if e["written"]]
    needed = mastery * len(auto) / 100
    share_words = "half" if mastery == 50 else f"{mastery}%"
    auto_earned = sum(e["share"] for e in auto)
    auto_ok = auto_earned >= needed - 1e-9
    written_ok = bool(written) and all(e["quality"] == RubricLevel.MET for e in written)
    assessor_decided = band != Band.PASS
    if decision == Decision.PENDING:
        return (
            "Your assessor has not marked your written answer yet. This criterion is decided "
            "once they have."
        )
    if decision == Decision.NOT_EVIDENCED:
        return (
            "No question in this attempt tested this criterion, so this attempt does not "
            "decide it. Your assessor will tell you how it is assessed."
        )
    if assessor_decided:
        if decision == Decision.MET:
            return "Your assessor marked your written answer as meeting this criterion."
        return (
            "This criterion is decided by your written answer, and your assessor marked it as "
            "not yet meeting it. Your answers to the other questions for it do not change that."
        )
    questions_part = (
        f"Its {len(auto)} questions count the same. To meet it you need at least {share_words} "
        "of them right (parts of answers add up); "
        f"you got {_number(auto_earned)} of {len(auto)}."
    )
    if decision == Decision.MET:
        if written:
            return (
                "Your answers to its questions reached the standard, and your assessor marked "
                "your written answer as meeting it."
            )
        return f"Your answers to its questions reached the standard. {questions_part}"
    # Not yet met: say which part fell short.
    if written_ok and not auto_ok:
        return (
            "Your assessor marked your written answer as meeting this criterion, but your "
            f"answers to its other questions did not reach the standard. {questions_part} "
            "Both parts are needed, so the criterion is not yet met."
        )
    if auto_ok and written:
        return (
            "Your answers to its questions reached the standard, but your assessor marked your "
            "written answer as not yet meeting it. Both parts are needed."
        )
    if written:
        return (
            "Your answers to its questions did not reach the standard, and your assessor marked "
            f"your written answer as not yet meeting it. {questions_part}"
        )
    return f"Your answers to its questions did not reach the standard. {questions_part}"


def _criteria(attempt: Attempt, view: dict, result: dict) -> list[dict]:
    unit = attempt.assessment.unit
    by_code = {c.code: c for c in unit.criteria}
    comments = current_comments(db.session(), attempt.id)
    numbers = {item["id"]: n for n, item in enumerate(view["items"], 1)}
    items = {item["id"]: item for item in view["items"]}
    scored = {entry["item_id"]: entry for entry in result["items"]}
    marks = attempt.marks
    performance = set(performance_codes(unit))
    mastery = attempt.assessment.mastery_percent or 50
    graded = unit.grading == "graded"
    rows = []
    for c in result["criteria"]:
        code = c["criterion"]
        criterion = by_code.get(code)
        band = criterion.current.band if criterion else Band.PASS
        evidence = sorted(
            (
                _question_evidence(code, numbers[i], items[i], scored.get(i, {}), marks)
                for i in c.get("evidence") or []
                if i in items
            ),
            key=lambda e: e["number"],
        )
        rows.append(
            {
                "code": code,
                "short_code": code.rsplit(".", 1)[-1],
                "asks": learner_wording(criterion.current.text) if criterion else "",
                "band": BAND_WORDS.get(band) if graded else None,
                "decision": c["decision"],
                "words": words(DECISION_WORDS, c["decision"]),
                "why": _explain(c["decision"], band, evidence, mastery),
                "based_on": _join([f"Question {e['number']} ({e['words']})" for e in evidence]),
                "performance": code in performance,
                "comment": comments[code].text if code in comments else None,
            }
        )
    return rows


def _quoted(text: str) -> str:
    return f"\u2018{' '.join(text.split())}\u2019"


def _why(text: str) -> str:
    """An option's explanation without its leading "Correct.", which reads as praise when it
    explains an answer the learner did not give."""
    return _CORRECT.sub("", " ".join(text.split()))


def labelled_feedback(body: dict, response: Any) -> list[str]:
    """Each feedback line names what it is about: the option chosen, the right answer, the
    step or the item matched. `response` is in the bank's ids (as stored)."""
    kind = body["type"]
    if kind in ("single_choice", "multiple_response"):
        chosen = {response} if isinstance(response, str) else set(response or [])
        lines = []
        for o in body["options"]:
            if o["id"] in chosen:
                verdict = "a right answer" if o["correct"] else "not right"
                lines.append(f"You chose {_quoted(o['text'])}: {verdict}. {_why(o['feedback'])}")
        for o in body["options"]:
            if o["correct"] and o["id"] not in chosen:
                lines.append(
                    f"The right answer was {_quoted(o['text'])}. Why: {_why(o['feedback'])}"
                )
        return lines
    if kind == "ordering":
        return [f"{_quoted(s['text'])}: {_why(s['feedback'])}" for s in body["steps"]]
    if kind == "matching":
        return [f"{_quoted(p['text'])}: {_why(p['feedback'])}" for p in body["premises"]]
    if kind == "short_text":
        return [_why(text) for text in feedback_for(body, response)]
    return []


def _answer_words(item: dict, response: Any) -> Any:
    """The learner's answer, readable (in the view's own choice ids)."""
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
            (p["text"], texts.get(response.get(p["id"]), "no answer")) for p in item["premises"]
        ]
    return response


def _questions(attempt: Attempt, view: dict, result: dict) -> list[dict]:
    scored = {entry["item_id"]: entry for entry in result["items"]}
    bodies = {
        version.body["id"]: version.body
        for _item, version in attempt_service.form_items(db.session(), attempt)
    }
    stored = attempt.responses
    questions = []
    for number, item in enumerate(view["items"], 1):
        entry = scored.get(item["id"], {})
        body = bodies.get(item["id"])
        questions.append(
            {
                "number": number,
                "item": item,
                "pending": entry.get("pending", False),
                "score": _number(entry.get("score")),
                "max_score": entry.get("max_score", item["points"]),
                "feedback": labelled_feedback(body, stored.get(item["id"])) if body else [],
                "answer": _answer_words(item, view["responses"].get(item["id"])),
            }
        )
    return questions


# What each decision means, for the learner; the page explains the ones it shows.
MEANINGS = {
    Decision.MET: "You showed this criterion in this assessment.",
    Decision.NOT_YET_MET: (
        "You did not show it this time. It is not a fail for ever: your assessor or tutor will "
        "help you, and a resit can meet it."
    ),
    Decision.PENDING: (
        "Your assessor has not marked your written answer yet. The decision comes once they have."
    ),
    Decision.NOT_EVIDENCED: (
        "No question in this attempt tested it, so this attempt does not decide it."
    ),
}
PERFORMANCE_MEANING = (
    "The online assessment tests what you know about it. To achieve the unit you also need to "
    "show it at work: your assessor watching you, a statement from your supervisor or records "
    "of your work. Your assessor records that evidence."
)


def _meanings(criteria: list[dict]) -> list[tuple[str, str]]:
    shown = {c["decision"] for c in criteria}
    meanings = [(words(DECISION_WORDS, d), text) for d, text in MEANINGS.items() if d in shown]
    if any(c["performance"] for c in criteria):
        meanings.append(("Performance evidence needed", PERFORMANCE_MEANING))
    return meanings


def _next_steps(grade: str | None, pending: bool, criteria: list[dict], graded: bool) -> list:
    """What happens next, for the result the learner has."""
    if pending:
        return [
            "Your assessor will mark your written answer. Come back to this page later to see "
            "your knowledge result.",
        ]
    steps = []
    if grade == Grade.NOT_YET_ACHIEVED:
        steps += [
            "Talk to your assessor or tutor about the criteria marked \u201cNot yet met\u201d. "
            "They will help you prepare for those.",
            "You can take the assessment again (a resit). Your centre decides when: your "
            "assessor or tutor will tell you. A resit gives you a new set of questions, and "
            "its knowledge result replaces this one.",
        ]
    elif graded and grade != Grade.DISTINCTION:
        steps.append(
            "Merit and distinction criteria are decided by your written answer. If you want a "
            "higher grade, ask your assessor or tutor whether a resit is possible."
        )
    if any(c["performance"] for c in criteria):
        steps.append(
            "To achieve the unit, your assessor also needs evidence of you doing the work for "
            "the criteria marked \u201cPerformance evidence needed\u201d. Ask your assessor how "
            "and when they will record it."
        )
    steps.append("If anything on this page is unclear, ask your assessor or tutor.")
    return steps


def result_page(attempt: Attempt, view: dict):
    result = view["result"]
    unit = attempt.assessment.unit
    graded = unit.grading == "graded"
    comments = current_comments(db.session(), attempt.id)
    criteria = _criteria(attempt, view, result)
    pending = attempt.status == "pending_manual"
    return _page(
        "lti/result.html",
        assessment=attempt.assessment,
        attempt=attempt,
        pending=pending,
        grade=words(GRADE_WORDS, result["grade"]) if result["grade"] else None,
        score=_number(result["score"]),
        max_score=result["max_score"],
        percent=percent_words(result["percent"]),
        criteria=criteria,
        meanings=_meanings(criteria),
        overall_comment=comments[None].text if None in comments else None,
        questions=_questions(attempt, view, result),
        next_steps=_next_steps(result["grade"], pending, criteria, graded),
        performance_criteria=[c["code"] for c in criteria if c["performance"]],
        graded=graded,
        submitted=f"{_clock(attempt.submitted_at)} {LOCAL_TIME_NAME} on "
        f"{_date_words(attempt.submitted_at)}"
        if attempt.submitted_at
        else "",
        late=request.args.get("late") == "1",
    )

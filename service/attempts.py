"""Attempts: start (or resume), save responses, submit (once), and mark extended responses.

Plain domain code: a SQLAlchemy session in, models out; scoring is the grading engine's.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.bank import keys_for, learner_view, rubric_levels, rubric_max_scores
from service.feedback import feedback_for
from service.grading.engine import (
    GRADING_PROGRESS,
    AttemptResult,
    CriterionRule,
    GradingRules,
    grade_attempt,
)
from service.grading.forms import build_form
from service.grading.scoring import EXTENDED, LevelMark, ResponseError, check_response
from service.identifiers import new_uuid
from service.item_keys import item_key
from service.models import Assessment, Attempt, Item, ItemVersion, utcnow

# Saving is accepted this long after the deadline: the last autosave may be in flight.
GRACE = timedelta(seconds=30)


class AttemptError(Exception):
    """A request the attempt's state does not allow (409) or a bad response (422)."""

    def __init__(self, status: int, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.details = status, message, details or {}


def start_attempt(
    session: Session,
    assessment: Assessment,
    learner_ref: str,
    centre_id: int | None,
    now: datetime | None = None,
) -> Attempt:
    """Resume the learner's open attempt, or start a new one with a reproducible form."""
    now = now or utcnow()
    previous = session.scalars(
        select(Attempt)
        .where(
            Attempt.assessment_id == assessment.id,
            Attempt.learner_ref == learner_ref,
            Attempt.centre_id.is_not_distinct_from(centre_id),
        )
        .order_by(Attempt.id)
    ).all()
    open_attempts = [a for a in previous if a.status == "in_progress" and now <= a.deadline]
    if open_attempts:
        return open_attempts[-1]
    # The seed names the learner and the attempt number: the same learner's form can be
    # rebuilt; another learner's is drawn differently.
    seed = f"{assessment.code}|{centre_id or '-'}|{learner_ref}|{len(previous) + 1}"
    bank = keys_for(session, assessment.unit_id)
    criteria = [c.code for c in assessment.unit.criteria]
    codes = build_form(
        criteria,
        bank,
        assessment.objective_items_per_criterion,
        assessment.extended_responses,
        seed,
    )
    versions = dict(
        session.execute(select(Item.code, Item.current_version).where(Item.code.in_(codes))).all()
    )
    attempt = Attempt(
        uuid=new_uuid(),
        assessment=assessment,
        centre_id=centre_id,
        learner_ref=learner_ref,
        seed=seed,
        form=[{"item": c, "version": versions[c]} for c in codes],
        responses={},
        marks={},
        status="in_progress",
        started_at=now,
        deadline=now + timedelta(minutes=assessment.time_limit_minutes),
    )
    session.add(attempt)
    session.commit()
    return attempt


def form_items(session: Session, attempt: Attempt) -> list[tuple[Item, ItemVersion]]:
    """The attempt's items at the versions it was given, in form order."""
    codes = [entry["item"] for entry in attempt.form]
    rows = session.execute(
        select(Item, ItemVersion)
        .join(ItemVersion, ItemVersion.item_id == Item.id)
        .where(Item.code.in_(codes))
    ).all()
    wanted = {(e["item"], e["version"]) for e in attempt.form}
    found = {
        item.code: (item, version)
        for item, version in rows
        if (item.code, version.version) in wanted
    }
    return [found[code] for code in codes]


def _keys(session: Session, attempt: Attempt) -> list:
    unit = attempt.assessment.unit
    maxima = rubric_max_scores(session, unit.id)
    return [
        item_key(unit.code, version.body, maxima) for _, version in form_items(session, attempt)
    ]


def save_responses(
    session: Session, attempt: Attempt, responses: dict[str, Any], now: datetime | None = None
) -> Attempt:
    now = now or utcnow()
    if attempt.status != "in_progress":
        raise AttemptError(409, "This attempt has been submitted; responses can no longer change.")
    if now > attempt.deadline + GRACE:
        raise AttemptError(409, "The time limit has passed; submit the attempt to be scored.")
    _validate(_keys(session, attempt), responses)
    attempt.responses = {**attempt.responses, **responses}
    session.commit()
    return attempt


def _validate(keys: list, responses: dict[str, Any]) -> None:
    by_id = {k.id: k for k in keys}
    errors = {}
    for item_id, response in responses.items():
        if item_id not in by_id:
            errors[item_id] = ["This item is not part of the attempt."]
            continue
        try:
            check_response(by_id[item_id], response)
        except ResponseError as exc:
            errors[item_id] = [str(exc)]
    if errors:
        raise AttemptError(422, "Some responses do not fit their items.", errors)


def rules_for(assessment: Assessment) -> GradingRules:
    unit = assessment.unit
    return GradingRules(
        grading=unit.grading,
        criteria=tuple(CriterionRule(c.code, c.current.band) for c in unit.criteria),
        pass_mark_percent=assessment.pass_mark_percent,
        mastery_percent=assessment.mastery_percent,
    )


def _grade(
    session: Session, attempt: Attempt, keys: list | None = None, levels: dict | None = None
) -> AttemptResult:
    """`keys` and `levels` when the caller has them already (marking loads both to check)."""
    if levels is None:
        levels = rubric_levels(session, attempt.assessment.unit_id)
    if keys is None:
        keys = _keys(session, attempt)
    marks = {
        item: {
            criterion: LevelMark(quality, _score(levels[criterion], quality))
            for criterion, quality in by_criterion.items()
        }
        for item, by_criterion in attempt.marks.items()
    }
    return grade_attempt(rules_for(attempt.assessment), keys, attempt.responses, marks)


def _score(levels: list[dict], quality: str) -> int:
    return next(level["score"] for level in levels if level["quality"] == quality)


def _result_values(result: AttemptResult) -> dict:
    return {
        "status": result.status,
        "score": result.score,
        "max_score": result.max_score,
        "percent": result.percent,
        "grade": result.grade,
        "result": {
            "items": [asdict(s) for s in result.items],
            "criteria": [
                {"criterion": d.criterion, "decision": d.decision, "evidence": list(d.evidence)}
                for d in result.criteria
            ],
        },
    }


def submit(
    session: Session,
    attempt: Attempt,
    responses: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> tuple[Attempt, bool]:
    """Score the attempt once. Returns (attempt, whether this call submitted it): a second
    submission, even a concurrent one, changes nothing."""
    now = now or utcnow()
    if attempt.status != "in_progress":
        return attempt, False
    if responses:
        save_responses(session, attempt, responses, now)
    values = _result_values(_grade(session, attempt))
    done = session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.status == "in_progress")
        .values(
            submitted_at=now,
            graded_at=now if values["status"] == "fully_graded" else None,
            **values,
        )
    ).rowcount
    session.commit()
    session.refresh(attempt)
    return attempt, bool(done)


def mark(
    session: Session,
    attempt: Attempt,
    item_code: str,
    levels: dict[str, str],
    now: datetime | None = None,
) -> Attempt:
    """An assessor's rubric level for each criterion an extended response evidences."""
    if attempt.status == "in_progress":
        raise AttemptError(409, "The attempt has not been submitted yet.")
    keys = {k.id: k for k in _keys(session, attempt)}
    key = keys.get(item_code)
    if key is None or key.type != EXTENDED:
        raise AttemptError(
            422,
            f"{item_code} is not an extended response in this attempt.",
            {"item": ["Not an extended response of this attempt."]},
        )
    rubrics = rubric_levels(session, attempt.assessment.unit_id)
    errors = {}
    for criterion in key.criteria:
        allowed = [level["quality"] for level in rubrics[criterion]]
        if levels.get(criterion) not in allowed:
            errors[criterion] = [f"Choose one of: {', '.join(allowed)}."]
    for criterion in set(levels) - set(key.criteria):
        errors[criterion] = ["This item does not evidence this criterion."]
    if errors:
        raise AttemptError(
            422, "Give a rubric level for every criterion the item evidences.", errors
        )
    attempt.marks = {**attempt.marks, item_code: dict(levels)}
    values = _result_values(_grade(session, attempt, list(keys.values()), rubrics))
    for name, value in values.items():
        setattr(attempt, name, value)
    if attempt.status == "fully_graded":
        attempt.graded_at = now or utcnow()
    session.commit()
    return attempt


def find_attempt(session: Session, attempt_uuid: str) -> Attempt | None:
    return session.scalar(select(Attempt).where(Attempt.uuid == attempt_uuid))


def attempt_view(session: Session, attempt: Attempt) -> dict:
    """The attempt as its learner (or the centre) sees it; feedback only after submission."""
    pairs = form_items(session, attempt)
    view = {
        "id": attempt.uuid,
        "assessment": attempt.assessment.code,
        "learner_ref": attempt.learner_ref,
        "status": attempt.status,
        "grading_progress": GRADING_PROGRESS[attempt.status],
        "started_at": attempt.started_at,
        "deadline": attempt.deadline,
        "submitted_at": attempt.submitted_at,
        "items": [learner_view(item, version, attempt.seed) for item, version in pairs],
        "responses": attempt.responses,
        "result": None,
    }
    if attempt.result is not None:
        bodies = {item.code: version.body for item, version in pairs}
        view["result"] = {
            "score": attempt.score,
            "max_score": attempt.max_score,
            "percent": attempt.percent,
            "grade": attempt.grade,
            "criteria": attempt.result["criteria"],
            "items": [
                {
                    **entry,
                    "feedback": feedback_for(
                        bodies[entry["item_id"]], attempt.responses.get(entry["item_id"])
                    ),
                }
                for entry in attempt.result["items"]
            ],
        }
    return view

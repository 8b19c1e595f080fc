"""Attempts: start (or resume), save responses, submit (once), and mark extended responses.

Plain domain code: a SQLAlchemy session in, models out; scoring is the grading engine's. These
functions never commit: the caller (a REST view, an LTI page, the CLI) owns the transaction and
commits or rolls back. Refusals are typed errors (AttemptError and subclasses) with no HTTP in
them; each edge maps them to its own answer.

Concurrency (several gunicorn workers, several hosts):
- Responses are rows, one per attempt and item, written with an upsert: saves of different items
  never overwrite each other; a save of the same item is last writer wins, by server time.
- Every write to an attempt (save, submit, mark) first takes the attempt row's write lock with
  `UPDATE attempts SET version = version + 1` (a row lock on PostgreSQL, the database write lock
  on SQLite) and only then reads the attempt's state. Writes to one attempt are therefore
  serialised: a save that commits before a submit is in the submit's score; a save arriving after
  a submit committed sees the new status and is refused (AttemptClosed), never silently dropped.
- Marking applies on top of the marks already stored (different items or criteria both stay;
  the same criterion is last writer wins) and regrades from what its transaction reads, so the
  stored result always equals the grading of the stored responses and marks.
- At most one open attempt per learner and assessment is a unique partial index; the loser of
  two simultaneous starts rolls back and gets the winner's attempt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from lti import grade_sync
from service import learners, webhooks
from service.access_arrangements import clock_view, first_deadline, keep_page_open, live_deadline
from service.attempt_access import Learner, learner_attempts
from service.attempt_mode import AttemptMode
from service.bank import (
    FormItem,
    current_versions,
    form_item_view,
    form_items_of_unit,
    keys_for,
    rubric_levels,
    rubric_max_scores,
    unit_criteria,
)
from service.choice_ids import ChoiceIds, UnknownChoice
from service.comments import current_comments
from service.feedback import feedback_for
from service.grading.engine import (
    AttemptResult,
    CriterionRule,
    GradingRules,
    grade_attempt,
)
from service.grading.forms import FormError, build_form
from service.grading.scoring import EXTENDED, LevelMark, ResponseError, check_response
from service.grading.vocabulary import GRADING_PROGRESS, AttemptStatus, Decision
from service.identifiers import new_uuid
from service.item_keys import item_key
from service.models import (
    Assessment,
    Attempt,
    AttemptComment,
    AttemptCriterionDecision,
    AttemptItem,
    AttemptItemScore,
    AttemptMark,
    AttemptMarkEvent,
    AttemptResponse,
    AttemptRestBreak,
    Item,
    ItemVersion,
    utcnow,
)
from service.upserts import upsert

# Saving is accepted this long after the deadline: the last autosave may be in flight.
GRACE = timedelta(seconds=30)


class AttemptError(Exception):
    """A request the attempt does not allow. `details` maps a field or item id to messages."""

    def __init__(self, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.message, self.details = message, details or {}


class AttemptClosed(AttemptError):
    """The attempt has been submitted: its responses can no longer change."""

    def __init__(self) -> None:
        super().__init__("This attempt has been submitted; responses can no longer change.")


class TimeLimitPassed(AttemptError):
    def __init__(self) -> None:
        super().__init__("The time limit has passed; submit the attempt to be scored.")


class NotStarted(AttemptError):
    """The learner has not chosen Start: the clock is not running and nothing is saved."""

    def __init__(self) -> None:
        super().__init__("The attempt has not been started; choose Start first.")


class OnBreak(AttemptError):
    """The learner is on a rest break: the clock is stopped and answers wait until it ends."""

    def __init__(self) -> None:
        super().__init__("You are on a rest break; end the break to carry on answering.")


class NoLiveForm(AttemptError):
    """Delivery is limited to approved items, and too few are approved to fill a form."""

    def __init__(self, problem: str) -> None:
        super().__init__(
            "Not enough items of this assessment are approved for live use to build a form "
            f"({problem}).",
        )


class NotSubmitted(AttemptError):
    def __init__(self) -> None:
        super().__init__("The attempt has not been submitted yet.")


class InvalidResponses(AttemptError):
    """Responses that do not fit their items; `details` has the messages per item id."""


class NotAnExtendedResponse(AttemptError):
    def __init__(self, item_code: str) -> None:
        super().__init__(
            f"{item_code} is not an extended response in this attempt.",
            {"item": ["Not an extended response of this attempt."]},
        )


class InvalidMarks(AttemptError):
    """Rubric levels that do not fit the item's criteria; `details` per criterion."""


class InvalidComment(AttemptError):
    """A comment about a criterion the attempt does not assess, or too long; `details` says."""


class MarksChanged(AttemptError):
    """Another assessor changed this item's marks after the caller read them: nothing is
    overwritten; `details` has the levels now stored, per criterion."""

    def __init__(self, item_code: str, stored: dict[str, str]) -> None:
        super().__init__(
            f"Another assessor changed the marks of {item_code} since you read them. "
            "Review their levels and mark again.",
            {criterion: [quality] for criterion, quality in sorted(stored.items())},
        )


# ---------------------------------------------------------------------------- locking


def _lock(session: Session, attempt: Attempt) -> Attempt:
    """Take the attempt row's write lock, then reread the attempt (what other transactions
    committed before we got the lock is what we now see). On SQLite the UPDATE is the first
    statement of the transaction, so it holds the write lock before any read of the attempt."""
    session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id)
        .values(version=Attempt.version + 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(attempt)
    return attempt


# ---------------------------------------------------------------------------- start


def _open_attempt(found: Sequence[Attempt]) -> tuple[Attempt | None, int]:
    """The open attempt among the learner's (oldest first), and how many they have."""
    current = next((a for a in reversed(found) if a.status == AttemptStatus.IN_PROGRESS), None)
    return current, len(found)


CREATED_ATTEMPTS = "attempts created"


def was_created(session: Session, attempt: Attempt) -> bool:
    """Whether `attempt` was created (not resumed) by a start in this session."""
    return attempt.id in session.info.get(CREATED_ATTEMPTS, ())


def start_attempt(
    session: Session,
    assessment: Assessment,
    learner: Learner,
    now: datetime | None = None,
    resource_link_id: int | ColumnElement[int] | None = None,
    start_clock: bool = True,
    approved_only: bool = False,
    attempts: Sequence[Attempt] | None = None,
) -> Attempt:
    """Resume the learner's open attempt, or start a new one with a reproducible form.
    `resource_link_id`: the LTI course activity (lti_resource_links.id) it is started from, or
    a scalar subquery finding it (then read by the INSERT itself, not by a round trip first).
    `start_clock`: the clock starts now, as the attempt is opened; False leaves it for the
    learner's Start (service.attempt_clock.start). `approved_only`: the form draws only items
    approved for live use (the DELIVER_APPROVED_ONLY setting; a pool too thin raises FormError).
    `attempts`: the learner's attempts at the assessment, oldest first, when the caller has
    just read them in this transaction (learner_attempts); None reads them here.

    An open attempt past its deadline (and grace) is submitted with what was saved, then a new
    one starts. Two starts at the same moment: the database lets one insert; the other rolls
    back and returns the winner's attempt (so callers must not have other pending writes)."""
    now = now or utcnow()
    if attempts is None:
        attempts = learner_attempts(session, assessment, learner)
    current, count = _open_attempt(attempts)
    if current is not None:
        deadline = live_deadline(session, current, now)  # an open break counts to now
        if deadline is None or now <= deadline + GRACE:
            return current
        submit(session, current, None, now)
    seed, codes = draw_form(session, assessment, learner, count + 1, approved_only)
    versions = current_versions(session, assessment.unit_id)
    started_at = now if start_clock else None
    attempt = Attempt(
        uuid=new_uuid(),
        assessment=assessment,
        centre_id=learner.centre_id,
        learner_ref=learner.ref,
        lti_platform_id=learner.lti_platform_id,
        lti_sub=learner.lti_sub,
        lti_resource_link_id=resource_link_id,
        seed=seed,
        status=AttemptStatus.IN_PROGRESS,
        version=1,
        opened_at=now,
        started_at=started_at,
        # Written with the row: a new attempt has no rest break, so its deadline follows from
        # Start and the learner's access arrangements alone (no read back, no UPDATE).
        deadline=first_deadline(session, learner, assessment, now) if start_clock else None,
        rest_breaks=[],  # known: the clock's readers load nothing
    )
    session.add(attempt)
    try:
        session.flush()
    except IntegrityError:
        # Another start for this learner committed first: theirs is the open attempt.
        session.rollback()
        winner, _ = _open_attempt(learner_attempts(session, assessment, learner))
        if winner is None:
            raise
        return winner
    # The form's rows in one Core statement: a class starting at once pays the ORM's unit of
    # work for an attempt, not for each of its items (half the CPU of flushing 17 objects).
    # `attempt.items` stays unloaded: a caller that reads the form loads it.
    session.execute(
        insert(AttemptItem),
        [
            {"attempt_id": attempt.id, "position": n, "item_code": c, "item_version": versions[c]}
            for n, c in enumerate(codes, 1)
        ],
    )
    # Read by was_created: the API answers 201 for a new attempt, 200 for one resumed.
    session.info.setdefault(CREATED_ATTEMPTS, set()).add(attempt.id)
    learners.identify(session, learner)
    keep_page_open(session, attempt)
    return attempt


def draw_form(
    session: Session, assessment: Assessment, learner: Learner, number: int, approved_only: bool
) -> tuple[str, list[str]]:
    """The seed and item codes of the learner's attempt number `number` (from 1), drawn from
    the content this process keeps (no database read once kept). The start page shows its
    question count before any attempt exists; Start draws the same form.
    Raises NoLiveForm when `approved_only` leaves too few items for a form."""
    # The seed names the learner and the attempt number: the same learner's form can be
    # rebuilt; another learner's is drawn differently. Stored as a fixed-length digest.
    description = f"{assessment.code}|{learner.centre_id or '-'}|{learner.ref}|{number}"
    seed = hashlib.sha256(description.encode()).hexdigest()
    bank = keys_for(session, assessment.unit_id, approved_only)
    rules = rules_for(assessment, session)
    try:
        codes = build_form(
            [c.code for c in rules.criteria],
            bank,
            assessment.auto_items_per_criterion,
            assessment.extended_responses,
            seed,
            needs_extended=rules.assessor_decided,
        )
    except FormError as exc:
        if not approved_only:
            raise  # the content check proved the whole bank fills a form: a bug
        raise NoLiveForm(str(exc)) from exc
    return seed, codes


# ---------------------------------------------------------------------------- reading


def form_items(session: Session, attempt: Attempt) -> list[tuple[Item, ItemVersion]]:
    """The attempt's items at the versions it was given, in form order."""
    form = attempt.form
    codes = [entry["item"] for entry in form]
    rows = session.execute(
        select(Item, ItemVersion)
        .join(ItemVersion, ItemVersion.item_id == Item.id)
        .where(Item.code.in_(codes))
    ).all()
    wanted = {(e["item"], e["version"]) for e in form}
    found = {
        item.code: (item, version)
        for item, version in rows
        if (item.code, version.version) in wanted
    }
    return [found[code] for code in codes]


# What attempt_view and the attempt's clock read of the attempt (its form, responses and rest
# breaks), as loader options for the query that reads the attempt: one statement each at most.
VIEW_LOADING = (
    joinedload(Attempt.items),
    selectinload(Attempt.response_rows),
    selectinload(Attempt.rest_breaks),
)


def form_of(session: Session, attempt: Attempt) -> list[FormItem]:
    """The attempt's items at the versions it was given, in form order, from the unit's items
    kept per content version (no read per page). An item not of the assessment's unit (none
    is drawn so) is read as form_items reads it."""
    form = attempt.form
    kept = form_items_of_unit(session, attempt.assessment.unit_id)
    if all((e["item"], e["version"]) in kept for e in form):
        return [kept[(e["item"], e["version"])] for e in form]
    return [
        FormItem(item.code, item.uuid, item.unit.code, item.sample, version.version, version.body)
        for item, version in form_items(session, attempt)
    ]


def _keys(session: Session, attempt: Attempt) -> list:
    unit = attempt.assessment.unit
    maxima = rubric_max_scores(session, unit.id)
    return [
        item_key(unit.code, version.body, maxima) for _, version in form_items(session, attempt)
    ]


def _stored_responses(session: Session, attempt: Attempt) -> dict[str, Any]:
    rows = session.execute(
        select(AttemptResponse.item_code, AttemptResponse.response).where(
            AttemptResponse.attempt_id == attempt.id
        )
    )
    return dict(rows.all())


def _stored_marks(session: Session, attempt: Attempt) -> dict[str, dict[str, str]]:
    marks: dict[str, dict[str, str]] = {}
    rows = session.execute(
        select(AttemptMark.item_code, AttemptMark.criterion_code, AttemptMark.quality).where(
            AttemptMark.attempt_id == attempt.id
        )
    )
    for item, criterion, quality in rows:
        marks.setdefault(item, {})[criterion] = quality
    return marks


# ---------------------------------------------------------------------------- saving


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
        raise InvalidResponses("Some responses do not fit their items.", errors)


def _store(session: Session, attempt: Attempt, responses: dict[str, Any], now: datetime) -> None:
    rows = [
        {"attempt_id": attempt.id, "item_code": code, "response": value, "saved_at": now}
        for code, value in responses.items()
    ]
    upsert(session, AttemptResponse, ["attempt_id", "item_code"], rows, ["response", "saved_at"])


def save_responses(
    session: Session, attempt: Attempt, responses: dict[str, Any], now: datetime | None = None
) -> Attempt:
    """Store responses (merged with those saved before), under the attempt's lock."""
    _validate(_keys(session, attempt), responses)  # the form never changes: check before locking
    _lock(session, attempt)
    now = now or utcnow()  # taken under the lock: saved_at orders saves as they committed
    if attempt.status != AttemptStatus.IN_PROGRESS:
        raise AttemptClosed()
    check_clock(session, attempt, now)
    _store(session, attempt, responses, now)
    session.expire(attempt)
    return attempt


def check_clock(session: Session, attempt: Attempt, now: datetime) -> None:
    """Whether answers may be saved at `now`: started, not on a rest break, and within the
    deadline. The last autosave may be in flight: GRACE after the deadline or the start of a
    break is still accepted."""
    if attempt.deadline is None:
        raise NotStarted()
    open_break = open_rest_break(session, attempt)
    if open_break is not None:
        if now > open_break.started_at + GRACE:
            raise OnBreak()
        return
    if now > attempt.deadline + GRACE:
        raise TimeLimitPassed()


def open_rest_break(session: Session, attempt: Attempt) -> AttemptRestBreak | None:
    return session.scalar(
        select(AttemptRestBreak).where(
            AttemptRestBreak.attempt_id == attempt.id, AttemptRestBreak.ended_at.is_(None)
        )
    )


# ---------------------------------------------------------------------------- grading


def rules_for(assessment: Assessment, session: Session | None = None) -> GradingRules:
    """The assessment's grading rules. With `session`, the unit's criteria come from what the
    process keeps per content version (service.bank.unit_criteria) instead of lazy loads."""
    unit = assessment.unit
    if session is None:
        criteria = tuple(
            CriterionRule(c.code, c.current.band, c.current.evidence_type) for c in unit.criteria
        )
    else:
        criteria = tuple(
            CriterionRule(c.code, c.band, c.evidence_type) for c in unit_criteria(session, unit.id)
        )
    return GradingRules(
        grading=unit.grading, criteria=criteria, mastery_percent=assessment.mastery_percent
    )


def _grade(session: Session, attempt: Attempt, keys: list, levels: dict) -> AttemptResult:
    """Grade from the responses and marks this transaction reads from the database."""
    marks = {
        item: {
            criterion: LevelMark(quality, _score(levels[criterion], quality))
            for criterion, quality in by_criterion.items()
        }
        for item, by_criterion in _stored_marks(session, attempt).items()
    }
    responses = _stored_responses(session, attempt)
    return grade_attempt(rules_for(attempt.assessment, session), keys, responses, marks)


def _score(levels: list[dict], quality: str) -> int:
    return next(level["score"] for level in levels if level["quality"] == quality)


def _record(session: Session, attempt: Attempt, result: AttemptResult, now: datetime) -> None:
    """Store a grading: the attempt's totals, its item scores and criterion decisions."""
    # What the centre's webhooks compare the new grading with (None: it has none).
    before = webhooks.before_grading(session, attempt)
    session.execute(delete(AttemptItemScore).where(AttemptItemScore.attempt_id == attempt.id))
    session.execute(
        delete(AttemptCriterionDecision).where(AttemptCriterionDecision.attempt_id == attempt.id)
    )
    session.execute(
        insert(AttemptItemScore),
        [
            {
                "attempt_id": attempt.id,
                "item_code": s.item_id,
                "score": s.score,
                "max_score": s.max_score,
                "pending": s.pending,
            }
            for s in result.items
        ],
    )
    session.execute(
        insert(AttemptCriterionDecision),
        [
            {
                "attempt_id": attempt.id,
                "criterion_code": d.criterion,
                "decision": d.decision,
                "evidence": list(d.evidence),
            }
            for d in result.criteria
        ],
    )
    attempt.status = result.status
    attempt.score, attempt.max_score = result.score, result.max_score
    attempt.percent, attempt.grade = result.percent, result.grade
    if result.status == AttemptStatus.FULLY_GRADED:
        attempt.graded_at = now
    session.flush()
    session.expire(attempt)
    # The score for the course's gradebook commits (or rolls back) with the grade it carries.
    grade_sync.record(session, attempt, now)
    # So are the centre's webhook events (sent later by `assessment worker`).
    webhooks.attempt_graded(session, attempt, before, now)


def submit(
    session: Session,
    attempt: Attempt,
    responses: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> tuple[Attempt, bool]:
    """Score the attempt once. Returns (attempt, whether this call submitted it): a second
    submission, even a concurrent one, changes nothing. The score is computed from the
    responses this transaction reads under the attempt's lock."""
    keys = _keys(session, attempt)
    if responses:
        _validate(keys, responses)
    _lock(session, attempt)
    now = now or utcnow()
    if attempt.status != AttemptStatus.IN_PROGRESS:
        return attempt, False
    if responses:
        check_clock(session, attempt, now)
        _store(session, attempt, responses, now)
    open_break = open_rest_break(session, attempt)
    if open_break is not None:  # submitted on a break: the break ends with the attempt
        open_break.ended_at = max(now, open_break.started_at)
    attempt.submitted_at = now
    _record(session, attempt, _grade(session, attempt, keys, _levels(session, attempt)), now)
    return attempt, True


def _levels(session: Session, attempt: Attempt) -> dict:
    return rubric_levels(session, attempt.assessment.unit_id)


def mark(
    session: Session,
    attempt: Attempt,
    item_code: str,
    levels: dict[str, str],
    now: datetime | None = None,
    marked_by: str | None = None,
    previous: dict[str, str] | None = None,
) -> Attempt:
    """An assessor's rubric level for each criterion an extended response evidences. Applied
    on top of the marks stored when this transaction holds the lock, then regraded.

    `previous` is the item's levels as the assessor saw them ({} for unmarked). When given and
    the stored levels differ, another assessor marked in between: MarksChanged, nothing written.
    Without it the later mark of a criterion wins (API callers that do not read first)."""
    keys = {k.id: k for k in _keys(session, attempt)}
    key = keys.get(item_code)
    if key is None or key.type != EXTENDED:
        raise NotAnExtendedResponse(item_code)
    rubrics = _levels(session, attempt)
    errors = {}
    for criterion in key.criteria:
        allowed = [level["quality"] for level in rubrics[criterion]]
        if levels.get(criterion) not in allowed:
            errors[criterion] = [f"Choose one of: {', '.join(allowed)}."]
    for criterion in set(levels) - set(key.criteria):
        errors[criterion] = ["This item does not evidence this criterion."]
    if errors:
        raise InvalidMarks("Give a rubric level for every criterion the item evidences.", errors)
    _lock(session, attempt)
    now = now or utcnow()
    if attempt.status == AttemptStatus.IN_PROGRESS:
        raise NotSubmitted()
    stored = _stored_marks(session, attempt).get(item_code, {})
    if previous is not None and stored != previous:
        raise MarksChanged(item_code, stored)
    # Every decision is kept, with the level it replaced: attempt_marks keeps only the latest.
    session.add_all(
        AttemptMarkEvent(
            attempt_id=attempt.id,
            item_code=item_code,
            criterion_code=criterion,
            old_quality=stored.get(criterion),
            new_quality=quality,
            marked_by=marked_by,
            marked_at=now,
        )
        for criterion, quality in sorted(levels.items())
    )
    rows = [
        {
            "attempt_id": attempt.id,
            "item_code": item_code,
            "criterion_code": criterion,
            "quality": quality,
            "marked_by": marked_by,
            "marked_at": now,
        }
        for criterion, quality in levels.items()
    ]
    upsert(
        session,
        AttemptMark,
        ["attempt_id", "item_code", "criterion_code"],
        rows,
        ["quality", "marked_by", "marked_at"],
    )
    _record(session, attempt, _grade(session, attempt, list(keys.values()), rubrics), now)
    return attempt


# ---------------------------------------------------------------------------- comments

# Long enough for feedback on a criterion; a score comment must stay well within what LMS
# gradebooks keep.
COMMENT_MAX = 2000


def comment(
    session: Session,
    attempt: Attempt,
    texts: dict[str | None, str],
    author: str | None = None,
    now: datetime | None = None,
) -> list[AttemptComment]:
    """Write the assessor's comments to the learner: criterion code (None: the attempt as a
    whole) -> text; "" clears one. Only changed ones get a new row. Any change queues the
    gradebook's score again (its comment carries them), in the caller's transaction. Returns
    the rows written."""
    assessed = {d.criterion_code for d in attempt.decision_rows}
    errors = {}
    for code, text in texts.items():
        if code is not None and code not in assessed:
            errors[code] = ["This attempt does not assess this criterion."]
        elif len(text) > COMMENT_MAX:
            errors[code or "attempt"] = [f"Write at most {COMMENT_MAX} characters."]
    if errors:
        raise InvalidComment("These comments cannot be saved.", errors)
    _lock(session, attempt)
    now = now or utcnow()
    if attempt.status == AttemptStatus.IN_PROGRESS:
        raise NotSubmitted()
    current = current_comments(session, attempt.id)
    written = []
    for code, text in texts.items():
        text = text.strip()
        before = current[code].text if code in current else ""
        if text == before:
            continue
        row = AttemptComment(
            attempt_id=attempt.id, criterion_code=code, text=text, author=author, written_at=now
        )
        session.add(row)
        written.append(row)
    if written:
        session.flush()
        grade_sync.record(session, attempt, now)
    return written


def mark_history(session: Session, attempt_id: int) -> list[AttemptMarkEvent]:
    """Every marking decision of the attempt, oldest first."""
    return list(
        session.scalars(
            select(AttemptMarkEvent)
            .where(AttemptMarkEvent.attempt_id == attempt_id)
            .order_by(AttemptMarkEvent.id)
        )
    )


# ---------------------------------------------------------------------------- views


def find_attempt(session: Session, attempt_uuid: str) -> Attempt | None:
    return session.scalar(select(Attempt).where(Attempt.uuid == attempt_uuid))


def write_receipt(attempt: Attempt) -> dict:
    """What a write-only caller gets back: no items, responses or results."""
    return {
        "id": attempt.uuid,
        "status": attempt.status,
        "grading_progress": GRADING_PROGRESS[attempt.status],
        "deadline": attempt.deadline,
        "submitted_at": attempt.submitted_at,
        "saved": [{"item": r.item_code, "saved_at": r.saved_at} for r in attempt.response_rows],
    }


def choice_ids(attempt: Attempt, secret: str) -> ChoiceIds:
    """The attempt's opaque choice ids; `secret` is the server's (never sent anywhere)."""
    return ChoiceIds(secret, attempt.uuid)


def from_learner(
    session: Session, attempt: Attempt, responses: dict[str, Any], secret: str
) -> dict[str, Any]:
    """Responses as a learner sends them (the attempt's opaque choice ids) in bank ids, ready
    to save or submit. A choice id that is not the item's in this attempt is refused."""
    bodies = {item.code: item.body for item in form_of(session, attempt)}
    ids = choice_ids(attempt, secret)
    translated, errors = {}, {}
    for code, response in responses.items():
        if code not in bodies:
            translated[code] = response  # _validate says it is not part of the attempt
            continue
        try:
            translated[code] = ids.from_learner(bodies[code], response)
        except UnknownChoice as exc:
            errors[code] = [str(exc)]
    if errors:
        raise InvalidResponses("Some responses name choices this attempt does not show.", errors)
    return translated


def attempt_view(session: Session, attempt: Attempt, secret: str) -> dict:
    """The attempt as its learner (or the centre) sees it; feedback only after submission.
    Choices and responses carry the attempt's opaque choice ids, never the bank's."""
    form = form_of(session, attempt)
    ids = choice_ids(attempt, secret)
    stored = attempt.responses
    bodies = {item.code: item.body for item in form}
    shown = {code: ids.to_learner(bodies[code], r) for code, r in stored.items() if code in bodies}
    view = {
        "id": attempt.uuid,
        "assessment": attempt.assessment.code,
        "learner_ref": attempt.learner_ref,
        "status": attempt.status,
        "grading_progress": GRADING_PROGRESS[attempt.status],
        "started_at": attempt.started_at,
        "deadline": attempt.deadline,
        "submitted_at": attempt.submitted_at,
        "items": [form_item_view(item, ids) for item in form],
        "responses": shown,
        "saved": [{"item": r.item_code, "saved_at": r.saved_at} for r in attempt.response_rows],
        "result": None,
        "clock": clock_view(session, attempt),
    }
    result = attempt.result
    if result is not None:
        view["result"] = {
            "score": attempt.score,
            "max_score": attempt.max_score,
            "percent": attempt.percent,
            "grade": attempt.grade,
            "criteria": result["criteria"],
            "items": [
                {
                    **entry,
                    "feedback": feedback_for(
                        bodies[entry["item_id"]], stored.get(entry["item_id"])
                    ),
                }
                for entry in result["items"]
            ],
        }
    return view


# ---------------------------------------------------------------------------- taken elsewhere


class InvalidRecord(AttemptError):
    """An attempt taken elsewhere that cannot be recorded as sent (422)."""


def record_taken_elsewhere(
    session: Session,
    assessment: Assessment,
    learner: Learner,
    mode: AttemptMode,
    taken_on,
    recorded_by: str,
    responses: dict[str, Any] | None = None,
    decisions: dict[str, str] | None = None,
    now: datetime | None = None,
) -> Attempt:
    """An attempt taken on paper or another platform, stored as a submitted Attempt so that
    listings, unit status and coverage count it.

    - `responses` (item code -> response, with the bank's own choice ids, as on the paper
      form): the form is the items answered, scored by the engine like an online attempt; an
      extended response waits for an assessor's marks (POST /attempts/{id}/marks).
    - `decisions` (criterion code -> met / not_yet_met, judged by the assessor `recorded_by`):
      stored as the criteria's decisions with no item evidence and no score; a criterion of
      the unit not named is not_evidenced (performance criteria still need performance
      evidence for the unit, as for online attempts). Fully graded at once.
    """
    now = now or utcnow()
    unit = assessment.unit
    attempt = Attempt(
        uuid=new_uuid(),
        assessment=assessment,
        centre_id=learner.centre_id,
        learner_ref=learner.ref,
        seed=hashlib.sha256(f"recorded:{new_uuid()}".encode()).hexdigest(),
        # Never in_progress: the one-open-attempt index is about online attempts.
        status=AttemptStatus.PENDING_MANUAL,
        version=1,
        opened_at=now,
        submitted_at=now,
        mode=mode,
        taken_on=taken_on,
        recorded_by=recorded_by,
    )
    if responses is not None:
        codes = list(responses)
        found = dict(
            session.execute(
                select(Item.code, Item.current_version).where(
                    Item.code.in_(codes), Item.unit_id == unit.id
                )
            ).all()
        )
        unknown = {c: ["Not an item of this assessment's unit."] for c in codes if c not in found}
        if unknown:
            raise InvalidRecord("Some responses name items outside the unit.", unknown)
        attempt.items = [
            AttemptItem(position=n, item_code=c, item_version=found[c])
            for n, c in enumerate(codes, 1)
        ]
        session.add(attempt)
        session.flush()
        keys = _keys(session, attempt)
        _validate(keys, responses)
        _store(session, attempt, responses, now)
        _record(session, attempt, _grade(session, attempt, keys, _levels(session, attempt)), now)
    else:
        criteria = {c.code: c for c in unit.criteria}
        wrong = {
            code: ["Not a criterion of this assessment's unit."]
            for code in decisions
            if code not in criteria
        }
        if wrong:
            raise InvalidRecord("Some decisions name criteria this attempt cannot decide.", wrong)
        session.add(attempt)
        session.flush()
        session.execute(
            insert(AttemptCriterionDecision),
            [
                {
                    "attempt_id": attempt.id,
                    "criterion_code": code,
                    "decision": decisions.get(code, Decision.NOT_EVIDENCED),
                    "evidence": [],
                }
                for code in criteria
            ],
        )
        attempt.status = AttemptStatus.FULLY_GRADED
        attempt.graded_at = now
        session.flush()
    learners.identify(session, learner)
    return attempt

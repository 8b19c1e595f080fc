"""What an attempt's gradebook should show, queued for the platform in the transaction that
changed it (a transactional outbox; `assessment worker` sends it: lti/passback_worker.py).

Called by service.attempts whenever it stores a grading (submit, each marking decision), so a
grade and the score that carries it commit or roll back together. Nothing here talks HTTP.

Per attempt started from an LTI course activity with the score scope:
- the activity's line item: scoreGiven is the percentage (the deep link declares
  scoreMaximum 100), `Submitted` + `PendingManual` while extended responses await an assessor
  (Moodle blanks the gradebook cell until `FullyGraded`), then `Completed` + `FullyGraded`;
  its comment names the criteria met and not yet met, then the assessor's comments to the
  learner (per criterion and on the whole attempt: service.attempts.comment);
- where the platform shows criterion columns (line item scope; on Canvas only if the deployment
  chose assignments): one line item per criterion, 1 met, 0 not yet met, nothing while pending.
A state equal to the last one queued for that learner and line item is not queued again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lti.ags import SCOPE_LINEITEM, SCOPE_SCORE, ActivityProgress, GradingProgress
from lti.gradebook_vocabulary import CanvasCriteria, DeliveryStatus, LineItemTag
from lti.models import LtiDeployment, LtiLineItem, LtiResourceLink, ScoreDelivery
from service.comments import current_comments
from service.grading.vocabulary import AttemptStatus, Decision
from service.models import Attempt, Criterion, CriterionVersion
from service.upserts import insert_for

# Moodle compares score timestamps in whole seconds: successive states of one learner and line
# item are at least this far apart, or the later one would be refused as not newer.
TIMESTAMP_STEP = timedelta(seconds=1)
LABEL_MAX = 255
SHORT_TITLE = 60


# ---------------------------------------------------------------------------- pure


@dataclass(frozen=True)
class CriterionOutcome:
    code: str
    title: str
    decision: Decision
    comment: str | None = None


@dataclass(frozen=True)
class ScoreState:
    """One score as a platform should hold it (the fields of an AGS score but the user and
    the timestamp)."""

    score_given: float | None
    score_maximum: float | None
    activity_progress: ActivityProgress
    grading_progress: GradingProgress
    comment: str | None

    @classmethod
    def of(cls, row: ScoreDelivery) -> ScoreState:
        return cls(
            row.score_given,
            row.score_maximum,
            ActivityProgress(row.activity_progress),
            GradingProgress(row.grading_progress),
            row.comment,
        )


def coverage_comment(criteria: list[CriterionOutcome], assessor_comment: str | None = None) -> str:
    """The score comment: the criteria met, not yet met and awaiting an assessor, then what
    the assessor wrote to the learner."""
    lines = []
    for decision, heading in (
        (Decision.MET, "Criteria met"),
        (Decision.NOT_YET_MET, "Criteria not yet met"),
        (Decision.PENDING, "Awaiting an assessor"),
    ):
        codes = [c.code for c in criteria if c.decision == decision]
        if codes:
            lines.append(f"{heading}: {', '.join(codes)}.")
    for c in criteria:
        if c.comment:
            lines.append(f"{c.code}: {c.comment}")
    if assessor_comment:
        lines.append(assessor_comment)
    return "\n".join(lines)


def activity_state(
    status: AttemptStatus,
    percent: float | None,
    criteria: list[CriterionOutcome],
    assessor_comment: str | None = None,
) -> ScoreState:
    graded = status == AttemptStatus.FULLY_GRADED
    return ScoreState(
        score_given=round(percent or 0.0, 2),
        score_maximum=100.0,
        activity_progress=ActivityProgress.COMPLETED if graded else ActivityProgress.SUBMITTED,
        grading_progress=GradingProgress.FULLY_GRADED if graded else GradingProgress.PENDING_MANUAL,
        comment=coverage_comment(criteria, assessor_comment) or None,
    )


def criterion_state(outcome: CriterionOutcome) -> ScoreState | None:
    """1 met, 0 not yet met; nothing while pending or not evidenced by this attempt."""
    if outcome.decision not in (Decision.MET, Decision.NOT_YET_MET):
        return None
    return ScoreState(
        score_given=1.0 if outcome.decision == Decision.MET else 0.0,
        score_maximum=1.0,
        activity_progress=ActivityProgress.COMPLETED,
        grading_progress=GradingProgress.FULLY_GRADED,
        comment=outcome.comment,
    )


def criterion_label(code: str, text: str) -> str:
    """The column heading: the code and a short title from the criterion's wording."""
    title = " ".join(text.split())
    if len(title) > SHORT_TITLE:
        title = title[: SHORT_TITLE - 1].rstrip() + "\u2026"
    return f"{code} {title}"[:LABEL_MAX]


def shows_criterion_columns(link: LtiResourceLink, canvas_criteria: CanvasCriteria) -> bool:
    """Whether the platform gets one line item per criterion (else the comment alone)."""
    if SCOPE_LINEITEM not in link.scopes:
        return False
    if link.product_family == "canvas":
        return canvas_criteria == CanvasCriteria.ASSIGNMENTS
    return True


def next_timestamp(now: datetime, last: datetime | None) -> datetime:
    """Strictly later than the last queued state of the same learner and line item, by at
    least TIMESTAMP_STEP."""
    return now if last is None or now >= last + TIMESTAMP_STEP else last + TIMESTAMP_STEP


# ---------------------------------------------------------------------------- the outbox


def _line_item(session: Session, link: LtiResourceLink, **values) -> LtiLineItem:
    """The link's line item row for this resource id, created if new. Two submits in one course
    may create the same one at once: the insert does nothing if the other won."""
    statement = insert_for(session, LtiLineItem).values(resource_link_pk=link.id, **values)
    session.execute(
        statement.on_conflict_do_nothing(index_elements=["resource_link_pk", "resource_id"])
    )
    return session.scalars(
        select(LtiLineItem).where(
            LtiLineItem.resource_link_pk == link.id,
            LtiLineItem.resource_id == values["resource_id"],
        )
    ).one()


def _outcomes(
    session: Session, attempt: Attempt, comments: dict | None = None
) -> list[CriterionOutcome]:
    """The attempt's criterion decisions with their current wording and the assessor's
    comment on each (`comments`: service.comments.current_comments), in criterion order."""
    comments = comments or {}
    decisions = {d.criterion_code: d.decision for d in attempt.decision_rows}
    rows = session.execute(
        select(Criterion.code, CriterionVersion.text)
        .join(
            CriterionVersion,
            (CriterionVersion.criterion_id == Criterion.id)
            & (CriterionVersion.version == Criterion.current_version),
        )
        .where(Criterion.code.in_(decisions))
        .order_by(Criterion.position)
    )
    return [
        CriterionOutcome(
            code,
            text,
            Decision(decisions[code]),
            comments[code].text if code in comments else None,
        )
        for code, text in rows
    ]


def canvas_choice(session: Session, link: LtiResourceLink) -> CanvasCriteria:
    """The link's deployment's choice for Canvas criteria (the default if it has no row)."""
    deployment = session.scalar(
        select(LtiDeployment).where(
            LtiDeployment.platform_id == link.platform_id,
            LtiDeployment.deployment_id == link.deployment_id,
        )
    )
    return deployment.canvas_criteria if deployment else CanvasCriteria.COMMENT


def desired_states(
    session: Session, attempt: Attempt, link: LtiResourceLink
) -> list[tuple[LtiLineItem, ScoreState]]:
    """Every line item of the link this attempt's grading should show, with its state."""
    canvas_criteria = canvas_choice(session, link)
    comments = current_comments(session, attempt.id)
    outcomes = _outcomes(session, attempt, comments)
    overall = comments[None].text if None in comments else None
    assessment = attempt.assessment
    wanted = [
        (
            _line_item(
                session,
                link,
                tag=LineItemTag.ASSESSMENT,
                resource_id=assessment.code,
                label=f"{assessment.code}: {assessment.title}"[:LABEL_MAX],
                score_maximum=100.0,
                url=link.ags_lineitem,
            ),
            activity_state(AttemptStatus(attempt.status), attempt.percent, outcomes, overall),
        )
    ]
    if shows_criterion_columns(link, canvas_criteria):
        for outcome in outcomes:
            state = criterion_state(outcome)
            if state is not None:
                item = _line_item(
                    session,
                    link,
                    tag=LineItemTag.CRITERION,
                    resource_id=outcome.code,
                    label=criterion_label(outcome.code, outcome.title),
                    score_maximum=1.0,
                )
                wanted.append((item, state))
    return wanted


def record(session: Session, attempt: Attempt, now: datetime) -> list[ScoreDelivery]:
    """Queue the attempt's current grading for its course's gradebook, in the caller's
    transaction (which holds the attempt's lock). Returns the rows queued."""
    if attempt.lti_resource_link_id is None or attempt.lti_sub is None:
        return []
    link = session.get(LtiResourceLink, attempt.lti_resource_link_id)
    if (
        link is None
        or SCOPE_SCORE not in link.scopes
        or attempt.status == AttemptStatus.IN_PROGRESS
    ):
        return []
    queued = []
    for line_item, state in desired_states(session, attempt, link):
        row = _enqueue(session, line_item, attempt, state, now)
        if row is not None:
            queued.append(row)
    return queued


def latest(session: Session, line_item_id: int, user_sub: str) -> ScoreDelivery | None:
    return session.scalars(
        select(ScoreDelivery)
        .where(ScoreDelivery.line_item_id == line_item_id, ScoreDelivery.user_sub == user_sub)
        .order_by(ScoreDelivery.id.desc())
        .limit(1)
    ).first()


def requeue(
    session: Session, attempt_id: int, line_item_id: int, user_sub: str, now: datetime
) -> ScoreDelivery | None:
    """Queue the learner's last sent state of a line item again, with a fresh timestamp, for a
    platform that lost or changed it (lti/reconcile.py). Only when that state is the newest
    row: a newer one still to be sent (or refused) must not be replaced by an older state.
    The attempt's write lock comes first (as service.attempts takes it), so a marking that
    queues a newer state cannot slip in between the read and the insert."""
    session.execute(
        update(Attempt)
        .where(Attempt.id == attempt_id)
        .values(version=Attempt.version + 1)
        .execution_options(synchronize_session=False)
    )
    last = latest(session, line_item_id, user_sub)
    if last is None or last.status != DeliveryStatus.SENT or last.attempt_id != attempt_id:
        return None
    attempt = session.get(Attempt, attempt_id)
    return _enqueue(session, last.line_item, attempt, ScoreState.of(last), now, again=True)


def _enqueue(
    session: Session,
    line_item: LtiLineItem,
    attempt: Attempt,
    state: ScoreState,
    now: datetime,
    again: bool = False,
) -> ScoreDelivery | None:
    """`again`: queue the state even if it equals the last one (a resend)."""
    last = latest(session, line_item.id, attempt.lti_sub)
    if (
        not again
        and last is not None
        and ScoreState.of(last) == state
        and last.status != DeliveryStatus.FAILED
    ):
        return None
    # What is not yet sent is replaced by this newer state; a row being sent now finishes,
    # and this one follows it with a later timestamp.
    session.execute(
        update(ScoreDelivery)
        .where(
            ScoreDelivery.line_item_id == line_item.id,
            ScoreDelivery.user_sub == attempt.lti_sub,
            ScoreDelivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.FAILED]),
        )
        .values(status=DeliveryStatus.SUPERSEDED, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    last_timestamp = session.scalar(
        select(func.max(ScoreDelivery.timestamp)).where(
            ScoreDelivery.line_item_id == line_item.id,
            ScoreDelivery.user_sub == attempt.lti_sub,
        )
    )
    row = ScoreDelivery(
        line_item_id=line_item.id,
        attempt_id=attempt.id,
        user_sub=attempt.lti_sub,
        score_given=state.score_given,
        score_maximum=state.score_maximum,
        activity_progress=state.activity_progress.value,
        grading_progress=state.grading_progress.value,
        comment=state.comment,
        timestamp=next_timestamp(now, last_timestamp),
        status=DeliveryStatus.PENDING,
        tries=0,
        next_try_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row

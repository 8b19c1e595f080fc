"""Reconciliation: does the platform's gradebook hold what the tool last sent? For a resource
link (or every link of a platform), each line item's results are read back (AGS results
service) and compared, learner by learner, with the newest score the platform accepted.

A mismatch is a learner whose newest state was sent and is FullyGraded, and whose result is
missing or has a different score. Nothing is expected for states still awaiting an assessor
(PendingManual: Moodle blanks the cell until FullyGraded). Learners whose newest row is not yet
sent, or was refused, are not compared: the worker (or a person) is still on it, and resending
an older state would overwrite the newer one.

resend() queues the mismatched states again with fresh timestamps (grade_sync.requeue); the
worker sends them. Nothing here commits: plan() and resend() run in the caller's transaction,
compare() makes HTTP calls and must run with no transaction open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lti import grade_sync, resource_links
from lti.ags import AgsClient, AgsEndpoint, GradingProgress, Result
from lti.gradebook_vocabulary import DeliveryStatus
from lti.models import LtiLineItem, LtiResourceLink, ScoreDelivery
from lti.service_calls import ServiceFailure, in_words
from lti.service_tokens import ServiceTokens

# Scores are compared as fractions of their maximum: the platform scales resultScore to its
# line item's scoreMaximum (Moodle) and keeps five decimals.
FRACTION_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Sent:
    """The newest state of one learner and line item, accepted by the platform."""

    user_sub: str
    attempt_id: int
    score_given: float | None
    score_maximum: float | None
    grading_progress: GradingProgress


@dataclass(frozen=True)
class LineItemPlan:
    """One line item to read back, with what each learner's cell should hold."""

    line_item_id: int
    label: str
    url: str
    platform_id: int
    endpoint: AgsEndpoint
    sent: tuple[Sent, ...]


@dataclass(frozen=True)
class Mismatch:
    user_sub: str
    attempt_id: int
    line_item_id: int
    label: str
    ours: float | None  # scoreGiven we sent, out of our scoreMaximum
    theirs: float | None  # the platform's result on the same scale; None when it has none
    score_maximum: float | None


@dataclass(frozen=True)
class Unreadable:
    """A line item whose results could not be read (scope not granted, platform refused)."""

    line_item_id: int
    label: str
    detail: str


@dataclass
class Reconciliation:
    compared: int = 0  # learner cells compared
    mismatches: list[Mismatch] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)


# ---------------------------------------------------------------------------- the database


def plan(session: Session, platform_id: int, link_pk: int | None = None) -> list[LineItemPlan]:
    """The line items to read back, with a platform URL and a sent state: those of `link_pk`
    (raises resource_links.UnknownResourceLink if not the platform's), else of every link of
    the platform."""
    links = select(LtiResourceLink).where(LtiResourceLink.platform_id == platform_id)
    if link_pk is not None:
        resource_links.of_platform(session, platform_id, link_pk)
        links = links.where(LtiResourceLink.id == link_pk)
    plans = []
    for link in session.scalars(links.order_by(LtiResourceLink.id)):
        endpoint = AgsEndpoint(link.scopes, link.ags_lineitems, link.ags_lineitem)
        items = session.scalars(
            select(LtiLineItem)
            .where(LtiLineItem.resource_link_pk == link.id, LtiLineItem.url.is_not(None))
            .order_by(LtiLineItem.id)
        )
        for item in items:
            sent = _newest_sent(session, item.id)
            if sent:
                plans.append(
                    LineItemPlan(item.id, item.label, item.url, platform_id, endpoint, sent)
                )
    return plans


def _newest_sent(session: Session, line_item_id: int) -> tuple[Sent, ...]:
    """Each learner's newest row of the line item, where that row was sent."""
    newest = (
        select(func.max(ScoreDelivery.id))
        .where(ScoreDelivery.line_item_id == line_item_id)
        .group_by(ScoreDelivery.user_sub)
    )
    rows = session.scalars(
        select(ScoreDelivery)
        .where(ScoreDelivery.id.in_(newest), ScoreDelivery.status == DeliveryStatus.SENT)
        .order_by(ScoreDelivery.user_sub)
    )
    return tuple(
        Sent(
            r.user_sub,
            r.attempt_id,
            r.score_given,
            r.score_maximum,
            GradingProgress(r.grading_progress),
        )
        for r in rows
    )


def resend(session: Session, mismatches: list[Mismatch], now: datetime) -> list[ScoreDelivery]:
    """Queue each mismatched learner's last sent state again, later than anything queued for
    them. In the caller's transaction."""
    queued = []
    for mismatch in mismatches:
        row = grade_sync.requeue(
            session, mismatch.attempt_id, mismatch.line_item_id, mismatch.user_sub, now
        )
        if row is not None:
            queued.append(row)
    return queued


# ---------------------------------------------------------------------------- HTTP


def compare(tokens: ServiceTokens, plans: list[LineItemPlan]) -> Reconciliation:
    """Read each line item's results and compare them with what was sent."""
    outcome = Reconciliation()
    for item in plans:
        client = AgsClient(tokens, item.platform_id, item.endpoint)
        try:
            results = client.results(item.url)
        except ServiceFailure as failure:
            outcome.unreadable.append(
                Unreadable(item.line_item_id, item.label, in_words(failure.outcome))
            )
            continue
        by_user = {r.user_id: r for r in results}
        for sent in item.sent:
            if sent.grading_progress != GradingProgress.FULLY_GRADED:
                continue  # nothing to hold yet: not a mismatch whatever the platform shows
            outcome.compared += 1
            mismatch = _mismatch(item, sent, by_user.get(sent.user_sub))
            if mismatch is not None:
                outcome.mismatches.append(mismatch)
    return outcome


def _mismatch(item: LineItemPlan, sent: Sent, result: Result | None) -> Mismatch | None:
    theirs = _scaled(result, sent.score_maximum)
    if sent.score_given is None or theirs is None:
        same = sent.score_given is None and theirs is None
    else:
        same = abs(theirs - sent.score_given) <= FRACTION_TOLERANCE * (sent.score_maximum or 1.0)
    if same:
        return None
    return Mismatch(
        sent.user_sub,
        sent.attempt_id,
        item.line_item_id,
        item.label,
        sent.score_given,
        theirs,
        sent.score_maximum,
    )


def _scaled(result: Result | None, score_maximum: float | None) -> float | None:
    """The platform's result on our scale (out of `score_maximum`), or None if it has none."""
    if result is None or result.result_score is None:
        return None
    # AGS: a result without resultMaximum is out of 1.
    maximum = result.result_maximum or 1.0
    return result.result_score / maximum * (score_maximum or 1.0)


def as_dict(outcome: Reconciliation, queued: list[ScoreDelivery] | None = None) -> dict:
    """The reconciliation as the admin API shows it."""
    return {
        "compared": outcome.compared,
        "mismatches": [
            {
                "user_id": m.user_sub,
                "line_item_id": m.line_item_id,
                "line_item": m.label,
                "ours": m.ours,
                "theirs": m.theirs,
                "score_maximum": m.score_maximum,
            }
            for m in outcome.mismatches
        ],
        "unreadable": [
            {"line_item_id": u.line_item_id, "line_item": u.label, "detail": u.detail}
            for u in outcome.unreadable
        ],
        "queued": None if queued is None else len(queued),
    }


def lines(outcome: Reconciliation) -> list[str]:
    """The reconciliation as the CLI prints it."""
    out = [
        f"MISMATCH  learner {m.user_sub}  {m.label}  ours {_number(m.ours)}  "
        f"theirs {_number(m.theirs)}  (out of {_number(m.score_maximum)})"
        for m in outcome.mismatches
    ]
    out += [f"UNREADABLE  {u.label}  {u.detail}" for u in outcome.unreadable]
    out.append(
        f"{outcome.compared} learner score(s) compared, {len(outcome.mismatches)} mismatch(es), "
        f"{len(outcome.unreadable)} line item(s) unreadable"
    )
    return out


def _number(value: float | None) -> str:
    return "none" if value is None else f"{value:g}"

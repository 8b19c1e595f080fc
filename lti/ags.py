"""LTI Assignment and Grade Services 2.0 client: line items, scores and results for one platform
and one launch's AGS claim.

A small requests-based client rather than pylti1p3's AssignmentsGradesService: that one sets no
timeouts, turns every failure into one exception (so a full gradebook and a dead LMS look the
same), and keeps tokens in a per-process cache. Here every answer is classified
(lti.service_calls) and tokens are shared by every process (lti.service_tokens).

Reads and line item calls return values and raise ServiceFailure (carrying the outcome);
post_score returns the outcome, since that is the call the worker branches on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lti.ags_vocabulary import ActivityProgress, GradingProgress
from lti.service_calls import (
    Delivered,
    Outcome,
    Refused,
    ServiceFailure,
    classify,
)
from lti.service_client import ServiceClient, raise_unless_delivered
from lti.service_tokens import ServiceTokens

log = logging.getLogger(__name__)

CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_RESULT_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
AGS_SCOPES = (SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE)

LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEM_CONTAINER = "application/vnd.ims.lis.v2.lineitemcontainer+json"
SCORE = "application/vnd.ims.lis.v1.score+json"
RESULT_CONTAINER = "application/vnd.ims.lis.v2.resultcontainer+json"

CANVAS_SUBMISSION = "https://canvas.instructure.com/lti/submission"


# --- what the platform holds -----------------------------------------------------------------


def _text(value) -> str | None:
    """Moodle sends "" for an unset resourceId or tag: treat it as unset."""
    return str(value) if value not in (None, "") else None


@dataclass(frozen=True)
class LineItem:
    id: str
    label: str
    score_maximum: float
    resource_id: str | None = None
    tag: str | None = None
    resource_link_id: str | None = None

    @classmethod
    def from_json(cls, data: Mapping) -> LineItem:
        return cls(
            id=str(data["id"]),
            label=str(data.get("label") or ""),
            score_maximum=float(data.get("scoreMaximum") or 0),
            resource_id=_text(data.get("resourceId")),
            tag=_text(data.get("tag")),
            resource_link_id=_text(data.get("resourceLinkId")),
        )

    def matches(
        self,
        resource_link_id: str | None = None,
        resource_id: str | None = None,
        tag: str | None = None,
    ) -> bool:
        """Every criterion given must match; those left None are not checked."""
        wanted = {
            "resource_link_id": resource_link_id,
            "resource_id": resource_id,
            "tag": tag,
        }
        return all(value is None or getattr(self, k) == value for k, value in wanted.items())


@dataclass(frozen=True)
class Result:
    user_id: str
    result_score: float | None
    result_maximum: float | None
    comment: str | None
    score_of: str | None

    @classmethod
    def from_json(cls, data: Mapping) -> Result:
        def number(value):
            return float(value) if value is not None else None

        return cls(
            user_id=str(data["userId"]),
            result_score=number(data.get("resultScore")),
            result_maximum=number(data.get("resultMaximum")),
            comment=data.get("comment"),
            score_of=data.get("scoreOf"),
        )


# --- what the tool sends (pure: no HTTP) ------------------------------------------------------


@dataclass(frozen=True)
class SubmissionReview:
    """A line item's submissionReview: which learners' work the platform may open in the tool."""

    reviewable_status: tuple[ActivityProgress, ...] = (
        ActivityProgress.SUBMITTED,
        ActivityProgress.COMPLETED,
    )
    label: str | None = None
    url: str | None = None
    custom: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NewLineItem:
    label: str
    score_maximum: float
    resource_id: str | None = None
    tag: str | None = None
    resource_link_id: str | None = None
    submission_review: SubmissionReview | None = None


def line_item_payload(item: NewLineItem) -> dict:
    if not item.label.strip():
        raise ValueError("a line item needs a label")
    if not item.score_maximum > 0:
        raise ValueError("a line item's scoreMaximum must be greater than 0")
    payload: dict = {"label": item.label, "scoreMaximum": item.score_maximum}
    for key, value in (
        ("resourceId", item.resource_id),
        ("tag", item.tag),
        ("resourceLinkId", item.resource_link_id),
    ):
        if value is not None:
            payload[key] = value
    review = item.submission_review
    if review is not None:
        payload["submissionReview"] = {
            "reviewableStatus": [str(status) for status in review.reviewable_status],
            **({"label": review.label} if review.label else {}),
            **({"url": review.url} if review.url else {}),
            **({"custom": dict(review.custom)} if review.custom else {}),
        }
    return payload


def iso_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, as the spec's examples (2017-04-16T18:54:36.736+00:00).
    A naive datetime is refused: its zone would be a guess."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must carry a time zone")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class CanvasSubmission:
    """Canvas's score extension: how the score appears as a submission in Canvas."""

    new_submission: bool = True
    submission_type: str | None = None  # e.g. "basic_lti_launch", "online_url", "none"
    submission_data: str | None = None
    submitted_at: datetime | None = None


def score_payload(
    *,
    user_id: str,
    activity_progress: ActivityProgress,
    grading_progress: GradingProgress,
    timestamp: datetime,
    score_given: float | None = None,
    score_maximum: float | None = None,
    comment: str | None = None,
    canvas_submission: CanvasSubmission | None = None,
) -> dict:
    """The body of a score POST. The timestamp is when the tool changed the score: platforms
    refuse one that is not newer than what they hold (Moodle compares whole seconds)."""
    if score_given is not None:
        if score_maximum is None:
            raise ValueError("scoreMaximum is required with scoreGiven")
        if score_given < 0:
            raise ValueError("scoreGiven cannot be negative")
    if score_maximum is not None and not score_maximum > 0:
        raise ValueError("scoreMaximum must be greater than 0")
    payload: dict = {
        "userId": str(user_id),
        "activityProgress": str(ActivityProgress(activity_progress)),
        "gradingProgress": str(GradingProgress(grading_progress)),
        "timestamp": iso_timestamp(timestamp),
    }
    if score_given is not None:
        payload["scoreGiven"] = score_given
    if score_maximum is not None:
        payload["scoreMaximum"] = score_maximum
    if comment is not None:
        payload["comment"] = comment
    if canvas_submission is not None:
        extension: dict = {"new_submission": canvas_submission.new_submission}
        if canvas_submission.submission_type:
            extension["submission_type"] = canvas_submission.submission_type
        if canvas_submission.submission_data is not None:
            extension["submission_data"] = canvas_submission.submission_data
        if canvas_submission.submitted_at is not None:
            extension["submitted_at"] = iso_timestamp(canvas_submission.submitted_at)
        payload[CANVAS_SUBMISSION] = extension
    return payload


# --- URLs ------------------------------------------------------------------------------------


def service_url(line_item_url: str, service: str) -> str:
    """A line item's /scores or /results URL: its path plus the service, its query kept.
    Moodle's line item URLs carry ?type_id=, which must stay after the new path segment."""
    parts = urlsplit(line_item_url)
    path = parts.path.rstrip("/") + "/" + service
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def with_query(url: str, **params: str | None) -> str:
    """The URL with these parameters added to its query (keeping what it had)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _parsed(kind, entry):
    """One entry of a container page; a malformed one fails the read rather than the worker."""
    try:
        return kind.from_json(entry)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ServiceFailure(Refused(f"a malformed {kind.__name__} in the answer")) from error


# --- the client ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgsEndpoint:
    """The launch's AGS claim: the scopes granted, the context's line items container, and the
    link's own line item (when the platform made one)."""

    scopes: tuple[str, ...]
    lineitems: str | None
    lineitem: str | None

    @classmethod
    def from_claim(cls, claim: Mapping) -> AgsEndpoint:
        scopes = claim.get("scope") or []
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise ValueError("the AGS claim's scope is not a list of strings")
        urls = {name: claim.get(name) for name in ("lineitems", "lineitem")}
        if any(url is not None and not isinstance(url, str) for url in urls.values()):
            raise ValueError("the AGS claim's line item URLs are not strings")
        return cls(tuple(s for s in scopes if s in AGS_SCOPES), **urls)


class AgsClient(ServiceClient):
    def __init__(self, tokens: ServiceTokens, platform_id: int, endpoint: AgsEndpoint) -> None:
        super().__init__(tokens, platform_id, endpoint.scopes)
        self.endpoint = endpoint

    @classmethod
    def for_launch(cls, tokens: ServiceTokens, lti_session) -> AgsClient | None:
        """The client for a launch session (lti.models.LtiSession), or None if the launch
        carried no AGS claim."""
        claim = (lti_session.claims or {}).get(CLAIM)
        if not claim:
            return None
        return cls(tokens, lti_session.platform_id, AgsEndpoint.from_claim(claim))

    # -- line items

    def line_items(
        self,
        resource_link_id: str | None = None,
        resource_id: str | None = None,
        tag: str | None = None,
    ) -> list[LineItem]:
        """The context's line items, every page, filtered. The filters go to the platform
        (AGS §3.2.3) and are checked again here, since not every platform applies them."""
        self._need(SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY)
        url = with_query(
            self._lineitems_url(),
            resource_link_id=resource_link_id,
            resource_id=resource_id,
            tag=tag,
        )
        items = []
        for page in self.pages(url, LINEITEM_CONTAINER):
            if not isinstance(page, list):
                raise ServiceFailure(Refused("the line items answer is not a list"))
            items += [_parsed(LineItem, entry) for entry in page]
        return [item for item in items if item.matches(resource_link_id, resource_id, tag)]

    def find_line_item(
        self,
        resource_link_id: str | None = None,
        resource_id: str | None = None,
        tag: str | None = None,
    ) -> LineItem | None:
        """The first (oldest, in the platform's order) line item matching every criterion."""
        found = self.line_items(resource_link_id, resource_id, tag)
        return found[0] if found else None

    def create_line_item(self, item: NewLineItem) -> LineItem:
        self._need(SCOPE_LINEITEM)
        response = self.send(
            "POST",
            self._lineitems_url(),
            accept=LINEITEM,
            content_type=LINEITEM,
            body=line_item_payload(item),
        )
        raise_unless_delivered(response)
        try:
            answer = response.json()
        except ValueError as error:
            raise ServiceFailure(Refused("the created line item's answer is not JSON")) from error
        return _parsed(LineItem, answer)

    def delete_line_item(self, line_item_url: str) -> None:
        """Delete a line item the tool made (and every score in it). Used only by the
        pre-flight check's round trip, on the test line item it created a moment before."""
        self._need(SCOPE_LINEITEM)
        response = self.send("DELETE", line_item_url, accept=LINEITEM)
        raise_unless_delivered(response)

    def find_or_create_line_item(self, item: NewLineItem) -> LineItem:
        """The line item with this resourceLinkId, resourceId and tag, created if the platform
        has none. Two workers racing for the same new item could both create it: the caller
        serialises work per (platform, resource)."""
        found = self.find_line_item(item.resource_link_id, item.resource_id, item.tag)
        return found if found is not None else self.create_line_item(item)

    # -- scores and results

    def post_score(self, line_item_url: str, score: dict) -> Outcome:
        """Post a score (built by score_payload) to a line item. Never raises for what the
        platform answers: returns Delivered, RetryLater, StaleTimestamp, TokenRejected or
        Refused."""
        if SCOPE_SCORE not in self.endpoint.scopes:
            return Refused("the launch did not grant the score scope")
        try:
            response = self.send(
                "POST",
                service_url(line_item_url, "scores"),
                accept="application/json",
                content_type=SCORE,
                body=score,
            )
        except ServiceFailure as failure:
            return failure.outcome
        outcome = classify(response, score_post=True)
        if not isinstance(outcome, Delivered):
            # The outcome's kind only: the platform's answer may echo the learner's user id.
            log.warning("score not delivered: %s", type(outcome).__name__)
        return outcome

    def results(self, line_item_url: str, user_id: str | None = None) -> list[Result]:
        self._need(SCOPE_RESULT_READONLY)
        url = with_query(service_url(line_item_url, "results"), user_id=user_id)
        results = []
        for page in self.pages(url, RESULT_CONTAINER):
            if not isinstance(page, list):
                raise ServiceFailure(Refused("the results answer is not a list"))
            results += [_parsed(Result, entry) for entry in page]
        return results

    # -- HTTP

    def _need(self, *any_of: str) -> None:
        if not any(scope in self.endpoint.scopes for scope in any_of):
            raise ServiceFailure(Refused(f"the launch did not grant {' or '.join(any_of)}"))

    def _lineitems_url(self) -> str:
        if not self.endpoint.lineitems:
            raise ServiceFailure(Refused("the launch gave no line items URL"))
        return self.endpoint.lineitems

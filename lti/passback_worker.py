"""`assessment worker`: sends the score outbox (lti/grade_sync.py) to the platforms' gradebooks
(LTI AGS), so that every learner's newest state arrives, once, in order.

A pipeline: claim due rows under a lease (lti/passback_outbox.py, one short transaction)
whenever threads are free, send them on a thread pool with at most `per_platform` requests in
flight per platform, record each outcome (one short transaction per row, only if the lease is
still ours). A worker killed mid-send leaves rows `sending`; once their lease runs out the
next claim takes them again, and the platform's timestamp check makes a repeat harmless.

Logs carry row ids and outcomes only: never user ids, scores or tokens.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from flask import Flask, url_for
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, joinedload

from lti import passback_outbox
from lti.ags import (
    AgsClient,
    AgsEndpoint,
    CanvasSubmission,
    NewLineItem,
    SubmissionReview,
    score_payload,
)
from lti.gradebook_vocabulary import LineItemTag
from lti.models import LtiLineItem, LtiResourceLink, ScoreDelivery
from lti.passback_outbox import Backoff, Claimed
from lti.service_calls import (
    Delivered,
    Outcome,
    RetryLater,
    ServiceFailure,
    ServiceSettings,
    StaleTimestamp,
    in_words,
)
from lti.service_tokens import ServiceTokens, scope_set_of
from service.models import utcnow

log = logging.getLogger(__name__)


def _done() -> Future:
    future: Future = Future()
    future.set_result(None)
    return future


@dataclass(frozen=True)
class WorkerSettings:
    batch: int = 20
    poll_seconds: float = 5.0
    lease: timedelta = timedelta(seconds=120)
    per_platform: int = 8
    threads: int = 16
    backoff: Backoff = Backoff()
    # A row is sent only if its lease outlasts this (a line item lookup, creation and the
    # score, each within the request timeouts); else it is given back for a later claim.
    send_budget: timedelta = timedelta(seconds=75)

    @classmethod
    def from_config(cls, config: Mapping) -> WorkerSettings:
        """From the app's config (LTI_PASSBACK_*); absent keys keep the defaults."""

        def number(key: str, default: float) -> float:
            return float(config.get(key, default))

        return cls(
            batch=int(number("LTI_PASSBACK_BATCH", cls.batch)),
            poll_seconds=number("LTI_PASSBACK_POLL_SECONDS", cls.poll_seconds),
            lease=timedelta(seconds=number("LTI_PASSBACK_LEASE_SECONDS", 120)),
            per_platform=int(number("LTI_PASSBACK_PER_PLATFORM", cls.per_platform)),
            threads=int(number("LTI_PASSBACK_THREADS", cls.threads)),
            backoff=Backoff(
                base_seconds=number("LTI_PASSBACK_BACKOFF_SECONDS", Backoff.base_seconds),
                cap_seconds=number("LTI_PASSBACK_BACKOFF_CAP_SECONDS", Backoff.cap_seconds),
                give_up_hours=number("LTI_PASSBACK_GIVE_UP_HOURS", Backoff.give_up_hours),
            ),
            send_budget=timedelta(seconds=number("LTI_PASSBACK_SEND_BUDGET_SECONDS", 75)),
        )


class SharedTokens(ServiceTokens):
    """The worker's threads ask for tokens one at a time: with an empty cache, a platform's
    first batch then costs one token request, not one per thread. The shared cache's token is
    then remembered in the process for `memo_seconds` (well inside the expiry margin), so that
    each score is not also a database read under this lock; a token the platform refuses is
    forgotten here as well as in the shared cache."""

    memo_seconds = 20.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self._memo: dict[tuple[int, str], tuple[str, float]] = {}

    def get(self, platform_id: int, scopes, fresh: bool = False) -> str:
        key = (platform_id, scope_set_of(scopes))
        with self._lock:
            token, until = self._memo.get(key, (None, 0.0))
            if fresh or token is None or time.monotonic() >= until:
                token = super().get(platform_id, scopes, fresh)
                self._memo[key] = (token, time.monotonic() + self.memo_seconds)
            return token

    def discard(self, platform_id: int, scopes, token: str) -> None:
        with self._lock:
            key = (platform_id, scope_set_of(scopes))
            if self._memo.get(key, (None,))[0] == token:
                del self._memo[key]
        super().discard(platform_id, scopes, token)


class PlatformAnswers:
    """The last `window` answers of one platform to this worker: answered (anything but a
    timeout, a dropped connection, 429 or 5xx) or not. The platform is failing when fewer than
    half were answered, or when nothing is known yet (a first failure is not presumed luck)."""

    window = 20

    def __init__(self) -> None:
        self._recent: deque[bool] = deque(maxlen=self.window)
        self._lock = threading.Lock()

    def note(self, answered: bool) -> None:
        with self._lock:
            self._recent.append(answered)

    def failing(self) -> bool:
        with self._lock:
            return 2 * sum(self._recent) < len(self._recent) or len(self._recent) < 5


@dataclass(frozen=True)
class Job:
    """What one send needs, read in the claim's wake (no ORM objects cross threads)."""

    claimed: Claimed
    platform_id: int
    endpoint: AgsEndpoint
    canvas: bool
    line_item_url: str | None
    new_line_item: NewLineItem
    score: dict


def _new_line_item(item: LtiLineItem, link: LtiResourceLink, review_url: str | None):
    """Canvas makes each line item with a resourceLinkId part of that link's assignment, and
    only the first reaches the gradebook: its criterion columns are separate assignments."""
    separate = link.product_family == "canvas" and item.tag == LineItemTag.CRITERION
    return NewLineItem(
        label=item.label,
        score_maximum=item.score_maximum,
        resource_id=item.resource_id,
        tag=item.tag.value,
        resource_link_id=None if separate else link.resource_link_id,
        submission_review=SubmissionReview(url=review_url),
    )


def _rows(session: Session, claims: list[Claimed]) -> dict[int, ScoreDelivery]:
    """The claimed rows with their line items and links, in one query."""
    query = (
        select(ScoreDelivery)
        .where(ScoreDelivery.id.in_([claimed.id for claimed in claims]))
        .options(joinedload(ScoreDelivery.line_item).joinedload(LtiLineItem.resource_link))
    )
    return {row.id: row for row in session.scalars(query)}


def _job(row: ScoreDelivery, claimed: Claimed, review_url: str | None) -> Job:
    item = row.line_item
    link = item.resource_link
    canvas = link.product_family == "canvas"
    score = score_payload(
        user_id=row.user_sub,
        activity_progress=row.activity_progress,
        grading_progress=row.grading_progress,
        timestamp=row.timestamp,
        score_given=row.score_given,
        score_maximum=row.score_maximum,
        comment=row.comment,
        canvas_submission=CanvasSubmission() if canvas else None,
    )
    return Job(
        claimed=claimed,
        platform_id=link.platform_id,
        endpoint=AgsEndpoint(link.scopes, link.ags_lineitems, link.ags_lineitem),
        canvas=canvas,
        line_item_url=item.url,
        new_line_item=_new_line_item(item, link, review_url),
        score=score,
    )


def review_url(app: Flask) -> str | None:
    """Where a gradebook click opens the tool: the launch URL, when PUBLIC_BASE_URL says
    where the tool lives (the worker has no request to take a host from). Without it the
    platform opens the link's own launch URL, which is the same place."""
    base = app.config.get("PUBLIC_BASE_URL")
    if not base:
        return None
    with app.test_request_context(base_url=base):
        return url_for("lti.launch", _external=True)


class Worker:
    def __init__(
        self,
        engine: Engine,
        tokens: ServiceTokens,
        settings: WorkerSettings,
        review_url: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.tokens = tokens
        self.settings = settings
        self.review_url = review_url
        self.clock = clock
        self.stopping = threading.Event()
        self._platform_slots: dict[int, threading.Semaphore] = defaultdict(
            lambda: threading.Semaphore(settings.per_platform)
        )
        self._slots_lock = threading.Lock()
        self._answers: dict[int, PlatformAnswers] = defaultdict(PlatformAnswers)

    @classmethod
    def for_app(cls, app: Flask, **overrides) -> Worker:
        settings = replace(WorkerSettings.from_config(app.config), **overrides)
        engine = app.extensions["db_engine"]
        tokens = SharedTokens(engine, ServiceSettings.from_config(app.config))
        return cls(engine, tokens, settings, review_url(app))

    # -- the loop

    def run(self, once: bool = False) -> int:
        """Send until stopped (or, with `once`, until nothing is due or in flight). Returns how
        many rows were claimed.

        A pipeline, not a loop of batches: sends are kept in flight on the pool, and more rows
        are claimed as soon as half the threads are free, so one slow answer (a platform that
        times out) does not hold up the rest. Stopping lets the in-flight sends finish."""
        total = 0
        in_flight: set[Future] = set()
        refill = max(1, self.settings.threads // 2)
        with ThreadPoolExecutor(self.settings.threads, "passback") as pool:
            while not self.stopping.is_set():
                free = self.settings.threads - len(in_flight)
                started: set[Future] = set()
                if free >= refill or not in_flight:
                    started = self._claim_and_start(pool, min(free, self.settings.batch))
                    total += len(started)
                    in_flight |= started
                if not in_flight:
                    if once:
                        break
                    self.stopping.wait(self.settings.poll_seconds)
                    continue
                # Claim again at once if the claim was full; otherwise when a send finishes,
                # or after a poll interval (rows may fall due meanwhile).
                if started and len(started) == min(free, self.settings.batch):
                    timeout = 0
                else:
                    timeout = self.settings.poll_seconds
                done, in_flight = wait(in_flight, timeout=timeout, return_when=FIRST_COMPLETED)
        return total

    def _claim_and_start(self, pool: ThreadPoolExecutor, how_many: int) -> set[Future]:
        """Claim up to `how_many` due rows and start sending them. Rows failed as not
        sendable count as claimed (more may be due behind them): they get a done future."""
        claims = passback_outbox.claim(self.engine, self.clock(), how_many, self.settings.lease)
        if not claims:
            return set()
        with Session(self.engine) as session:
            rows = _rows(session, claims)
            jobs = [self._job(rows[claimed.id], claimed) for claimed in claims]
        return {pool.submit(self._send_guarded, job) if job else _done() for job in jobs}

    # -- one row

    def _job(self, row: ScoreDelivery, claimed: Claimed) -> Job | None:
        """None for a row no platform would take as it is (a score the payload rules refuse):
        it fails at once rather than stopping the batch."""
        try:
            return _job(row, claimed, self.review_url)
        except ValueError as error:
            passback_outbox.mark_failed(self.engine, claimed, f"not sendable: {error}")
            log.warning("score %s failed: not sendable", claimed.id)
            return None

    def _slots(self, platform_id: int) -> threading.Semaphore:
        with self._slots_lock:
            return self._platform_slots[platform_id]

    def _answers_of(self, platform_id: int) -> PlatformAnswers:
        with self._slots_lock:
            return self._answers[platform_id]

    def _send_guarded(self, job: Job) -> None:
        """A bug in one send must not stop the others: the row stays sending, its lease runs
        out and a later claim tries it again."""
        claimed = job.claimed
        try:
            if self.clock() + self.settings.send_budget > claimed.lease_until:
                passback_outbox.release(self.engine, claimed)
                log.info("score %s given back: its lease would end mid-send", claimed.id)
                return
            # The platform's slot is held for the calls only: recording the outcome is our
            # database's work, and the next send to the platform need not wait for it.
            with self._slots(job.platform_id):
                outcome, step = self._send(job)
            answers = self._answers_of(job.platform_id)
            answers.note(not isinstance(outcome, RetryLater))
            self._record(claimed, outcome, step, answers.failing())
        except Exception:
            log.exception("score %s: the send failed unexpectedly", claimed.id)

    def _send(self, job: Job) -> tuple[Outcome, str]:
        """The platform's answer, and the step it answered (finding the line item, or the
        score)."""
        client = AgsClient(self.tokens, job.platform_id, job.endpoint)
        try:
            url = job.line_item_url or self._resolve(client, job)
        except ServiceFailure as failure:
            return failure.outcome, "line item"
        return client.post_score(url, job.score), "score"

    def _resolve(self, client: AgsClient, job: Job) -> str:
        """Find the line item (by resourceId and tag, on this link unless separate) or create
        it, and keep its URL."""
        found = client.find_or_create_line_item(job.new_line_item)
        url = passback_outbox.store_line_item_url(self.engine, job.claimed.line_item_id, found.id)
        log.info("line item %s resolved", job.claimed.line_item_id)
        return url

    def _record(
        self, claimed: Claimed, outcome: Outcome, step: str, platform_failing: bool = True
    ) -> None:
        now = self.clock()
        if isinstance(outcome, Delivered):
            ours = passback_outbox.mark_sent(self.engine, claimed, now)
        elif isinstance(outcome, StaleTimestamp):
            note = f"the platform already held a newer score: {outcome.detail}"
            ours = passback_outbox.mark_sent(self.engine, claimed, now, note)
        elif isinstance(outcome, RetryLater):
            ours = passback_outbox.mark_retry(
                self.engine,
                claimed,
                now,
                self.settings.backoff,
                f"{step}: {in_words(outcome)}",
                outcome.retry_after,
                platform_failing,
            )
        else:  # Refused, TokenRejected: a person must look; never retried by itself.
            ours = passback_outbox.mark_failed(self.engine, claimed, f"{step}: {in_words(outcome)}")
        log.info(
            "score %s try %s: %s%s",
            claimed.id,
            claimed.tries,
            type(outcome).__name__,
            "" if ours else " (lease lost; not recorded)",
        )

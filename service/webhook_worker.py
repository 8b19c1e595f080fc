"""Sends centres' webhook events (service/webhooks.py), as part of `assessment worker`.

The same durable delivery as grade passback: rows claimed under a lease in one short
transaction (service/webhook_outbox.py), each POSTed signed, its outcome recorded in a short
transaction of its own only if the lease is still ours (lti/passback_outbox.py), retried with
exponential backoff and full jitter until the give-up window closes (lti's Backoff, from the
LTI_PASSBACK_* settings). Answers are classified by lti/service_calls.py: 2xx delivered; a
timeout, a dropped connection, 408, 429 or 5xx retried (Retry-After honoured); anything else
(a 4xx, a redirect, a URL the policy refuses) failed at once, for a person to look at and
retry (POST /api/v1/webhooks/{id}/deliveries/{id}/retry).

Every request goes through the URL policy again at connect time (lti/platform_http.py:
checked addresses, no redirects followed, no proxy from the environment).

Logs carry row ids and outcomes only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime

import requests
import urllib3
from flask import Flask
from sqlalchemy import Engine

from lti import passback_outbox, platform_http, url_policy
from lti.passback_worker import WorkerSettings
from lti.service_calls import (
    KEPT_ANSWER_CHARS,
    Delivered,
    Refused,
    RetryLater,
    classify,
    classify_error,
    in_words,
)
from service import sealed_secrets, webhook_outbox, webhooks
from service.models import WebhookDelivery, utcnow

log = logging.getLogger(__name__)
USER_AGENT = "AssessmentService-Webhooks/1.0"
ANSWER_BYTES = 4 * KEPT_ANSWER_CHARS
TIMEOUT = (5.0, 10.0)  # connect, read: a receiver that hangs must not hang the worker
UNREADABLE_SECRET = (
    "the webhook's signing secret cannot be unsealed (SECRET_KEY changed?): nothing was sent; "
    "rotate the secret (PATCH rotate_secret), then retry the delivery"
)


def loopback_allowed(config) -> bool:
    """http://127.0.0.1 or localhost receivers: development (the embedded default) and tests
    only (WEBHOOKS_ON_LOOPBACK); never in production."""
    return bool(url_policy.embedded_default(config) or config.get("WEBHOOKS_ON_LOOPBACK"))


class WebhookWorker:
    def __init__(
        self,
        engine: Engine,
        settings: WorkerSettings,
        secret_key: str,
        loopback: bool = False,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.secret_key = secret_key  # unseals the endpoints' signing secrets
        self.loopback = loopback
        self.clock = clock
        self.stopping = threading.Event()
        self._local = threading.local()
        # A centre's receiver gets at most `per_platform` requests at once from this worker.
        self._slots: dict[int, threading.Semaphore] = defaultdict(
            lambda: threading.Semaphore(settings.per_platform)
        )
        self._slots_lock = threading.Lock()

    @classmethod
    def for_app(cls, app: Flask, **overrides) -> WebhookWorker:
        settings = replace(WorkerSettings.from_config(app.config), **overrides)
        return cls(
            app.extensions["db_engine"],
            settings,
            app.config["SECRET_KEY"],
            loopback_allowed(app.config),
        )

    def _http(self) -> requests.Session:
        """One session per thread (requests sessions are not thread-safe)."""
        if not hasattr(self._local, "http"):
            http = platform_http.checked_session(embedded=self.loopback)
            http.headers["User-Agent"] = USER_AGENT
            self._local.http = http
        return self._local.http

    def run(self, once: bool = False) -> int:
        """Send until stopped (or, with `once`, until nothing is due). Returns rows claimed."""
        total = 0
        with ThreadPoolExecutor(self.settings.threads, "webhooks") as pool:
            while not self.stopping.is_set():
                claims = webhook_outbox.claim(
                    self.engine, self.clock(), self.settings.batch, self.settings.lease
                )
                total += len(claims)
                list(pool.map(self._send_guarded, claims))
                if not claims:
                    if once:
                        break
                    self.stopping.wait(self.settings.poll_seconds)
        return total

    def _send_guarded(self, claimed: webhook_outbox.Claimed) -> None:
        """A bug in one send must not stop the others: the row stays sending, its lease runs
        out and a later claim tries it again."""
        try:
            if self.clock() + self.settings.send_budget > claimed.lease_until:
                passback_outbox.release(self.engine, claimed, WebhookDelivery)
                return
            with self._slots_lock:
                slot = self._slots[claimed.endpoint_id]
            with slot:
                answer = self._send(claimed)
            self._record(claimed, *answer)
        except Exception:
            log.exception("webhook delivery %s: the send failed unexpectedly", claimed.id)

    def _send(self, claimed: webhook_outbox.Claimed):
        """The outcome and the HTTP status (None when nothing answered)."""
        try:
            secret = sealed_secrets.unseal(self.secret_key, claimed.sealed_secret)
        except sealed_secrets.Unreadable:
            # Retrying cannot help: a person rotates the secret (and tells the receiver).
            return Refused(UNREADABLE_SECRET), None
        body = claimed.body.encode()
        headers = {
            "Content-Type": "application/json",
            webhooks.ID_HEADER: claimed.uuid,
            webhooks.SIGNATURE_HEADER: webhooks.signature(secret, int(time.time()), body),
        }
        try:
            response = self._http().post(
                claimed.url,
                data=body,
                headers=headers,
                timeout=TIMEOUT,
                allow_redirects=False,
                stream=True,
            )
            with response:
                # Only the start of the answer is read (it is kept for people, cut short):
                # a receiver's endless body must not fill the worker's memory.
                response._content = response.raw.read(ANSWER_BYTES, decode_content=True)
                return classify(response), response.status_code
        except requests.RequestException as error:
            return classify_error(error), None
        except urllib3.exceptions.HTTPError as error:  # the answer's body broke off
            return RetryLater(f"{type(error).__name__}: the answer broke off"), None

    def _record(self, claimed: webhook_outbox.Claimed, outcome, status: int | None) -> None:
        now = self.clock()
        extra = {"response_code": status}
        if isinstance(outcome, Delivered):
            ours = passback_outbox.mark_sent(
                self.engine, claimed, now, model=WebhookDelivery, extra=extra
            )
        elif isinstance(outcome, RetryLater):
            ours = passback_outbox.mark_retry(
                self.engine,
                claimed,
                now,
                self.settings.backoff,
                in_words(outcome)[:KEPT_ANSWER_CHARS],
                outcome.retry_after,
                model=WebhookDelivery,
                extra=extra,
            )
        else:  # Refused, TokenRejected: the receiver refused it as it is; a person must look.
            ours = passback_outbox.mark_failed(
                self.engine,
                claimed,
                in_words(outcome)[:KEPT_ANSWER_CHARS],
                model=WebhookDelivery,
                extra=extra,
            )
        log.info(
            "webhook delivery %s try %s: %s%s",
            claimed.id,
            claimed.tries,
            type(outcome).__name__,
            "" if ours else " (lease lost; not recorded)",
        )

"""Calling a platform's services (token endpoint, AGS): the HTTP settings every call uses, and
what each answer means for the caller, as typed outcomes.

A grade must never be lost, so the caller (a durable worker) needs to know, for every call,
whether to stop, retry later, or give up and tell someone. It branches on these outcome types,
never on HTTP status codes, which stay inside this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests

from lti import platform_http, url_policy

# What a platform's answer is cut to when kept for logs and people: enough to see the reason.
KEPT_ANSWER_CHARS = 500

# Canvas refuses a score older than the one it holds with 400 and this message
# ("Provided timestamp of ... before last updated timestamp of ..."). Its other 400s about
# timestamps (not a valid timestamp, submitted_at in the future) are real errors.
CANVAS_STALE = re.compile(r"before last updated timestamp", re.IGNORECASE)


@dataclass(frozen=True)
class ServiceSettings:
    """Timeouts apply to every request: a platform that hangs must not hang the worker."""

    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    # Canvas refuses requests without a User-Agent.
    user_agent: str = "AssessmentService-LTI/1.0"
    # A cached token is used until this many seconds before it expires, so it cannot expire
    # on the way to the platform.
    token_expiry_margin: float = 60.0
    # Used when a token answer has no expires_in (RFC 6749 makes it optional).
    default_token_lifetime: float = 300.0
    # Loopback platforms (http://127.0.0.1, localhost) allowed: the embedded default's
    # development platform, and benchmarks' fake platforms. Never in production.
    loopback: bool = False

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    @classmethod
    def from_config(cls, config: Mapping) -> ServiceSettings:
        """From the app's config (any mapping); keys that are absent keep the defaults."""
        names = {
            "LTI_SERVICE_CONNECT_TIMEOUT": "connect_timeout",
            "LTI_SERVICE_READ_TIMEOUT": "read_timeout",
            "LTI_SERVICE_USER_AGENT": "user_agent",
            "LTI_SERVICE_TOKEN_EXPIRY_MARGIN": "token_expiry_margin",
        }
        values = {field: config[key] for key, field in names.items() if key in config}
        loopback = url_policy.embedded_default(config) or config.get("LTI_SERVICES_ON_LOOPBACK")
        return cls(**values, loopback=bool(loopback))


def http_session(settings: ServiceSettings) -> requests.Session:
    """Every service request goes through the URL policy (lti/platform_http.py): the URLs come
    from registrations and launch claims, and must not reach the tool's own network."""
    http = platform_http.checked_session(embedded=settings.loopback)
    http.headers["User-Agent"] = settings.user_agent
    return http


# --- outcomes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivered:
    """The platform accepted the request."""


@dataclass(frozen=True)
class RetryLater:
    """Try again later: the platform was unreachable, slow, overloaded or asked us to wait.
    `retry_after` is the platform's wish in seconds (from Retry-After), if it said."""

    reason: str
    retry_after: float | None = None


@dataclass(frozen=True)
class StaleTimestamp:
    """The platform already holds a score with this timestamp or a newer one for this user and
    line item: a newer score is already there, so this one must not be retried."""

    detail: str


@dataclass(frozen=True)
class TokenRejected:
    """The platform refused our access token even after it was replaced by a fresh one: the
    registration (scopes, keys, the tool's status on the platform) needs a person's look."""

    detail: str


@dataclass(frozen=True)
class Refused:
    """A permanent failure: the platform refused the request as it is (bad request, unknown
    line item or user, forbidden). Retrying the same request will not help. `detail` keeps
    the platform's answer, truncated."""

    detail: str


Failure = RetryLater | StaleTimestamp | TokenRejected | Refused
Outcome = Delivered | Failure


class ServiceFailure(Exception):
    """Raised by reads and line item calls when the platform's answer is not a success."""

    def __init__(self, outcome: Failure) -> None:
        super().__init__(outcome)
        self.outcome = outcome


def in_words(outcome: Failure) -> str:
    """A failure for a person (reports, the CLI): its kind and the platform's answer."""
    text = getattr(outcome, "detail", None) or getattr(outcome, "reason", "")
    return f"{type(outcome).__name__}: {text}"


# --- classification -------------------------------------------------------------------------


def kept_answer(response: requests.Response) -> str:
    text = response.text or ""
    if len(text) > KEPT_ANSWER_CHARS:
        text = text[:KEPT_ANSWER_CHARS] + "…"
    return f"HTTP {response.status_code}: {text}" if text else f"HTTP {response.status_code}"


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After is either a number of seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def classify(response: requests.Response, *, score_post: bool = False) -> Outcome:
    """What a platform's answer means. `score_post`: the answer is to a score POST, where
    Moodle's 409 and Canvas's 400 about the timestamp mean a newer score is already there.
    401 is classified as TokenRejected; the caller retries once with a fresh token first."""
    status = response.status_code
    if 200 <= status < 300:
        return Delivered()
    if status in (408, 429) or status >= 500:
        return RetryLater(
            kept_answer(response), retry_after_seconds(response.headers.get("Retry-After"))
        )
    if score_post and status == 409:
        # Moodle: "Refusing score with an earlier timestamp" (compared at whole seconds).
        return StaleTimestamp(kept_answer(response))
    if score_post and status == 400 and CANVAS_STALE.search(response.text or ""):
        return StaleTimestamp(kept_answer(response))
    if status == 401:
        return TokenRejected(kept_answer(response))
    return Refused(kept_answer(response))


def classify_error(error: requests.RequestException) -> Failure:
    """A request that got no answer. Timeouts and connection errors are worth retrying;
    anything else (an invalid URL, too many redirects) will fail the same way again."""
    if isinstance(error, (requests.Timeout, requests.ConnectionError)):
        return RetryLater(f"{type(error).__name__}: no answer from the platform")
    return Refused(f"{type(error).__name__}: {error}"[:KEPT_ANSWER_CHARS])

"""Centres' webhooks: the URLs a centre registers, the events written for them, and how a
delivery is signed.

Events are outbox rows (WebhookDelivery) added in the caller's transaction, by the code that
changes what they tell of (service.attempts when it stores a grading, service's performance
evidence views when a record is recorded or withdrawn): they commit or roll back with the
change, and no HTTP call is made in the request. `assessment worker` sends them
(service/webhook_worker.py). These functions flush, never commit; the edge commits.

Payloads are minimal and carry no names: the learner's uuid and the centre's reference, the
attempt's uuid, the assessment's code, status, grade and criterion decisions.

Signature: `Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
and `Webhook-Id: <delivery uuid>` (the same on every try). A receiver recomputes the HMAC over
the raw body, compares in constant time, refuses a `t` more than REPLAY_WINDOW away from its
clock, and drops a Webhook-Id it has seen (verify() below is the reference).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti import url_policy
from lti.gradebook_vocabulary import DeliveryStatus
from service import sealed_secrets
from service.grading.vocabulary import AttemptStatus
from service.identifiers import new_uuid
from service.models import (
    Attempt,
    Learner,
    LearnerIdentity,
    PerformanceEvidence,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from service.tenancy import Tenancy
from service.webhook_vocabulary import DecisionSource, WebhookEvent

SIGNATURE_HEADER = "Webhook-Signature"
ID_HEADER = "Webhook-Id"
REPLAY_WINDOW = timedelta(minutes=5)
DESCRIPTION_MAX = 255


class WebhookError(Exception):
    def __init__(self, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidWebhook(WebhookError):
    """The input cannot be accepted (422)."""


class NotRetryable(WebhookError):
    """The delivery is not failed (409)."""


# ---------------------------------------------------------------------------- signing


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The Webhook-Signature header's value for `body` sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, now: datetime) -> bool:
    """What a receiver does: the header parses, its time is within REPLAY_WINDOW of `now`, and
    one v1 signature matches (compared in constant time)."""
    try:
        parts = [p.split("=", 1) for p in header.split(",")]
        stamp = int(next(v for k, v in parts if k.strip() == "t"))
        given = [v for k, v in parts if k.strip() == "v1"]
    except (ValueError, StopIteration):
        return False
    if abs(now.timestamp() - stamp) > REPLAY_WINDOW.total_seconds():
        return False
    expected = signature(secret, stamp, body).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, v) for v in given)


# ---------------------------------------------------------------------------- endpoints


def url_problem(url: object, loopback_allowed: bool) -> str | None:
    """The platforms' URL policy (lti/url_policy.py): https, and no internal address; http on
    127.0.0.1 or localhost only in development (`loopback_allowed`)."""
    return url_policy.url_problem(url, embedded=loopback_allowed)


def _checked(url: object, description: object, loopback_allowed: bool) -> dict:
    errors = {}
    problem = url_problem(url, loopback_allowed)
    if problem:
        errors["url"] = [problem]
    elif len(url) > 2048:
        errors["url"] = ["Write at most 2048 characters."]
    if description is not None and len(description) > DESCRIPTION_MAX:
        errors["description"] = [f"Write at most {DESCRIPTION_MAX} characters."]
    if errors:
        raise InvalidWebhook("Invalid parameter(s): " + ", ".join(sorted(errors)), errors)
    return errors


def create(
    session: Session,
    centre_id: int,
    url: str,
    description: str | None,
    created_by: str,
    loopback_allowed: bool,
    secret_key: str,
) -> tuple[WebhookEndpoint, str]:
    """A new active endpoint and its new secret, which the caller shows once: only a sealed
    copy is stored (service/sealed_secrets.py, under `secret_key`)."""
    _checked(url, description, loopback_allowed)
    now = utcnow()
    secret = new_secret()
    endpoint = WebhookEndpoint(
        uuid=new_uuid(),
        centre_id=centre_id,
        url=url,
        description=description,
        sealed_secret=sealed_secrets.seal(secret_key, secret),
        active=True,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def find(session: Session, tenancy: Tenancy, endpoint_id: str) -> WebhookEndpoint | None:
    """The endpoint, if the caller's centres hold it (another centre's is None, as missing)."""
    return session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.uuid == endpoint_id, tenancy.condition(WebhookEndpoint.centre_id)
        )
    )


def listed(session: Session, tenancy: Tenancy) -> list[WebhookEndpoint]:
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(tenancy.condition(WebhookEndpoint.centre_id))
            .order_by(WebhookEndpoint.id)
        )
    )


def change(
    endpoint: WebhookEndpoint, changes: dict, loopback_allowed: bool, secret_key: str
) -> str | None:
    """Apply `changes` (url, description, active; rotate_secret: a new secret, the old one
    stops signing at once). Returns the new secret when rotated (shown once), else None."""
    _checked(
        changes.get("url", endpoint.url),
        changes.get("description", endpoint.description),
        loopback_allowed,
    )
    for field in ("url", "description", "active"):
        if field in changes:
            setattr(endpoint, field, changes[field])
    secret = None
    if changes.get("rotate_secret"):
        secret = new_secret()
        endpoint.sealed_secret = sealed_secrets.seal(secret_key, secret)
    endpoint.updated_at = utcnow()
    return secret


def deliveries(session: Session, endpoint: WebhookEndpoint, limit: int) -> list[WebhookDelivery]:
    """The endpoint's newest deliveries first."""
    return list(
        session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def delivery(session: Session, endpoint: WebhookEndpoint, delivery_id: str):
    return session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.uuid == delivery_id
        )
    )


def retry(session: Session, row: WebhookDelivery, now: datetime) -> WebhookDelivery:
    """A failed delivery goes out again at once, with a fresh give-up window. Only a failed
    one: a pending one is already due, a sending one is in flight, a sent one arrived."""
    if row.status != DeliveryStatus.FAILED:
        raise NotRetryable(f"This delivery is {row.status}: only a failed one is retried.")
    row.status = DeliveryStatus.PENDING
    row.next_try_at = now
    row.failing_since = None
    row.lease_until = None
    session.flush()
    return row


# ---------------------------------------------------------------------------- events


@dataclass(frozen=True)
class DecisionChange:
    criterion: str
    previous: str | None
    decision: str | None


def _learner(session: Session, centre_id: int, learner_ref: str) -> dict:
    """The learner as a payload names them: uuid and the centre's reference, never a name."""
    row = session.execute(
        select(Learner.uuid, Learner.reference)
        .join(LearnerIdentity, LearnerIdentity.learner_id == Learner.id)
        .where(LearnerIdentity.centre_id == centre_id, LearnerIdentity.learner_ref == learner_ref)
    ).first()
    return {"id": row.uuid if row else None, "reference": row.reference if row else None}


def _listeners(session: Session, centre_id: int | None) -> list[int]:
    """The centre's active endpoints (most centres have none: then nothing more is read)."""
    if centre_id is None:
        return []
    return list(
        session.scalars(
            select(WebhookEndpoint.id).where(
                WebhookEndpoint.centre_id == centre_id, WebhookEndpoint.active.is_(True)
            )
        )
    )


def _emit(session: Session, endpoints: list[int], event: WebhookEvent, data: dict, now) -> None:
    """One delivery per endpoint, each with an event id of its own."""
    for endpoint_id in endpoints:
        event_id = new_uuid()
        body = {
            "id": event_id,
            "type": event.value,
            "occurred_at": now.isoformat().replace("+00:00", "Z"),
            "data": data,
        }
        session.add(
            WebhookDelivery(
                uuid=event_id,
                endpoint_id=endpoint_id,
                event=event.value,
                body=json.dumps(body, separators=(",", ":"), sort_keys=True),
                status=DeliveryStatus.PENDING,
                tries=0,
                next_try_at=now,
                created_at=now,
            )
        )


@dataclass(frozen=True)
class BeforeGrading:
    endpoints: list[int]
    status: AttemptStatus
    decisions: dict[str, str]


def before_grading(session: Session, attempt: Attempt) -> BeforeGrading | None:
    """Read before service.attempts replaces a grading: the centre's active endpoints and the
    attempt's status and decisions, to tell what the new grading changed. None (and nothing
    else read) when the centre has no active webhook."""
    endpoints = _listeners(session, attempt.centre_id)
    if not endpoints:
        return None
    decisions = {d.criterion_code: str(d.decision) for d in attempt.decision_rows}
    return BeforeGrading(endpoints, AttemptStatus(attempt.status), decisions)


def attempt_graded(
    session: Session, attempt: Attempt, before: BeforeGrading | None, now: datetime
) -> None:
    """After service.attempts stored a grading: `attempt.graded` when the attempt became
    graded (at submit) or fully graded (after marking); `criterion.decision_changed` for the
    decisions a later grading changed (an assessor's marks)."""
    if before is None or attempt.status == AttemptStatus.IN_PROGRESS:
        return
    endpoints, previous_status, previous_decisions = (
        before.endpoints,
        before.status,
        before.decisions,
    )
    decisions = {d.criterion_code: str(d.decision) for d in attempt.decision_rows}
    learner = _learner(session, attempt.centre_id, attempt.learner_ref)
    subject = {
        "attempt": {
            "id": attempt.uuid,
            "assessment": attempt.assessment.code,
            "status": str(attempt.status),
            "grade": attempt.grade,
            "percent": attempt.percent,
        },
        "learner": learner,
    }
    if previous_status != attempt.status:
        data = subject | {
            "criteria": [{"criterion": c, "decision": d} for c, d in sorted(decisions.items())]
        }
        _emit(session, endpoints, WebhookEvent.ATTEMPT_GRADED, data, now)
    if previous_status == AttemptStatus.IN_PROGRESS:
        return  # the first grading: attempt.graded carries every decision
    changed = [
        DecisionChange(code, previous_decisions.get(code), decisions.get(code))
        for code in sorted(set(decisions) | set(previous_decisions))
        if decisions.get(code) != previous_decisions.get(code)
    ]
    if changed:
        data = subject | {
            "source": DecisionSource.ATTEMPT.value,
            "changes": [
                {"criterion": c.criterion, "previous": c.previous, "decision": c.decision}
                for c in changed
            ],
        }
        _emit(session, endpoints, WebhookEvent.CRITERION_DECISION_CHANGED, data, now)


def evidence_changed(
    session: Session, record: PerformanceEvidence, source: DecisionSource, now: datetime
) -> None:
    """Performance evidence was recorded (or withdrawn): the criterion's decision changes."""
    endpoints = _listeners(session, record.centre_id)
    if not endpoints:
        return
    data = {
        "source": source.value,
        "learner": _learner(session, record.centre_id, record.learner_ref),
        "performance_evidence": {"id": record.uuid, "supersedes": None},
        "changes": [
            {
                "criterion": record.criterion.code,
                "decision": None
                if source == DecisionSource.PERFORMANCE_EVIDENCE_WITHDRAWN
                else str(record.decision),
            }
        ],
    }
    if record.supersedes is not None:
        data["performance_evidence"]["supersedes"] = record.supersedes.uuid
    _emit(session, endpoints, WebhookEvent.CRITERION_DECISION_CHANGED, data, now)

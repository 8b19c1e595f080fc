"""The words of centres' webhooks, defined once: models, the domain, the worker, schemas and
the API use these (StrEnum: each value is also the plain string stored and sent). A delivery's
status is grade passback's own DeliveryStatus: both go through the same durable delivery."""

from __future__ import annotations

from enum import StrEnum


class WebhookEvent(StrEnum):
    """What a centre is told (the payload's `type`)."""

    # An attempt was graded: automatically at submit (status pending_manual while written
    # answers await an assessor, else fully_graded), or fully graded after marking.
    ATTEMPT_GRADED = "attempt.graded"
    # A criterion decision changed: an assessor's marking changed an attempt's decisions, or
    # performance evidence was recorded or withdrawn.
    CRITERION_DECISION_CHANGED = "criterion.decision_changed"


class DecisionSource(StrEnum):
    """Where a changed criterion decision comes from."""

    ATTEMPT = "attempt"  # an attempt's grading (an assessor's marks)
    PERFORMANCE_EVIDENCE_RECORDED = "performance_evidence.recorded"
    PERFORMANCE_EVIDENCE_WITHDRAWN = "performance_evidence.withdrawn"

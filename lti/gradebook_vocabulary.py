"""The words of grade passback, defined once: models, the worker, the admin API and the pages
use these enums (StrEnum: each value is also the plain string stored and sent)."""

from __future__ import annotations

from enum import StrEnum


class DeliveryStatus(StrEnum):
    """Where one queued score is. Only the newest row of a learner and line item is ever sent:
    an unsent older one is superseded when a newer state is recorded."""

    PENDING = "pending"  # waiting to be sent (now, or after a retry delay)
    SENDING = "sending"  # claimed by a worker until its lease ends
    SENT = "sent"  # the platform accepted it, or already held a newer score
    FAILED = "failed"  # the platform refused it for good; a person must look
    SUPERSEDED = "superseded"  # a newer state for the same learner and line item replaced it


class LineItemTag(StrEnum):
    """What a gradebook column carries (the line item's `tag`)."""

    ASSESSMENT = "assessment"  # the activity's score (as the deep link declares it)
    CRITERION = "criterion"  # one assessment criterion: 1 met, 0 not yet met


class CanvasCriteria(StrEnum):
    """How a Canvas deployment shows criterion coverage (an administrator's choice). In Canvas
    only an assignment's first line item reaches the gradebook, so criterion columns would be
    separate assignments learners see."""

    COMMENT = "comment"  # the score comment and the submission extension (the default)
    ASSIGNMENTS = "assignments"  # one Canvas assignment per criterion


class CheckStatus(StrEnum):
    """The result of one pre-flight check of a registration (lti/preflight.py)."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"  # not run: an earlier check failed, or it was not asked for

"""The AGS 2.0 score vocabularies (activityProgress, gradingProgress). A module of their own,
with no imports, so that both the AGS client (lti.ags) and the tables that store scores
(lti.models, for the development platform) can use them without importing each other."""

from __future__ import annotations

import enum


class ActivityProgress(enum.StrEnum):
    INITIALIZED = "Initialized"
    STARTED = "Started"
    IN_PROGRESS = "InProgress"
    SUBMITTED = "Submitted"
    COMPLETED = "Completed"


class GradingProgress(enum.StrEnum):
    FULLY_GRADED = "FullyGraded"
    PENDING = "Pending"
    PENDING_MANUAL = "PendingManual"
    FAILED = "Failed"
    NOT_READY = "NotReady"

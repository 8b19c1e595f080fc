"""How an attempt was taken, defined once (models, schemas, API)."""

from __future__ import annotations

from enum import StrEnum


class AttemptMode(StrEnum):
    ONLINE = "online"  # delivered by this service (API or LMS launch)
    PAPER = "paper"  # a paper sitting at the centre, recorded afterwards
    OTHER_PLATFORM = "other_platform"  # taken on another platform, recorded afterwards


RECORDED_MODES = (AttemptMode.PAPER, AttemptMode.OTHER_PLATFORM)

"""The words of access arrangements, defined once (models, schemas, pages and the API)."""

from __future__ import annotations

from enum import StrEnum


class SetBy(StrEnum):
    """Who recorded an arrangement."""

    ASSESSOR = "assessor"  # in the tool, from the LMS (set_by: "lti:{platform}:{sub}")
    API_CLIENT = "api_client"  # a centre's system (set_by: "client:{client id}")
    LMS = "lms"  # a launch's custom parameter (set_by: "lms:{platform}")


class ReasonCategory(StrEnum):
    """Why, as a broad category only: the JCQ areas of need, and a temporary injury or
    illness. Never a diagnosis or any medical detail: those stay with the centre."""

    COGNITION_AND_LEARNING = "cognition_and_learning"
    COMMUNICATION_AND_INTERACTION = "communication_and_interaction"
    SENSORY_AND_PHYSICAL = "sensory_and_physical"
    SOCIAL_EMOTIONAL_MENTAL_HEALTH = "social_emotional_mental_health"
    TEMPORARY_INJURY_OR_ILLNESS = "temporary_injury_or_illness"
    OTHER = "other"

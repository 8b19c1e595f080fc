"""Every stored vocabulary value a page shows, in words: one mapping per vocabulary, here only.

Pages never show a stored value (`face_to_face`, `not_yet_met`) as it is: they look it up
here, and a value with no words yet is shown as words by `words` (underscores gone, first
letter capital), never raw.
"""

from __future__ import annotations

from service.grading.vocabulary import Band, Decision, Grade, RubricLevel

GRADE_WORDS = {
    Grade.ACHIEVED: "Achieved",
    Grade.NOT_YET_ACHIEVED: "Not yet achieved",
    Grade.PASS: "Pass",
    Grade.MERIT: "Merit",
    Grade.DISTINCTION: "Distinction",
}
DECISION_WORDS = {
    Decision.MET: "Met",
    Decision.NOT_YET_MET: "Not yet met",
    Decision.PENDING: "Waiting for your assessor",
    Decision.NOT_EVIDENCED: "Not assessed in this attempt",
}
STAFF_DECISION_WORDS = {**DECISION_WORDS, Decision.PENDING: "Waiting for marking"}
QUALITY_WORDS = {
    RubricLevel.NOT_YET_MET: "Not yet met",
    RubricLevel.MET: "Met",
}
STATUS_WORDS = {
    "in_progress": "In progress",
    "pending_manual": "Waiting for marking",
    "fully_graded": "Marked",
}
BAND_WORDS = {
    Band.PASS: "Pass",
    Band.MERIT: "Merit",
    Band.DISTINCTION: "Distinction",
}
# criteria_data/schema/items.schema.json: scenario.channel (tests check every value has words).
CHANNEL_WORDS = {
    "phone": "Phone",
    "email": "Email",
    "chat": "Web chat",
    "face_to_face": "Face to face",
    "letter": "Letter",
    "social_media": "Social media",
}
# The scenario fields whose values are vocabulary, not prose.
SCENARIO_VALUE_WORDS = {"channel": CHANNEL_WORDS}


def words(mapping: dict, value) -> str:
    """`value` in words from `mapping`; a value it lacks, readable all the same."""
    if value is None:
        return ""
    found = mapping.get(value)
    if found is not None:
        return found
    text = str(value).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def scenario_value(key: str, value) -> str:
    """A scenario field's value as the page shows it (the channel in words, prose as written)."""
    mapping = SCENARIO_VALUE_WORDS.get(key)
    return words(mapping, value) if mapping is not None else value

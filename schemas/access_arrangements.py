from marshmallow import Schema, fields, validate

from service.access_arrangements import (
    BREAK_MINUTES_MAX,
    EXTRA_MINUTES_MAX,
    EXTRA_PERCENT_MAX,
    TIME_LIMIT_MAX,
)
from service.access_vocabulary import ReasonCategory, SetBy
from service.exam_clock import WARNING_MINUTES

LEARNER_REF = {
    "description": "The centre's opaque learner id (as used for attempts), or an LTI learner's "
    '"lti:{platform}:{sub}". Never a name or an email.',
    "example": "L-2026-0042",
}
REASON = {
    "description": "Why, as a broad category only (the JCQ areas of need, or a temporary "
    "injury or illness). Never a diagnosis or medical detail: those stay with the centre.",
    "example": "cognition_and_learning",
}


def _minutes(maximum: int, description: str, example: int | None = None, **kwargs):
    metadata = {"description": description}
    if example is not None:
        metadata["example"] = example
    return fields.Integer(
        allow_none=True,
        validate=validate.Range(min=0, max=maximum),
        metadata=metadata,
        **kwargs,
    )


class ArrangementFieldsSchema(Schema):
    extra_time_percent = _minutes(
        EXTRA_PERCENT_MAX,
        "Extra time as a percentage of the time limit (25 for 25%). Give extra time as a "
        "percentage or as minutes, not both; 0 or null: none.",
        25,
        load_default=None,
    )
    extra_time_minutes = _minutes(
        EXTRA_MINUTES_MAX, "Extra time in minutes; 0 or null: none", load_default=None
    )
    rest_breaks = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Supervised rest breaks, which stop the clock, are allowed",
            "example": True,
        },
    )
    rest_break_max_minutes = _minutes(
        BREAK_MINUTES_MAX,
        "The most break time that stops the clock, in all (null: no limit); beyond it the "
        "clock runs again. Only with rest_breaks (ignored otherwise).",
        20,
        load_default=None,
    )
    time_limit_minutes = _minutes(
        TIME_LIMIT_MAX,
        "A different time limit replacing the assessment's (extra time is added to it); only "
        "with `assessment`",
        load_default=None,
    )
    reason = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.OneOf(list(ReasonCategory)),
        metadata=REASON,
    )


class SetArrangementSchema(ArrangementFieldsSchema):
    learner_ref = fields.String(
        required=True, validate=validate.Length(min=1, max=255), metadata=LEARNER_REF
    )
    assessment = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.Length(min=1, max=24),
        metadata={
            "description": "An assessment code: the arrangement is for that assessment only "
            "and applies there instead of the learner's general one. Null: every assessment.",
            "example": "CSC-01-A1",
        },
    )


class LearnerQuerySchema(Schema):
    learner_ref = fields.String(
        required=True, validate=validate.Length(min=1, max=255), metadata=LEARNER_REF
    )


class ArrangementSchema(ArrangementFieldsSchema):
    id = fields.String(required=True)
    assessment = fields.String(allow_none=True, metadata={"description": "Null: every assessment"})
    set_by_kind = fields.String(
        required=True,
        validate=validate.OneOf(list(SetBy)),
        metadata={
            "description": "assessor (in the tool), api_client (a centre's system) or lms (a "
            "custom launch parameter)"
        },
    )
    set_by = fields.String(
        required=True,
        metadata={
            "description": 'Who: "lti:{platform}:{sub}" (an assessor), "client:{client id}" '
            'or "lms:{platform}"'
        },
    )
    set_at = fields.DateTime(required=True)
    current = fields.Boolean(
        required=True, metadata={"description": "False: replaced by a later change"}
    )
    supersedes = fields.String(
        allow_none=True, metadata={"description": "The id of the row this change replaced"}
    )


class LearnerArrangementsSchema(Schema):
    learner_ref = fields.String(required=True)
    current = fields.List(
        fields.Nested(ArrangementSchema),
        required=True,
        metadata={
            "description": "What applies now: the general arrangement (assessment null) and "
            "any per assessment"
        },
    )
    history = fields.List(
        fields.Nested(ArrangementSchema),
        required=True,
        metadata={"description": "Every change, oldest first; changes are never overwritten"},
    )


class ClockSchema(Schema):
    started_at = fields.DateTime(
        allow_none=True, metadata={"description": "When the learner chose Start"}
    )
    deadline = fields.DateTime(
        allow_none=True,
        metadata={
            "description": "The effective deadline: Start + the time allowed (with extra "
            "time) + rest breaks taken; null until Start"
        },
    )
    time_allowed_seconds = fields.Integer(
        metadata={"description": "The time limit with extra time, breaks not included"}
    )
    time_left_seconds = fields.Integer(metadata={"description": "Never negative"})
    running = fields.Boolean()
    on_break = fields.Boolean()
    break_seconds = fields.Integer(metadata={"description": "Break time that stopped the clock"})
    break_seconds_left = fields.Integer(
        allow_none=True, metadata={"description": "Null: no limit on breaks"}
    )
    warnings = fields.List(
        fields.Integer(validate=validate.OneOf(WARNING_MINUTES)),
        metadata={"description": "The time warnings due now, in minutes left (5, then 1)"},
    )
    arrangements = fields.Nested(
        ArrangementFieldsSchema,
        allow_none=True,
        metadata={"description": "The access arrangements that apply; null: none"},
    )

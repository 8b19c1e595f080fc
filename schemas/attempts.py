from marshmallow import Schema, fields, validate

from schemas.access_arrangements import ClockSchema
from schemas.items import LearnerItemSchema
from service.grading.limits import (
    MAX_EXTENDED_CHARS,
    MAX_EXTENDED_WORDS,
    MAX_RESPONSES_PER_REQUEST,
    MAX_SHORT_TEXT_CHARS,
)
from service.grading.vocabulary import AttemptStatus, Decision

RESPONSE_DOC = (
    'Item id -> response: single_choice "B"; multiple_response ["A", "C"]; ordering '
    '["S2", "S1", "S3"]; matching {"P1": "R2"}; short_text and extended_response text. '
    f"Limits: at most {MAX_RESPONSES_PER_REQUEST} items per request; short_text "
    f"{MAX_SHORT_TEXT_CHARS} characters; extended_response {MAX_EXTENDED_CHARS:,} characters "
    f"and {MAX_EXTENDED_WORDS:,} words (422 naming the item beyond them)."
)
RESPONSES_EXAMPLE = {
    "CSC-01-Q001": "B",
    "CSC-01-Q002": ["A", "C"],
    "CSC-01-Q003": ["S2", "S1", "S3"],
    "CSC-01-Q004": {"P1": "R2"},
}
TOO_MANY = f"At most {MAX_RESPONSES_PER_REQUEST} responses in one request."


def _responses_field(**kwargs):
    return fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=64)),
        values=fields.Raw(allow_none=True),
        validate=validate.Length(max=MAX_RESPONSES_PER_REQUEST, error=TOO_MANY),
        metadata={"description": RESPONSE_DOC, "example": RESPONSES_EXAMPLE},
        **kwargs,
    )


class StartAttemptSchema(Schema):
    learner_ref = fields.String(
        required=True,
        validate=validate.Length(min=1, max=255),
        metadata={
            "description": "The centre's opaque learner id. Never a name or an email.",
            "example": "MIS-L0001",
        },
    )


class ResponsesSchema(Schema):
    responses = _responses_field(required=True)


class SubmitSchema(Schema):
    responses = _responses_field(load_default=dict)


class MarkSchema(Schema):
    item = fields.String(
        required=True,
        metadata={"description": "Extended-response item id", "example": "CSC-01-Q024"},
    )
    levels = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={
            "description": 'Criterion code -> rubric level quality (e.g. "met")',
            "example": {"CSC-01.AC1": "met", "CSC-01.AC2": "not_yet_met", "CSC-01.AC7": "met"},
        },
    )
    previous = fields.Dict(
        keys=fields.String(validate=validate.Length(max=64)),
        values=fields.String(validate=validate.Length(max=64)),
        validate=validate.Length(max=50),
        metadata={
            "description": "The item's levels as you read them ({} when unmarked). If another "
            "assessor changed them since, the answer is 409 and nothing is overwritten."
        },
    )


class ItemResultSchema(Schema):
    item_id = fields.String()
    score = fields.Float()
    max_score = fields.Integer()
    pending = fields.Boolean()
    feedback = fields.List(fields.String())


class CriterionDecisionSchema(Schema):
    criterion = fields.String()
    decision = fields.String(validate=validate.OneOf([d.value for d in Decision]))
    evidence = fields.List(fields.String(), metadata={"description": "Item ids that evidence it"})


class ResultSchema(Schema):
    score = fields.Float()
    max_score = fields.Integer()
    percent = fields.Float()
    grade = fields.String(
        allow_none=True,
        metadata={
            "description": "achieved / not_yet_achieved (competence units) or pass / merit / "
            "distinction / not_yet_achieved (graded units); null while pending"
        },
    )
    items = fields.List(fields.Nested(ItemResultSchema))
    criteria = fields.List(fields.Nested(CriterionDecisionSchema))


class SavedSchema(Schema):
    item = fields.String()
    saved_at = fields.DateTime()


class AttemptSchema(Schema):
    """Readers (attempts:read) get every field; write-only tokens get id, status,
    grading_progress, deadline, submitted_at and saved."""

    def get_attribute(self, obj, attr, default):
        # Views are dicts; a receipt has no "items" key, which must not read as dict.items.
        if isinstance(obj, dict):
            return obj.get(attr, default)
        return super().get_attribute(obj, attr, default)

    id = fields.String(metadata={"example": "3f2b9c1e-5d4a-4e8b-9a7c-2d1e0f6b8a93"})
    assessment = fields.String(metadata={"example": "CSC-01-A1"})
    learner_ref = fields.String(metadata={"example": "MIS-L0001"})
    status = fields.String(validate=validate.OneOf([s.value for s in AttemptStatus]))
    grading_progress = fields.String(metadata={"description": "LTI AGS gradingProgress"})
    started_at = fields.DateTime(
        allow_none=True, metadata={"description": "When the learner chose Start; null before"}
    )
    deadline = fields.DateTime(
        allow_none=True,
        metadata={
            "description": "Start + the time allowed (extra time included) + rest breaks "
            "taken; null before Start. During a rest break, clock.deadline is the live one."
        },
    )
    submitted_at = fields.DateTime(allow_none=True)
    items = fields.List(fields.Nested(LearnerItemSchema))
    responses = fields.Dict(keys=fields.String(), values=fields.Raw())
    saved = fields.List(
        fields.Nested(SavedSchema),
        metadata={"description": "Each saved item id with the server time of its latest save"},
    )
    result = fields.Nested(ResultSchema, allow_none=True)
    clock = fields.Nested(
        ClockSchema,
        metadata={
            "description": "The exam clock: the effective deadline (Start, extra time, rest "
            "breaks), the time left now and the learner's access arrangements"
        },
    )

from marshmallow import Schema, fields, validate

from schemas.items import LearnerItemSchema

RESPONSE_DOC = (
    'Item id -> response: single_choice "B"; multiple_response ["A", "C"]; ordering '
    '["S2", "S1", "S3"]; matching {"P1": "R2"}; short_text and extended_response text.'
)


class StartAttemptSchema(Schema):
    learner_ref = fields.String(
        required=True,
        validate=validate.Length(min=1, max=255),
        metadata={"description": "The centre's opaque learner id. Never a name or an email."},
    )


class ResponsesSchema(Schema):
    responses = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(allow_none=True),
        required=True,
        metadata={"description": RESPONSE_DOC},
    )


class SubmitSchema(Schema):
    responses = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(allow_none=True),
        load_default=dict,
        metadata={"description": RESPONSE_DOC},
    )


class MarkSchema(Schema):
    item = fields.String(required=True, metadata={"description": "Extended-response item id"})
    levels = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": 'Criterion code -> rubric level quality (e.g. "met")'},
    )


class ItemResultSchema(Schema):
    item_id = fields.String()
    score = fields.Float()
    max_score = fields.Integer()
    pending = fields.Boolean()
    feedback = fields.List(fields.String())


class CriterionDecisionSchema(Schema):
    criterion = fields.String()
    decision = fields.String(
        validate=validate.OneOf(["met", "not_yet_met", "pending", "not_evidenced"])
    )
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


class AttemptSchema(Schema):
    id = fields.String()
    assessment = fields.String()
    learner_ref = fields.String()
    status = fields.String(
        validate=validate.OneOf(["in_progress", "pending_manual", "fully_graded"])
    )
    grading_progress = fields.String(metadata={"description": "LTI AGS gradingProgress"})
    started_at = fields.DateTime()
    deadline = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)
    items = fields.List(fields.Nested(LearnerItemSchema))
    responses = fields.Dict(keys=fields.String(), values=fields.Raw())
    result = fields.Nested(ResultSchema, allow_none=True)

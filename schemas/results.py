"""Bodies and parameters of attempts' results with their evidence (/api/v1/attempts, results)."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from service.attempt_mode import RECORDED_MODES, AttemptMode
from service.grading.vocabulary import AttemptStatus, Decision


class ResultLearnerSchema(Schema):
    id = fields.String(
        required=True, metadata={"description": "The learner's id", "format": "uuid"}
    )
    reference = fields.String(
        allow_none=True,
        metadata={"description": "The centre's reference (null: LMS-only)", "example": "MIS-1"},
    )


class ItemEvidenceSchema(Schema):
    item_id = fields.String(required=True, metadata={"example": "CSC-01-I003"})
    response = fields.Raw(
        allow_none=True,
        metadata={
            "description": "The saved response, with the attempt's opaque choice ids (null: "
            "not answered)"
        },
    )
    score = fields.Float(allow_none=True, metadata={"example": 1.0})
    max_score = fields.Integer(allow_none=True, metadata={"example": 1})
    pending = fields.Boolean(
        allow_none=True, metadata={"description": "An extended response not yet marked"}
    )


class MarkEvidenceSchema(Schema):
    item_id = fields.String(required=True, metadata={"example": "CSC-01-I010"})
    level = fields.String(required=True, metadata={"example": "met"})
    marked_by = fields.String(
        allow_none=True,
        metadata={"description": "The assessor: client:{id} or lti:{platform}:{sub}"},
    )
    marked_at = fields.DateTime(required=True)


class PerformanceRecordSchema(Schema):
    id = fields.String(required=True, metadata={"format": "uuid"})
    evidence_type = fields.String(required=True, metadata={"example": "observation"})
    evidenced_on = fields.Date(required=True)
    decision = fields.String(required=True, metadata={"example": "met"})
    assessor = fields.String(required=True, metadata={"example": "client:centre-mis"})


class CriterionResultSchema(Schema):
    criterion = fields.String(required=True, metadata={"example": "CSC-01.AC1"})
    decision = fields.String(
        required=True, validate=validate.OneOf(list(Decision)), metadata={"example": "met"}
    )
    items = fields.List(
        fields.Nested(ItemEvidenceSchema),
        required=True,
        metadata={"description": "The items that evidence the criterion, with responses"},
    )
    marks = fields.List(
        fields.Nested(MarkEvidenceSchema),
        required=True,
        metadata={"description": "The assessor's current marks of the criterion"},
    )
    performance_evidence = fields.List(
        fields.Nested(PerformanceRecordSchema),
        required=True,
        metadata={"description": "The learner's current performance evidence records for it"},
    )


class AttemptResultSchema(Schema):
    id = fields.String(required=True, metadata={"format": "uuid"})
    assessment = fields.String(required=True, metadata={"example": "CSC-01-A1"})
    centre = fields.String(allow_none=True, metadata={"example": "C1"})
    learner = fields.Nested(ResultLearnerSchema, allow_none=True)
    learner_ref = fields.String(required=True, metadata={"example": "MIS-1"})
    status = fields.String(
        required=True,
        validate=validate.OneOf(list(AttemptStatus)),
        metadata={"example": "fully_graded"},
    )
    mode = fields.String(
        required=True,
        validate=validate.OneOf(list(AttemptMode)),
        metadata={"description": "online, or taken elsewhere (paper, other_platform)"},
    )
    taken_on = fields.Date(
        allow_none=True, metadata={"description": "The sitting's day (attempts taken elsewhere)"}
    )
    recorded_by = fields.String(
        allow_none=True,
        metadata={"description": "Who recorded an attempt taken elsewhere (or its assessor)"},
    )
    started_at = fields.DateTime(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)
    graded_at = fields.DateTime(allow_none=True)
    score = fields.Float(allow_none=True)
    max_score = fields.Integer(allow_none=True)
    percent = fields.Float(allow_none=True)
    grade = fields.String(allow_none=True, metadata={"example": "Pass"})
    criteria = fields.List(
        fields.Nested(CriterionResultSchema),
        required=True,
        metadata={"description": "Empty until the attempt is submitted"},
    )


class AttemptQuerySchema(Schema):
    learner = fields.String(
        validate=validate.Length(min=1, max=36),
        metadata={"description": "Only this learner's attempts (a learner id)", "format": "uuid"},
    )
    assessment = fields.String(
        validate=validate.Length(min=1, max=24),
        metadata={"description": "Only attempts at this assessment", "example": "CSC-01-A1"},
    )
    status = fields.String(
        validate=validate.OneOf(list(AttemptStatus)),
        metadata={"description": "Only attempts in this state", "example": "fully_graded"},
    )
    submitted_from = fields.AwareDateTime(
        metadata={"description": "Only attempts submitted at or after this time"}
    )
    submitted_to = fields.AwareDateTime(
        metadata={"description": "Only attempts submitted before this time"}
    )
    course = fields.String(
        validate=validate.Length(min=1, max=255),
        metadata={
            "description": "Only attempts started from this LMS course (the LTI context id of "
            "the activity's resource link)",
            "example": "course-2026-csc",
        },
    )


class RecordedAttemptSchema(Schema):
    """An attempt taken on paper or another platform. Send `responses` or `decisions`."""

    learner_ref = fields.String(
        required=True,
        validate=validate.Length(min=1, max=255),
        metadata={"description": "The centre's reference for the learner", "example": "MIS-1"},
    )
    taken_on = fields.Date(
        required=True, metadata={"description": "The day of the sitting (UK), not in the future"}
    )
    mode = fields.String(
        required=True,
        validate=validate.OneOf([m.value for m in RECORDED_MODES]),
        metadata={"description": "Where it was taken", "example": "paper"},
    )
    responses = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=24)),
        values=fields.Raw(allow_none=True),
        validate=validate.Length(min=1, max=100),
        metadata={
            "description": "Item code -> the learner's response, with the bank's own choice "
            "ids as printed on the paper form. Scored by the engine; extended responses wait "
            "for an assessor's marks.",
            "example": {"CSC-01-I001": "A"},
        },
    )
    decisions = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=24)),
        values=fields.String(validate=validate.OneOf([Decision.MET, Decision.NOT_YET_MET])),
        validate=validate.Length(min=1, max=100),
        metadata={
            "description": "Criterion code -> met / not_yet_met, the assessor's judgement "
            "(criteria not named are not_evidenced)",
            "example": {"CSC-01.AC1": "met"},
        },
    )
    assessor = fields.String(
        validate=validate.Length(min=1, max=255),
        metadata={
            "description": "Who judged the decisions (required with `decisions`)",
            "example": "assessor:j.smith",
        },
    )

    @validates_schema
    def _one_kind(self, data, **_kwargs):
        if ("responses" in data) == ("decisions" in data):
            raise ValidationError("Send either responses or decisions.", "responses")
        if "decisions" in data and not data.get("assessor"):
            raise ValidationError("Name the assessor of the decisions.", "assessor")

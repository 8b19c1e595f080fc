from marshmallow import Schema, fields, validate

EVIDENCE_TYPES = ("knowledge", "performance")
BANDS = ("pass", "merit", "distinction")


class CriteriaQueryArgs(Schema):
    evidence_type = fields.String(validate=validate.OneOf(EVIDENCE_TYPES))
    band = fields.String(validate=validate.OneOf(BANDS))
    q = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Case-insensitive text search in the criterion's wording"},
    )


class OutcomeRefSchema(Schema):
    code = fields.String()
    statement = fields.String()


class CriterionSchema(Schema):
    code = fields.String(metadata={"example": "CSC-01.AC3"})
    id = fields.String(attribute="uuid", metadata={"description": "UUID; the CASE sourcedId"})
    unit_code = fields.String(attribute="unit.code")
    learning_outcome = fields.Nested(OutcomeRefSchema)
    version = fields.Integer(attribute="current_version")
    text = fields.String(attribute="current.text")
    evidence_type = fields.String(
        attribute="current.evidence_type", validate=validate.OneOf(EVIDENCE_TYPES)
    )
    evidence = fields.String(attribute="current.evidence")
    band = fields.String(attribute="current.band", validate=validate.OneOf(BANDS))


class CriterionVersionSchema(Schema):
    version = fields.Integer()
    text = fields.String()
    evidence_type = fields.String()
    evidence = fields.String()
    band = fields.String()
    created_at = fields.DateTime()


class GuidanceSchema(Schema):
    assessor = fields.String(
        metadata={"description": "The examiner's marking point the criterion was written from"}
    )
    learner = fields.List(fields.String(), metadata={"description": "The unit's exam tips"})


class CriterionDetailSchema(CriterionSchema):
    versions = fields.List(fields.Nested(CriterionVersionSchema))
    guidance = fields.Nested(GuidanceSchema)

from marshmallow import Schema, fields, validate

LEVELS = validate.Range(min=1, max=8)
GRADINGS = ("competence", "graded")


class UnitQueryArgs(Schema):
    level = fields.Integer(validate=LEVELS, metadata={"description": "RQF level, 1 to 8"})
    grading = fields.String(validate=validate.OneOf(GRADINGS))
    q = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Case-insensitive text search in title and synopsis"},
    )


class UnitSummarySchema(Schema):
    code = fields.String(metadata={"example": "CSC-01"})
    id = fields.String(attribute="uuid", metadata={"description": "UUID; the CASE sourcedId"})
    title = fields.String()
    level = fields.Integer()
    grading = fields.String(validate=validate.OneOf(GRADINGS))
    guided_learning_hours = fields.Integer()
    criteria_count = fields.Function(lambda unit: len(unit.criteria), dump_only=True)


class KnowledgeTopicSchema(Schema):
    code = fields.String()
    title = fields.String()
    description = fields.String()


class MisconceptionSchema(Schema):
    code = fields.String()
    text = fields.String()


class LearningOutcomeSchema(Schema):
    code = fields.String(metadata={"example": "CSC-01.LO1"})
    statement = fields.String()
    knowledge_topics = fields.List(fields.String(), attribute="knowledge_topic_codes")
    criteria = fields.Pluck("CriterionRefSchema", "code", many=True)


class CriterionRefSchema(Schema):
    code = fields.String()


class GuidanceTextSchema(Schema):
    text = fields.String()


class UnitSchema(UnitSummarySchema):
    synopsis = fields.String()
    source = fields.String(metadata={"description": "The seed document the unit was written from"})
    updated_at = fields.DateTime()
    knowledge_topics = fields.List(fields.Nested(KnowledgeTopicSchema))
    learner_guidance = fields.Pluck("GuidanceTextSchema", "text", many=True, attribute="guidance")
    misconceptions = fields.List(fields.Nested(MisconceptionSchema))
    learning_outcomes = fields.List(fields.Nested(LearningOutcomeSchema))

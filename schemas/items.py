from marshmallow import Schema, fields, validate

from service.grading.vocabulary import RubricLevel

ITEM_TYPES = (
    "single_choice",
    "multiple_response",
    "ordering",
    "matching",
    "short_text",
    "extended_response",
)


class ItemQueryArgs(Schema):
    unit = fields.String(metadata={"description": "Unit code, e.g. CSC-01"})
    criterion = fields.String(metadata={"description": "Criterion code, e.g. CSC-01.AC3"})
    type = fields.String(validate=validate.OneOf(ITEM_TYPES))


class ScenarioSchema(Schema):
    channel = fields.String()
    customer = fields.String()
    need = fields.String()
    vulnerability = fields.String()
    accessibility_need = fields.String()
    rule = fields.String(metadata={"description": "The organisation's rule or the law in play"})
    situation = fields.String()


class ChoiceSchema(Schema):
    id = fields.String(
        metadata={
            "description": "Opaque, per attempt: send it back as the response; it is not the "
            "bank's id and means nothing in another attempt"
        }
    )
    text = fields.String()


class LearnerItemSchema(Schema):
    """An item as a learner sees it: no keys, accepted answers or feedback."""

    id = fields.String(metadata={"example": "CSC-01-Q001"})
    uuid = fields.String()
    version = fields.Integer()
    type = fields.String(validate=validate.OneOf(ITEM_TYPES))
    title = fields.String()
    unit_code = fields.String()
    criteria = fields.List(fields.String())
    scenario = fields.Nested(ScenarioSchema)
    prompt = fields.String()
    points = fields.Integer()
    sample = fields.Boolean(
        metadata={"description": "A published sample (public); false: a live, confidential item"}
    )
    # Every list of choices is shown in its own order per attempt, under opaque ids.
    options = fields.List(fields.Nested(ChoiceSchema), metadata={"description": "Choice items"})
    steps = fields.List(fields.Nested(ChoiceSchema), metadata={"description": "Ordering"})
    premises = fields.List(fields.Nested(ChoiceSchema), metadata={"description": "Matching"})
    responses = fields.List(fields.Nested(ChoiceSchema), metadata={"description": "Matching"})
    expected_length_words = fields.Integer(metadata={"description": "Extended response"})


class KeyedOptionSchema(ChoiceSchema):
    correct = fields.Boolean()
    feedback = fields.String()
    misconception = fields.String()


class KeyedStepSchema(ChoiceSchema):
    feedback = fields.String()


class KeyedPremiseSchema(ChoiceSchema):
    match = fields.String()
    feedback = fields.String()


class ShortTextFeedbackSchema(Schema):
    correct = fields.String()
    incorrect = fields.String()


class WordRangeSchema(Schema):
    min = fields.Integer()
    max = fields.Integer()


class ReviewSchema(Schema):
    written_by = fields.String()
    reviewed_by = fields.String()
    reviewed_on = fields.String()
    status = fields.String(
        metadata={
            "description": "draft or reviewed, as the files say; approval for live use is at "
            "/api/v1/items/{id}/approval"
        }
    )
    notes = fields.String()


class AuthoringItemSchema(LearnerItemSchema):
    """The whole item: what learners see, plus its key, accepted answers, feedback, assessor
    guidance and review record. Steps are in key order."""

    options = fields.List(fields.Nested(KeyedOptionSchema))
    steps = fields.List(fields.Nested(KeyedStepSchema), metadata={"description": "In key order"})
    premises = fields.List(fields.Nested(KeyedPremiseSchema))
    accepted_answers = fields.List(fields.String())
    rejected_answers = fields.List(
        fields.String(),
        metadata={"description": "Known wrong answers: a spelling slip near one is not forgiven"},
    )
    feedback = fields.Nested(ShortTextFeedbackSchema)
    guidance = fields.String()
    word_range = fields.Nested(
        WordRangeSchema,
        metadata={"description": "Extended response: words asked for, the same across a unit"},
    )
    review = fields.Nested(ReviewSchema)
    not_with = fields.List(
        fields.String(), metadata={"description": "Items never put on the same form as this one"}
    )


class RubricLevelSchema(Schema):
    quality = fields.String(validate=validate.OneOf(list(RubricLevel)))
    score = fields.Integer()
    descriptor = fields.String()


class RubricSchema(Schema):
    id = fields.String(attribute="uuid")
    criterion = fields.String(attribute="criterion.code")
    title = fields.String()
    levels = fields.List(fields.Nested(RubricLevelSchema))


class RubricQueryArgs(Schema):
    unit = fields.String()
    criterion = fields.String()


class AssessmentQueryArgs(Schema):
    unit = fields.String()


class GradeDescriptorSchema(Schema):
    grade = fields.String(metadata={"example": "merit"})
    descriptor = fields.String()


class AssessmentSchema(Schema):
    code = fields.String(metadata={"example": "CSC-01-A1"})
    id = fields.String(attribute="uuid")
    unit_code = fields.String(attribute="unit.code")
    grading = fields.String(attribute="unit.grading")
    title = fields.String()
    description = fields.String()
    time_limit_minutes = fields.Integer()
    mastery_percent = fields.Integer(
        metadata={
            "description": "A pass-band criterion is met when the learner earns at least this "
            "share of its auto-scored evidence, each item weighing the same. There is no "
            "percentage pass mark: the grade follows from the criteria."
        }
    )
    auto_items_per_criterion = fields.Integer(
        metadata={"description": "Auto-scored items every form holds for every criterion."}
    )
    extended_responses = fields.Integer(
        metadata={
            "description": "Extended responses on every form; on a graded unit they cover every "
            "merit and distinction criterion."
        }
    )
    grade_descriptors = fields.List(
        fields.Nested(GradeDescriptorSchema),
        metadata={"description": "The published descriptor of each grade, in rising order."},
    )

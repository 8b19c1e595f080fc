from marshmallow import Schema, fields, validate

FORMATS = ("json", "csv")


class StatisticsQueryArgs(Schema):
    unit = fields.String(metadata={"description": "One unit's items, e.g. CSC-01"})
    since = fields.Date(metadata={"description": "Attempts submitted on or after (UTC day)"})
    until = fields.Date(metadata={"description": "Attempts submitted on or before (UTC day)"})
    format = fields.String(
        validate=validate.OneOf(FORMATS),
        metadata={"description": "csv for a CSV table (or send Accept: text/csv); default json"},
    )


class ChoiceRateSchema(Schema):
    choice = fields.String(
        metadata={
            "description": "An option id (single and multiple choice), premise=response "
            "(matching) or position=step (ordering)"
        }
    )
    rate = fields.Float(metadata={"description": "Share of the item's attempts choosing it"})
    keyed = fields.Boolean(metadata={"description": "Part of the key"})


class ItemStatisticsSchema(Schema):
    item = fields.String(metadata={"example": "CSC-01-Q001"})
    type = fields.String()
    n = fields.Integer(metadata={"description": "Fully graded attempts whose form held the item"})
    facility = fields.Float(metadata={"description": "Mean share of the item's marks earned"})
    discrimination = fields.Float(
        allow_none=True,
        metadata={
            "description": "Item-rest correlation: the item's score against the rest of the "
            "form's (item excluded); the corrected point-biserial for one-mark items. Null when "
            "either does not vary"
        },
    )
    omission_rate = fields.Float(metadata={"description": "Share left unanswered"})
    choices = fields.List(
        fields.Nested(ChoiceRateSchema),
        metadata={"description": "Choice rates of choice-bearing items (distractor analysis)"},
    )


class CriterionStatisticsSchema(Schema):
    criterion = fields.String(metadata={"example": "CSC-01.AC1"})
    n = fields.Integer(metadata={"description": "Attempts deciding the criterion"})
    met_rate = fields.Float(metadata={"description": "Share of them deciding it met"})


class StatisticsSchema(Schema):
    attempts = fields.Integer(metadata={"description": "Fully graded attempts counted"})
    items = fields.List(fields.Nested(ItemStatisticsSchema))
    criteria = fields.List(fields.Nested(CriterionStatisticsSchema))

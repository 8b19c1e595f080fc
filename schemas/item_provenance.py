from marshmallow import Schema, fields, validate

from service.content_vocabulary import ItemStatus


class ApproveItemSchema(Schema):
    by = fields.String(
        required=True,
        validate=validate.Length(min=1, max=255),
        metadata={
            "description": "The named person approving for the awarding body, with their role",
            "example": "Dr A. Patel, sector expert (customer service)",
        },
    )


class ItemProvenanceSchema(Schema):
    item = fields.String(metadata={"example": "CSC-01-Q001"})
    version = fields.Integer(metadata={"description": "The item's current version"})
    status = fields.String(
        validate=validate.OneOf(list(ItemStatus)),
        metadata={
            "description": "draft or reviewed (from the item's review record), or approved "
            "for live use by the awarding body"
        },
    )
    written_by = fields.String(allow_none=True)
    reviewed_by = fields.String(allow_none=True)
    approved_by = fields.String(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    approved_version = fields.Integer(
        allow_none=True,
        metadata={"description": "The version approved: a changed item needs approving again"},
    )

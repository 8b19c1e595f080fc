from marshmallow import Schema, fields


class ErrorSchema(Schema):
    """The one error shape of the REST API."""

    status = fields.Integer(required=True, metadata={"example": 404})
    code = fields.String(required=True, metadata={"example": "not_found"})
    message = fields.String(required=True)
    details = fields.Dict(
        keys=fields.String(),
        metadata={"description": "Per-field messages, keyed by parameter or field name"},
    )
    reference = fields.String(metadata={"description": "Quote this when reporting a server error"})

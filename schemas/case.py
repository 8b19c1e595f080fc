from marshmallow import Schema, fields, validate
from webargs.fields import DelimitedList


class CaseListArgs(Schema):
    """The CASE 1.0 binding's collection parameters."""

    limit = fields.Integer(load_default=100, validate=validate.Range(min=1))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))
    sort = fields.String(metadata={"description": "Field to sort by, used with orderBy"})
    orderBy = fields.String(validate=validate.OneOf(["asc", "desc"]))  # noqa: N815 - CASE's name
    filter = fields.String(
        metadata={"description": "e.g. title~'Customer' or version='1.0' AND language='en-GB'"}
    )
    fields = DelimitedList(fields.String(), metadata={"description": "Fields to return"})

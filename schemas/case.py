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


class CaseCodeMinorFieldSchema(Schema):
    imsx_codeMinorFieldName = fields.String(required=True)  # noqa: N815 - CASE's name
    imsx_codeMinorFieldValue = fields.String(  # noqa: N815 - CASE's name
        required=True, metadata={"example": "unknownobject"}
    )


class CaseCodeMinorSchema(Schema):
    imsx_codeMinorField = fields.List(  # noqa: N815 - CASE's name
        fields.Nested(CaseCodeMinorFieldSchema), required=True
    )


class CaseStatusInfoSchema(Schema):
    """imsx_StatusInfo: how the CASE REST binding answers every error."""

    imsx_codeMajor = fields.String(  # noqa: N815 - CASE's name
        required=True, validate=validate.OneOf(["success", "processing", "failure", "unsupported"])
    )
    imsx_severity = fields.String(  # noqa: N815 - CASE's name
        required=True, validate=validate.OneOf(["status", "warning", "error"])
    )
    imsx_description = fields.String()  # noqa: N815 - CASE's name
    imsx_codeMinor = fields.Nested(CaseCodeMinorSchema)  # noqa: N815 - CASE's name

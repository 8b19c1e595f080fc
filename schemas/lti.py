"""LTI 1.3 registrations, as the admin API shows and takes them."""

from marshmallow import Schema, fields, validate

from lti.gradebook_vocabulary import CanvasCriteria, CheckStatus

CANVAS_CRITERIA_DOC = (
    "Canvas only: `comment` (the default) sends criterion coverage in the score's comment and "
    "submission; `assignments` makes one Canvas assignment per criterion, which learners see"
)
URL_DOC = "https in production; http only for 127.0.0.1 or localhost on the embedded default"


def _url(description: str, required: bool = True) -> fields.Url:
    return fields.Url(
        required=required,
        schemes={"http", "https"},
        require_tld=False,
        validate=validate.Length(max=1024),
        metadata={"description": f"{description} ({URL_DOC})"},
    )


class PlatformSchema(Schema):
    id = fields.Integer(metadata={"description": "Registration number"})
    name = fields.String()
    issuer = fields.String(metadata={"description": "The platform's issuer (iss)"})
    client_id = fields.String(metadata={"description": "The client id the platform gave the tool"})
    auth_login_url = fields.String(metadata={"description": "OIDC authorisation endpoint"})
    auth_token_url = fields.String(metadata={"description": "OAuth 2.0 token endpoint"})
    key_set_url = fields.String(metadata={"description": "The platform's JWKS"})
    auth_audience = fields.String(
        allow_none=True, metadata={"description": "aud for token requests (default: token URL)"}
    )
    deployment_ids = fields.List(fields.String())
    centre = fields.String(allow_none=True, metadata={"description": "Centre code, if bound"})
    active = fields.Boolean(metadata={"description": "Only active registrations can launch"})
    registered_by = fields.String(validate=validate.OneOf(["manual", "dynamic"]))
    created_at = fields.DateTime()


class PlatformCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    issuer = fields.Url(
        required=True,
        schemes={"http", "https"},
        require_tld=False,
        validate=validate.Length(max=255),
        metadata={"description": f"The platform's issuer, as in its id_tokens ({URL_DOC})"},
    )
    client_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    auth_login_url = _url("OIDC authorisation endpoint")
    auth_token_url = _url("OAuth 2.0 token endpoint (AGS, NRPS)")
    key_set_url = _url("The platform's public keys (JWKS)")
    auth_audience = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=1024),
        metadata={"description": "aud for token requests, if not the token URL"},
    )
    deployment_ids = fields.List(
        fields.String(validate=validate.Length(min=1, max=255)),
        load_default=list,
        metadata={"description": "The platform's deployment ids of the tool"},
    )
    centre = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "Bind the registration to this centre (code)"},
    )
    active = fields.Boolean(
        load_default=False, metadata={"description": "Activate at once (default: inactive)"}
    )


class ActivateSchema(Schema):
    centre = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "Also bind the registration to this centre (code)"},
    )


class DeploymentCreateSchema(Schema):
    deployment_id = fields.String(required=True, validate=validate.Length(min=1, max=255))


class DeploymentSchema(Schema):
    deployment_id = fields.String()
    canvas_criteria = fields.String(
        validate=validate.OneOf([c.value for c in CanvasCriteria]),
        metadata={"description": CANVAS_CRITERIA_DOC},
    )


class DeploymentUpdateSchema(Schema):
    canvas_criteria = fields.String(
        required=True,
        validate=validate.OneOf([c.value for c in CanvasCriteria]),
        metadata={"description": CANVAS_CRITERIA_DOC},
    )


class PreflightQuerySchema(Schema):
    link = fields.Integer(
        load_default=None,
        validate=validate.Range(min=1, max=2147483647),
        metadata={"description": "Resource link to check (default: the most recently launched)"},
    )


class PreflightRunSchema(PreflightQuerySchema):
    round_trip = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Also create, read back and delete a test line item "
            "(writes to the gradebook)"
        },
    )


class PreflightCheckSchema(Schema):
    name = fields.String()
    status = fields.String(validate=validate.OneOf([s.value for s in CheckStatus]))
    detail = fields.String()


class PreflightLinkSchema(Schema):
    id = fields.Integer(metadata={"description": "The resource link's number here"})
    resource_link_id = fields.String(metadata={"description": "The platform's resource link id"})
    context_id = fields.String(allow_none=True)
    product_family = fields.String(allow_none=True)
    launched_at = fields.DateTime(metadata={"description": "When a launch last changed it"})
    scopes = fields.List(fields.String(), metadata={"description": "AGS scopes granted"})


class GradebookSummarySchema(Schema):
    scores = fields.Boolean()
    criterion_columns = fields.Boolean()
    comment_only = fields.Boolean()
    sentence = fields.String()


class PreflightReportSchema(Schema):
    platform_id = fields.Integer()
    link = fields.Nested(PreflightLinkSchema, allow_none=True)
    round_trip = fields.Boolean()
    passed = fields.Boolean(metadata={"description": "No check failed"})
    gradebook = fields.Nested(GradebookSummarySchema, allow_none=True)
    checks = fields.List(fields.Nested(PreflightCheckSchema))


class ReconcileQuerySchema(Schema):
    link = fields.Integer(
        load_default=None,
        validate=validate.Range(min=1, max=2147483647),
        metadata={"description": "One resource link (default: every link of the platform)"},
    )


class MismatchSchema(Schema):
    user_id = fields.String(metadata={"description": "The platform's user id of the learner"})
    line_item_id = fields.Integer()
    line_item = fields.String(metadata={"description": "The line item's label"})
    ours = fields.Float(allow_none=True, metadata={"description": "The score last sent"})
    theirs = fields.Float(
        allow_none=True,
        metadata={"description": "The platform's result on the same scale; null if none"},
    )
    score_maximum = fields.Float(allow_none=True)


class UnreadableSchema(Schema):
    line_item_id = fields.Integer()
    line_item = fields.String()
    detail = fields.String()


class ReconciliationSchema(Schema):
    compared = fields.Integer(metadata={"description": "Learner scores compared"})
    mismatches = fields.List(fields.Nested(MismatchSchema))
    unreadable = fields.List(fields.Nested(UnreadableSchema))
    queued = fields.Integer(
        allow_none=True, metadata={"description": "Scores queued again (resend only)"}
    )

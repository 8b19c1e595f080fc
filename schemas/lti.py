"""LTI 1.3 registrations, as the admin API shows and takes them."""

from marshmallow import Schema, fields, validate

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

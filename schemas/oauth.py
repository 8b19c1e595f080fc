"""The token endpoint's contract (RFC 6749 client credentials), for the OpenAPI document.

authlib does the work: these schemas describe its form and its answers. Every form field is
optional here because authlib, not marshmallow, must refuse a bad request, in OAuth's own error
shape (400 invalid_request / unsupported_grant_type), never with the API's 422.
"""

from marshmallow import EXCLUDE, Schema, fields

from schemas.errors import ErrorSchema


class TokenRequestSchema(Schema):
    class Meta:
        # RFC 6749 3.2: the server MUST ignore unrecognised request parameters.
        unknown = EXCLUDE

    grant_type = fields.String(
        metadata={"description": "Must be `client_credentials`.", "example": "client_credentials"}
    )
    client_id = fields.String(
        metadata={
            "description": "With client_secret, when not sent by HTTP Basic auth.",
            "example": "c-7Qm2xv9LwA",
        }
    )
    client_secret = fields.String(
        metadata={
            "description": "With client_id, when not sent by HTTP Basic auth.",
            "example": "s3cr3t-shown-once",
        }
    )
    scope = fields.String(
        metadata={
            "description": "Space-separated scopes; all must be held by the client "
            "(else `invalid_scope`). Omitted: every scope the client holds.",
            "example": "content:read",
        }
    )


class TokenSchema(Schema):
    access_token = fields.String(required=True, metadata={"example": "q8Vd1tJx0pYc7nW2"})
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "Seconds", "example": 3600})
    scope = fields.String(required=True, metadata={"example": "attempts:read attempts:write"})


class OAuthErrorSchema(Schema):
    """RFC 6749 5.2 error response."""

    error = fields.String(
        required=True,
        metadata={
            "description": "invalid_request, invalid_client, invalid_grant, "
            "unauthorized_client, unsupported_grant_type or invalid_scope",
            "example": "invalid_client",
        },
    )
    error_description = fields.String()


class TokenRateLimitedSchema(ErrorSchema):
    """429: the API's error shape, with OAuth's `error` fields too, for OAuth client libraries."""

    error = fields.String(required=True, metadata={"example": "rate_limited"})
    error_description = fields.String()

"""The admin API's bodies (/api/v1/admin): centres, API clients, EQA assignments, audit log."""

from marshmallow import Schema, fields, validate

from service.audit_vocabulary import AuditAction
from service.client_vocabulary import SCOPES, ClientKind

CLIENT_ID = {
    "description": "The client's id (client_id)",
    "example": "9f2b6c1d0e4a4b7c8d9e0f1a2b3c4d5e",
}
CENTRE_CODE = {"description": "A centre's code", "example": "C1"}
KINDS = [k.value for k in ClientKind]


class CentreCreateSchema(Schema):
    code = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=32), validate.Regexp(r"^[A-Za-z0-9_.-]+$")],
        metadata=CENTRE_CODE,
    )
    name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=255),
        metadata={"description": "The centre's name", "example": "Northbridge College"},
    )


class CentreSchema(Schema):
    code = fields.String(metadata=CENTRE_CODE)
    name = fields.String(metadata={"example": "Northbridge College"})
    uuid = fields.String(metadata={"description": "The centre's sourcedId in CASE and exports"})
    created_at = fields.DateTime()


class ClientCreateSchema(Schema):
    name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=255),
        metadata={"description": "Who the client is for", "example": "Northbridge College MIS"},
    )
    kind = fields.String(
        required=True,
        validate=validate.OneOf(KINDS),
        metadata={
            "description": "centre (names its centre), eqa (assigned to centres afterwards) "
            "or awarding_body",
            "example": "centre",
        },
    )
    scopes = fields.List(
        fields.String(validate=validate.OneOf(sorted(SCOPES))),
        required=True,
        validate=validate.Length(min=1, max=len(SCOPES)),
        metadata={"description": "The scopes the client may ask for", "example": ["results:read"]},
    )
    centre = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "A centre's client: its centre's code", **{"example": "C1"}},
    )


class AssignmentSchema(Schema):
    client_id = fields.String(metadata=CLIENT_ID)
    centre = fields.String(metadata=CENTRE_CODE)
    assigned_at = fields.DateTime()
    assigned_by = fields.String(
        metadata={"description": "Who assigned it (an actor, as in the audit log)"}
    )


class ClientSchema(Schema):
    client_id = fields.String(metadata=CLIENT_ID)
    name = fields.String()
    kind = fields.String(validate=validate.OneOf(KINDS))
    scopes = fields.List(fields.String(), metadata={"example": ["results:read"]})
    centre = fields.String(
        allow_none=True, metadata={"description": "A centre's client: its centre's code"}
    )
    centres = fields.List(
        fields.String(),
        metadata={"description": "An EQA's client: the centres assigned to it", "example": []},
    )
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)


class ClientSecretSchema(ClientSchema):
    client_secret = fields.String(
        metadata={
            "description": "Shown this once; only its hash is stored",
            "example": "q0Yv1rFZ3m6dN8sT2wXbK5hJ9cL4pA7eG1uR0iO3yQk",
        }
    )


class ClientQuerySchema(Schema):
    kind = fields.String(
        load_default=None,
        validate=validate.OneOf(KINDS),
        metadata={"description": "Only clients of this kind", "example": "eqa"},
    )
    centre = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=32),
        metadata={
            "description": "Only this centre's clients and the EQAs assigned to it",
            "example": "C1",
        },
    )


class AuditQuerySchema(Schema):
    learner = fields.UUID(
        load_default=None,
        metadata={
            "description": "Only events about this learner (their uuid)",
            "example": "6f1c2d4e-8a3b-4c5d-9e7f-0a1b2c3d4e5f",
        },
    )
    actor = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=255),
        metadata={
            "description": 'Only this actor\'s events ("client:{client_id}", "cli:{user}"...)',
            "example": "client:9f2b6c1d0e4a4b7c8d9e0f1a2b3c4d5e",
        },
    )
    centre = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "Only events of this centre (its code)", "example": "C1"},
    )
    action = fields.String(
        load_default=None,
        validate=validate.OneOf([a.value for a in AuditAction]),
        metadata={"description": "Only events of this action", "example": "read"},
    )
    since = fields.AwareDateTime(
        load_default=None,
        metadata={
            "description": "Only events at or after this time",
            "example": "2026-11-01T00:00:00Z",
        },
    )
    until = fields.AwareDateTime(
        load_default=None,
        metadata={"description": "Only events before this time", "example": "2026-12-01T00:00:00Z"},
    )


class AuditEventSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String(metadata={"example": "client:9f2b6c1d0e4a4b7c8d9e0f1a2b3c4d5e"})
    action = fields.String(validate=validate.OneOf([a.value for a in AuditAction]))
    centre = fields.String(allow_none=True, metadata=CENTRE_CODE)
    learner = fields.String(
        allow_none=True, metadata={"description": "The learner's uuid, when one is concerned"}
    )
    subject = fields.String(
        metadata={"description": "What was read or changed", "example": "attempt:6f1c2d4e"}
    )
    request = fields.String(
        allow_none=True,
        metadata={
            "description": "Method and path (no query string)",
            "example": "GET /api/v1/attempts/6f1c2d4e",
        },
    )

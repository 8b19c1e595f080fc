from marshmallow import Schema, fields, validate

from lti.gradebook_vocabulary import DeliveryStatus
from service.webhook_vocabulary import WebhookEvent
from service.webhooks import DESCRIPTION_MAX

URL = {
    "description": "Where events are POSTed: an https URL on a public address (no loopback, "
    "private, link-local or metadata address; http://127.0.0.1 only in development)",
    "example": "https://mis.example-college.ac.uk/hooks/assessment",
}


class NewWebhookSchema(Schema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2048), metadata=URL)
    description = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=DESCRIPTION_MAX),
        metadata={"description": "A note for the centre's staff", "example": "MIS results feed"},
    )
    centre = fields.String(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "The centre's code: for the awarding body's clients (admin) only; a "
            "centre's client registers for its own centre",
            "example": "C1",
        },
    )


class ChangeWebhookSchema(Schema):
    url = fields.String(validate=validate.Length(min=1, max=2048), metadata=URL)
    description = fields.String(
        allow_none=True,
        validate=validate.Length(max=DESCRIPTION_MAX),
        metadata={"description": "A note for the centre's staff", "example": "MIS results feed"},
    )
    active = fields.Boolean(
        metadata={
            "description": "false pauses deliveries (events are still queued and wait); true "
            "resumes them",
            "example": True,
        }
    )
    rotate_secret = fields.Boolean(
        load_default=False,
        metadata={
            "description": "true: a new signing secret, answered once in `secret`; the old one "
            "stops signing at once",
            "example": False,
        },
    )


class WebhookSchema(Schema):
    id = fields.String(metadata={"description": "The webhook's id", "format": "uuid"})
    centre = fields.String(metadata={"description": "The centre's code", "example": "C1"})
    url = fields.String(metadata=URL)
    description = fields.String(allow_none=True, metadata={"example": "MIS results feed"})
    active = fields.Boolean(metadata={"example": True})
    events = fields.List(
        fields.String(validate=validate.OneOf(list(WebhookEvent))),
        metadata={"description": "The events sent", "example": list(WebhookEvent)},
    )
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    secret = fields.String(
        metadata={
            "description": "The signing secret: only in the answer to creation and to a "
            "rotation. Keep it; it is never shown again",
            "example": "whsec_3f1c0d7b2e9a4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b",
        }
    )


class DeliverySchema(Schema):
    id = fields.String(
        metadata={
            "description": "The delivery's id: the Webhook-Id header and the payload's `id`",
            "format": "uuid",
        }
    )
    event = fields.String(
        validate=validate.OneOf(list(WebhookEvent)), metadata={"example": "attempt.graded"}
    )
    status = fields.String(
        validate=validate.OneOf(
            [
                DeliveryStatus.PENDING,
                DeliveryStatus.SENDING,
                DeliveryStatus.SENT,
                DeliveryStatus.FAILED,
            ]
        ),
        metadata={
            "description": "pending (waiting, or waiting to retry), sending, sent (the "
            "receiver answered 2xx), failed (refused, or given up: retry it)",
            "example": "sent",
        },
    )
    tries = fields.Integer(metadata={"example": 1})
    response_code = fields.Integer(
        allow_none=True,
        metadata={"description": "The HTTP status of the last try, if any", "example": 200},
    )
    error = fields.String(
        allow_none=True,
        metadata={"description": "What went wrong on the last try", "example": None},
    )
    next_try_at = fields.DateTime(
        allow_none=True, metadata={"description": "When a pending delivery is tried next"}
    )
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)


class DeliveryQuerySchema(Schema):
    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=200),
        metadata={"description": "At most this many, newest first", "example": 50},
    )

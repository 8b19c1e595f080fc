"""The score outbox as the admin API shows it (GET /api/v1/admin/grade-sync) and retries it."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from lti.gradebook_vocabulary import DeliveryStatus

ROW_ID = validate.Range(min=1, max=2147483647)


class GradeSyncQuerySchema(Schema):
    status = fields.String(
        load_default=None,
        validate=validate.OneOf([s.value for s in DeliveryStatus]),
        metadata={"description": "Only entries whose newest score is in this status"},
    )


class GradeSyncEntrySchema(Schema):
    id = fields.Integer(metadata={"description": "The newest score's number (for retry)"})
    status = fields.String(validate=validate.OneOf([s.value for s in DeliveryStatus]))
    tries = fields.Integer(metadata={"description": "Sends tried since it was queued or retried"})
    last_error = fields.String(
        allow_none=True, metadata={"description": "The platform's last answer, cut short"}
    )
    user_id = fields.String(metadata={"description": "The platform's user id of the learner"})
    attempt_id = fields.Integer()
    line_item_id = fields.Integer()
    line_item = fields.String(metadata={"description": "The line item's label"})
    resource_link = fields.Integer(metadata={"description": "The resource link's number here"})
    platform_id = fields.Integer()
    score_given = fields.Float(allow_none=True)
    score_maximum = fields.Float(allow_none=True)
    timestamp = fields.DateTime(metadata={"description": "The score's AGS timestamp"})
    created_at = fields.DateTime(metadata={"description": "When it was queued"})
    next_try_at = fields.DateTime(metadata={"description": "When a pending score is due"})
    failing_since = fields.DateTime(
        allow_none=True,
        metadata={
            "description": "The first failure of its current run of retries; it is failed "
            "LTI_PASSBACK_GIVE_UP_HOURS after this"
        },
    )
    sent_at = fields.DateTime(allow_none=True)


class GradeSyncRetrySchema(Schema):
    ids = fields.List(
        fields.Integer(validate=ROW_ID),
        load_default=list,
        validate=validate.Length(max=1000),
        metadata={"description": "Scores to send again now (failed or pending ones)"},
    )
    failed = fields.Boolean(load_default=False, metadata={"description": "Also every failed score"})

    @validates_schema
    def _something(self, data, **_kwargs) -> None:
        if not data["ids"] and not data["failed"]:
            raise ValidationError("Name score ids, or set failed.", "ids")


class SkippedSchema(Schema):
    id = fields.Integer()
    reason = fields.String()


class GradeSyncRetryResultSchema(Schema):
    retried = fields.List(fields.Integer(), metadata={"description": "Scores now due"})
    skipped = fields.List(
        fields.Nested(SkippedSchema), metadata={"description": "Scores left as they were"}
    )

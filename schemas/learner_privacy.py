"""Bodies of the subject access export and of erasure (service/learner_privacy.py)."""

from marshmallow import Schema, fields

_TIME = {"allow_none": True}


class ExportedLearnerSchema(Schema):
    id = fields.String(metadata={"format": "uuid"})
    centre = fields.String(allow_none=True, metadata={"example": "C001"})
    reference = fields.String(allow_none=True, metadata={"example": "MIS-004211"})
    name = fields.String(allow_none=True, metadata={"example": "Amara Okafor"})
    created_at = fields.String(metadata={"format": "date-time"})
    pseudonymised_at = fields.String(**_TIME, metadata={"format": "date-time"})


class ExportedIdentitySchema(Schema):
    learner_ref = fields.String(metadata={"example": "MIS-004211"})
    lms_platform = fields.Integer(allow_none=True)
    lms_user_id = fields.String(allow_none=True)


class ExportedAttemptSchema(Schema):
    id = fields.String(metadata={"format": "uuid"})
    assessment = fields.String(metadata={"example": "CSC-01-A1"})
    status = fields.String(metadata={"example": "fully_graded"})
    opened_at = fields.String(**_TIME)
    started_at = fields.String(**_TIME)
    deadline = fields.String(**_TIME)
    submitted_at = fields.String(**_TIME)
    graded_at = fields.String(**_TIME)
    score = fields.Float(allow_none=True)
    max_score = fields.Integer(allow_none=True)
    percent = fields.Float(allow_none=True)
    grade = fields.String(allow_none=True, metadata={"example": "pass"})
    responses = fields.List(fields.Dict())
    item_scores = fields.List(fields.Dict())
    criterion_decisions = fields.List(fields.Dict())
    assessor_marks = fields.List(fields.Dict())
    comments = fields.List(fields.Dict())
    rest_breaks = fields.List(fields.Dict())


class LearnerExportSchema(Schema):
    learner = fields.Nested(ExportedLearnerSchema)
    identities = fields.List(fields.Nested(ExportedIdentitySchema))
    attempts = fields.List(fields.Nested(ExportedAttemptSchema))
    performance_evidence = fields.List(fields.Dict())
    access_arrangements = fields.List(fields.Dict())
    lms_launch_sessions = fields.List(fields.Dict())
    scores_sent_to_the_lms = fields.List(fields.Dict())
    accesses = fields.List(
        fields.Dict(),
        metadata={"description": "Who has read or changed this learner's data, and when"},
    )


class ErasureSchema(Schema):
    learner = fields.String(metadata={"format": "uuid", "description": "The learner's id"})
    pseudonymised_at = fields.String(metadata={"format": "date-time"})
    erased_now = fields.Boolean(
        metadata={"description": "false: the learner had already been pseudonymised"}
    )
    attempts_kept = fields.Integer(
        metadata={"description": "Attempts kept, anonymous, as evidence", "example": 5}
    )

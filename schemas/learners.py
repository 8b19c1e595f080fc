"""Bodies and parameters of the learners endpoints (/api/v1/learners)."""

from marshmallow import Schema, fields, validate

REFERENCE = {
    "description": "The centre's own reference for the learner (its MIS id), unique in the "
    "centre. Records sent through the API (attempts, evidence) are kept under it as learner_ref.",
    "example": "MIS-004217",
}
NAME = {"description": "The learner's name as the centre gives it.", "example": "Ada Lovelace"}


class LmsIdentitySchema(Schema):
    """An LMS user, named as the centre knows its LMS: the issuer and the client id of its LTI
    registration with this tool, and the user's id in the LMS (the LTI `sub`)."""

    issuer = fields.String(
        required=True,
        validate=validate.Length(min=1, max=255),
        metadata={
            "description": "The LMS's issuer (LTI `iss`) as registered for the centre",
            "example": "https://moodle.example.ac.uk",
        },
    )
    client_id = fields.String(
        required=True,
        validate=validate.Length(min=1, max=255),
        metadata={
            "description": "The client id the LMS gave this tool (LTI `aud`)",
            "example": "dFg3kLm9",
        },
    )
    user_id = fields.String(
        required=True,
        validate=validate.Length(min=1, max=255),
        metadata={"description": "The user's id in the LMS (LTI `sub`)", "example": "4711"},
    )


class IdentitySchema(Schema):
    learner_ref = fields.String(
        required=True,
        metadata={
            "description": "What the learner's records are kept under: the reference, or "
            '"lti:{platform}:{sub}" for an LMS identity',
            "example": "lti:3:4711",
        },
    )
    kind = fields.String(
        required=True,
        validate=validate.OneOf(["reference", "lms"]),
        metadata={"description": "The centre's reference, or an LMS identity"},
    )
    issuer = fields.String(allow_none=True, metadata={"example": "https://moodle.example.ac.uk"})
    client_id = fields.String(allow_none=True, metadata={"example": "dFg3kLm9"})
    user_id = fields.String(allow_none=True, metadata={"example": "4711"})


class LearnerSchema(Schema):
    id = fields.String(
        required=True,
        metadata={"description": "The learner's id (a UUID)", "format": "uuid"},
    )
    centre = fields.String(
        allow_none=True, metadata={"description": "The centre's code", "example": "C1"}
    )
    reference = fields.String(
        allow_none=True,
        metadata={
            **REFERENCE,
            "description": REFERENCE["description"] + " Null for a learner "
            "known only from LMS launches, until the centre links them.",
        },
    )
    name = fields.String(allow_none=True, metadata=NAME)
    identities = fields.List(fields.Nested(IdentitySchema), required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    pseudonymised = fields.Boolean(
        required=True,
        metadata={"description": "The learner's personal data was erased (UK GDPR)"},
    )


class CreateLearnerSchema(Schema):
    reference = fields.String(
        required=True, validate=validate.Length(min=1, max=255), metadata=REFERENCE
    )
    name = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=255), metadata=NAME
    )
    identities = fields.List(
        fields.Nested(LmsIdentitySchema),
        load_default=list,
        validate=validate.Length(max=20),
        metadata={"description": "LMS identities to link to the learner (see PATCH)"},
    )


class UpdateLearnerSchema(Schema):
    reference = fields.String(
        validate=validate.Length(min=1, max=255),
        metadata={
            **REFERENCE,
            "description": "Gives a learner known only from the LMS its reference; a "
            "reference once set cannot change (422).",
        },
    )
    name = fields.String(
        allow_none=True,
        validate=validate.Length(max=255),
        metadata={**NAME, "description": "The new name; null clears it."},
    )
    identities = fields.List(
        fields.Nested(LmsIdentitySchema),
        validate=validate.Length(max=20),
        metadata={
            "description": "LMS identities to link (added to those linked already). An "
            "identity used by a learner known only from the LMS moves here (that learner is "
            "removed once it has no identity left); one linked to another learner with a "
            "reference is 409."
        },
    )


class LearnerQuerySchema(Schema):
    reference = fields.String(
        validate=validate.Length(min=1, max=255),
        metadata={"description": "Only the learner with this reference", "example": "MIS-004217"},
    )
    q = fields.String(
        validate=validate.Length(min=1, max=255),
        metadata={"description": "Text the learner's name contains (any case)", "example": "ada"},
    )
    lms_user_id = fields.String(
        validate=validate.Length(min=1, max=255),
        metadata={
            "description": "Only learners with an LMS identity of this user id (LTI sub)",
            "example": "4711",
        },
    )

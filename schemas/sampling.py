"""Sampling plans, verdicts and assessor consistency (service/api/sampling.py)."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from service.sampling import SIZE_MAX, TEXT_MAX
from service.sampling_vocabulary import PlanKind, SampleReason, SampleSource, Verdict

CENTRE = {"description": "A centre's code", "example": "DEMO-NGC"}
ASSESSOR = {
    "description": 'The assessor\'s id: "client:{client id}" or "lti:{platform}:{sub}", never '
    "a name",
    "example": "lti:1:assessor-7",
}


class NewPlanSchema(Schema):
    centre = fields.String(required=True, validate=validate.Length(min=1, max=32), metadata=CENTRE)
    kind = fields.String(
        required=True,
        validate=validate.OneOf(list(PlanKind)),
        metadata={
            "description": "interim: only decisions no earlier plan of the centre sampled; "
            "summative: every decision",
            "example": "interim",
        },
    )
    size = fields.Integer(
        required=True,
        validate=validate.Range(min=1, max=SIZE_MAX),
        metadata={"description": "How many decisions to sample (at most)", "example": 12},
    )
    seed = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={
            "description": "Makes the sample reproducible: the same seed on the same data gives "
            "the same sample. Generated and stored when absent.",
            "example": "eqa-visit-2026-11",
        },
    )
    unit = fields.String(
        validate=validate.Length(min=1, max=16),
        metadata={"description": "Only decisions of this unit (its code)", "example": "CSC-01"},
    )

    course = fields.String(
        validate=validate.Length(min=1, max=255),
        metadata={
            "description": "Only assessor marks on attempts launched from this LMS course (its "
            "LTI context id); performance evidence, which belongs to no course, is left out",
            "example": "course-4411",
        },
    )


class VerdictSchema(Schema):
    verdict = fields.String(
        required=True,
        validate=validate.OneOf(list(Verdict)),
        metadata={
            "description": "agree; disagree (a reason is required); action (an action for "
            "the centre: its text is required)",
            "example": "disagree",
        },
    )
    reason = fields.String(
        validate=validate.Length(min=1, max=TEXT_MAX),
        metadata={
            "description": "Why the verifier disagrees (required with disagree)",
            "example": "The response does not explain how the complaint was followed up.",
        },
    )
    action = fields.String(
        validate=validate.Length(min=1, max=TEXT_MAX),
        metadata={
            "description": "What the centre must do (required with action)",
            "example": "Re-assess AC3 with the learner and brief the assessor on follow-up.",
        },
    )

    @validates_schema
    def _complete(self, data, **kwargs):
        if data.get("verdict") == Verdict.DISAGREE and not (data.get("reason") or "").strip():
            raise ValidationError("A disagreement needs a reason.", "reason")
        if data.get("verdict") == Verdict.ACTION and not (data.get("action") or "").strip():
            raise ValidationError("An action verdict needs the action for the centre.", "action")


class VerdictRecordSchema(Schema):
    verdict = fields.String(required=True, validate=validate.OneOf(list(Verdict)))
    reason = fields.String(allow_none=True)
    action = fields.String(allow_none=True)
    given_by = fields.String(
        required=True, metadata={"description": "The verifier's client", "example": "client:eqa1"}
    )
    given_at = fields.DateTime(required=True)


class SampledDecisionSchema(Schema):
    n = fields.Integer(
        required=True, metadata={"description": "Its number in the plan, from 1", "example": 1}
    )
    source = fields.String(required=True, validate=validate.OneOf(list(SampleSource)))
    method = fields.String(
        required=True,
        metadata={
            "description": "extended_response, or the performance evidence type",
            "example": "extended_response",
        },
    )
    learner_ref = fields.String(
        required=True,
        metadata={"description": "The centre's opaque learner id", "example": "NGC-0002"},
    )
    unit = fields.String(required=True, metadata={"example": "CSC-01"})
    criterion = fields.String(required=True, metadata={"example": "CSC-01.AC3"})
    attempt_id = fields.String(
        allow_none=True, metadata={"description": "The attempt of an assessor mark"}
    )
    item = fields.String(
        allow_none=True,
        metadata={"description": "The extended response marked", "example": "CSC-01-Q040"},
    )
    performance_evidence_id = fields.String(
        allow_none=True, metadata={"description": "The performance evidence record"}
    )
    assessor = fields.String(required=True, metadata=ASSESSOR)
    decision = fields.String(
        required=True,
        metadata={"description": "The level or decision when sampled", "example": "met"},
    )
    decided_at = fields.DateTime(required=True)
    reasons = fields.List(
        fields.String(validate=validate.OneOf(list(SampleReason))),
        required=True,
        metadata={
            "description": "Why it was chosen, the reason that chose it first",
            "example": ["overturned", "new_assessor"],
        },
    )
    verdict = fields.Nested(
        VerdictRecordSchema,
        allow_none=True,
        metadata={"description": "The current verdict; null until one is given"},
    )
    history = fields.List(
        fields.Nested(VerdictRecordSchema),
        required=True,
        metadata={"description": "Every verdict given, oldest first"},
    )


class PlanSchema(Schema):
    id = fields.String(required=True, metadata={"description": "The plan's id (a UUID)"})
    centre = fields.String(required=True, metadata=CENTRE)
    kind = fields.String(required=True, validate=validate.OneOf(list(PlanKind)))
    size = fields.Integer(required=True, metadata={"description": "The size asked for"})
    seed = fields.String(required=True, metadata={"example": "eqa-visit-2026-11"})
    unit = fields.String(allow_none=True, metadata={"example": "CSC-01"})
    course = fields.String(allow_none=True, metadata={"example": "course-4411"})
    created_by = fields.String(required=True, metadata={"example": "client:eqa1"})
    created_at = fields.DateTime(required=True)
    decisions = fields.List(fields.Nested(SampledDecisionSchema), required=True)


class PlanQuerySchema(Schema):
    centre = fields.String(
        validate=validate.Length(min=1, max=32),
        metadata={"description": "Only this centre's plans (its code)", "example": "DEMO-NGC"},
    )


class ConsistencyQuerySchema(Schema):
    centre = fields.String(required=True, validate=validate.Length(min=1, max=32), metadata=CENTRE)
    format = fields.String(
        validate=validate.OneOf(("json", "csv")),
        metadata={"description": "csv for a CSV table (or send Accept: text/csv); default json"},
    )


class ConsistencyFigures(Schema):
    manual_decisions = fields.Integer(
        required=True, metadata={"description": "Rubric levels given"}
    )
    compared_with_auto = fields.Integer(
        required=True,
        metadata={
            "description": "Of those, levels of a criterion with auto-scored evidence in the "
            "same attempt"
        },
    )
    agree_with_auto = fields.Integer(required=True)
    auto_agreement_rate = fields.Float(allow_none=True, metadata={"example": 0.85})
    met_but_auto_below_mastery = fields.Integer(required=True)
    not_met_but_auto_mastered = fields.Integer(required=True)
    verdicts = fields.Dict(
        keys=fields.String(validate=validate.OneOf(list(Verdict))),
        values=fields.Integer(),
        required=True,
        metadata={
            "description": "Current verifier verdicts on sampled decisions, by verdict",
            "example": {"agree": 4, "disagree": 1, "action": 0},
        },
    )
    verdict_agree_rate = fields.Float(
        allow_none=True,
        metadata={"description": "agree / (agree + disagree)", "example": 0.8},
    )


class AssessorConsistencyRowSchema(ConsistencyFigures):
    assessor = fields.String(required=True, metadata=ASSESSOR)


class CriterionConsistencyRowSchema(ConsistencyFigures):
    criterion = fields.String(required=True, metadata={"example": "CSC-01.AC3"})


class AssessorConsistencySchema(Schema):
    centre = fields.String(required=True, metadata=CENTRE)
    assessors = fields.List(fields.Nested(AssessorConsistencyRowSchema), required=True)
    criteria = fields.List(fields.Nested(CriterionConsistencyRowSchema), required=True)

from marshmallow import Schema, fields, validate

from service.grading.unit_outcome import EvidenceRequired, UnitOutcome
from service.grading.vocabulary import EVIDENCE_DECISIONS, Decision, EvidenceType
from service.performance_evidence import (
    DESCRIPTION_MAX,
    REASON_MAX,
    REFERENCE_MAX,
    RecordStatus,
)

LEARNER_REF = {
    "description": "The centre's opaque learner id (as used for attempts), or an LTI learner's "
    '"lti:{platform}:{sub}". Never a name or an email.'
}


def _learner_ref(**kwargs):
    return fields.String(
        required=True, validate=validate.Length(min=1, max=255), metadata=LEARNER_REF, **kwargs
    )


class RecordEvidenceSchema(Schema):
    learner_ref = _learner_ref()
    criterion = fields.String(
        required=True,
        validate=validate.Length(min=1, max=24),
        metadata={
            "description": 'A performance criterion\'s code, e.g. "CSC-01.AC4"',
            "example": "CSC-01.AC4",
        },
    )
    evidence_type = fields.String(
        required=True,
        validate=validate.OneOf(list(EvidenceType)),
        metadata={"example": "observation"},
    )
    evidenced_on = fields.Date(
        required=True,
        metadata={
            "description": "When the evidence was produced (UK date); not in the future",
            "example": "2026-11-20",
        },
    )
    description = fields.String(
        required=True,
        validate=validate.Length(min=1, max=DESCRIPTION_MAX),
        metadata={"description": "What was observed, read or discussed, against the criterion"},
    )
    decision = fields.String(
        required=True, validate=validate.OneOf([d.value for d in EVIDENCE_DECISIONS])
    )
    reference = fields.String(
        allow_none=True,
        validate=validate.Length(max=REFERENCE_MAX),
        metadata={"description": "Where the evidence is held (portfolio page, file name...)"},
    )
    supersedes = fields.String(
        validate=validate.Length(min=1, max=36),
        metadata={
            "description": "The id of a current record of the same learner and criterion that "
            "this one corrects; it stays in the history as superseded"
        },
    )


class WithdrawSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=REASON_MAX))


class EvidenceQuerySchema(Schema):
    learner_ref = _learner_ref()
    unit = fields.String(validate=validate.Length(min=1, max=16))
    criterion = fields.String(validate=validate.Length(min=1, max=24))
    current_only = fields.Boolean(
        load_default=False,
        metadata={"description": "Leave out superseded and withdrawn records"},
    )


class LearnerQuerySchema(Schema):
    learner_ref = _learner_ref()


class PerformanceEvidenceSchema(Schema):
    id = fields.String(required=True)
    learner_ref = fields.String(required=True)
    criterion = fields.String(required=True)
    criterion_version = fields.Integer(
        required=True, metadata={"description": "The criterion wording it was judged against"}
    )
    evidence_type = fields.String(required=True, validate=validate.OneOf(list(EvidenceType)))
    evidenced_on = fields.Date(required=True)
    description = fields.String(required=True)
    decision = fields.String(
        required=True, validate=validate.OneOf([d.value for d in EVIDENCE_DECISIONS])
    )
    assessor = fields.String(
        required=True,
        metadata={"description": 'Who recorded it: "client:{client id}" or "lti:{platform}:{sub}"'},
    )
    reference = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    status = fields.String(required=True, validate=validate.OneOf(list(RecordStatus)))
    supersedes = fields.String(allow_none=True)
    superseded_by = fields.String(allow_none=True)
    withdrawn_at = fields.DateTime(allow_none=True)
    withdrawn_by = fields.String(allow_none=True)
    withdrawn_reason = fields.String(allow_none=True)


class CriterionStatusSchema(Schema):
    criterion = fields.String(required=True)
    band = fields.String(required=True)
    evidence_required = fields.String(
        required=True, validate=validate.OneOf(list(EvidenceRequired))
    )
    decision = fields.String(required=True, validate=validate.OneOf(list(Decision)))
    evidence = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": "Knowledge criteria: the item ids of the knowledge attempt; "
            "performance criteria: the ids of the records that decide it"
        },
    )
    supporting_knowledge = fields.String(
        allow_none=True,
        metadata={
            "description": "Performance criteria: the online assessment's decision, shown as "
            "supporting knowledge only (it never meets the criterion)"
        },
    )


class KnowledgeAttemptSchema(Schema):
    id = fields.String(required=True)
    assessment = fields.String(required=True)
    graded_at = fields.DateTime(allow_none=True)
    knowledge_result = fields.String(allow_none=True)


class UnitStatusSchema(Schema):
    unit = fields.String(required=True)
    grading = fields.String(required=True)
    learner_ref = fields.String(required=True)
    outcome = fields.String(
        required=True,
        validate=validate.OneOf(list(UnitOutcome)),
        metadata={
            "description": "From every criterion, each met by the evidence it requires: "
            "achieved / not_yet_achieved (competence units); pass / merit / distinction / "
            "not_yet_achieved (graded units, cumulative)"
        },
    )
    knowledge_attempt = fields.Nested(
        KnowledgeAttemptSchema,
        allow_none=True,
        metadata={"description": "The latest fully graded attempt: the knowledge component"},
    )
    criteria = fields.List(fields.Nested(CriterionStatusSchema), required=True)

"""Criterion coverage reports (service/coverage.py): query arguments and the JSON shape."""

from marshmallow import Schema, fields, validate

from service.coverage_model import CoverageEvidence
from service.grading.vocabulary import Decision, EvidenceRequired

FORMATS = ("json", "csv", "html")
MAX_PAGE_SIZE = 500


class CoverageQuerySchema(Schema):
    centre = fields.String(
        required=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "The centre's code", "example": "C1"},
    )
    course = fields.String(
        validate=validate.Length(min=1, max=255),
        metadata={
            "description": "Only the cohort of this LMS course (the LTI context id): learners "
            "with an attempt launched from one of its activities",
            "example": "course-101",
        },
    )
    unit = fields.String(
        validate=validate.Length(min=1, max=16),
        metadata={"description": "Only this unit's criteria (its code)", "example": "CSC-01"},
    )
    format = fields.String(
        validate=validate.OneOf(FORMATS),
        metadata={
            "description": "json (paged), csv (every learner, streamed) or html (a printable "
            "heatmap of one page); overrides the Accept header",
            "example": "json",
        },
    )
    page = fields.Integer(
        load_default=1, validate=validate.Range(min=1, max=100_000), metadata={"example": 1}
    )
    page_size = fields.Integer(
        load_default=100,
        validate=validate.Range(min=1, max=MAX_PAGE_SIZE),
        metadata={"example": 100},
    )


class EvidenceSchema(Schema):
    type = fields.String(
        validate=validate.OneOf(list(CoverageEvidence)),
        metadata={"description": "auto_item, assessor_mark or performance_evidence"},
    )
    attempt = fields.String(allow_none=True, metadata={"description": "The attempt's id"})
    record = fields.String(
        allow_none=True, metadata={"description": "The performance evidence record's id"}
    )
    item = fields.String(allow_none=True, metadata={"example": "CSC-01-Q001"})
    assessor = fields.String(
        allow_none=True,
        metadata={"description": "Who decided (none for auto-marked items and awaited marks)"},
    )
    date = fields.String(
        allow_none=True,
        metadata={"description": "When (ISO 8601 date or date-time)", "example": "2026-11-20"},
    )
    decision = fields.String(
        allow_none=True,
        validate=validate.OneOf([Decision.MET, Decision.NOT_YET_MET]),
        metadata={"description": "The assessor's mark or judgement"},
    )
    performance_type = fields.String(
        allow_none=True, metadata={"description": "observation, witness_testimony..."}
    )


class CellSchema(Schema):
    criterion = fields.String(metadata={"example": "CSC-01.AC1"})
    decision = fields.String(validate=validate.OneOf(list(Decision)))
    evidence = fields.List(fields.Nested(EvidenceSchema))


class LearnerCoverageSchema(Schema):
    learner = fields.String(metadata={"description": "The learner's id (a UUID)"})
    reference = fields.String(allow_none=True, metadata={"description": "The centre's reference"})
    name = fields.String(allow_none=True)
    full_coverage = fields.Boolean()
    cells = fields.List(fields.Nested(CellSchema))


class ReportCriterionSchema(Schema):
    unit = fields.String(metadata={"example": "CSC-01"})
    code = fields.String(metadata={"example": "CSC-01.AC1"})
    band = fields.String(metadata={"example": "pass"})
    evidence_required = fields.String(validate=validate.OneOf(list(EvidenceRequired)))


class CriterionRateSchema(Schema):
    criterion = fields.String(metadata={"example": "CSC-01.AC4"})
    unit = fields.String(metadata={"example": "CSC-01"})
    met = fields.Integer()
    met_rate = fields.Float(metadata={"description": "Share of the learners who met it, 0 to 1"})


class AssessorDecisionsSchema(Schema):
    assessor = fields.String(metadata={"example": "client:centre-c1-mis"})
    met = fields.Integer()
    not_yet_met = fields.Integer()
    total = fields.Integer()


class TotalsSchema(Schema):
    learners = fields.Integer(metadata={"description": "Every learner of the report"})
    full_coverage = fields.Integer(metadata={"description": "Learners with every criterion met"})
    criteria_rarely_met = fields.List(
        fields.Nested(CriterionRateSchema),
        metadata={"description": "The criteria with the lowest met rate, lowest first"},
    )
    decisions_per_assessor = fields.List(fields.Nested(AssessorDecisionsSchema))


class PageSchema(Schema):
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer(metadata={"description": "Learners in the report"})
    pages = fields.Integer()


class CoverageSchema(Schema):
    centre = fields.String(metadata={"example": "C1"})
    course = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)
    criteria = fields.List(fields.Nested(ReportCriterionSchema))
    learners = fields.List(fields.Nested(LearnerCoverageSchema))
    totals = fields.Nested(TotalsSchema)
    page = fields.Nested(PageSchema)

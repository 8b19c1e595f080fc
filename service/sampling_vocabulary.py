"""The words of external verification sampling, defined once (models, schemas, selection)."""

from __future__ import annotations

from enum import StrEnum


class PlanKind(StrEnum):
    """An interim sample (during the programme) looks only at decisions no earlier plan of the
    centre sampled; a summative sample (before certification) looks at every decision."""

    INTERIM = "interim"
    SUMMATIVE = "summative"


class SampleSource(StrEnum):
    """What kind of assessor decision a sampled row is."""

    ASSESSOR_MARK = "assessor_mark"  # a rubric level on an extended response (one criterion)
    PERFORMANCE_EVIDENCE = "performance_evidence"  # a current performance evidence record


class SampleReason(StrEnum):
    """Why a decision was sampled (CAMERA: Candidates, Assessors, Methods, Elements, Records,
    Assessment locations). Each sampled row lists every reason that applies to it."""

    OVERTURNED = "overturned"  # its level was changed by a later mark (or a correction)
    NEW_ASSESSOR = "new_assessor"  # the assessor's first decisions are recent, or few
    ASSESSOR_COVERAGE = "assessor_coverage"  # every assessor appears in the sample
    UNIT_METHOD_COVERAGE = "unit_method_coverage"  # every unit and method appears
    UNUSUAL_PASS_RATE = "unusual_pass_rate"  # its criterion's pass rate is far from the mean
    PERFORMANCE_EVIDENCE = "performance_evidence"  # observed work, always worth a look
    RANDOM = "random"  # chosen by the weighted draw that fills the sample


class Verdict(StrEnum):
    """An external verifier's verdict on one sampled decision."""

    AGREE = "agree"
    DISAGREE = "disagree"  # a reason is required
    ACTION = "action"  # an action for the centre (its text is required)

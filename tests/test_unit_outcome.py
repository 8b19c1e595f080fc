"""The unit outcome rules (service.grading.unit_outcome, pure): performance criteria are met only
by performance evidence, knowledge criteria by the online assessment, and the outcome follows
from the criteria alone."""

from __future__ import annotations

from service.grading.unit_outcome import (
    EvidenceJudgement,
    EvidenceRequired,
    KnowledgeDecision,
    UnitCriterion,
    UnitOutcome,
    unit_status,
)
from service.grading.vocabulary import Decision

K, P = EvidenceRequired.KNOWLEDGE, EvidenceRequired.PERFORMANCE
MET, NOT_YET = Decision.MET, Decision.NOT_YET_MET

COMPETENCE = [UnitCriterion("U.AC1", K), UnitCriterion("U.AC2", K), UnitCriterion("U.AC3", P)]
GRADED = [
    UnitCriterion("G.AC1", K, "pass"),
    UnitCriterion("G.AC2", P, "pass"),
    UnitCriterion("G.AC3", K, "merit"),
    UnitCriterion("G.AC4", P, "distinction"),
]


def _knowledge(codes, decision=MET):
    return {code: KnowledgeDecision(decision, (f"{code}-item",)) for code in codes}


def _met(record="r1"):
    return [EvidenceJudgement(record, MET)]


def test_the_online_assessment_alone_never_achieves_a_unit_with_performance_criteria():
    # Every criterion met by the test, the performance one included: still not achieved.
    status = unit_status("competence", COMPETENCE, _knowledge(["U.AC1", "U.AC2", "U.AC3"]), {})
    assert status.outcome == UnitOutcome.NOT_YET_ACHIEVED and not status.achieved
    performance = status.criteria[2]
    assert performance.decision == Decision.NOT_EVIDENCED
    assert performance.supporting_knowledge == MET  # shown, but it decides nothing
    assert performance.evidence == ()


def test_a_met_evidence_record_meets_a_performance_criterion_and_the_unit_is_achieved():
    status = unit_status(
        "competence", COMPETENCE, _knowledge(["U.AC1", "U.AC2"]), {"U.AC3": _met("obs-1")}
    )
    assert status.outcome == UnitOutcome.ACHIEVED
    assert status.criteria[2].decision == MET and status.criteria[2].evidence == ("obs-1",)
    assert status.criteria[2].supporting_knowledge is None  # the form did not cover it
    assert status.criteria[0].evidence == ("U.AC1-item",)


def test_evidence_judged_not_yet_met_leaves_the_criterion_not_yet_met_until_a_met_record():
    not_yet = [EvidenceJudgement("obs-1", NOT_YET)]
    knowledge = _knowledge(["U.AC1", "U.AC2"])
    status = unit_status("competence", COMPETENCE, knowledge, {"U.AC3": not_yet})
    assert status.criteria[2].decision == NOT_YET and status.criteria[2].evidence == ("obs-1",)
    assert status.outcome == UnitOutcome.NOT_YET_ACHIEVED
    later = not_yet + [EvidenceJudgement("obs-2", MET)]
    status = unit_status("competence", COMPETENCE, knowledge, {"U.AC3": later})
    assert status.criteria[2].decision == MET and status.criteria[2].evidence == ("obs-2",)
    assert status.outcome == UnitOutcome.ACHIEVED


def test_performance_evidence_never_meets_a_knowledge_criterion():
    # Records keyed by a knowledge criterion are not read: the test decides it.
    status = unit_status(
        "competence",
        COMPETENCE,
        _knowledge(["U.AC2"]) | {"U.AC1": KnowledgeDecision(NOT_YET)},
        {"U.AC1": _met(), "U.AC3": _met()},
    )
    assert status.criteria[0].decision == NOT_YET
    assert status.outcome == UnitOutcome.NOT_YET_ACHIEVED


def test_without_a_knowledge_attempt_knowledge_criteria_are_not_evidenced():
    status = unit_status("competence", COMPETENCE, {}, {"U.AC3": _met()})
    assert [c.decision for c in status.criteria[:2]] == [Decision.NOT_EVIDENCED] * 2
    assert status.outcome == UnitOutcome.NOT_YET_ACHIEVED


def test_graded_units_are_cumulative_over_both_kinds_of_evidence():
    knowledge = _knowledge(["G.AC1", "G.AC3", "G.AC4"])
    # The pass-band performance criterion has no evidence: nothing is achieved, whatever the
    # merit and distinction criteria.
    assert unit_status("graded", GRADED, knowledge, {"G.AC4": _met()}).outcome == (
        UnitOutcome.NOT_YET_ACHIEVED
    )
    # Pass and merit met; the distinction criterion is a performance one met only by the test.
    assert unit_status("graded", GRADED, knowledge, {"G.AC2": _met()}).outcome == (
        UnitOutcome.MERIT
    )
    both = {"G.AC2": _met("a"), "G.AC4": _met("b")}
    assert unit_status("graded", GRADED, knowledge, both).outcome == UnitOutcome.DISTINCTION
    # Merit not met: the distinction criterion's evidence does not lift the grade past it.
    merit_missing = knowledge | {"G.AC3": KnowledgeDecision(NOT_YET)}
    assert unit_status("graded", GRADED, merit_missing, both).outcome == UnitOutcome.PASS

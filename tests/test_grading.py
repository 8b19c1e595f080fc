"""The pure grading engine: service/grading/scoring.py, engine.py and forms.py.

Every example builds its ItemKey directly (not from content files) and works the arithmetic in a
comment, so a failure says which rule moved. The property tests at the end generate keys and
valid responses of every auto-scored type.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.grading.engine import (
    BANDS,
    GRADING_PROGRESS,
    MASTERY_PERCENT,
    CriterionRule,
    GradingRules,
    grade_attempt,
)
from service.grading.evidence import counted_for, evidences
from service.grading.forms import FormError, build_form, shuffled
from service.grading.scoring import (
    AUTO_SCORED,
    ItemKey,
    LevelMark,
    ResponseError,
    check_response,
    normalise_text,
    score_item,
    share_for,
)

AC1, AC2, AC3, AC4 = "U.AC1", "U.AC2", "U.AC3", "U.AC4"
STEPS = ("S1", "S2", "S3", "S4")
PAIRS = {"P1": "R1", "P2": "R2", "P3": "R3", "P4": "R4"}


# ---------------------------------------------------------------------------------------------
# Item keys, built by hand
# ---------------------------------------------------------------------------------------------


def single_choice(item_id: str = "SC1", points: int = 1, criteria=(AC1,)) -> ItemKey:
    return ItemKey(
        item_id,
        "single_choice",
        points,
        tuple(criteria),
        options=("A", "B", "C", "D"),
        correct=frozenset({"B"}),
    )


def multiple_response(item_id: str = "MR1", points: int = 3, criteria=(AC1,)) -> ItemKey:
    # 3 keyed options (A, B, C) of 5
    return ItemKey(
        item_id,
        "multiple_response",
        points,
        tuple(criteria),
        options=("A", "B", "C", "D", "E"),
        correct=frozenset({"A", "B", "C"}),
    )


def ordering(item_id: str = "OR1", points: int = 3, criteria=(AC2,)) -> ItemKey:
    # as service/item_keys.py builds it: the step ids are both the options and the order
    return ItemKey(item_id, "ordering", points, tuple(criteria), options=STEPS, order=STEPS)


def matching(item_id: str = "MA1", points: int = 4, criteria=(AC3,)) -> ItemKey:
    # 4 premises, 5 responses (R5 is a distractor)
    return ItemKey(
        item_id,
        "matching",
        points,
        tuple(criteria),
        options=tuple(PAIRS),
        pairs=dict(PAIRS),
        responses=("R1", "R2", "R3", "R4", "R5"),
    )


def short_text(item_id: str = "ST1", points: int = 1, criteria=(AC3,)) -> ItemKey:
    # accepted answers are stored normalised, as service/item_keys.py stores them
    return ItemKey(
        item_id, "short_text", points, tuple(criteria), accepted=("consumer rights act 2015",)
    )


def extended(item_id: str = "EX1", rubric_max: dict[str, int] | None = None) -> ItemKey:
    # points = the sum of the rubrics' top scores, as the bank loader requires
    rubric_max = rubric_max or {AC2: 1, AC3: 1}
    return ItemKey(
        item_id,
        "extended_response",
        sum(rubric_max.values()),
        tuple(rubric_max),
        rubric_max=dict(rubric_max),
    )


def points_for(item: ItemKey, response: Any) -> float:
    return score_item(item, response).score


# ---------------------------------------------------------------------------------------------
# 1. Scoring, hand-worked
# ---------------------------------------------------------------------------------------------


def test_single_choice_scores_full_points_for_the_keyed_option_only():
    assert points_for(single_choice(points=2), "B") == 2.0
    assert points_for(single_choice(points=2), "A") == 0.0
    assert points_for(single_choice(points=2), "D") == 0.0


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [
        # share = hits / 3 keyed - misses / 2 others, floored at 0; score = 3 x share
        (["A", "B", "C"], 3.0),  # 3/3 - 0/2 = 1 -> 3.0
        (["A", "B", "D"], 0.5),  # 2/3 - 1/2 = 1/6 -> 0.5
        (["A", "B", "C", "D"], 1.5),  # 3/3 - 1/2 = 1/2 -> 1.5
        (["A", "B", "C", "D", "E"], 0.0),  # everything: 1 - 1 = 0
        (["C"], 1.0),  # 1/3 - 0 -> 1.0
        (["A", "D", "E"], 0.0),  # 1/3 - 2/2 < 0, floored at 0
        (["D", "E"], 0.0),  # only wrong: 0 - 1, floored at 0
        ([], 0.0),  # nothing chosen: 0
    ],
)
def test_multiple_response_partial_credit(chosen, expected):
    assert points_for(multiple_response(), chosen) == expected


def test_multiple_response_rounds_to_four_places():
    # 1 hit of 3 keyed, 1 point: 1/3 = 0.33333... -> 0.3333
    assert points_for(multiple_response(points=1), ["A"]) == 0.3333


@pytest.mark.parametrize(("keyed", "other"), [(2, 2), (2, 3), (3, 2), (4, 2), (2, 5)])
def test_multiple_response_choosing_every_option_scores_zero(keyed, other):
    # scoring.py's docstring: "Choosing everything therefore scores 0, not full marks."
    # The brief's example is 3 keyed of 5: choose all -> 0. With the documented formula it is
    # (3 - 2) / 3 * 3 = 1.0 whenever more options are keyed than not, so this fails for (3, 2)
    # and (4, 2): see the report.
    options = tuple(f"O{n}" for n in range(keyed + other))
    item = ItemKey(
        "MRALL",
        "multiple_response",
        3,
        (AC1,),
        options=options,
        correct=frozenset(options[:keyed]),
    )
    assert points_for(item, list(options)) == 0.0


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (["S1", "S2", "S3", "S4"], 3.0),  # links (S1,S2),(S2,S3),(S3,S4) kept: 3/3 * 3
        (["S2", "S3", "S4", "S1"], 2.0),  # shifted: (S2,S3),(S3,S4) kept = 2/3 * 3 = 2.0
        (["S1", "S2", "S4", "S3"], 1.0),  # only (S1,S2) kept: 1/3 * 3 = 1.0
        (["S4", "S3", "S2", "S1"], 0.0),  # reversed: every pair is backwards, 0/3
        (["S3", "S1", "S4", "S2"], 0.0),  # no keyed link adjacent and in order
    ],
)
def test_ordering_scores_the_share_of_kept_links(response, expected):
    assert points_for(ordering(), response) == expected


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (dict(PAIRS), 4.0),  # 4/4 * 4
        ({"P1": "R1", "P2": "R2", "P3": "R4", "P4": "R3"}, 2.0),  # 2 right: 2/4 * 4
        ({"P1": "R1", "P2": "R2"}, 2.0),  # P3, P4 missing count wrong: 2/4 * 4
        ({"P1": "R1"}, 1.0),  # 1/4 * 4
        ({"P1": "R5", "P2": "R1", "P3": "R1", "P4": "R1"}, 0.0),  # none right
        ({}, 0.0),  # nothing matched
    ],
)
def test_matching_scores_the_share_of_right_premises(response, expected):
    assert points_for(matching(), response) == expected


def test_matching_with_points_not_equal_to_premises():
    # 1 of 4 right, 3 points: 1/4 * 3 = 0.75
    assert points_for(matching(points=3), {"P2": "R2", "P3": "R1"}) == 0.75


@pytest.mark.parametrize(
    "answer",
    [
        "consumer rights act 2015",
        "  Consumer Rights Act, 2015! ",  # case folded, punctuation dropped, spaces collapsed
        "Consumer-Rights   Act\t2015.",  # '-' and '.' become spaces; tab and runs collapse
        # full-width letters, digits and ideographic spaces: NFKC turns them into ASCII
        "\uff23\uff4f\uff4e\uff53\uff55\uff4d\uff45\uff52\u3000\uff32\uff49\uff47\uff48\uff54"
        "\uff53\u3000\uff21\uff43\uff54\u3000\uff12\uff10\uff11\uff15\uff01",
    ],
)
def test_short_text_normalises_before_comparing(answer):
    assert points_for(short_text(points=2), answer) == 2.0


@pytest.mark.parametrize(
    "answer",
    ["Consumer Rights Act 2016", "consumerrightsact2015", "Consumer Rights Act", "2015"],
)
def test_short_text_other_answers_score_zero(answer):
    assert points_for(short_text(points=2), answer) == 0.0


def test_short_text_case_folding_maps_sharp_s_to_ss():
    # str.casefold() maps "ß" to "ss", so "STRASSE" and "straße" normalise alike and match.
    assert normalise_text("straße") == "strasse"
    assert normalise_text("STRASSE") == "strasse"
    item = ItemKey("ST2", "short_text", 1, (AC1,), accepted=(normalise_text("Straße"),))
    assert points_for(item, "STRASSE") == 1.0
    assert points_for(item, "Strase") == 0.0


def test_normalise_text_worked_example():
    assert normalise_text("  Consumer Rights Act, 2015! ") == "consumer rights act 2015"


def test_extended_response_is_pending_until_marked():
    item = extended(rubric_max={AC2: 3, AC3: 3})
    unmarked = score_item(item, "An essay")
    assert (unmarked.score, unmarked.max_score, unmarked.pending) == (0.0, 6, True)


def test_extended_response_scores_the_sum_of_its_level_marks():
    item = extended(rubric_max={AC2: 3, AC3: 3})
    # met (3) for AC2 + not yet met (0) for AC3 = 3 of 6
    marked = score_item(
        item, "An essay", {AC2: LevelMark("met", 3), AC3: LevelMark("not_yet_met", 0)}
    )
    assert (marked.score, marked.max_score, marked.pending) == (3.0, 6, False)
    assert marked.share == 0.5


def test_level_mark_met_means_the_met_level():
    """Rubrics are binary (not yet met / met): merit and distinction are criteria, not levels."""
    assert not LevelMark("not_yet_met", 0).met
    assert LevelMark("met", 1).met


# ---------------------------------------------------------------------------------------------
# 2. Responses that do not fit their item
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "response", "fragment"),
    [
        (single_choice(), ["B"], "one option id"),
        (single_choice(), 2, "one option id"),
        (single_choice(), "Z", "Z"),
        (multiple_response(), "A", "list of option"),
        (multiple_response(), {"A": True}, "list of option"),
        (multiple_response(), ["A", 1], "list of option"),
        (multiple_response(), ["A", "Z", "Y"], "Y, Z"),
        (ordering(), "S1 S2 S3 S4", "list of step"),
        (ordering(), ["S1", "S2", "S3"], "every step exactly once"),  # S4 missing
        (ordering(), ["S1", "S1", "S2", "S3"], "every step exactly once"),  # S1 twice
        (ordering(), ["S1", "S2", "S3", "S4", "S4"], "every step exactly once"),  # S4 twice
        (ordering(), ["S1", "S2", "S3", "S9"], "S9"),  # unknown step
        (matching(), ["P1", "R1"], "object of premise"),
        (matching(), {"P9": "R1"}, "P9"),  # unknown premise
        (matching(), {"P1": "R9"}, "R9"),  # unknown response
        (short_text(), 2015, "expected text"),
        (short_text(), ["Consumer Rights Act 2015"], "expected text"),
    ],
)
def test_bad_responses_raise_with_the_item_id(item, response, fragment):
    with pytest.raises(ResponseError, match=item.id) as caught:
        share_for(item, response)
    assert fragment in str(caught.value)
    with pytest.raises(ResponseError, match=item.id):
        check_response(item, response)
    with pytest.raises(ResponseError, match=item.id):
        score_item(item, response)


@pytest.mark.parametrize(
    "response",
    [
        {"P1": None, "P2": None},  # two cleared drop-downs
        {"P1": 1, "P2": "R9"},  # a number and an unknown id
        {"P1": {"id": "R1"}, "P2": {"id": "R2"}},  # objects instead of ids
    ],
)
def test_matching_with_several_non_string_response_ids_raises_response_error(response):
    # Fails today: scoring.py sorts the bad values (`sorted(v for v in response.values() ...)`),
    # which raises TypeError for None/None, int/str or dict/dict, so the API's 422 handling,
    # which catches only ResponseError, is bypassed. See the report.
    with pytest.raises(ResponseError, match="MA1"):
        check_response(matching(), response)


def test_extended_response_is_not_auto_scored():
    with pytest.raises(ResponseError, match="EX1"):
        share_for(extended(), "An essay")


@pytest.mark.parametrize("response", [None, "", "An essay", "x" * 20000])
def test_check_response_accepts_extended_text_or_nothing(response):
    check_response(extended(), response)


@pytest.mark.parametrize(
    ("response", "fragment"),
    [
        (42, "expected text"),
        (["An essay"], "expected text"),
        ({"text": "An essay"}, "expected text"),
        ("x" * 20001, "20,000 characters"),
    ],
)
def test_check_response_rejects_bad_extended_responses(response, fragment):
    with pytest.raises(ResponseError, match="EX1") as caught:
        check_response(extended(), response)
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    "item", [single_choice(), multiple_response(), ordering(), matching(), short_text()]
)
def test_unanswered_auto_scored_items_score_zero(item):
    check_response(item, None)
    scored = score_item(item, None)
    assert (scored.score, scored.max_score, scored.pending) == (0.0, item.points, False)


@pytest.mark.parametrize(
    ("item", "empty"), [(multiple_response(), []), (matching(), {}), (short_text(), "")]
)
def test_empty_responses_score_zero(item, empty):
    check_response(item, empty)
    assert points_for(item, empty) == 0.0


@pytest.mark.parametrize(("item", "empty"), [(ordering(), []), (single_choice(), "")])
def test_empty_ordering_and_single_choice_responses_count_as_unanswered(item, empty):
    # share_for's docstring: "None/empty means unanswered". Fails today: an empty ordering
    # raises "give every step exactly once" and "" raises "unknown option id(s)". See the report.
    check_response(item, empty)
    assert points_for(item, empty) == 0.0


# ---------------------------------------------------------------------------------------------
# 3. Grading an attempt, hand-worked
# ---------------------------------------------------------------------------------------------

# Competence unit: AC1 <- SC1 (1 point) + MR1 (3); AC2 <- OR1 (3); AC3 <- MA1 (4) + ST1 (1).
# Each auto item weighs the same within its criterion: it gives the share of its points earned,
# and counts as one mark in the attempt's total. Max 5 marks.
COMPETENCE_ITEMS = [single_choice(), multiple_response(), ordering(), matching(), short_text()]
KEYED = {
    "SC1": "B",
    "MR1": ["A", "B", "C"],
    "OR1": list(STEPS),
    "MA1": dict(PAIRS),
    "ST1": "Consumer Rights Act 2015",
}


def competence_rules(mastery: int = MASTERY_PERCENT, codes=(AC1, AC2, AC3)):
    return GradingRules(
        "competence", tuple(CriterionRule(c) for c in codes), mastery_percent=mastery
    )


def decisions(result) -> dict[str, str]:
    return {d.criterion: d.decision for d in result.criteria}


def evidence(result) -> dict[str, tuple[str, ...]]:
    return {d.criterion: d.evidence for d in result.criteria}


def test_mastery_is_half_of_the_evidence():
    assert MASTERY_PERCENT == 50
    assert competence_rules().mastery_percent == 50


def test_all_correct_is_fully_graded_and_achieved_with_evidence():
    result = grade_attempt(competence_rules(), COMPETENCE_ITEMS, KEYED)
    assert result.status == "fully_graded"
    assert result.grading_progress == "FullyGraded"
    assert (result.score, result.max_score, result.percent) == (5.0, 5, 100.0)
    assert result.grade == "achieved"
    assert decisions(result) == {AC1: "met", AC2: "met", AC3: "met"}
    assert evidence(result) == {AC1: ("SC1", "MR1"), AC2: ("OR1",), AC3: ("MA1", "ST1")}
    assert [(d.auto_marks, d.auto_items) for d in result.criteria] == [(2, 2), (1, 1), (2, 2)]
    assert [s.item_id for s in result.items] == ["SC1", "MR1", "OR1", "MA1", "ST1"]


def test_a_criterion_below_mastery_is_not_yet_met_and_the_unit_not_yet_achieved():
    # OR1 reversed keeps no link: AC2 earns 0 of 1 < 50%. Marks 4 of 5 = 80% do not rescue it.
    result = grade_attempt(
        competence_rules(), COMPETENCE_ITEMS, {**KEYED, "OR1": ["S4", "S3", "S2", "S1"]}
    )
    assert decisions(result) == {AC1: "met", AC2: "not_yet_met", AC3: "met"}
    assert (result.score, result.max_score, result.percent) == (4.0, 5, 80.0)
    assert result.status == "fully_graded"
    assert result.grade == "not_yet_achieved"


def test_every_auto_item_weighs_the_same_within_its_criterion():
    # SC1 (1 point) right and MR1 (3 points) blank: 1 + 0 = 1 of 2 items = 50% -> met
    # (by points it would be 1 of 4 = 25%: a 3-point item would outweigh the 1-point one)
    result = grade_attempt(competence_rules(), COMPETENCE_ITEMS, {**KEYED, "MR1": None})
    assert decisions(result)[AC1] == "met"
    # SC1 wrong, MR1 full: 0 + 1 = 50% -> met; a slip on either item does not fail AC1
    result = grade_attempt(competence_rules(), COMPETENCE_ITEMS, {**KEYED, "SC1": "A"})
    assert decisions(result)[AC1] == "met"
    # SC1 wrong, MR1 A, B, D: 2/3 keyed - 1/2 wrong = 0.1667 of 2 items -> not_yet_met
    result = grade_attempt(
        competence_rules(), COMPETENCE_ITEMS, {**KEYED, "SC1": "A", "MR1": ["A", "B", "D"]}
    )
    assert decisions(result)[AC1] == "not_yet_met"
    assert result.criteria[0].auto_marks == 0.1667


# AC1: SC1 wrong (0) + MR1 full (1) = 1 of 2; AC2: OR1 shifted keeps 2 of 3 links = 0.67 of 1;
# AC3: MA1 all wrong (0) + ST1 right (1) = 1 of 2. Every criterion met, marks only 2.67 of 5.
EVERY_CRITERION_JUST_MET = {
    **KEYED,
    "SC1": "A",
    "OR1": ["S2", "S3", "S4", "S1"],
    "MA1": {"P1": "R2", "P2": "R1", "P3": "R4", "P4": "R3"},
}


def test_meeting_every_criterion_achieves_whatever_the_percentage():
    result = grade_attempt(competence_rules(), COMPETENCE_ITEMS, EVERY_CRITERION_JUST_MET)
    assert decisions(result) == {AC1: "met", AC2: "met", AC3: "met"}
    assert (result.score, result.max_score, result.percent) == (2.6667, 5, 53.33)
    assert result.grade == "achieved"


def test_a_criterion_no_item_evidences_is_not_evidenced_and_never_met():
    result = grade_attempt(competence_rules(codes=(AC1, AC2, AC3, AC4)), COMPETENCE_ITEMS, KEYED)
    assert decisions(result) == {AC1: "met", AC2: "met", AC3: "met", AC4: "not_evidenced"}
    assert evidence(result)[AC4] == ()
    assert result.percent == 100.0
    assert result.grade == "not_yet_achieved"


def test_a_legacy_item_tagged_with_two_criteria_counts_for_its_first_only():
    both = single_choice("SC2", criteria=(AC2, AC1))
    result = grade_attempt(competence_rules(), [*COMPETENCE_ITEMS, both], {**KEYED, "SC2": "B"})
    assert evidence(result)[AC1] == ("SC1", "MR1")
    assert evidence(result)[AC2] == ("OR1", "SC2")


def test_the_engine_names_the_performance_criteria():
    rules = GradingRules(
        "competence",
        (CriterionRule(AC1), CriterionRule(AC2, evidence_type="performance")),
    )
    assert rules.performance_criteria == (AC2,)


WITH_EXTENDED = [*COMPETENCE_ITEMS, extended()]  # EX1 evidences AC2 and AC3, 1 mark each; max 7
EXTENDED_KEYED = {**KEYED, "EX1": "An essay about the Consumer Rights Act 2015."}


def test_an_unmarked_extended_response_leaves_the_attempt_pending():
    result = grade_attempt(competence_rules(), WITH_EXTENDED, EXTENDED_KEYED)
    assert result.status == "pending_manual"
    assert result.grading_progress == "PendingManual"
    assert result.grade is None
    # AC1 has no extended evidence and is decided; AC2 and AC3 wait for the assessor
    assert decisions(result) == {AC1: "met", AC2: "pending", AC3: "pending"}
    assert evidence(result)[AC2] == ("OR1", "EX1")
    # 5 auto marks of 7: 100 * 5 / 7 = 71.428... -> 71.43
    assert (result.score, result.max_score, result.percent) == (5.0, 7, 71.43)
    assert result.items[-1].pending


def test_marking_the_extended_response_met_completes_the_grading():
    marks = {"EX1": {AC2: LevelMark("met", 1), AC3: LevelMark("met", 1)}}
    result = grade_attempt(competence_rules(), WITH_EXTENDED, EXTENDED_KEYED, marks)
    assert result.status == "fully_graded"
    assert result.grading_progress == "FullyGraded"
    assert decisions(result) == {AC1: "met", AC2: "met", AC3: "met"}
    assert (result.score, result.max_score, result.percent) == (7.0, 7, 100.0)
    assert result.grade == "achieved"


def test_an_extended_mark_of_not_yet_met_outweighs_right_auto_scored_answers():
    marks = {"EX1": {AC2: LevelMark("met", 1), AC3: LevelMark("not_yet_met", 0)}}
    result = grade_attempt(competence_rules(), WITH_EXTENDED, EXTENDED_KEYED, marks)
    # MA1 and ST1 (AC3) are fully right, but the assessor did not rate AC3 met
    assert decisions(result) == {AC1: "met", AC2: "met", AC3: "not_yet_met"}
    # 5 + 1 + 0 = 6 of 7: 85.714... -> 85.71
    assert (result.score, result.max_score, result.percent) == (6.0, 7, 85.71)
    assert result.status == "fully_graded"
    assert result.grade == "not_yet_achieved"


def test_grading_progress_maps_statuses_to_lti_ags():
    assert GRADING_PROGRESS["pending_manual"] == "PendingManual"
    assert GRADING_PROGRESS["fully_graded"] == "FullyGraded"


# Graded unit: P1, P2 (pass) with two 1-point items each; M1 (merit) and D1 (distinction) with
# one supporting item each and the essay EX-MD, which the assessor rates on M1 and D1.
GRADED_RULES = GradingRules(
    "graded",
    (
        CriterionRule("G.P1", "pass"),
        CriterionRule("G.P2", "pass"),
        CriterionRule("G.M1", "merit"),
        CriterionRule("G.D1", "distinction"),
    ),
)
GRADED_AUTO = [
    single_choice(f"I-{c}{n}", criteria=(f"G.{c}",))
    for c, count in (("P1", 2), ("P2", 2), ("M1", 1), ("D1", 1))
    for n in range(count)
]
GRADED_ITEMS = [*GRADED_AUTO, extended("EX-MD", {"G.M1": 1, "G.D1": 1})]


def graded_responses(*wrong: str) -> dict[str, str]:
    return {i.id: "A" if i.id in wrong else "B" for i in GRADED_AUTO}


def essay_marks(m1: str, d1: str) -> dict[str, dict[str, LevelMark]]:
    return {"EX-MD": {"G.M1": LevelMark(m1, int(m1 == "met")), "G.D1": LevelMark(d1, 0)}}


@pytest.mark.parametrize(
    ("wrong", "m1", "d1", "grade"),
    [
        ((), "met", "met", "distinction"),
        ((), "met", "not_yet_met", "merit"),
        ((), "not_yet_met", "met", "pass"),  # cumulative: distinction needs merit too
        ((), "not_yet_met", "not_yet_met", "pass"),
        (("I-P10",), "met", "met", "distinction"),  # one slip of two: P1 still met
        (("I-P10", "I-P11"), "met", "met", "not_yet_achieved"),  # a pass criterion not met
        # the supporting auto items never decide merit or distinction, either way
        (("I-M10", "I-D10"), "met", "met", "distinction"),
    ],
)
def test_graded_units_are_graded_cumulatively_from_the_criteria(wrong, m1, d1, grade):
    result = grade_attempt(
        GRADED_RULES, GRADED_ITEMS, graded_responses(*wrong), essay_marks(m1, d1)
    )
    assert result.status == "fully_graded"
    assert result.grade == grade


def test_right_supporting_items_do_not_meet_merit_or_distinction_without_the_assessor():
    result = grade_attempt(
        GRADED_RULES, GRADED_ITEMS, graded_responses(), essay_marks("not_yet_met", "not_yet_met")
    )
    assert decisions(result)["G.M1"] == decisions(result)["G.D1"] == "not_yet_met"
    assert result.grade == "pass"
    pending = grade_attempt(GRADED_RULES, GRADED_ITEMS, graded_responses())
    assert decisions(pending)["G.M1"] == "pending" and pending.grade is None


def test_merit_and_distinction_without_an_extended_response_are_not_evidenced():
    result = grade_attempt(GRADED_RULES, GRADED_AUTO, graded_responses())
    assert decisions(result)["G.M1"] == decisions(result)["G.D1"] == "not_evidenced"
    assert evidence(result)["G.M1"] == ("I-M10",)  # shown as supporting evidence
    assert result.grade == "pass"


# ---------------------------------------------------------------------------------------------
# 4. Forms
# ---------------------------------------------------------------------------------------------

FORM_CRITERIA = ("U.C1", "U.C2", "U.C3", "U.C4")


def choice_item(item_id: str, *criteria: str) -> ItemKey:
    return ItemKey(
        item_id, "single_choice", 1, criteria, options=("A", "B"), correct=frozenset({"A"})
    )


def essay_item(item_id: str, *criteria: str) -> ItemKey:
    return ItemKey(
        item_id, "extended_response", len(criteria), criteria, rubric_max=dict.fromkeys(criteria, 1)
    )


def form_bank() -> list[ItemKey]:
    bank = [choice_item(f"{c[2:]}-{n}", c) for c in FORM_CRITERIA for n in range(6)]
    bank += [
        choice_item("C1C2-0", "U.C1", "U.C2"),
        choice_item("C1C2-1", "U.C1", "U.C2"),
        choice_item("C3C4-0", "U.C3", "U.C4"),
    ]
    bank += [essay_item(f"EX-{n}", FORM_CRITERIA[n]) for n in range(3)]
    return bank


def coverage(form: list[str], bank: list[ItemKey]) -> Counter:
    """Auto items per criterion, each counted for the one criterion it evidences."""
    by_id = {i.id: i for i in bank}
    return Counter(
        counted_for(by_id[item_id])
        for item_id in form
        if by_id[item_id].type != "extended_response"
    )


def test_build_form_is_deterministic_for_a_seed():
    first = build_form(FORM_CRITERIA, form_bank(), 2, 1, seed="learner-7")
    again = build_form(FORM_CRITERIA, form_bank(), 2, 1, seed="learner-7")
    assert first == again


def test_build_form_differs_between_seeds():
    forms = {tuple(build_form(FORM_CRITERIA, form_bank(), 2, 1, seed=f"s{n}")) for n in range(20)}
    assert len(forms) >= 15


@pytest.mark.parametrize("per_criterion", [1, 2, 3])
@pytest.mark.parametrize("extended_count", [0, 1, 3])
def test_every_form_holds_exactly_n_auto_items_per_criterion(per_criterion, extended_count):
    bank = form_bank()
    by_id = {i.id: i for i in bank}
    for n in range(40):
        form = build_form(FORM_CRITERIA, bank, per_criterion, extended_count, seed=f"s{n}")
        assert len(set(form)) == len(form)
        covered = coverage(form, bank)
        assert all(covered[c] == per_criterion for c in FORM_CRITERIA), (form, covered)
        kinds = [by_id[i].type for i in form]
        assert kinds.count("extended_response") == extended_count
        # the extended items come after the auto-scored ones
        assert kinds[len(kinds) - extended_count :] == ["extended_response"] * extended_count


def test_an_item_tagged_with_two_criteria_fills_its_first_criterion_only():
    # X counts for C1 alone: C2 still draws its own item, so no item decides two criteria
    bank = [choice_item("X", "U.C1", "U.C2"), choice_item("Y1", "U.C2"), choice_item("Y2", "U.C2")]
    for n in range(20):
        form = build_form(("U.C1", "U.C2"), bank, 1, 0, seed=f"s{n}")
        assert form[0] == "X" and form[1] in ("Y1", "Y2") and len(form) == 2
    # X is not in C2's pool: C2 has 2 items of its own, C1 only X
    with pytest.raises(FormError, match=r"criterion U\.C1: 1 auto-scored item\(s\), need 2"):
        build_form(("U.C1", "U.C2"), bank, 2, 0, seed="s")


def test_forms_draw_extended_responses_that_cover_merit_and_distinction():
    # EX-0 covers C1, EX-1 C2, EX-2 C3: with C3 assessor-decided, only EX-2 may be drawn
    bank = form_bank()
    for n in range(30):
        form = build_form(FORM_CRITERIA, bank, 2, 1, seed=f"s{n}", needs_extended=("U.C3",))
        assert form[-1] == "EX-2"
    # two essays must cover C1 and C3 together: always EX-0 and EX-2
    seen = {
        frozenset(build_form(FORM_CRITERIA, bank, 2, 2, f"s{n}", ("U.C1", "U.C3"))[-2:])
        for n in range(30)
    }
    assert seen == {frozenset({"EX-0", "EX-2"})}
    # when several essays qualify, the draw varies among them
    seen = {build_form(FORM_CRITERIA, bank, 2, 1, seed=f"s{n}")[-1] for n in range(30)}
    assert seen == {"EX-0", "EX-1", "EX-2"}


def test_no_extended_response_covering_a_merit_criterion_is_a_form_error():
    with pytest.raises(FormError, match=r"U\.C4"):
        build_form(FORM_CRITERIA, form_bank(), 2, 1, seed="s", needs_extended=("U.C4",))
    with pytest.raises(FormError, match=r"U\.C1, U\.C2"):
        build_form(FORM_CRITERIA, form_bank(), 2, 1, seed="s", needs_extended=("U.C1", "U.C2"))


def test_a_pool_too_small_is_a_form_error_naming_the_criterion():
    bank = [*(choice_item(f"A{n}", "U.C1") for n in range(3)), choice_item("B0", "U.C2")]
    with pytest.raises(FormError, match=r"criterion U\.C2: 1 auto-scored item\(s\), need 2"):
        build_form(("U.C1", "U.C2"), bank, 2, 0, seed="s")


def test_extended_items_do_not_fill_a_criterions_pool():
    bank = [choice_item("A0", "U.C1"), essay_item("EX-0", "U.C2")]
    with pytest.raises(FormError, match=r"U\.C2"):
        build_form(("U.C1", "U.C2"), bank, 1, 1, seed="s")


def test_too_few_extended_items_is_a_form_error():
    with pytest.raises(FormError, match="extended"):
        build_form(FORM_CRITERIA, form_bank(), 1, 4, seed="s")


def test_shuffled_is_a_deterministic_permutation():
    ids = ["A", "B", "C", "D", "E", "F"]
    for n in range(50):
        order = shuffled(ids, f"s{n}", "MR1")
        assert order == shuffled(ids, f"s{n}", "MR1")
        assert sorted(order) == ids
    assert ids == ["A", "B", "C", "D", "E", "F"]  # the input is not shuffled in place
    assert len({tuple(shuffled(ids, f"s{n}", "MR1")) for n in range(20)}) > 1
    assert len({tuple(shuffled(ids, "s", f"I{n}")) for n in range(20)}) > 1


@pytest.mark.parametrize("size", [2, 3, 4, 6])
def test_shuffled_avoiding_identity_never_shows_the_key_order(size):
    ids = [f"S{n}" for n in range(size)]
    for n in range(300):
        order = shuffled(ids, f"s{n}", "OR1", avoid_identity=True)
        assert order != ids
        assert sorted(order) == sorted(ids)


def test_without_avoid_identity_the_key_order_does_come_up():
    # keeps the test above meaningful: a plain shuffle of two steps is often the identity
    ids = ["S0", "S1"]
    assert any(shuffled(ids, f"s{n}", "OR1") == ids for n in range(50))


def test_shuffled_single_step_stays_put():
    assert shuffled(["S0"], "s", "OR1", avoid_identity=True) == ["S0"]


# ---------------------------------------------------------------------------------------------
# 5. Properties
# ---------------------------------------------------------------------------------------------

POINTS = st.integers(min_value=1, max_value=10)


@st.composite
def auto_case(draw, kind: str | None = None, item_id: str = "I", criteria=(AC1,)):
    """(item, a random valid response, the keyed response, an equivalent reordered response)."""
    kind = kind or draw(st.sampled_from(AUTO_SCORED))
    points = draw(POINTS)
    criteria = tuple(criteria)
    if kind == "single_choice":
        options = tuple(f"O{n}" for n in range(draw(st.integers(2, 6))))
        keyed = draw(st.sampled_from(options))
        item = ItemKey(item_id, kind, points, criteria, options=options, correct=frozenset({keyed}))
        response = draw(st.sampled_from(options))
        return item, response, keyed, response
    if kind == "multiple_response":
        options = tuple(f"O{n}" for n in range(draw(st.integers(2, 8))))
        correct = draw(st.frozensets(st.sampled_from(options), min_size=1))
        item = ItemKey(item_id, kind, points, criteria, options=options, correct=correct)
        chosen = draw(st.lists(st.sampled_from(options), unique=True))
        keyed = draw(st.permutations(sorted(correct)))
        return item, chosen, keyed, draw(st.permutations(chosen))
    if kind == "ordering":
        steps = tuple(f"S{n}" for n in range(draw(st.integers(1, 7))))
        order = tuple(draw(st.permutations(steps)))
        item = ItemKey(item_id, kind, points, criteria, options=order, order=order)
        response = draw(st.permutations(order))
        return item, response, list(order), response
    if kind == "matching":
        premises = tuple(f"P{n}" for n in range(draw(st.integers(1, 6))))
        answers = tuple(f"R{n}" for n in range(draw(st.integers(1, 6))))
        pairs = {p: draw(st.sampled_from(answers)) for p in premises}
        item = ItemKey(
            item_id, kind, points, criteria, options=premises, pairs=pairs, responses=answers
        )
        answered = draw(st.lists(st.sampled_from(premises), unique=True))
        response = {p: draw(st.sampled_from(answers)) for p in answered}
        reordered = {p: response[p] for p in draw(st.permutations(list(response)))}
        keyed = {p: pairs[p] for p in draw(st.permutations(premises))}
        return item, response, keyed, reordered
    # An accepted answer that normalises to nothing is refused by the content loader.
    answer = st.text(max_size=30).filter(lambda a: normalise_text(a) != "")
    raw = draw(st.lists(answer, min_size=1, max_size=3))
    item = ItemKey(
        item_id, "short_text", points, criteria, accepted=tuple(normalise_text(a) for a in raw)
    )
    response = draw(st.one_of(st.text(max_size=30), st.sampled_from(raw)))
    return item, response, draw(st.sampled_from(raw)), response


@settings(max_examples=200, deadline=None)
@given(auto_case())
def test_scores_lie_between_zero_and_the_items_points(case):
    item, response, _, _ = case
    check_response(item, response)
    scored = score_item(item, response)
    assert 0.0 <= scored.score <= item.points
    assert scored.max_score == item.points
    assert not scored.pending


@settings(max_examples=200, deadline=None)
@given(auto_case())
def test_the_keyed_response_scores_exactly_the_items_points(case):
    item, _, keyed, _ = case
    assert points_for(item, keyed) == item.points


@settings(max_examples=200, deadline=None)
@given(st.one_of(auto_case("multiple_response"), auto_case("matching")))
def test_choice_sets_and_matches_do_not_depend_on_order(case):
    item, response, _, reordered = case
    assert points_for(item, response) == points_for(item, reordered)


@settings(max_examples=200, deadline=None)
@given(auto_case("multiple_response"))
def test_multiple_response_matches_the_documented_formula(case):
    item, chosen, _, _ = case
    hits, misses = len(set(chosen) & item.correct), len(set(chosen) - item.correct)
    others = len(item.options) - len(item.correct)
    share = hits / len(item.correct) - (misses / others if others else 0)
    expected = round(item.points * max(0, share), 4)
    assert points_for(item, chosen) == expected


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4)


def json_like(ids) -> st.SearchStrategy:
    """JSON values that mix the item's own ids with anything else."""
    ids = st.sampled_from(ids) if ids else st.nothing()
    return st.recursive(
        JSON_SCALARS | ids,
        lambda inner: (
            st.lists(inner, max_size=5)
            | st.dictionaries(ids | st.text(max_size=3), inner, max_size=5)
        ),
        max_leaves=10,
    )


@settings(max_examples=200, deadline=None)
@given(auto_case(), st.data())
def test_any_json_response_is_scored_or_refused_with_a_response_error(case, data):
    # the API turns ResponseError into a 422; any other exception would be a 500. Fails today
    # for matching responses with two or more non-string response ids (see the report).
    item = case[0]
    ids = [*item.options, *item.responses, *item.accepted]
    keys = st.sampled_from(item.options) if item.options else st.text(max_size=3)
    shaped = st.lists(keys, max_size=8) | st.dictionaries(keys, json_like(ids), max_size=6)
    response = data.draw(json_like(ids) | shaped, label="response")
    try:
        check_response(item, response)
    except ResponseError as exc:
        assert item.id in str(exc)
        return
    assert 0.0 <= points_for(item, response) <= item.points


LEVELS = {
    "competence": ("not_yet_met", "met"),
    "graded": ("not_yet_met", "met"),
}
TOP_GRADE = {"competence": "achieved", "graded": "distinction"}


@st.composite
def attempt_case(draw, cover_all: bool):
    """Rules, items, keyed responses and top marks, random responses and random marks."""
    grading = draw(st.sampled_from(sorted(LEVELS)))
    codes = [f"U.AC{n}" for n in range(1, draw(st.integers(1, 5)) + 1)]
    rules = GradingRules(
        grading,
        tuple(
            CriterionRule(c, draw(st.sampled_from(BANDS)) if grading == "graded" else "pass")
            for c in codes
        ),
        mastery_percent=draw(st.integers(0, 100)),
    )
    if cover_all:
        covered = codes
    else:  # leave at least one criterion without evidence
        covered = sorted(draw(st.sets(st.sampled_from(codes), max_size=len(codes) - 1)))
    items, keyed, top_marks, responses, marks = [], {}, {}, {}, {}
    for n in range(draw(st.integers(1, 7))):
        item_id = f"I{n}"
        these = sorted(draw(st.sets(st.sampled_from(covered), min_size=1))) if covered else []
        if draw(st.booleans()) and these:
            rubric_max = {c: draw(st.integers(1, 3)) for c in these}
            item = ItemKey(
                item_id,
                "extended_response",
                sum(rubric_max.values()),
                tuple(these),
                rubric_max=rubric_max,
            )
            top_marks[item_id] = {
                c: LevelMark(LEVELS[grading][-1], m) for c, m in rubric_max.items()
            }
            if draw(st.booleans()):
                marks[item_id] = {
                    c: LevelMark(draw(st.sampled_from(LEVELS[grading])), draw(st.integers(0, m)))
                    for c, m in rubric_max.items()
                }
            keyed[item_id] = responses[item_id] = draw(st.none() | st.text(max_size=20))
        else:
            item, response, key, _ = draw(auto_case(item_id=item_id, criteria=these))
            keyed[item_id] = key
            responses[item_id] = draw(st.sampled_from([response, None]))
        items.append(item)
    if cover_all:  # every criterion evidenced: merit and distinction need an extended response
        for rule in rules.criteria:
            code = rule.code
            if rule.band != "pass" and not any(
                i.type == "extended_response" and code in i.criteria for i in items
            ):
                item = ItemKey(f"X-{code}", "extended_response", 1, (code,), rubric_max={code: 1})
                items.append(item)
                keyed[item.id] = responses[item.id] = "An essay."
                top_marks[item.id] = {code: LevelMark(LEVELS[grading][-1], 1)}
            elif not any(evidences(i, code) for i in items):
                item, _, key, _ = draw(auto_case(item_id=f"I-{code}", criteria=(code,)))
                items.append(item)
                keyed[item.id] = responses[item.id] = key
    return rules, items, keyed, top_marks, responses, marks


def form_marks(items: list[ItemKey]) -> int:
    """One mark per auto item, the rubric's top scores per extended response."""
    return sum(i.points if i.type == "extended_response" else 1 for i in items)


@settings(max_examples=200, deadline=None)
@given(attempt_case(cover_all=True))
def test_keyed_responses_and_top_marks_earn_the_top_grade(case):
    rules, items, keyed, top_marks, _, _ = case
    result = grade_attempt(rules, items, keyed, top_marks)
    assert set(decisions(result).values()) == {"met"}
    assert result.status == "fully_graded"
    assert result.grade == TOP_GRADE[rules.grading]
    assert result.score == result.max_score == form_marks(items)
    assert result.percent == 100.0


@settings(max_examples=200, deadline=None)
@given(st.one_of(attempt_case(cover_all=False), attempt_case(cover_all=True)))
def test_coverage_never_claims_a_criterion_no_item_evidenced(case):
    rules, items, _, _, responses, marks = case
    result = grade_attempt(rules, items, responses, marks)
    rank = {"not_yet_achieved": 0, "pass": 1, "merit": 2, "distinction": 3, "achieved": 3}
    for rule, decision in zip(rules.criteria, result.criteria, strict=True):
        expected = tuple(i.id for i in items if evidences(i, rule.code))
        essays = [i for i in items if i.type == "extended_response" and rule.code in i.criteria]
        assert decision.criterion == rule.code
        assert decision.evidence == expected
        if essays or (expected and rule.band == "pass"):
            assert decision.decision in ("met", "not_yet_met", "pending")
        else:  # nothing, or only supporting auto items for a merit/distinction criterion
            assert decision.decision == "not_evidenced"
            # a grade cannot reach the band of an unevidenced criterion
            assert result.grade is None or rank[result.grade] <= BANDS.index(rule.band)
    assert 0.0 <= result.score <= result.max_score == form_marks(items)
    assert 0.0 <= result.percent <= 100.0
    pending = any(i.type == "extended_response" and i.id not in marks for i in items)
    assert result.status == ("pending_manual" if pending else "fully_graded")
    assert (result.grade is None) == pending


def test_build_form_never_puts_not_with_items_together():
    """Either side may declare the pair; the other is then skipped for the whole form."""
    bank = [
        ItemKey(
            "A1",
            "single_choice",
            1,
            ("U.AC1",),
            options=("A", "B"),
            correct=frozenset({"A"}),
            not_with=frozenset({"X1"}),
        ),
        ItemKey("A2", "single_choice", 1, ("U.AC1",), options=("A", "B"), correct=frozenset({"A"})),
        ItemKey("X1", "extended_response", 2, ("U.AC1",), rubric_max={"U.AC1": 2}),
        ItemKey(
            "X2",
            "extended_response",
            2,
            ("U.AC1",),
            rubric_max={"U.AC1": 2},
            not_with=frozenset({"A2"}),
        ),
    ]
    forms = {tuple(build_form(["U.AC1"], bank, 1, 1, seed=str(n))) for n in range(200)}
    assert forms == {("A1", "X2"), ("A2", "X1")}

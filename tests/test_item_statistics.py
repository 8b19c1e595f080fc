"""Item statistics (review A12): figures from attempts built with known properties."""

from __future__ import annotations

import math

from service.item_statistics import (
    AttemptRows,
    ItemRow,
    as_csv,
    compute,
    item_rest_correlation,
)

OPTIONS = frozenset("ABCD")


def choice(code: str, response, right: str = "A", points: int = 1) -> ItemRow:
    score = float(points) if response == right else 0.0
    return ItemRow(code, "single_choice", score, points, response, frozenset(right), OPTIONS)


def scored(code: str, score: float, points: int = 3) -> ItemRow:
    return ItemRow(code, "short_text", score, points, "an answer" if score else "wrong")


def _by_item(statistics):
    return {item.item: item for item in statistics.items}


# Four learners, strongest first. Q1: the two strong learners choose the key A, the third the
# distractor B, the weakest leaves it out. Q2 (3 marks) is the rest of the form: 3, 2, 1, 0.
SITTING = [
    AttemptRows([choice("Q1", "A"), scored("Q2", 3)], {"CSC-01.AC1": "met"}),
    AttemptRows([choice("Q1", "A"), scored("Q2", 2)], {"CSC-01.AC1": "met"}),
    AttemptRows([choice("Q1", "B"), scored("Q2", 1)], {"CSC-01.AC1": "met"}),
    AttemptRows([choice("Q1", None), scored("Q2", 0)], {"CSC-01.AC1": "not_yet_met"}),
]


def test_facility_omission_and_distractor_rates():
    stats = compute(SITTING)
    q1 = _by_item(stats)["Q1"]
    assert stats.attempts == 4
    assert (q1.n, q1.facility, q1.omission_rate) == (4, 0.5, 0.25)
    rates = {c.choice: (c.rate, c.keyed) for c in q1.choices}
    # B is chosen by exactly a quarter; C and D by nobody (non-functioning distractors).
    assert rates == {"A": (0.5, True), "B": (0.25, False), "C": (0.0, False), "D": (0.0, False)}
    q2 = _by_item(stats)["Q2"]
    assert (q2.facility, q2.omission_rate, q2.choices) == (0.5, 0.0, [])


def test_strong_right_and_weak_wrong_discriminates_positively():
    # Q1 scores 1, 1, 0, 0 against rest scores 3, 2, 1, 0: r = 2 / sqrt(1 * 5).
    q1 = _by_item(compute(SITTING))["Q1"]
    assert q1.discrimination == round(2 / math.sqrt(5), 4) == 0.8944


def test_weak_right_and_strong_wrong_discriminates_negatively():
    reversed_sitting = [
        AttemptRows([choice("Q1", "B"), scored("Q2", 3)]),
        AttemptRows([choice("Q1", "B"), scored("Q2", 2)]),
        AttemptRows([choice("Q1", "A"), scored("Q2", 1)]),
        AttemptRows([choice("Q1", "A"), scored("Q2", 0)]),
    ]
    assert _by_item(compute(reversed_sitting))["Q1"].discrimination == -0.8944


def test_the_item_is_left_out_of_the_total_it_is_correlated_with():
    # Q1 right with rest scores 1, 1 and wrong with 1, 1: the rest does not vary, so there is
    # no discrimination to report. Correlated with the total instead, it would be 1.0.
    flat = [
        AttemptRows([choice("Q1", "A"), scored("Q2", 1)]),
        AttemptRows([choice("Q1", "A"), scored("Q2", 1)]),
        AttemptRows([choice("Q1", "B"), scored("Q2", 1)]),
        AttemptRows([choice("Q1", "C"), scored("Q2", 1)]),
    ]
    assert _by_item(compute(flat))["Q1"].discrimination is None


def test_criterion_met_rate():
    assert [(c.criterion, c.n, c.met_rate) for c in compute(SITTING).criteria] == [
        ("CSC-01.AC1", 4, 0.75)
    ]


def test_matching_and_multiple_response_choices():
    matching = ItemRow(
        "Q3",
        "matching",
        0.5,
        1,
        {"P1": "R1", "P2": "R1"},
        frozenset({"P1=R1", "P2=R2"}),
        frozenset({"P1=R1", "P2=R2"}),
    )
    multiple = ItemRow(
        "Q4", "multiple_response", 0.5, 1, ["A", "C"], frozenset("AB"), frozenset("ABCD")
    )
    stats = _by_item(compute([AttemptRows([matching, multiple]), AttemptRows([])]))
    assert {(c.choice, c.rate, c.keyed) for c in stats["Q3"].choices} == {
        ("P1=R1", 1.0, True),
        ("P2=R1", 1.0, False),
        ("P2=R2", 0.0, True),
    }
    assert {(c.choice, c.rate) for c in stats["Q4"].choices} == {
        ("A", 1.0),
        ("B", 0.0),
        ("C", 1.0),
        ("D", 0.0),
    }


def test_correlation_of_too_few_or_constant_pairs_is_none():
    assert item_rest_correlation([(1, 2)]) is None
    assert item_rest_correlation([(1, 2), (1, 3)]) is None


def test_csv_has_a_row_per_item_choice_and_criterion():
    lines = as_csv(compute(SITTING)).splitlines()
    assert lines[0].startswith("kind,item,type,criterion,choice,keyed,n,facility")
    assert "item,Q1,single_choice,,,,4,0.5,0.8944,0.25,," in lines
    assert "choice,Q1,single_choice,,B,no,4,,,,0.25," in lines
    assert lines[-1] == "criterion,,,CSC-01.AC1,,,4,,,,,0.75"

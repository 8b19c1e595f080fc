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


# ------------------------------------------------------------------ from the database, served


def _sitting(app) -> None:
    """The SITTING above as stored attempts of CSC-04-A1: Q001 (key B) and the extended
    response Q013 (3 marks) as the rest of the form; one attempt on a later day, and one still
    waiting for marking (never counted)."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from service import db
    from service.identifiers import new_uuid
    from service.models import (
        Assessment,
        Attempt,
        AttemptCriterionDecision,
        AttemptItem,
        AttemptItemScore,
        AttemptResponse,
    )

    learners = [("B", 1, 3, "met", 20), ("B", 1, 2, "met", 20), ("A", 0, 1, "met", 20)]
    learners += [(None, 0, 0, "not_yet_met", 25), ("B", 1, 3, "pending", 26)]
    with app.app_context():
        session = db.session()
        assessment = session.scalar(select(Assessment).where(Assessment.code == "CSC-04-A1"))
        for n, (choice, q001, q013, decision, day) in enumerate(learners):
            when = datetime(2026, 11, day, 10, tzinfo=UTC)
            status = "pending_manual" if decision == "pending" else "fully_graded"
            attempt = Attempt(
                uuid=new_uuid(),
                assessment=assessment,
                learner_ref=f"stats-{n}",
                seed=f"{n}",
                status=status,
                opened_at=when,
                started_at=when,
                submitted_at=when,
            )
            attempt.items = [
                AttemptItem(position=1, item_code="CSC-04-Q001", item_version=1),
                AttemptItem(position=2, item_code="CSC-04-Q013", item_version=1),
            ]
            attempt.score_rows = [
                AttemptItemScore(item_code="CSC-04-Q001", score=q001, max_score=1),
                AttemptItemScore(item_code="CSC-04-Q013", score=q013, max_score=3),
            ]
            attempt.response_rows = [
                AttemptResponse(item_code="CSC-04-Q001", response=choice, saved_at=when),
                AttemptResponse(item_code="CSC-04-Q013", response="My answer.", saved_at=when),
            ]
            attempt.decision_rows = [
                AttemptCriterionDecision(
                    criterion_code="CSC-04.AC1", decision=decision, evidence=["CSC-04-Q001"]
                )
            ]
            session.add(attempt)
        session.commit()


def test_the_api_serves_the_figures_as_json_and_csv(fresh):
    from tests.conftest import bearer

    app, _ = fresh
    _sitting(app)
    client = app.test_client()
    url = "/api/v1/items/statistics"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=bearer(app, ["attempts:read"])).status_code == 403
    headers = bearer(app, ["content:read"])

    body = client.get(url, query_string={"unit": "CSC-04"}, headers=headers).get_json()
    assert body["attempts"] == 4  # the attempt waiting for marking is not counted
    q001, q013 = body["items"]
    assert (q001["item"], q001["n"], q001["facility"]) == ("CSC-04-Q001", 4, 0.5)
    assert (q001["discrimination"], q001["omission_rate"]) == (0.8944, 0.25)
    assert [(c["choice"], c["rate"], c["keyed"]) for c in q001["choices"]] == [
        ("A", 0.25, False),
        ("B", 0.5, True),
        ("C", 0.0, False),
        ("D", 0.0, False),
    ]
    assert (q013["facility"], q013["discrimination"], q013["choices"]) == (0.5, 0.8944, [])
    assert body["criteria"] == [{"criterion": "CSC-04.AC1", "n": 4, "met_rate": 0.75}]

    later = client.get(url, query_string={"since": "2026-11-21"}, headers=headers).get_json()
    assert later["attempts"] == 1
    earlier = client.get(url, query_string={"until": "2026-11-20"}, headers=headers).get_json()
    assert earlier["attempts"] == 3
    other_unit = client.get(url, query_string={"unit": "CSC-01"}, headers=headers).get_json()
    assert other_unit == {"attempts": 0, "items": [], "criteria": []}

    as_csv = client.get(url, headers={**headers, "Accept": "text/csv"})
    assert as_csv.mimetype == "text/csv"
    assert "item,CSC-04-Q001,single_choice,,,,4,0.5,0.8944,0.25,," in as_csv.text.splitlines()
    by_query = client.get(url, query_string={"format": "csv"}, headers=headers)
    assert by_query.text == as_csv.text


def test_the_command_prints_and_writes_csv(fresh, tmp_path):
    app, _ = fresh
    _sitting(app)
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["items", "stats", "--unit", "CSC-04"])
    assert shown.exit_code == 0, shown.output
    assert "4 fully graded attempt(s)" in shown.output
    assert "CSC-04-Q001" in shown.output and "B*:0.50" in shown.output
    path = tmp_path / "stats.csv"
    written = runner.invoke(args=["items", "stats", "--csv", str(path), "--until", "2026-11-20"])
    assert written.exit_code == 0, written.output
    assert "choice,CSC-04-Q001,single_choice,,A,no,3,,,,0.3333," in path.read_text().splitlines()

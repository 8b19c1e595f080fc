"""Extended responses and their rubrics: binary rubrics, comparable extended responses within a
unit, merit and distinction criteria always evidenced by assessor-marked work in graded units,
and the jurisdiction the qualification assesses (review findings R1-R8, A2-A4, A11)."""

from __future__ import annotations

import shutil

import pytest
import yaml

from service.bank_loader import read_banks
from service.content_files import ContentError
from service.content_loader import read_units
from service.grading.vocabulary import RubricLevel
from tests.conftest import CONTENT_DIR
from tests.seeds import UNIT_SEEDS

UNITS = sorted(UNIT_SEEDS)
# Words an extended response asks for, by the unit's level (review A4 and A6).
WORD_RANGE = {2: {"min": 250, "max": 300}, 3: {"min": 350, "max": 400}}


def _load(kind: str, unit: str) -> dict:
    return yaml.safe_load((CONTENT_DIR / kind / f"{unit}.yaml").read_text(encoding="utf-8"))


def _extended(unit: str) -> list[dict]:
    return [i for i in _load("items", unit)["items"] if i["type"] == "extended_response"]


def _criteria(unit: str) -> list[dict]:
    return [c for lo in _load("units", unit)["learning_outcomes"] for c in lo["criteria"]]


@pytest.mark.parametrize("unit", UNITS)
def test_rubrics_are_binary_and_met_scores_the_same_for_every_criterion(unit):
    rubrics = _load("rubrics", unit)["rubrics"]
    assert [[lvl["quality"] for lvl in r["levels"]] for r in rubrics] == [list(RubricLevel)] * len(
        rubrics
    )
    assert {r["levels"][0]["score"] for r in rubrics} == {0}
    assert len({r["levels"][1]["score"] for r in rubrics}) == 1, "marks per criterion differ"


@pytest.mark.parametrize("unit", [u for u in UNITS if _load("units", u)["grading"] == "graded"])
def test_every_extended_response_of_a_graded_unit_covers_its_merit_and_distinction_criteria(
    unit,
):
    higher = {c["code"] for c in _criteria(unit) if c.get("band", "pass") != "pass"}
    assert higher, unit
    for item in _extended(unit):
        assert higher <= set(item["criteria"]), (item["id"], higher - set(item["criteria"]))


@pytest.mark.parametrize("unit", UNITS)
def test_extended_responses_of_a_unit_ask_for_the_same_length_and_marks(unit):
    level = _load("units", unit)["level"]
    met = {r["criterion"]: r["levels"][-1]["score"] for r in _load("rubrics", unit)["rubrics"]}
    items = _extended(unit)
    assert len(items) >= 2
    for item in items:
        assert item["word_range"] == WORD_RANGE[level], item["id"]
        assert item["expected_length_words"] == WORD_RANGE[level]["max"], item["id"]
        # The prompt tells the learner the same range the data holds.
        words = WORD_RANGE[level]
        assert f"{words['min']}-{words['max']} words" in item["prompt"], item["id"]
        # Every criterion is worth the same in every extended response of the unit.
        assert item["points"] == sum(met[c] for c in item["criteria"]), item["id"]
    assert len({met[c] for item in items for c in item["criteria"]}) == 1


@pytest.mark.parametrize("unit", UNITS)
def test_guidance_gives_met_and_not_yet_met_for_every_criterion_it_marks(unit):
    """Guidance is written by level in the rubric's words (R3, R4), one criterion at a time."""
    for item in _extended(unit):
        guidance = " ".join(item["guidance"].split())
        for code in item["criteria"]:
            assert f"{code} met:" in guidance, (item["id"], code)
        assert guidance.count("Not yet met:") >= len(item["criteria"]), item["id"]
        for word in ("merit", "distinction", "Merit:", "Distinction:"):
            assert word not in guidance, (item["id"], word)


def test_no_case_study_response_is_asked_to_evidence_own_practice():
    """R5: CSC-01 AC3 needs the learner's own interactions, so no extended response marks it."""
    assert all("AC3" not in item["criteria"] for item in _extended("CSC-01"))


def test_the_calder_valley_procedure_is_stated_once_for_extended_responses():
    """Every CSC-05 item that states the Calder Valley Complaints Procedure states steps (1)-(3)
    word for word as CSC-05-Q026 does (review: Q016 and Q026 contradicted each other)."""
    q026 = next(i for i in _extended("CSC-05") if i["id"] == "CSC-05-Q026")
    rule = " ".join(q026["scenario"]["rule"].split())
    stating = []
    for item in _load("items", "CSC-05")["items"]:
        stated = " ".join(" ".join(item["scenario"].values()).split())
        if "Calder Valley Energy Complaints Procedure says:" in stated:
            steps = stated.split("says: ", 1)[1].split("(4)")[0]
            assert steps in rule, item["id"]
            stating.append(item["id"])
    assert "CSC-05-Q016" in stating


def test_the_qualification_states_the_jurisdiction_it_assesses():
    data = yaml.safe_load((CONTENT_DIR / "qualification.yaml").read_text(encoding="utf-8"))
    assert data["jurisdiction"]["assesses"] == "Great Britain"
    equality = next(d for d in data["jurisdiction"]["differences"] if "Equality Act" in d["law"])
    assert "Disability Discrimination Act 1995" in equality["northern_ireland"]


@pytest.fixture
def content(tmp_path):
    content_dir = tmp_path / "criteria_data"
    shutil.copytree(CONTENT_DIR, content_dir)
    return content_dir


def _edit(content_dir, kind: str, unit: str, change) -> None:
    path = content_dir / kind / f"{unit}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _read(content_dir):
    read_banks(content_dir, [data for _file, data in read_units(content_dir)])


def _first_extended(data: dict) -> dict:
    return next(i for i in data["items"] if i["type"] == "extended_response")


def test_loader_refuses_an_extended_response_missing_a_graded_units_distinction_criterion(
    content,
):
    def drop_ac5(data):
        item = _first_extended(data)
        item["criteria"].remove("AC5")
        item["points"] -= 1

    _edit(content, "items", "CSC-02", drop_ac5)
    with pytest.raises(ContentError, match="must cover AC5"):
        _read(content)


def test_loader_refuses_extended_responses_of_different_lengths(content):
    _edit(
        content,
        "items",
        "CSC-03",
        lambda d: _first_extended(d).update(word_range={"min": 200, "max": 300}),
    )
    with pytest.raises(ContentError, match="same word_range"):
        _read(content)


def test_loader_refuses_a_merit_level_in_a_rubric(content):
    def add_merit(data):
        data["rubrics"][0]["levels"].append(
            {"quality": "merit", "score": 2, "descriptor": "As met, and explains each link fully."}
        )

    _edit(content, "rubrics", "CSC-05", add_merit)
    with pytest.raises(ContentError, match="rubrics/0/levels"):
        _read(content)


def test_loader_refuses_rubrics_that_score_met_differently(content):
    _edit(content, "rubrics", "CSC-01", lambda d: d["rubrics"][0]["levels"][1].update(score=2))
    with pytest.raises(ContentError, match="scores met the same"):
        _read(content)

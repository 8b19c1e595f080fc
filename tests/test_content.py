"""criteria_data/: every seed turned into a unit with nothing dropped; loading is validated,
idempotent and versioned."""

from __future__ import annotations

import re

import pytest
import yaml
from sqlalchemy import select

from service import db
from service.content_files import ContentError
from service.content_loader import load_content, read_units
from service.models import Criterion, CriterionVersion, Unit
from tests.conftest import CONTENT_DIR
from tests.seeds import UNIT_SEEDS, read_seed


def _unit_file(code: str, content_dir=CONTENT_DIR) -> dict:
    return yaml.safe_load((content_dir / "units" / f"{code}.yaml").read_text(encoding="utf-8"))


def _criteria(unit: dict) -> list[dict]:
    return [c for lo in unit["learning_outcomes"] for c in lo["criteria"]]


def _strip_markdown(text: str) -> str:
    return text.replace("**", "")


@pytest.mark.parametrize("code,seed_name", sorted(UNIT_SEEDS.items()))
def test_unit_file_keeps_everything_in_its_seed(code, seed_name):
    seed = read_seed(seed_name)
    unit = _unit_file(code)
    assert unit["source"] == seed_name
    assert unit["synopsis"].strip() == seed.synopsis
    topics = [f"{t['title']}: {t['description']}" for t in unit["knowledge_topics"]]
    assert topics == [_strip_markdown(c) for c in seed.concepts]
    assert unit["learner_guidance"] == seed.tips
    assert [m["text"] for m in unit["misconceptions"]] == seed.misconceptions
    assert sorted(c["marking_point"] for c in _criteria(unit)) == sorted(seed.marking_points)


@pytest.mark.parametrize("code", sorted(UNIT_SEEDS))
def test_criteria_are_written_as_criteria(code):
    unit = _unit_file(code)
    criteria = _criteria(unit)
    assert [c["code"] for c in criteria] == [f"AC{i}" for i in range(1, len(criteria) + 1)]
    for criterion in criteria:
        assert criterion["text"].startswith("The learner can ")
        assert "Award credit" not in criterion["text"]
    for lo in unit["learning_outcomes"]:
        assert lo["statement"].startswith("The learner will: ")
    used_topics = {kt for lo in unit["learning_outcomes"] for kt in lo["knowledge_topics"]}
    assert used_topics == {t["code"] for t in unit["knowledge_topics"]}
    if unit["grading"] == "graded":
        bands = {c.get("band", "pass") for c in criteria}
        assert bands == {"pass", "merit", "distinction"}


def test_every_marking_point_is_loaded_as_a_criterion(app):
    with app.app_context():
        session = db.session()
        for code, seed_name in UNIT_SEEDS.items():
            unit = session.scalar(select(Unit).where(Unit.code == code))
            loaded = sorted(c.current.marking_point for c in unit.criteria)
            assert loaded == sorted(read_seed(seed_name).marking_points)
            assert all(re.fullmatch(rf"{code}\.AC\d+", c.code) for c in unit.criteria)


def _snapshot(session) -> list[tuple]:
    rows = session.execute(
        select(
            Criterion.code,
            Criterion.uuid,
            Criterion.current_version,
            CriterionVersion.version,
            CriterionVersion.text,
            CriterionVersion.created_at,
        )
        .join(CriterionVersion)
        .order_by(Criterion.code, CriterionVersion.version)
    )
    units = session.execute(select(Unit.code, Unit.uuid, Unit.updated_at).order_by(Unit.code))
    return list(rows) + list(units)


def test_loading_twice_changes_nothing(fresh):
    app, content_dir = fresh
    with app.app_context():
        before = _snapshot(db.session())
        report = load_content(db.session(), content_dir)
        db.session().commit()
        assert report.changes == []
        assert _snapshot(db.session()) == before


def test_editing_a_criterion_adds_a_version_and_keeps_the_old(fresh):
    app, content_dir = fresh
    path = content_dir / "units" / "CSC-01.yaml"
    unit = yaml.safe_load(path.read_text(encoding="utf-8"))
    criterion = unit["learning_outcomes"][0]["criteria"][0]
    old_text = criterion["text"]
    criterion["text"] = "The learner can explain the purpose of two named procedures."
    path.write_text(yaml.safe_dump(unit, allow_unicode=True, sort_keys=False), encoding="utf-8")

    with app.app_context():
        report = load_content(db.session(), content_dir)
        db.session().commit()
        assert report.changes == ["criterion CSC-01.AC1 version 2"]

    response = app.test_client().get("/api/v1/criteria/CSC-01.AC1")
    body = response.get_json()
    assert body["version"] == 2
    assert body["text"] == criterion["text"]
    assert [(v["version"], v["text"]) for v in body["versions"]] == [
        (1, old_text.strip()),
        (2, criterion["text"]),
    ]
    # The CASE identifier does not change with the wording.
    listed = app.test_client().get("/api/v1/units/CSC-01/criteria").get_json()
    assert listed[0]["id"] == body["id"] and listed[0]["text"] == criterion["text"]


def _break(content_dir, code, mutate):
    path = content_dir / "units" / f"{code}.yaml"
    unit = yaml.safe_load(path.read_text(encoding="utf-8"))
    mutate(unit)
    path.write_text(yaml.safe_dump(unit, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "mutate,where,what",
    [
        (lambda u: u.update(level="three"), "/level", "is not of type 'integer'"),
        (
            lambda u: u["learning_outcomes"][1]["criteria"][0].pop("evidence"),
            "/learning_outcomes/1/criteria/0",
            "'evidence' is a required property",
        ),
        (
            lambda u: u["learning_outcomes"][0]["criteria"][0].update(evidence_type="vibes"),
            "/learning_outcomes/0/criteria/0/evidence_type",
            "is not one of",
        ),
        (
            lambda u: u["learning_outcomes"][0]["knowledge_topics"].append("KT99"),
            "/learning_outcomes/0/knowledge_topics/",
            "unknown knowledge topic 'KT99'",
        ),
        (lambda u: u.update(code="CSC-09"), "/code", "does not match the file name"),
    ],
)
def test_invalid_file_is_refused_naming_file_path_and_problem(fresh, mutate, where, what):
    app, content_dir = fresh
    path = _break(content_dir, "CSC-02", mutate)
    with pytest.raises(ContentError) as caught:
        read_units(content_dir)
    message = str(caught.value)
    assert str(path) in message and where in message and what in message


def test_a_bad_file_loads_nothing(fresh):
    """Validation happens before any write: a good edit beside a bad file is not half-applied."""
    app, content_dir = fresh
    _break(
        content_dir,
        "CSC-01",
        lambda u: u["learning_outcomes"][0]["criteria"][0].update(
            text="The learner can do something new."
        ),
    )
    _break(content_dir, "CSC-03", lambda u: u.update(grading="sometimes"))
    with app.app_context():
        with pytest.raises(ContentError, match="CSC-03.yaml"):
            load_content(db.session(), content_dir)
        criterion = db.session().scalar(select(Criterion).where(Criterion.code == "CSC-01.AC1"))
        assert criterion.current_version == 1


def test_yaml_syntax_error_names_the_line(fresh):
    _app, content_dir = fresh
    path = content_dir / "units" / "CSC-04.yaml"
    path.write_text("code: CSC-04\ntitle: [unclosed\n", encoding="utf-8")
    with pytest.raises(
        ContentError, match=r"CSC-04\.yaml: at line \d+, column \d+: not valid YAML"
    ):
        read_units(content_dir)


def test_cli_check_and_load(fresh):
    app, _content_dir = fresh
    runner = app.test_cli_runner()
    result = runner.invoke(args=["content", "check"])
    assert result.exit_code == 0 and "5 unit files valid" in result.output
    result = runner.invoke(args=["content", "load"])
    assert result.exit_code == 0 and "content unchanged" in result.output


def test_not_with_must_name_items_of_the_unit(fresh):
    _app, content_dir = fresh
    path = content_dir / "items" / "CSC-01.yaml"
    bank = yaml.safe_load(path.read_text(encoding="utf-8"))
    bank["items"][0]["not_with"] = ["CSC-01-Q999"]
    path.write_text(yaml.safe_dump(bank, allow_unicode=True, sort_keys=False), encoding="utf-8")
    from service.bank_loader import read_banks

    units = [data for _file, data in read_units(content_dir)]
    with pytest.raises(ContentError, match=r"CSC-01.yaml: at /items/0/not_with: unknown item"):
        read_banks(content_dir, units)


def _check_and_load(app):
    runner = app.test_cli_runner()
    return runner.invoke(args=["content", "check"]), runner.invoke(args=["content", "load"])


@pytest.mark.parametrize("kind", ["items", "rubrics", "assessments"])
def test_cli_check_refuses_what_load_refuses(fresh, kind):
    """`content check` validates the item banks, rubrics and assessments, not only units."""
    app, content_dir = fresh
    path = content_dir / kind / "CSC-02.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["unit"] = "CSC-09"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    check, load = _check_and_load(app)
    for result in (check, load):
        assert result.exit_code != 0
        assert f"{path}: at /unit: does not match the file name" in result.output


@pytest.mark.parametrize("kind", ["units", "items"])
def test_a_file_that_is_not_utf8_is_a_content_error(fresh, kind):
    app, content_dir = fresh
    path = content_dir / kind / "CSC-03.yaml"
    # Latin-1 bytes, as a Windows editor might save them.
    text = path.read_text(encoding="utf-8") + "# caf\xe9\n"
    path.write_bytes(text.encode("latin-1", errors="replace"))
    check, load = _check_and_load(app)
    for result in (check, load):
        assert result.exit_code != 0
        assert f"{path}: at byte " in result.output and "not UTF-8" in result.output
        assert "Traceback" not in result.output

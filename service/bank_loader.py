"""Load the item banks, rubrics and assessments of criteria_data/ (after the units).

Checks beyond the JSON Schemas: references to the unit's criteria and misconceptions, keys
consistent with options, a rubric for every criterion an extended response evidences, binary
rubrics (not_yet_met / met) scoring met the same across the unit, comparable extended responses
(one word range per unit; in graded units each covers every merit and distinction criterion),
grade descriptors for the unit's grades, and item pools that can fill every assessment's form
by the rules of service/grading/forms.py.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.content_files import ContentError, LoadReport, read_data_file
from service.grading.engine import MASTERY_PERCENT
from service.grading.forms import FormError, build_form
from service.grading.scoring import EXTENDED, normalise_text
from service.grading.vocabulary import Band, Grade, RubricLevel
from service.identifiers import stable_uuid
from service.item_keys import item_key
from service.item_provenance import sync_from_file
from service.models import (
    Assessment,
    Criterion,
    Item,
    ItemCriterion,
    ItemVersion,
    Rubric,
    Unit,
    utcnow,
)

# The grades an assessment publishes a descriptor for, in this order.
DESCRIBED_GRADES = {
    "competence": [Grade.ACHIEVED],
    "graded": [Grade.PASS, Grade.MERIT, Grade.DISTINCTION],
}
# Every unit's rubrics are binary, graded units too: the grade comes from the merit and
# distinction criteria, so a rubric only says whether its criterion is met.
LEVELS = [RubricLevel.NOT_YET_MET, RubricLevel.MET]


@dataclass
class UnitBank:
    unit: str
    items: list[dict]
    rubrics: list[dict]
    assessments: list[dict]


def read_banks(content_dir: Path, units: list[dict]) -> list[UnitBank]:
    banks = []
    for unit in units:
        files = {
            kind: content_dir / kind / f"{unit['code']}.yaml"
            for kind in ("items", "rubrics", "assessments")
        }
        if not files["items"].exists():
            continue
        data = {}
        for kind, file in files.items():
            if not file.exists():
                raise ContentError(file, "", f"missing: the unit has items, so it needs {kind}")
            data[kind] = read_data_file(file, f"{kind}.schema.json")
            if data[kind]["unit"] != unit["code"]:
                raise ContentError(file, "/unit", "does not match the file name")
        bank = UnitBank(
            unit["code"],
            data["items"]["items"],
            data["rubrics"]["rubrics"],
            data["assessments"]["assessments"],
        )
        _check_bank(files, unit, bank)
        banks.append(bank)
    return banks


def _criteria_codes(unit: dict) -> list[str]:
    return [c["code"] for lo in unit["learning_outcomes"] for c in lo["criteria"]]


def _check_bank(files: dict[str, Path], unit: dict, bank: UnitBank) -> None:
    criteria = _criteria_codes(unit)
    misconceptions = {m["code"] for m in unit["misconceptions"]}
    rubric_max = _check_rubrics(files["rubrics"], unit, criteria, bank.rubrics)
    seen: set[str] = set()
    for n, item in enumerate(bank.items):
        where = f"/items/{n}"
        if not item["id"].startswith(unit["code"] + "-") or item["id"] in seen:
            raise ContentError(files["items"], f"{where}/id", f"bad or repeated id {item['id']!r}")
        seen.add(item["id"])
        if item.get("sample", False) != ("-S" in item["id"]):
            raise ContentError(
                files["items"], f"{where}/sample", "samples (and only samples) have S ids"
            )
        for j, code in enumerate(item["criteria"]):
            if code not in criteria:
                raise ContentError(
                    files["items"], f"{where}/criteria/{j}", f"unknown criterion {code}"
                )
        _check_key(files["items"], where, item, misconceptions, rubric_max)
    _check_extended_responses(files["items"], unit, bank.items)
    ids = {item["id"] for item in bank.items}
    for n, item in enumerate(bank.items):
        unknown = sorted(set(item.get("not_with", [])) - ids)
        if unknown:
            raise ContentError(
                files["items"], f"/items/{n}/not_with", f"unknown item(s) {', '.join(unknown)}"
            )
    keys = [
        item_key(unit["code"], item, _rubric_scores(unit["code"], rubric_max))
        for item in bank.items
        if not item.get("sample")  # samples are public: never on a live form
    ]
    full_codes = [f"{unit['code']}.{c}" for c in criteria]
    for n, assessment in enumerate(bank.assessments):
        if not assessment["code"].startswith(unit["code"] + "-"):
            raise ContentError(files["assessments"], f"/assessments/{n}/code", "wrong unit prefix")
        grades = [d["grade"] for d in assessment["grade_descriptors"]]
        expected = DESCRIBED_GRADES[unit["grading"]]
        if grades != expected:
            raise ContentError(
                files["assessments"],
                f"/assessments/{n}/grade_descriptors",
                f"a {unit['grading']} unit describes {', '.join(expected)}, in that order",
            )
        try:
            build_form(
                full_codes,
                keys,
                assessment["auto_items_per_criterion"],
                assessment["extended_responses"],
                seed="content-check",
                needs_extended=assessor_decided(unit),
            )
        except FormError as exc:
            raise ContentError(files["assessments"], f"/assessments/{n}", str(exc)) from exc


def assessor_decided(unit: dict) -> list[str]:
    """A unit's merit and distinction criteria (full codes): every form needs an extended
    response covering each, because assessor-marked work decides them."""
    return [
        f"{unit['code']}.{c['code']}"
        for lo in unit["learning_outcomes"]
        for c in lo["criteria"]
        if c.get("band", Band.PASS) != Band.PASS
    ]


def _check_extended_responses(file: Path, unit: dict, items: list[dict]) -> None:
    """Extended responses of one unit are comparable (the same word range; marks per criterion
    are the same because each criterion has one rubric), and in a graded unit each covers every
    merit and distinction criterion, which only assessor-marked work decides."""
    higher = [
        c["code"]
        for lo in unit["learning_outcomes"]
        for c in lo["criteria"]
        if c.get("band", Band.PASS) != Band.PASS
    ]
    ranges = set()
    for n, item in enumerate(items):
        if item["type"] != EXTENDED:
            continue
        where = f"/items/{n}"
        low, high = item["word_range"]["min"], item["word_range"]["max"]
        if not low < high or not low <= item["expected_length_words"] <= high:
            raise ContentError(
                file, f"{where}/word_range", "min < max, with expected_length_words between"
            )
        ranges.add((low, high))
        missing = [c for c in higher if c not in item["criteria"]]
        if unit["grading"] == "graded" and missing:
            raise ContentError(
                file,
                f"{where}/criteria",
                f"a graded unit's extended response must cover {', '.join(missing)}",
            )
    if len(ranges) > 1:
        raise ContentError(
            file, "/items", "every extended response of a unit has the same word_range"
        )


def _rubric_scores(unit_code: str, rubric_max: dict[str, int]) -> dict[str, int]:
    return {f"{unit_code}.{code}": score for code, score in rubric_max.items()}


def _check_rubrics(file: Path, unit: dict, criteria: list[str], rubrics: list[dict]) -> dict:
    rubric_max = {}
    for n, rubric in enumerate(rubrics):
        if rubric["criterion"] not in criteria:
            raise ContentError(
                file, f"/rubrics/{n}/criterion", f"unknown criterion {rubric['criterion']}"
            )
        if rubric["criterion"] in rubric_max:
            raise ContentError(
                file, f"/rubrics/{n}/criterion", "a second rubric for this criterion"
            )
        qualities = [level["quality"] for level in rubric["levels"]]
        scores = [level["score"] for level in rubric["levels"]]
        if qualities != LEVELS:
            raise ContentError(
                file, f"/rubrics/{n}/levels", f"a rubric's levels are {', '.join(LEVELS)}"
            )
        if scores[0] != 0 or scores[1] < 1:
            raise ContentError(
                file, f"/rubrics/{n}/levels", "not_yet_met scores 0 and met at least 1"
            )
        rubric_max[rubric["criterion"]] = scores[-1]
    if len(set(rubric_max.values())) > 1:
        # Every criterion is worth the same marks in every extended response of the unit.
        raise ContentError(file, "/rubrics", "every rubric of a unit scores met the same")
    return rubric_max


def _check_key(file: Path, where: str, item: dict, misconceptions: set, rubric_max: dict) -> None:
    kind = item["type"]
    problem = None
    if kind in ("single_choice", "multiple_response"):
        ids = [o["id"] for o in item["options"]]
        keyed = sum(o["correct"] for o in item["options"])
        if len(set(ids)) != len(ids):
            problem = "option ids repeat"
        elif kind == "single_choice" and keyed != 1:
            problem = f"a single-choice item needs exactly one correct option, has {keyed}"
        elif kind == "multiple_response" and not (keyed >= 2 and len(ids) - keyed >= 2):
            problem = "a multiple-response item needs 2+ correct and 2+ incorrect options"
        for o in item["options"]:
            if o.get("misconception") and o["misconception"] not in misconceptions:
                problem = f"option {o['id']}: unknown misconception {o['misconception']}"
            if o.get("misconception") and o["correct"]:
                problem = f"option {o['id']}: a correct option cannot be a misconception"
    elif kind == "ordering":
        ids = [s["id"] for s in item["steps"]]
        if len(set(ids)) != len(ids):
            problem = "step ids repeat"
    elif kind == "matching":
        responses = [r["id"] for r in item["responses"]]
        premises = [p["id"] for p in item["premises"]]
        if len(set(responses)) != len(responses) or len(set(premises)) != len(premises):
            problem = "premise or response ids repeat"
        elif any(p["match"] not in responses for p in item["premises"]):
            problem = "a premise matches a response that does not exist"
    elif kind == "short_text":
        accepted = {normalise_text(a) for a in item["accepted_answers"]}
        rejected = {normalise_text(a) for a in item.get("rejected_answers", [])}
        if "" in accepted or "" in rejected:
            problem = "an answer is empty once case, spaces and punctuation are removed"
        elif accepted & rejected:
            problem = f"accepted and rejected: {', '.join(sorted(accepted & rejected))}"
    elif kind == EXTENDED:
        missing = [c for c in item["criteria"] if c not in rubric_max]
        if missing:
            problem = f"no rubric for {', '.join(missing)}"
        elif item["points"] != sum(rubric_max[c] for c in item["criteria"]):
            problem = "points must equal the sum of the rubrics' top scores"
    if problem:
        raise ContentError(file, where, problem)


def item_hash(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def upsert_banks(session: Session, banks: list[UnitBank], report: LoadReport) -> None:
    for bank in banks:
        unit = session.scalar(select(Unit).where(Unit.code == bank.unit))
        criteria = {c.code: c for c in unit.criteria}
        _upsert_rubrics(session, unit, criteria, bank.rubrics, report)
        for body in bank.items:
            _upsert_item(session, unit, criteria, body, report)
        for data in bank.assessments:
            _upsert_assessment(session, unit, data, report)


def _upsert_item(session: Session, unit: Unit, criteria: dict, body: dict, report) -> None:
    code = body["id"]
    digest = item_hash(body)
    item = session.scalar(select(Item).where(Item.code == code))
    if item is None:
        item = Item(
            code=code,
            uuid=stable_uuid("item", code),
            unit=unit,
            type=body["type"],
            sample=body.get("sample", False),
            current_version=1,
        )
        item.versions.append(ItemVersion(version=1, body=body, content_hash=digest))
        session.add(item)
        report.changes.append(f"item {code} created")
    elif item.current.content_hash != digest:
        number = max(v.version for v in item.versions) + 1
        item.versions.append(ItemVersion(version=number, body=body, content_hash=digest))
        item.current_version = number
        item.type = body["type"]
        item.sample = body.get("sample", False)
        report.changes.append(f"item {code} version {number}")
    else:
        _sync_provenance(item, body, report)
        return
    _sync_provenance(item, body, report)
    session.flush()
    session.execute(delete(ItemCriterion).where(ItemCriterion.item_id == item.id))
    session.add_all(
        ItemCriterion(item_id=item.id, criterion_id=criteria[f"{unit.code}.{c}"].id)
        for c in body["criteria"]
    )


def _sync_provenance(item: Item, body: dict, report: LoadReport) -> None:
    note = sync_from_file(item, body)
    if note:
        report.changes.append(note)


def _upsert_rubrics(session: Session, unit: Unit, criteria: dict, rubrics: list, report) -> None:
    for data in rubrics:
        criterion: Criterion = criteria[f"{unit.code}.{data['criterion']}"]
        rubric = session.scalar(select(Rubric).where(Rubric.criterion_id == criterion.id))
        levels = [dict(level) for level in data["levels"]]
        if rubric is None:
            session.add(
                Rubric(
                    uuid=stable_uuid("rubric", criterion.code),
                    criterion=criterion,
                    title=data["title"],
                    levels=levels,
                )
            )
            report.changes.append(f"rubric {criterion.code} created")
        elif (rubric.title, rubric.levels) != (data["title"], levels):
            rubric.title, rubric.levels, rubric.updated_at = data["title"], levels, utcnow()
            report.changes.append(f"rubric {criterion.code} updated")


ASSESSMENT_FIELDS = (
    "title",
    "description",
    "time_limit_minutes",
    "auto_items_per_criterion",
    "extended_responses",
    "grade_descriptors",
)


def _upsert_assessment(session: Session, unit: Unit, data: dict[str, Any], report) -> None:
    code = data["code"]
    values = {f: data[f] for f in ASSESSMENT_FIELDS}
    values["mastery_percent"] = data.get("mastery_percent", MASTERY_PERCENT)
    assessment = session.scalar(select(Assessment).where(Assessment.code == code))
    if assessment is None:
        session.add(
            Assessment(code=code, uuid=stable_uuid("assessment", code), unit=unit, **values)
        )
        report.changes.append(f"assessment {code} created")
        return
    changed = False
    for name, value in values.items():
        if getattr(assessment, name) != value:
            setattr(assessment, name, value)
            changed = True
    if changed:
        assessment.updated_at = utcnow()
        report.changes.append(f"assessment {code} updated")

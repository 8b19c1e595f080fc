"""Load criteria_data/ into the database: the qualification and its units here, then the item
banks, rubrics and assessments (service.bank_loader).

Files are validated against the JSON Schemas in criteria_data/schema/ before anything is written;
loading the same files twice changes nothing; a changed criterion wording becomes a new version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.bank_loader import UnitBank, read_banks, upsert_banks
from service.content_files import ContentError, LoadReport, read_data_file
from service.identifiers import stable_uuid
from service.models import (
    Criterion,
    CriterionVersion,
    KnowledgeTopic,
    LearnerGuidance,
    LearningOutcome,
    Misconception,
    Qualification,
    Unit,
    utcnow,
)


def read_units(content_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    files = sorted((content_dir / "units").glob("*.yaml"))
    if not files:
        raise ContentError(content_dir / "units", "", "no unit files (*.yaml) found")
    units = []
    for file in files:
        data = read_data_file(file, "unit.schema.json")
        _check_unit_references(file, data)
        units.append((file, data))
    return units


def _check_unit_references(file: Path, unit: dict[str, Any]) -> None:
    """What a JSON Schema cannot say: file name, unique codes, topic references."""
    if file.stem != unit["code"]:
        raise ContentError(file, "/code", f"code {unit['code']!r} does not match the file name")
    topic_codes = {t["code"] for t in unit["knowledge_topics"]}
    seen: set[str] = set()
    for i, lo in enumerate(unit["learning_outcomes"]):
        for j, code in enumerate(lo["knowledge_topics"]):
            if code not in topic_codes:
                path = f"/learning_outcomes/{i}/knowledge_topics/{j}"
                raise ContentError(file, path, f"unknown knowledge topic {code!r}")
        for j, criterion in enumerate(lo["criteria"]):
            if criterion["code"] in seen:
                path = f"/learning_outcomes/{i}/criteria/{j}/code"
                raise ContentError(file, path, f"duplicate criterion code {criterion['code']!r}")
            seen.add(criterion["code"])


@dataclass
class Content:
    """Every data file of criteria_data/, read and validated."""

    qualification: dict[str, Any]
    units: list[tuple[Path, dict[str, Any]]]
    banks: list[UnitBank]


def read_content(content_dir: Path) -> Content:
    """Read and validate everything `load_content` would write; raise ContentError on the first
    problem. `assessment content check` calls this, so it refuses exactly what a load refuses."""
    qualification = read_data_file(content_dir / "qualification.yaml", "qualification.schema.json")
    units = read_units(content_dir)
    banks = read_banks(content_dir, [data for _file, data in units])
    return Content(qualification, units, banks)


def load_content(session: Session, content_dir: Path) -> LoadReport:
    """Validate every file first, then write it all in the caller's transaction (the caller
    commits: all or nothing)."""
    content = read_content(content_dir)
    qualification_data, units, banks = content.qualification, content.units, content.banks
    report = LoadReport()
    qualification = _upsert_qualification(session, qualification_data, report)
    for _file, unit_data in units:
        _upsert_unit(session, qualification, unit_data, report)
    session.flush()
    upsert_banks(session, banks, report)
    return report


def _assign(obj: Any, **values: Any) -> bool:
    """Set only the attributes that differ; say whether anything did."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _upsert_qualification(session: Session, data: dict, report: LoadReport) -> Qualification:
    qualification = session.scalar(select(Qualification).where(Qualification.code == data["code"]))
    created = qualification is None
    if created:
        qualification = Qualification(code=data["code"], uuid=stable_uuid("document", data["code"]))
        session.add(qualification)
        report.changes.append(f"qualification {data['code']} created")
    if (
        _assign(
            qualification,
            title=data["title"],
            description=data["description"],
            publisher=data["publisher"],
            version=data["version"],
            subject=data["subject"],
            licence_title=data["licence"]["title"],
            licence_text=data["licence"]["text"],
        )
        and not created
    ):
        qualification.updated_at = utcnow()
        report.changes.append(f"qualification {data['code']} updated")
    return qualification


def _upsert_unit(session: Session, qualification: Qualification, data: dict, report: LoadReport):
    code = data["code"]
    unit = session.scalar(select(Unit).where(Unit.code == code))
    created = unit is None
    if created:
        unit = Unit(code=code, uuid=stable_uuid("unit", code), qualification=qualification)
        session.add(unit)
        report.changes.append(f"unit {code} created")
    changed = _assign(
        unit,
        title=data["title"],
        level=data["level"],
        grading=data["grading"],
        guided_learning_hours=data["guided_learning_hours"],
        source=data["source"],
        synopsis=data["synopsis"].strip(),
    )
    changed |= _sync_unit_texts(unit, data)
    session.flush()
    for lo_position, lo_data in enumerate(data["learning_outcomes"], start=1):
        lo = _upsert_learning_outcome(session, unit, lo_position, lo_data, report)
        for criterion_data in lo_data["criteria"]:
            _upsert_criterion(session, unit, lo, criterion_data, report)
    if changed and not created:
        unit.updated_at = utcnow()
        report.changes.append(f"unit {code} updated")


def _sync_unit_texts(unit: Unit, data: dict) -> bool:
    """Topics, guidance and misconceptions are replaced wholesale when they differ."""
    changed = False
    topics = [(t["code"], t["title"], t["description"]) for t in data["knowledge_topics"]]
    if [(t.code, t.title, t.description) for t in unit.knowledge_topics] != topics:
        unit.knowledge_topics = [
            KnowledgeTopic(
                code=c,
                title=t,
                description=d,
                position=i,
                uuid=stable_uuid("concept", f"{unit.code}.{c}"),
            )
            for i, (c, t, d) in enumerate(topics, start=1)
        ]
        changed = True
    guidance = list(data["learner_guidance"])
    if [g.text for g in unit.guidance] != guidance:
        unit.guidance = [LearnerGuidance(text=t, position=i) for i, t in enumerate(guidance, 1)]
        changed = True
    misconceptions = [(m["code"], m["text"]) for m in data["misconceptions"]]
    if [(m.code, m.text) for m in unit.misconceptions] != misconceptions:
        unit.misconceptions = [
            Misconception(code=c, text=t, position=i) for i, (c, t) in enumerate(misconceptions, 1)
        ]
        changed = True
    return changed


def _upsert_learning_outcome(
    session: Session, unit: Unit, position: int, data: dict, report: LoadReport
) -> LearningOutcome:
    code = f"{unit.code}.{data['code']}"
    lo = session.scalar(select(LearningOutcome).where(LearningOutcome.code == code))
    created = lo is None
    if created:
        lo = LearningOutcome(code=code, uuid=stable_uuid("outcome", code), unit=unit)
        session.add(lo)
        report.changes.append(f"learning outcome {code} created")
    if (
        _assign(
            lo,
            statement=data["statement"],
            position=position,
            knowledge_topic_codes=list(data["knowledge_topics"]),
        )
        and not created
    ):
        lo.updated_at = utcnow()
        report.changes.append(f"learning outcome {code} updated")
    session.flush()
    return lo


def criterion_hash(data: dict) -> str:
    wording = {k: data.get(k) for k in ("text", "evidence_type", "evidence", "marking_point")}
    wording["band"] = data.get("band", "pass")
    return hashlib.sha256(json.dumps(wording, sort_keys=True).encode()).hexdigest()


def _upsert_criterion(
    session: Session, unit: Unit, lo: LearningOutcome, data: dict, report: LoadReport
) -> None:
    code = f"{unit.code}.{data['code']}"
    position = int(data["code"].removeprefix("AC"))
    digest = criterion_hash(data)
    criterion = session.scalar(select(Criterion).where(Criterion.code == code))
    if criterion is None:
        criterion = Criterion(
            code=code,
            uuid=stable_uuid("criterion", code),
            unit=unit,
            learning_outcome=lo,
            position=position,
            current_version=1,
        )
        criterion.versions.append(_version(1, data, digest))
        session.add(criterion)
        report.changes.append(f"criterion {code} created")
        return
    if _assign(criterion, learning_outcome_id=lo.id, position=position):
        report.changes.append(f"criterion {code} moved")
    if criterion.current.content_hash != digest:
        # Never edit a version in place: attempts and reports refer to the one they used.
        new_number = max(v.version for v in criterion.versions) + 1
        criterion.versions.append(_version(new_number, data, digest))
        criterion.current_version = new_number
        report.changes.append(f"criterion {code} version {new_number}")


def _version(number: int, data: dict, digest: str) -> CriterionVersion:
    return CriterionVersion(
        version=number,
        text=data["text"].strip(),
        evidence_type=data["evidence_type"],
        evidence=data["evidence"].strip(),
        band=data.get("band", "pass"),
        marking_point=data["marking_point"].strip(),
        content_hash=digest,
    )

"""Read the seed documents the units were written from (copies in tests/data/seeds/)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SEEDS = Path(__file__).resolve().parent / "data" / "seeds"
SECTIONS = {
    "Key Concepts & Core Principles": "concepts",
    "Exam Tips & Revision Strategies": "tips",
    "Common Misconceptions & Mistakes to Avoid": "misconceptions",
    "Examiner Marking Points": "marking_points",
}
# The seed each unit was written from, in unit-code order.
UNIT_SEEDS = {
    "CSC-01": "000_2090acfab0cc7ea5.txt",
    "CSC-02": "001_ae7dcf655db52d2f.txt",
    "CSC-03": "002_2d46c2d681f24b37.txt",
    "CSC-04": "003_fa4cc0127f8cc454.txt",
    "CSC-05": "004_6b2d70e8bd8b270e.txt",
}


@dataclass
class Seed:
    synopsis: str
    concepts: list[str]
    tips: list[str]
    misconceptions: list[str]
    marking_points: list[str]


def read_seed(name: str) -> Seed:
    lines = (SEEDS / name).read_text(encoding="utf-8").splitlines()
    parts: dict[str, list[str]] = {v: [] for v in SECTIONS.values()}
    synopsis, section = "", None
    for i, line in enumerate(lines):
        if line.strip() == "Topic Synopsis":
            synopsis = lines[i + 1].strip()
        elif line.strip() in SECTIONS:
            section = SECTIONS[line.strip()]
        elif section and line.startswith("- "):
            parts[section].append(line[2:].strip())
    return Seed(synopsis=synopsis, **parts)

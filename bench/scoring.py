"""Scores attempts with the grading engine alone (no web, no database) and prints attempts/s.

    .venv/bin/python -m bench.scoring [attempts]

Forms are drawn from the real item banks in criteria_data/, responses are random but valid,
and each attempt's extended responses are marked, so every attempt is fully graded.
"""

from __future__ import annotations

import random
import statistics
import sys
import time

import yaml

from service.config import PROJECT_ROOT
from service.grading.engine import MASTERY_PERCENT, CriterionRule, GradingRules, grade_attempt
from service.grading.forms import build_form
from service.grading.scoring import LevelMark
from service.item_keys import item_key

CONTENT = PROJECT_ROOT / "criteria_data"


def _yaml(kind: str, unit: str) -> dict:
    return yaml.safe_load((CONTENT / kind / f"{unit}.yaml").read_text(encoding="utf-8"))


def unit_setups() -> list[tuple]:
    """Per unit: its grading rules, item keys, rubric levels and (first) assessment."""
    setups = []
    for path in sorted((CONTENT / "units").glob("*.yaml")):
        unit = _yaml("units", path.stem)
        code = unit["code"]
        criteria = [c for lo in unit["learning_outcomes"] for c in lo["criteria"]]
        assessment = _yaml("assessments", code)["assessments"][0]
        rules = GradingRules(
            grading=unit["grading"],
            criteria=tuple(
                CriterionRule(f"{code}.{c['code']}", c.get("band", "pass"), c["evidence_type"])
                for c in criteria
            ),
            mastery_percent=assessment.get("mastery_percent", MASTERY_PERCENT),
        )
        rubrics = {
            f"{code}.{r['criterion']}": r["levels"] for r in _yaml("rubrics", code)["rubrics"]
        }
        maxima = {c: levels[-1]["score"] for c, levels in rubrics.items()}
        bank = [item_key(code, body, maxima) for body in _yaml("items", code)["items"]]
        setups.append((rules, bank, rubrics, assessment))
    return setups


def draw_form(rules: GradingRules, bank: list, assessment: dict, seed: str) -> list:
    """One form's item keys, drawn as service/attempts.py draws them."""
    by_id = {k.id: k for k in bank}
    ids = build_form(
        [c.code for c in rules.criteria],
        bank,
        assessment["auto_items_per_criterion"],
        assessment["extended_responses"],
        seed,
        needs_extended=rules.assessor_decided,
    )
    return [by_id[i] for i in ids]


def random_response(key, rng: random.Random):
    if key.type == "single_choice":
        return rng.choice(key.options)
    if key.type == "multiple_response":
        return rng.sample(key.options, rng.randint(1, len(key.options)))
    if key.type == "ordering":
        return rng.sample(key.order, len(key.order))
    if key.type == "matching":
        return {p: rng.choice(key.responses) for p in key.options}
    if key.type == "short_text":
        return rng.choice([*key.accepted, "not sure"])
    return "An extended response."


def prepare(count: int, rng: random.Random) -> list[tuple]:
    """Forms, responses and marks for `count` attempts (not timed)."""
    setups = unit_setups()
    attempts = []
    for n in range(count):
        rules, bank, rubrics, assessment = setups[n % len(setups)]
        form = draw_form(rules, bank, assessment, str(n))
        responses = {k.id: random_response(k, rng) for k in form}
        marks = {
            k.id: {
                c: LevelMark(level["quality"], level["score"])
                for c in k.criteria
                for level in [rng.choice(rubrics[c])]
            }
            for k in form
            if k.type == "extended_response"
        }
        attempts.append((rules, form, responses, marks))
    return attempts


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    attempts = prepare(count, random.Random(7))
    rates = []
    for _ in range(3):
        started = time.perf_counter()
        for rules, form, responses, marks in attempts:
            grade_attempt(rules, form, responses, marks)
        rates.append(count / (time.perf_counter() - started))
    items = sum(len(a[1]) for a in attempts)
    print(f"{count} attempts ({items / count:.1f} items each), scored 3 times")
    print(
        f"attempts per second: median {statistics.median(rates):,.0f} "
        f"(runs: {', '.join(f'{r:,.0f}' for r in rates)})"
    )


if __name__ == "__main__":
    main()

"""The shapes a coverage report is sent in: JSON-ready dicts, CSV rows, and the words and
symbols of the HTML heatmap (colour is never the only signal)."""

from __future__ import annotations

from collections.abc import Iterable

from service.coverage_model import CoverageEvidence, Evidence, LearnerCoverage, Report
from service.grading.vocabulary import Decision

# (symbol, words, CSS class) of each cell state in the heatmap.
CELL_LABELS = {
    Decision.MET: ("✓", "Met", "met"),
    Decision.NOT_YET_MET: ("✗", "Not yet met", "not-yet-met"),
    Decision.PENDING: ("…", "Pending", "pending"),
    Decision.NOT_EVIDENCED: ("–", "Not evidenced", "not-evidenced"),
}


def evidence_view(evidence: Evidence) -> dict:
    return {
        "type": evidence.type,
        "attempt": evidence.attempt,
        "record": evidence.record,
        "item": evidence.item,
        "assessor": evidence.assessor,
        "date": evidence.on,
        "decision": evidence.decision,
        "performance_type": evidence.performance_type,
    }


def learner_view(learner: LearnerCoverage) -> dict:
    return {
        "learner": learner.uuid,
        "reference": learner.reference,
        "name": learner.name,
        "full_coverage": learner.full,
        "cells": [
            {
                "criterion": cell.criterion,
                "decision": cell.decision,
                "evidence": [evidence_view(e) for e in cell.evidence],
            }
            for cell in learner.cells
        ],
    }


def criteria_view(report: Report) -> list[dict]:
    return [
        {
            "unit": c.unit,
            "code": c.code,
            "band": c.band,
            "evidence_required": c.evidence_required,
        }
        for c in report.criteria
    ]


AUTO_ITEM = CoverageEvidence.AUTO_ITEM


def _evidence_text(evidence: Evidence) -> str:
    """One piece of evidence in a CSV cell: type, then what and who, space-separated."""
    if evidence.type is AUTO_ITEM and evidence.on:  # most evidence: attempt, item and date
        return f"auto_item attempt={evidence.attempt} item={evidence.item} date={evidence.on}"
    return (
        evidence.type
        + (f" attempt={evidence.attempt}" if evidence.attempt else "")
        + (f" record={evidence.record}" if evidence.record else "")
        + (f" item={evidence.item}" if evidence.item else "")
        + (f" kind={evidence.performance_type}" if evidence.performance_type else "")
        + (f" assessor={evidence.assessor}" if evidence.assessor else "")
        + (f" date={evidence.on}" if evidence.on else "")
    )


def csv_header(report: Report) -> str:
    header = ["learner", "reference", "name", "full_coverage"]
    for criterion in report.criteria:
        header += [criterion.code, f"{criterion.code} evidence"]
    return csv_line(header)


def csv_rows(learners: Iterable[LearnerCoverage]) -> str:
    """The CSV lines of a chunk of learners, one per learner."""
    lines = []
    for learner in learners:
        row = [learner.uuid, learner.reference or "", learner.name or "", str(learner.full)]
        for _, decision, evidence in learner.cells:
            row.append(decision)
            if len(evidence) == 1:
                row.append(_evidence_text(evidence[0]))
            else:
                row.append("; ".join([_evidence_text(e) for e in evidence]))
        lines.append(csv_line(row))
    return "".join(lines)


def csv_line(fields: list[str]) -> str:
    """One CSV record as csv.writer's excel dialect writes it (RFC 4180, CRLF). Written here
    rather than by csv.writer, which copies every character into a buffer of its own: that was
    two fifths of a 10,000-learner report's time for 60 MB of mostly plain codes and dates.
    tests/test_coverage_csv.py checks it against csv.writer on generated text."""
    line = ",".join(fields)  # one look at the whole record: most need no quoting at all
    if '"' in line or "\n" in line or "\r" in line or line.count(",") != len(fields) - 1:
        return ",".join([_csv_field(field) for field in fields]) + "\r\n"
    return line + "\r\n"


def _csv_field(value: str) -> str:
    if '"' in value:
        return '"' + value.replace('"', '""') + '"'
    if "," in value or "\n" in value or "\r" in value:
        return '"' + value + '"'
    return value

"""The shapes a coverage report is sent in: JSON-ready dicts, CSV rows, and the words and
symbols of the HTML heatmap (colour is never the only signal)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from service.coverage import Evidence, LearnerCoverage, Report
from service.grading.vocabulary import Decision

# (symbol, words, CSS class) of each cell state in the heatmap.
CELL_LABELS = {
    Decision.MET: ("✓", "Met", "met"),
    Decision.NOT_YET_MET: ("✗", "Not yet met", "not-yet-met"),
    Decision.PENDING: ("…", "Pending", "pending"),
    Decision.NOT_EVIDENCED: ("–", "Not evidenced", "not-evidenced"),
}


def _date(value) -> str | None:
    return value.isoformat() if value is not None else None


def evidence_view(evidence: Evidence) -> dict:
    return {
        "type": evidence.type,
        "attempt": evidence.attempt,
        "record": evidence.record,
        "item": evidence.item,
        "assessor": evidence.assessor,
        "date": _date(evidence.on),
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


def _evidence_text(evidence: Evidence) -> str:
    """One piece of evidence in a CSV cell: type, then what and who, space-separated."""
    parts = [evidence.type]
    if evidence.attempt:
        parts.append(f"attempt={evidence.attempt}")
    if evidence.record:
        parts.append(f"record={evidence.record}")
    if evidence.item:
        parts.append(f"item={evidence.item}")
    if evidence.performance_type:
        parts.append(f"kind={evidence.performance_type}")
    if evidence.assessor:
        parts.append(f"assessor={evidence.assessor}")
    if evidence.on is not None:
        parts.append(f"date={evidence.on.isoformat()}")
    return " ".join(parts)


def csv_header(report: Report) -> list[str]:
    header = ["learner", "reference", "name", "full_coverage"]
    for criterion in report.criteria:
        header += [criterion.code, f"{criterion.code} evidence"]
    return header


def csv_row(learner: LearnerCoverage) -> list:
    row = [learner.uuid, learner.reference or "", learner.name or "", learner.full]
    for cell in learner.cells:
        row += [cell.decision.value, "; ".join(_evidence_text(e) for e in cell.evidence)]
    return row


def csv_lines(header: list[str], chunks: Iterable[list[LearnerCoverage]]) -> Iterator[str]:
    """The header line, then a line per learner, each as it is written."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(row) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        return buffer.getvalue()

    yield line(header)
    for chunk in chunks:
        for learner in chunk:
            yield line(csv_row(learner))

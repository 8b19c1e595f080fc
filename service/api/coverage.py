"""REST: criterion coverage reports for external verifiers (service/coverage.py).

Needs coverage:read. A centre's client sees its own centre, an EQA's the centres assigned to
it, the awarding body's every centre; any other centre is answered like a missing one (404).
Every read is recorded in the audit log, one row per learner included: the learners of the
page (JSON, HTML), or every learner of the report before its first row is sent (CSV).
"""

from __future__ import annotations

import contextlib
import math
from datetime import UTC, datetime

from flask import Response, render_template, request, stream_with_context

from schemas.coverage import CoverageQuerySchema, CoverageSchema
from service import audit, db
from service import coverage as domain
from service.api.blueprint import ServiceBlueprint
from service.audit_vocabulary import AuditAction
from service.auth import current_client, require_scope
from service.coverage_formats import (
    CELL_LABELS,
    criteria_view,
    csv_header,
    csv_rows,
    learner_view,
)
from service.errors import rest_error
from service.tenancy import of_client

blp = ServiceBlueprint(
    "coverage",
    __name__,
    url_prefix="/api/v1",
    description="Criterion coverage for external verifiers (EQAs): a learners-by-criteria "
    "matrix of one centre (or one LMS course's cohort, or one unit), each cell met / not yet "
    "met / pending / not evidenced by the rules of unit status, with the evidence behind it "
    "and totals. JSON (paged by learners), CSV (every learner, streamed) or a printable HTML "
    "heatmap.",
)
READ = [{"oauth2": ["coverage:read"]}]
MEDIA = {"json": "application/json", "csv": "text/csv", "html": "text/html"}
CSV_EXAMPLE = (
    "learner,reference,name,full_coverage,CSC-01.AC1,CSC-01.AC1 evidence\r\n"
    "6f1c2d4e-8a3b-4c5d-9e7f-0a1b2c3d4e5f,L-0001,Ada Lovelace,True,met,"
    "auto_item attempt=0b6e… item=CSC-01-Q001 date=2026-11-20T10:00:00+00:00\r\n"
)


@blp.errorhandler(domain.CoverageError)
def _refused(error: domain.CoverageError):
    # UnknownCentre says exactly what a missing centre would: nothing confirms it exists.
    return rest_error(404, error.message)


def _format(args) -> str:
    if "format" in args:
        return args["format"]
    best = request.accept_mimetypes.best_match(
        [MEDIA["json"], MEDIA["csv"], MEDIA["html"]], default=MEDIA["json"]
    )
    return next(name for name, media in MEDIA.items() if media == best)


def _audit(session, report, learner_ids) -> None:
    audit.record(
        session,
        audit.actor_of_client(current_client()),
        AuditAction.READ,
        f"coverage:{report.centre.code}",
        [(learner_id, report.centre.id) for learner_id in learner_ids],
    )


@blp.route("/coverage")
@blp.doc(
    security=READ,
    responses={
        "200": {
            "description": "The report: JSON, CSV (streamed) or HTML, by ?format= or Accept",
            "content": {
                "application/json": {"schema": CoverageSchema},
                "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE},
                "text/html": {"schema": {"type": "string"}},
            },
        }
    },
)
@require_scope("coverage:read")
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(403, response="DEFAULT_ERROR")
@blp.arguments(CoverageQuerySchema, location="query")
@blp.response(200, CoverageSchema)
@blp.alt_response(404, response="DEFAULT_ERROR")
def get_coverage(args):
    """Criterion coverage of a centre's learners: each criterion met, not yet met, pending
    (awaiting an assessor's marking) or not evidenced, decided exactly as unit status is, with
    the evidence behind each cell (attempt, item, assessor, date, type: auto-marked item,
    assessor mark, performance evidence), and totals over every learner of the report
    (learners with full coverage, the criteria least met, decisions per assessor). 404 for a
    centre the caller may not see, or an unknown unit."""
    session = db.session()
    report = domain.report_for(
        session,
        of_client(session, current_client()),
        args["centre"],
        args.get("course"),
        args.get("unit"),
    )
    chosen = _format(args)
    if chosen == "csv":
        return _csv(session, report)
    learners = domain.page(session, report, args["page"], args["page_size"])
    total = domain.count_learners(session, report)
    totals = domain.totals(session, report).view()
    _audit(session, report, [learner.learner_id for learner in learners])
    session.commit()
    paging = {
        "page": args["page"],
        "page_size": args["page_size"],
        "total": total,
        "pages": math.ceil(total / args["page_size"]),
    }
    if chosen == "html":
        html = render_template(
            "coverage.html",
            report=report,
            learners=learners,
            totals=totals,
            paging=paging,
            labels=CELL_LABELS,
            made_at=datetime.now(UTC),
        )
        return Response(html, mimetype="text/html", headers={"Cache-Control": "no-store"})
    return {
        "centre": report.centre.code,
        "course": report.course,
        "unit": args.get("unit"),
        "criteria": criteria_view(report),
        "learners": [learner_view(learner) for learner in learners],
        "totals": totals,
        "page": paging,
    }


def _csv(session, report) -> Response:
    # The report's snapshot is taken first, then every learner it holds is recorded in the
    # audit log (one INSERT ... SELECT) and committed before any row is sent.
    reader = domain.Reader(session, report).open()
    try:
        audit.record_selected(
            session,
            audit.actor_of_client(current_client()),
            AuditAction.READ,
            f"coverage:{report.centre.code}",
            domain.learners_of(report),
        )
        session.commit()
    except BaseException:
        reader.close()
        raise

    def lines():
        with contextlib.closing(reader):
            yield csv_header(report)
            yield from domain.chunks(reader, csv_rows)

    filename = f"coverage-{report.centre.code}.csv"
    return Response(
        stream_with_context(lines()),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )

"""Criterion coverage reports (GET /api/v1/coverage): cells decided by the unit status rules,
tenancy, the streamed CSV, the audit log, and queries that do not grow with learners."""

from __future__ import annotations

import csv
import io
import types
import uuid

import pytest
from sqlalchemy import event, func, select

from service import db
from service.grading.vocabulary import AttemptStatus, Decision
from service.models import AuditEvent
from tests.conftest import bearer, ensure_centre
from tests.coverage_fixture import add_attempt, add_evidence, add_learner, all_met

READ = ["coverage:read"]
NYM = Decision.NOT_YET_MET


def _code() -> str:
    return f"CV{uuid.uuid4().hex[:8]}"


@pytest.fixture()
def centre(app):
    """A centre of three learners in CSC-01: Ada (every state), Ben (nothing), Cy (all met)."""
    code = _code()
    with app.app_context():
        session = db.session()
        found = ensure_centre(session, code)
        add_learner(session, found, "ada", "Ada Lovelace")
        add_learner(session, found, "ben", "Ben Jones")
        add_learner(session, found, "cy", "Cy Young")
        # An older sitting met AC3; the latest graded one does not cover it (not evidenced),
        # and a submitted attempt awaits an assessor's marking of AC3 (pending).
        add_attempt(
            session,
            found,
            "ada",
            {"CSC-01.AC3": (Decision.MET, ["old-item"])},
            graded_minutes_ago=60,
        )
        add_attempt(
            session,
            found,
            "ada",
            {
                "CSC-01.AC1": (Decision.MET, ["CSC-01-Q001"]),
                "CSC-01.AC2": (NYM, ["CSC-01-E01"]),
            },
            marks={("CSC-01-E01", "CSC-01.AC2"): ("not_yet_met", "client:assessor-1")},
        )
        add_attempt(
            session,
            found,
            "ada",
            {"CSC-01.AC3": (Decision.PENDING, ["CSC-01-E02"])},
            status=AttemptStatus.PENDING_MANUAL,
        )
        add_evidence(session, found, "ada", "CSC-01.AC4", Decision.MET, "client:assessor-2")
        add_evidence(session, found, "ada", "CSC-01.AC5", NYM, "client:assessor-2")
        add_evidence(
            session, found, "ada", "CSC-01.AC6", Decision.MET, "client:assessor-2", withdrawn=True
        )
        wrong = add_evidence(session, found, "ada", "CSC-01.AC7", Decision.MET, "client:x")
        add_evidence(
            session, found, "ada", "CSC-01.AC7", NYM, "client:assessor-2", supersedes=wrong
        )
        all_met(session, found, "cy")
        session.commit()
    return code


def _cells(learner: dict) -> dict[str, dict]:
    return {cell["criterion"]: cell for cell in learner["cells"]}


def test_cells_follow_the_unit_status_rules(app, client, centre):
    headers = bearer(app, READ, centre_code=centre)
    response = client.get(f"/api/v1/coverage?centre={centre}&unit=CSC-01", headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    by_ref = {learner["reference"]: learner for learner in body["learners"]}
    ada = _cells(by_ref["ada"])
    assert {code: cell["decision"] for code, cell in ada.items()} == {
        "CSC-01.AC1": "met",
        "CSC-01.AC2": "not_yet_met",
        "CSC-01.AC3": "pending",
        "CSC-01.AC4": "met",
        "CSC-01.AC5": "not_yet_met",
        "CSC-01.AC6": "not_evidenced",  # its only record was withdrawn
        "CSC-01.AC7": "not_yet_met",  # the met record was superseded
        "CSC-01.AC8": "not_evidenced",
    }
    [auto] = ada["CSC-01.AC1"]["evidence"]
    assert auto["type"] == "auto_item" and auto["item"] == "CSC-01-Q001"
    assert auto["attempt"] and auto["assessor"] is None and auto["date"]
    [mark] = ada["CSC-01.AC2"]["evidence"]
    assert mark["type"] == "assessor_mark"
    assert (mark["assessor"], mark["decision"]) == ("client:assessor-1", "not_yet_met")
    [waiting] = ada["CSC-01.AC3"]["evidence"]
    assert waiting["item"] == "CSC-01-E02" and waiting["assessor"] is None
    [record] = ada["CSC-01.AC4"]["evidence"]
    assert record["type"] == "performance_evidence" and record["record"]
    assert record["performance_type"] == "observation" and record["date"] == "2026-11-20"
    assert set(_cells(by_ref["ben"])[c]["decision"] for c in ada) == {"not_evidenced"}
    assert by_ref["cy"]["full_coverage"] and not by_ref["ada"]["full_coverage"]

    totals = body["totals"]
    assert (totals["learners"], totals["full_coverage"]) == (3, 1)
    rarely = totals["criteria_rarely_met"]
    assert rarely[0] == {"criterion": "CSC-01.AC2", "unit": "CSC-01", "met": 1, "met_rate": 0.3333}
    assessors = {row["assessor"]: row for row in totals["decisions_per_assessor"]}
    # Ada: one mark (AC2) and AC4, AC5, AC7 current records; Cy: five met records.
    assert assessors["client:assessor-2"] == {
        "assessor": "client:assessor-2",
        "met": 1,
        "not_yet_met": 2,
        "total": 3,
    }
    assert assessors["client:assessor-1"]["met"] == 5
    assert assessors["client:assessor-1"]["not_yet_met"] == 1
    assert body["page"] == {"page": 1, "page_size": 100, "total": 3, "pages": 1}


def test_same_cells_as_the_learner_status_endpoint(app, client, centre):
    """One grading model: the report and GET /units/{unit}/learner-status agree."""
    report = client.get(
        f"/api/v1/coverage?centre={centre}&unit=CSC-01",
        headers=bearer(app, READ, centre_code=centre),
    ).get_json()
    reader = bearer(app, ["results:read"], centre_code=centre)
    for learner in report["learners"]:
        status = client.get(
            f"/api/v1/units/CSC-01/learner-status?learner_ref={learner['reference']}",
            headers=reader,
        ).get_json()
        expected = {c["criterion"]: c["decision"] for c in status["criteria"]}
        got = {code: cell["decision"] for code, cell in _cells(learner).items()}
        # The report adds "pending" where unit status has "not evidenced" and marking awaits.
        got = {k: "not_evidenced" if v == "pending" else v for k, v in got.items()}
        assert got == expected, learner["reference"]


def test_tenancy(app, client, centre):
    other = _code()
    url = f"/api/v1/coverage?centre={centre}"
    assert client.get(url, headers=bearer(app, READ, centre_code=centre)).status_code == 200
    assert client.get(url, headers=bearer(app, READ, centre_code=other)).status_code == 404
    assert client.get(url, headers=bearer(app, READ, eqa_of=(centre,))).status_code == 200
    assert client.get(url, headers=bearer(app, READ, eqa_of=(other,))).status_code == 404
    assert client.get(url, headers=bearer(app, READ)).status_code == 200  # awarding body
    missing = client.get("/api/v1/coverage?centre=NOPE", headers=bearer(app, READ))
    unassigned = client.get(url, headers=bearer(app, READ, eqa_of=(other,)))
    assert missing.get_json()["message"].startswith("No centre")
    assert unassigned.get_json()["message"] == f"No centre with code {centre!r}."
    wrong_scope = bearer(app, ["attempts:read"], centre_code=centre)
    assert client.get(url, headers=wrong_scope).status_code == 403
    assert client.get(url).status_code == 401
    unit = client.get(f"{url}&unit=CSC-99", headers=bearer(app, READ, centre_code=centre))
    assert unit.status_code == 404
    bad = client.get(f"{url}&format=xml", headers=bearer(app, READ, centre_code=centre))
    assert bad.status_code == 422


def _audit_rows(app, actor_prefix=None) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(AuditEvent))


def test_csv_streams_every_learner_and_is_audited(app, client, centre):
    headers = bearer(app, READ, eqa_of=(centre,))
    before = _audit_rows(app)
    response = client.get(f"/api/v1/coverage?centre={centre}&format=csv", headers=headers)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    assert isinstance(response.response, types.GeneratorType) or not isinstance(
        response.response, (list, bytes)
    )
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    header, body = rows[0], rows[1:]
    assert header[:4] == ["learner", "reference", "name", "full_coverage"]
    assert [row[1] for row in body] == ["ada", "ben", "cy"]
    ada = dict(zip(header, body[0], strict=True))
    assert ada["CSC-01.AC3"] == "pending" and ada["CSC-02.AC1"] == "not_evidenced"
    assert "assessor=client:assessor-1" in ada["CSC-01.AC2 evidence"]
    assert _audit_rows(app) - before == 3  # one row per learner


def test_accept_header_chooses_the_format(app, client, centre):
    headers = bearer(app, READ, centre_code=centre)
    url = f"/api/v1/coverage?centre={centre}&unit=CSC-01"
    as_csv = client.get(url, headers={**headers, "Accept": "text/csv"})
    assert as_csv.mimetype == "text/csv"
    as_html = client.get(url, headers={**headers, "Accept": "text/html"})
    assert as_html.mimetype == "text/html"
    page = as_html.get_data(as_text=True)
    assert "<caption" in page and 'scope="row"' in page and "Not yet met" in page
    assert client.get(url, headers=headers).mimetype == "application/json"


def test_json_page_is_audited_per_learner_on_the_page(app, client, centre):
    headers = bearer(app, READ, eqa_of=(centre,))
    before = _audit_rows(app)
    response = client.get(f"/api/v1/coverage?centre={centre}&page=2&page_size=2", headers=headers)
    body = response.get_json()
    assert [learner["reference"] for learner in body["learners"]] == ["cy"]
    assert body["totals"]["learners"] == 3
    assert _audit_rows(app) - before == 1


def _statements(app, client, url, headers) -> int:
    engine = app.extensions["db_engine"]
    seen = []

    def count(*_args):
        seen.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url, headers=headers)
        assert response.status_code == 200
        response.get_data()  # the CSV's queries run while it streams
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_queries_do_not_grow_with_learners(app, client):
    counts = {}
    for size in (5, 50):
        code = _code()
        with app.app_context():
            session = db.session()
            found = ensure_centre(session, code)
            for n in range(size):
                add_learner(session, found, f"l{n}")
                all_met(session, found, f"l{n}")
            session.commit()
        headers = bearer(app, READ, centre_code=code)
        counts[size] = (
            _statements(app, client, f"/api/v1/coverage?centre={code}&format=csv", headers),
            _statements(app, client, f"/api/v1/coverage?centre={code}", headers),
        )
    assert counts[5] == counts[50], counts

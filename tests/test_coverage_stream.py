"""The coverage report read as learner-ordered streams a chunk at a time (service.coverage.Reader):
chunk boundaries change nothing in what is sent, and a client that stops reading part way frees
the report's connection and reader thread."""

from __future__ import annotations

import threading
import uuid

import pytest

from service import coverage_reader, db
from service.grading.vocabulary import AttemptStatus, Decision
from tests.conftest import bearer, ensure_centre
from tests.coverage_fixture import add_attempt, add_evidence, add_learner, all_met

READ = ["coverage:read"]


@pytest.fixture()
def centre(app):
    """Eight learners whose evidence differs learner to learner: some with nothing, some with
    records only, attempts only, pending marking, marks, several identities' worth."""
    code = f"CS{uuid.uuid4().hex[:8]}"
    with app.app_context():
        session = db.session()
        found = ensure_centre(session, code)
        for n in range(8):
            add_learner(session, found, f"s{n}", f"Learner {n}")
        all_met(session, found, "s0")
        add_evidence(session, found, "s1", "CSC-01.AC4", Decision.MET, "client:a")
        add_attempt(session, found, "s3", {"CSC-01.AC1": (Decision.MET, ["CSC-01-Q001"])})
        add_attempt(
            session,
            found,
            "s4",
            {"CSC-01.AC2": (Decision.NOT_YET_MET, ["CSC-01-E01", "CSC-01-Q002"])},
            marks={("CSC-01-E01", "CSC-01.AC2"): ("not_yet_met", "client:b")},
        )
        add_attempt(
            session,
            found,
            "s4",
            {"CSC-01.AC3": (Decision.PENDING, ["CSC-01-E02"])},
            status=AttemptStatus.PENDING_MANUAL,
        )
        all_met(session, found, "s6")
        add_evidence(session, found, "s6", "CSC-01.AC5", Decision.NOT_YET_MET, "client:c")
        add_evidence(session, found, "s7", "CSC-02.AC1", Decision.MET, "client:d")
        session.commit()
    return code


def _csv(client, headers, code) -> str:
    response = client.get(f"/api/v1/coverage?centre={code}&format=csv", headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("size", [1, 3, 5])
def test_chunk_boundaries_change_nothing(app, client, centre, monkeypatch, size):
    headers = bearer(app, READ, centre_code=centre)
    whole = _csv(client, headers, centre)  # every learner in one chunk
    assert whole.count("\r\n") == 9  # the header and eight learners
    monkeypatch.setattr(coverage_reader, "CHUNK", size)
    assert _csv(client, headers, centre) == whole


def test_json_totals_the_same_in_chunks(app, client, centre, monkeypatch):
    headers = bearer(app, READ, centre_code=centre)
    whole = client.get(f"/api/v1/coverage?centre={centre}", headers=headers).get_json()
    monkeypatch.setattr(coverage_reader, "CHUNK", 2)
    chunked = client.get(f"/api/v1/coverage?centre={centre}", headers=headers).get_json()
    assert chunked["totals"] == whole["totals"]
    assert whole["totals"]["learners"] == 8 and whole["totals"]["full_coverage"] == 0


def test_a_client_that_stops_reading_frees_the_connection(app, client, centre, monkeypatch):
    monkeypatch.setattr(coverage_reader, "CHUNK", 1)
    headers = bearer(app, READ, centre_code=centre)
    pool = app.extensions["db_engine"].pool
    before = pool.checkedout()
    response = client.get(
        f"/api/v1/coverage?centre={centre}&format=csv", headers=headers, buffered=False
    )
    pieces = iter(response.response)
    next(pieces)  # the header
    next(pieces)  # the first learner
    assert any(t.name.startswith("coverage-reader") for t in threading.enumerate())
    response.close()
    assert pool.checkedout() == before
    assert not any(t.name.startswith("coverage-reader") for t in threading.enumerate())

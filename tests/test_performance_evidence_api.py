"""Performance evidence through HTTP: recording, validation, the history (corrections and
withdrawals never overwrite), centre scoping and the learner's unit status."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from service import db
from service import performance_evidence as evidence
from service.attempt_access import Learner
from service.models import AuditEvent, LearnerIdentity, PerformanceEvidence
from tests.conftest import bearer
from tests.test_attempts_api import _keyed_response

URL = "/api/v1/performance-evidence"
_learners = itertools.count(1)


@pytest.fixture(scope="module")
def tokens(app):
    """A centre's client with the evidence and results scopes (besides the attempts scopes
    the helpers use), another centre's, a reader only and a content client."""
    scopes = ["attempts:write", "attempts:read", "evidence:write", "results:read"]
    return {
        "centre": bearer(app, scopes, centre_code="C-PE-1"),
        "other_centre": bearer(app, scopes, centre_code="C-PE-2"),
        "read_only": bearer(app, ["attempts:read", "results:read"], centre_code="C-PE-1"),
        "attempts_only": bearer(app, ["attempts:write", "attempts:read"], centre_code="C-PE-1"),
        "eqa": bearer(app, ["results:read"], eqa_of=("C-PE-1",)),
        "content": bearer(app, ["content:read"]),
    }


def _learner() -> str:
    return f"pe-learner-{next(_learners)}"


def _body(learner_ref, criterion="CSC-01.AC4", **changes):
    body = {
        "learner_ref": learner_ref,
        "criterion": criterion,
        "evidence_type": "observation",
        "evidenced_on": date.today().isoformat(),
        "description": "Observed three live calls; the script was followed in each.",
        "decision": "met",
        "reference": "Portfolio p. 12",
    }
    return body | changes


def _record(client, headers, body, status=201):
    response = client.post(URL, json=body, headers=headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_a_record_keeps_who_what_when_and_the_criterion_version(client, tokens):
    learner = _learner()
    record = _record(client, tokens["centre"], _body(learner))
    assert record["criterion"] == "CSC-01.AC4" and record["criterion_version"] >= 1
    assert record["status"] == "current" and record["decision"] == "met"
    assert record["assessor"].startswith("client:")
    assert record["supersedes"] is None and record["withdrawn_at"] is None
    again = client.get(f"{URL}/{record['id']}", headers=tokens["centre"]).get_json()
    assert again == record


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"criterion": "CSC-01.AC1"}, "criterion", "knowledge criterion"),
        ({"criterion": "CSC-99.AC1"}, "criterion", "No criterion"),
        ({"evidenced_on": (date.today() + timedelta(days=2)).isoformat()}, "evidenced_on", "after"),
        ({"description": "   "}, "description", "Describe"),
        ({"description": "x" * 4001}, "description", ""),
        ({"evidence_type": "online_test"}, "evidence_type", ""),
        ({"decision": "pending"}, "decision", ""),
        ({"reference": "r" * 256}, "reference", ""),
    ],
)
def test_bad_input_is_422_naming_the_field(client, tokens, changes, field, words):
    learner = _learner()
    response = client.post(URL, json=_body(learner, **changes), headers=tokens["centre"])
    assert response.status_code == 422, response.get_json()
    details = response.get_json()["details"]
    assert field in details and words in " ".join(map(str, details[field]))
    listed = client.get(URL, query_string={"learner_ref": learner}, headers=tokens["centre"])
    assert listed.get_json() == []


def test_a_correction_supersedes_and_keeps_the_history(client, tokens):
    learner = _learner()
    first = _record(client, tokens["centre"], _body(learner, decision="not_yet_met"))
    correction = _record(
        client,
        tokens["centre"],
        _body(learner, supersedes=first["id"], description="Re-read the log: met."),
    )
    assert correction["supersedes"] == first["id"]
    history = client.get(URL, query_string={"learner_ref": learner}, headers=tokens["centre"])
    rows = {r["id"]: r for r in history.get_json()}
    assert rows[first["id"]]["status"] == "superseded"
    assert rows[first["id"]]["superseded_by"] == correction["id"]
    assert rows[first["id"]]["decision"] == "not_yet_met"  # its content is unchanged
    current = client.get(
        URL, query_string={"learner_ref": learner, "current_only": "true"}, headers=tokens["centre"]
    ).get_json()
    assert [r["id"] for r in current] == [correction["id"]]
    # A superseded record is not corrected again, nor withdrawn: its current one is.
    twice = client.post(URL, json=_body(learner, supersedes=first["id"]), headers=tokens["centre"])
    assert twice.status_code == 409
    withdrawn = client.post(
        f"{URL}/{first['id']}/withdraw", json={"reason": "wrong"}, headers=tokens["centre"]
    )
    assert withdrawn.status_code == 409
    # A correction must be for the same criterion.
    other = client.post(
        URL,
        json=_body(learner, criterion="CSC-01.AC5", supersedes=correction["id"]),
        headers=tokens["centre"],
    )
    assert other.status_code == 422 and "supersedes" in other.get_json()["details"]


def test_withdrawing_keeps_the_record_with_its_reason_and_it_stops_counting(client, tokens):
    learner = _learner()
    record = _record(client, tokens["centre"], _body(learner))
    url = f"{URL}/{record['id']}/withdraw"
    empty = client.post(url, json={"reason": "  "}, headers=tokens["centre"])
    assert empty.status_code == 422 and "reason" in empty.get_json()["details"]
    done = client.post(
        url, json={"reason": "Recorded for the wrong learner."}, headers=tokens["centre"]
    )
    assert done.status_code == 200
    withdrawn = done.get_json()
    assert withdrawn["status"] == "withdrawn"
    assert withdrawn["withdrawn_reason"] == "Recorded for the wrong learner."
    assert withdrawn["description"] == record["description"]
    again = client.post(url, json={"reason": "again"}, headers=tokens["centre"])
    assert again.status_code == 409
    status = client.get(
        "/api/v1/units/CSC-01/learner-status",
        query_string={"learner_ref": learner},
        headers=tokens["centre"],
    ).get_json()
    ac4 = next(c for c in status["criteria"] if c["criterion"] == "CSC-01.AC4")
    assert ac4["decision"] == "not_evidenced" and ac4["evidence"] == []


def test_a_centre_never_sees_or_touches_another_centres_records(client, tokens):
    learner = _learner()
    record = _record(client, tokens["centre"], _body(learner))
    other = tokens["other_centre"]
    missing = client.get(f"{URL}/00000000-0000-0000-0000-000000000000", headers=other)
    seen = client.get(f"{URL}/{record['id']}", headers=other)
    assert seen.status_code == 404
    assert seen.get_json()["message"].replace(record["id"], "X") == missing.get_json()[
        "message"
    ].replace("00000000-0000-0000-0000-000000000000", "X")
    # The same learner_ref at another centre is another learner.
    assert client.get(URL, query_string={"learner_ref": learner}, headers=other).get_json() == []
    withdraw = client.post(f"{URL}/{record['id']}/withdraw", json={"reason": "x"}, headers=other)
    assert withdraw.status_code == 404
    correct = client.post(URL, json=_body(learner, supersedes=record["id"]), headers=other)
    assert correct.status_code == 422
    assert correct.get_json()["details"]["supersedes"] == [
        f"No performance evidence record {record['id']!r}."
    ]
    status = client.get(
        "/api/v1/units/CSC-01/learner-status", query_string={"learner_ref": learner}, headers=other
    ).get_json()
    assert all(c["decision"] == "not_evidenced" for c in status["criteria"])
    mine = client.get(URL, query_string={"learner_ref": learner}, headers=tokens["centre"])
    assert [r["status"] for r in mine.get_json()] == ["current"]


def test_scopes_and_unknown_unit(client, tokens):
    learner = _learner()
    assert client.post(URL, json=_body(learner)).status_code == 401
    assert client.post(URL, json=_body(learner), headers=tokens["read_only"]).status_code == 403
    assert (
        client.get(
            URL, query_string={"learner_ref": learner}, headers=tokens["content"]
        ).status_code
        == 403
    )
    unknown = client.get(
        "/api/v1/units/CSC-99/learner-status",
        query_string={"learner_ref": learner},
        headers=tokens["centre"],
    )
    assert unknown.status_code == 404
    no_learner = client.get("/api/v1/units/CSC-01/learner-status", headers=tokens["centre"])
    assert no_learner.status_code == 422


def test_evidence_needs_evidence_write_and_results_read_and_is_audited(app, client, tokens):
    learner = _learner()
    only_attempts = tokens["attempts_only"]
    assert client.post(URL, json=_body(learner), headers=only_attempts).status_code == 403
    query = {"learner_ref": learner}
    assert client.get(URL, query_string=query, headers=only_attempts).status_code == 403
    record = _record(client, tokens["centre"], _body(learner))
    listed = client.get(URL, query_string=query, headers=tokens["read_only"])
    assert [r["id"] for r in listed.get_json()] == [record["id"]]
    # An EQA names no centre's learner_ref here (its reads go through its reports).
    assert client.get(URL, query_string=query, headers=tokens["eqa"]).status_code == 404
    with app.app_context():
        rows = db.session().execute(
            select(AuditEvent.action, AuditEvent.subject, LearnerIdentity.learner_ref)
            .join(LearnerIdentity, LearnerIdentity.learner_id == AuditEvent.learner_id)
            .where(LearnerIdentity.learner_ref == learner)
            .order_by(AuditEvent.id)
        )
        assert [(a.value, s) for a, s, _ in rows] == [
            ("create", f"performance-evidence:{record['id']}"),
            ("read", "performance-evidence"),
        ]


def _fully_graded_attempt(client, tokens, learner):
    headers = tokens["centre"]
    started = client.post(
        "/api/v1/assessments/CSC-01-A1/attempts", json={"learner_ref": learner}, headers=headers
    ).get_json()
    responses = {i["id"]: _keyed_response(client, tokens, i) for i in started["items"]}
    url = f"/api/v1/attempts/{started['id']}"
    submitted = client.post(f"{url}/submit", json={"responses": responses}, headers=headers)
    assert submitted.status_code == 200, submitted.get_json()
    for item in started["items"]:
        if item["type"] == "extended_response":
            levels = {c: "met" for c in item["criteria"]}
            marked = client.post(
                f"{url}/marks", json={"item": item["id"], "levels": levels}, headers=headers
            )
            assert marked.status_code == 200, marked.get_json()
    graded = client.get(url, headers=headers).get_json()
    assert graded["status"] == "fully_graded"
    return graded


def test_the_unit_is_achieved_only_when_performance_evidence_meets_every_performance_criterion(
    client, tokens
):
    learner = _learner()
    attempt = _fully_graded_attempt(client, tokens, learner)
    status_url = "/api/v1/units/CSC-01/learner-status"
    query = {"learner_ref": learner}
    status = client.get(status_url, query_string=query, headers=tokens["centre"]).get_json()
    assert status["knowledge_attempt"]["id"] == attempt["id"]
    assert status["outcome"] == "not_yet_achieved"  # a perfect test does not achieve the unit
    by_code = {c["criterion"]: c for c in status["criteria"]}
    performance = [f"CSC-01.AC{n}" for n in range(4, 9)]
    for code in performance:
        assert by_code[code]["evidence_required"] == "performance"
        assert by_code[code]["decision"] == "not_evidenced"
    assert all(by_code[f"CSC-01.AC{n}"]["decision"] == "met" for n in range(1, 4))
    # Supporting knowledge: what the test said about the performance criteria it covered.
    assert any(by_code[code]["supporting_knowledge"] == "met" for code in performance)

    ids = [_record(client, tokens["centre"], _body(learner, code))["id"] for code in performance]
    status = client.get(status_url, query_string=query, headers=tokens["centre"]).get_json()
    assert status["outcome"] == "achieved"
    by_code = {c["criterion"]: c for c in status["criteria"]}
    assert [by_code[code]["evidence"] for code in performance] == [[i] for i in ids]

    filtered = client.get(
        URL,
        query_string={"learner_ref": learner, "criterion": "CSC-01.AC6"},
        headers=tokens["centre"],
    ).get_json()
    assert [r["id"] for r in filtered] == [ids[2]]
    other_unit = client.get(
        URL, query_string={"learner_ref": learner, "unit": "CSC-03"}, headers=tokens["centre"]
    ).get_json()
    assert other_unit == []


def test_domain_refuses_other_learners_records_and_keeps_rows_unchanged(app):
    """The domain functions directly: withdrawing another learner's record is refused as if it
    were missing, and nothing is written."""
    with app.app_context():
        session = db.session()
        mine, theirs = Learner(_learner(), None), Learner(_learner(), None)
        new = evidence.NewRecord(
            criterion="CSC-03.AC4",
            evidence_type="witness_testimony",
            evidenced_on=date.today(),
            description="Supervisor's signed statement.",
            decision="met",
        )
        record = evidence.record(session, mine, new, assessor="client:test")
        session.commit()
        with pytest.raises(evidence.OtherCentre) as refused:
            evidence.withdraw(session, theirs, record.uuid, "x", "client:test")
        assert refused.value.message == f"No performance evidence record {record.uuid!r}."
        session.rollback()
        stored = session.get(PerformanceEvidence, record.id)
        assert stored.withdrawn_at is None
        with pytest.raises(evidence.FutureDate):
            evidence.record(session, mine, new, "client:test", today=date.today() - timedelta(1))

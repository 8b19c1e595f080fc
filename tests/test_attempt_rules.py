"""Attempt rules beyond the happy path: authentication before validation, what a write-only
token may see, per-response limits, long learner ids, transactions owned by the caller, and
migration 0004 moving blobs into rows (and back)."""

from __future__ import annotations

import json

import pytest
from alembic import command
from sqlalchemy import create_engine, func, select, text

from lti.models import LtiPlatform
from service import attempt_access, attempts, bank, db, migrations
from service.grading.limits import (
    MAX_EXTENDED_WORDS,
    MAX_RESPONSES_PER_REQUEST,
    MAX_SHORT_TEXT_CHARS,
)
from service.models import Attempt, AttemptMark, AttemptResponse
from tests import lti_flow
from tests.conftest import bearer, loaded_database, make_app
from tests.test_lti_pages import _launch

START = "/api/v1/assessments/CSC-01-A1/attempts"


@pytest.fixture(scope="module")
def tokens(app):
    return {
        "full": bearer(app, ["attempts:write", "attempts:read"], centre_code="C-RULES"),
        "write": bearer(app, ["attempts:write"], centre_code="C-RULES"),
    }


def _start(client, headers, learner, status=201):
    """Start (201) or, with status=200, resume the learner's attempt."""
    response = client.post(START, json={"learner_ref": learner}, headers=headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", START, {"learner_ref": ""}),
        ("put", "/api/v1/attempts/x/responses", {"responses": "not an object"}),
        ("post", "/api/v1/attempts/x/submit", {"responses": 3}),
        ("post", "/api/v1/attempts/x/marks", {}),
    ],
)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}])
def test_no_or_bad_token_is_401_before_the_payload_is_looked_at(
    client, method, path, body, headers
):
    response = getattr(client, method)(path, json=body, headers=headers)
    assert response.status_code == 401, response.get_json()
    assert "details" not in response.get_json()


def test_a_write_only_token_never_gets_attempt_contents(client, tokens):
    started = _start(client, tokens["write"], "rules-write-only")
    assert set(started) == {"id", "status", "grading_progress", "deadline", "submitted_at", "saved"}
    full = client.get(f"/api/v1/attempts/{started['id']}", headers=tokens["full"]).get_json()
    item = next(i for i in full["items"] if i["type"] == "extended_response")
    saved = client.put(
        f"/api/v1/attempts/{started['id']}/responses",
        headers=tokens["write"],
        json={"responses": {item["id"]: "my answer"}},
    ).get_json()
    assert "responses" not in saved and "items" not in saved
    assert [s["item"] for s in saved["saved"]] == [item["id"]] and saved["saved"][0]["saved_at"]
    submitted = client.post(
        f"/api/v1/attempts/{started['id']}/submit", headers=tokens["write"], json={}
    ).get_json()
    assert submitted["status"] == "pending_manual" and "result" not in submitted
    assert (
        client.get(f"/api/v1/attempts/{started['id']}", headers=tokens["write"]).status_code == 403
    )


def _attempt_with(client, tokens, kind):
    for n in range(40):
        attempt = _start(client, tokens["full"], f"rules-{kind}-{n}")
        found = [i for i in attempt["items"] if i["type"] == kind]
        if found:
            return attempt, found[0]
    raise AssertionError(f"no form with a {kind} item")


def _put(client, tokens, attempt, responses):
    return client.put(
        f"/api/v1/attempts/{attempt['id']}/responses",
        headers=tokens["full"],
        json={"responses": responses},
    )


def test_limits_are_422_naming_the_item(client, tokens):
    attempt, short = _attempt_with(client, tokens, "short_text")
    too_long = _put(client, tokens, attempt, {short["id"]: "x" * (MAX_SHORT_TEXT_CHARS + 1)})
    assert too_long.status_code == 422
    assert f"{MAX_SHORT_TEXT_CHARS} characters" in too_long.get_json()["details"][short["id"]][0]
    assert (
        _put(client, tokens, attempt, {short["id"]: "x" * MAX_SHORT_TEXT_CHARS}).status_code == 200
    )

    extended = next(i for i in attempt["items"] if i["type"] == "extended_response")
    words = _put(client, tokens, attempt, {extended["id"]: "word " * (MAX_EXTENDED_WORDS + 1)})
    assert words.status_code == 422
    assert "3,000 words" in words.get_json()["details"][extended["id"]][0]

    many = {f"K{n}": "x" for n in range(MAX_RESPONSES_PER_REQUEST + 1)}
    refused = _put(client, tokens, attempt, many)
    assert refused.status_code == 422
    assert "At most" in json.dumps(refused.get_json()["details"])


def test_a_255_character_learner_ref_starts_and_resumes(client, tokens):
    ref = "r" * 255
    first = _start(client, tokens["full"], ref)
    assert _start(client, tokens["full"], ref, status=200)["id"] == first["id"]
    assert first["learner_ref"] == ref


def test_a_255_character_lti_sub_gets_an_attempt_with_its_own_columns(app, client, requests_mock):
    lti_flow.register(app)
    lti_flow.mock_platform_jwks(app, requests_mock)
    sub = "s" * 255
    _path, ls = _launch(app, client, sub=sub)
    page = client.get("/lti/attempt", query_string={"ls": ls})
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    started = client.post("/lti/attempt/start", data={"ls": ls, "attempt": ""})
    assert started.status_code == 303, started.get_data(as_text=True)[:500]
    with app.app_context():
        session = db.session()
        platform = session.scalar(select(LtiPlatform).where(LtiPlatform.issuer == lti_flow.ISS))
        row = session.scalar(select(Attempt).where(Attempt.lti_sub == sub))
        assert row.lti_platform_id == platform.id
        assert row.learner_ref.startswith(f"lti:{platform.id}:sha256:")
        assert len(row.seed) == 64


def test_domain_functions_leave_the_transaction_to_the_caller(app):
    with app.app_context():
        session = db.session()
        assessment = bank.get_assessment(session, "CSC-01-A1")
        learner = attempt_access.Learner("rules-no-commit", None)
        attempts.start_attempt(session, assessment, learner)
        session.rollback()
        assert attempt_access.latest_attempt(session, assessment, learner) is None
        attempt = attempts.start_attempt(session, assessment, learner)
        session.commit()
        item = attempt.form[0]["item"]
        with pytest.raises(attempts.InvalidResponses) as refused:
            attempts.save_responses(session, attempt, {item: {"bad": "shape"}})
        assert item in refused.value.details
        session.rollback()
        attempts.submit(session, attempt)
        session.rollback()
        assert session.get(Attempt, attempt.id).status == "in_progress"
        key = next(k for k in attempts._keys(session, attempt) if k.type == "extended_response")
        with pytest.raises(attempts.NotSubmitted):
            attempts.mark(session, attempt, key.id, dict.fromkeys(key.criteria, "met"))
        session.rollback()


def test_migration_0004_moves_blobs_into_rows_and_back(tmp_path):
    with loaded_database(tmp_path) as url:
        app = make_app(url, loaded=True)
        engine = create_engine(url)
        config = migrations.alembic_config(url)
        command.downgrade(config, "0003")
        with engine.begin() as connection:
            assessment_id = connection.scalar(text("SELECT id FROM assessments LIMIT 1"))
            connection.execute(
                text(
                    "INSERT INTO attempts (uuid, assessment_id, centre_id, learner_ref, seed, "
                    "form, responses, marks, status, score, max_score, percent, grade, result, "
                    "started_at, deadline, submitted_at) VALUES ('u-1', :a, NULL, 'lti:7:sub-1', "
                    "'old seed', :form, :responses, :marks, 'pending_manual', 1, 2, 50, NULL, "
                    ":result, :t, :t, :t)"
                ),
                {
                    "a": assessment_id,
                    "form": json.dumps(
                        [{"item": "Q1", "version": 1}, {"item": "Q2", "version": 2}]
                    ),
                    "responses": json.dumps({"Q1": "B", "Q2": "text"}),
                    "marks": json.dumps({"Q2": {"AC1": "met"}}),
                    "result": json.dumps(
                        {
                            "items": [
                                {"item_id": "Q1", "score": 1.0, "max_score": 1, "pending": False},
                                {"item_id": "Q2", "score": 0.0, "max_score": 1, "pending": True},
                            ],
                            "criteria": [
                                {"criterion": "AC1", "decision": "pending", "evidence": ["Q2"]}
                            ],
                        }
                    ),
                    "t": "2026-01-01 10:00:00+00:00",
                },
            )
        command.upgrade(config, "head")
        with app.app_context():
            row = db.session().scalar(select(Attempt).where(Attempt.uuid == "u-1"))
            assert row.form == [{"item": "Q1", "version": 1}, {"item": "Q2", "version": 2}]
            assert row.responses == {"Q1": "B", "Q2": "text"}
            assert row.marks == {"Q2": {"AC1": "met"}}
            assert row.result["criteria"] == [
                {"criterion": "AC1", "decision": "pending", "evidence": ["Q2"]}
            ]
            assert (row.lti_platform_id, row.lti_sub, row.seed) == (7, "sub-1", "old seed")
            assert db.session().scalar(select(func.count()).select_from(AttemptMark)) == 1
            assert db.session().scalar(select(func.count()).select_from(AttemptResponse)) == 2
            db.session().close()
        app.extensions["db_engine"].dispose()
        command.downgrade(config, "0003")
        with engine.connect() as connection:
            responses = connection.scalar(text("SELECT responses FROM attempts WHERE uuid='u-1'"))
        assert (json.loads(responses) if isinstance(responses, str) else responses) == {
            "Q1": "B",
            "Q2": "text",
        }
        command.upgrade(config, "head")
        engine.dispose()

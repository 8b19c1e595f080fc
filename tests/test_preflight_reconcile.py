"""The pre-flight check of a registration's grade services (lti/preflight.py), the Canvas
criteria choice per deployment, and gradebook reconciliation (lti/reconcile.py): domain, admin
API and CLI.

The platform is the Moodle 4.5.6 of tests/data/captures (its URLs, claim, line items and
results), answered by requests-mock. Each test registers a platform of its own in the shared
database and commits, as the API and the CLI read what is committed.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

from lti import grade_sync, keys, preflight, reconcile, resource_links
from lti.ags import (
    AGS_SCOPES,
    CLAIM,
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READONLY,
    SCOPE_SCORE,
    GradingProgress,
    service_url,
)
from lti.gradebook_vocabulary import CanvasCriteria, CheckStatus, DeliveryStatus, LineItemTag
from lti.models import LtiDeployment, LtiPlatform, LtiResourceLink, ScoreDelivery
from lti.service_tokens import ServiceTokens
from service import attempt_access, attempts, bank, db
from tests.conftest import CAPTURES, bearer
from tests.test_lti_pages import _keyed_response

EXCHANGE = json.loads((CAPTURES / "ags-exchange.json").read_text())
LAUNCH = json.loads((CAPTURES / "resource-link-launch.json").read_text())["payload"]
ISSUER = LAUNCH["iss"]
TOKEN_URL = f"{ISSUER}/mod/lti/token.php"
AGS_CLAIM = LAUNCH[CLAIM]
LINEITEMS_URL = AGS_CLAIM["lineitems"]
LINK_LINEITEM = AGS_CLAIM["lineitem"]
NRPS_URL = LAUNCH["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"][
    "context_memberships_url"
]
LINEITEMS = EXCHANGE["get_lineitems"][1]
ASSESSMENT = "CSC-01-A1"


def _status(report) -> dict[str, CheckStatus]:
    return {c.name: c.status for c in report.checks}


def _detail(report, name: str) -> str:
    return next(c.detail for c in report.checks if c.name == name)


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture()
def session(app):
    with app.app_context():
        yield db.session()
        db.session().rollback()


@pytest.fixture()
def platform(session) -> LtiPlatform:
    """A Moodle registration of this test's own (committed), with deployment "1"."""
    platform = LtiPlatform(
        name="Moodle 4.5.6",
        issuer=ISSUER,
        client_id=f"preflight-{uuid.uuid4().hex[:12]}",
        auth_login_url=f"{ISSUER}/mod/lti/auth.php",
        auth_token_url=TOKEN_URL,
        key_set_url=f"{ISSUER}/mod/lti/certs.php",
        active=True,
    )
    platform.deployments.append(LtiDeployment(deployment_id="1"))
    session.add(platform)
    keys.signing_key(session)
    session.commit()
    return platform


def _link(
    session,
    platform,
    scopes=AGS_SCOPES,
    nrps=True,
    product="moodle",
    updated_at=None,
) -> LtiResourceLink:
    """A resource link as a launch leaves it (committed)."""
    link = LtiResourceLink(
        platform_id=platform.id,
        deployment_id="1",
        resource_link_id=f"rl-{uuid.uuid4().hex[:8]}",
        context_id="2",
        assessment_code=ASSESSMENT,
        product_family=product,
        ags_scopes=" ".join(scopes),
        ags_lineitems=LINEITEMS_URL,
        ags_lineitem=LINK_LINEITEM,
        nrps_url=NRPS_URL if nrps else None,
        updated_at=updated_at or datetime.now(UTC),
    )
    session.add(link)
    session.commit()
    return link


@pytest.fixture()
def tokens(app) -> ServiceTokens:
    return ServiceTokens.for_app(app)


def _token_answer(request, context):
    """Moodle's token.php: one token per request, for the scopes asked."""
    scope = parse_qs(request.text)["scope"][0]
    return {
        "access_token": f"tok-{uuid.uuid4().hex[:8]}",
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": scope,
    }


@pytest.fixture()
def moodle(requests_mock):
    """The token endpoint and the line items container of the captured Moodle."""
    requests_mock.post(TOKEN_URL, json=_token_answer)
    requests_mock.get(LINEITEMS_URL, json=LINEITEMS)
    return requests_mock


# --- pre-flight: the checks ------------------------------------------------------------------


def test_everything_granted_passes_without_writing(session, platform, tokens, moodle):
    link = _link(session, platform)
    target = preflight.target(session, platform.id)
    session.rollback()
    report = preflight.run(tokens, target)
    status = _status(report)
    assert report.passed and target.link_pk == link.id
    for name in (
        "resource link",
        "scope lineitem",
        "scope lineitem.readonly",
        "scope result.readonly",
        "scope score",
        "gradebook",
        "AGS token",
        "names and roles service",
        "names and roles token",
        "line items can be listed",
        "line items can be created",
    ):
        assert status[name] == CheckStatus.PASSED, name
    assert status["round trip"] == CheckStatus.SKIPPED
    assert "3 line item(s)" in _detail(report, "line items can be listed")
    # Two token requests: the AGS scopes, then the membership scope on its own.
    asked = [parse_qs(r.text)["scope"][0] for r in moodle.request_history if r.url == TOKEN_URL]
    assert asked == [" ".join(sorted(AGS_SCOPES)), preflight.SCOPE_NRPS]
    assert {r.method for r in moodle.request_history} == {"POST", "GET"}
    assert all(r.url == TOKEN_URL for r in moodle.request_history if r.method == "POST")
    # Each run asks the token endpoint again: a cached token would not test it.
    preflight.run(tokens, target)
    assert len([r for r in moodle.request_history if r.url == TOKEN_URL]) == 4


def test_missing_scopes_and_a_refused_token_are_reported(session, platform, tokens, requests_mock):
    requests_mock.post(
        TOKEN_URL,
        status_code=400,
        json={"error": "invalid_scope", "error_description": "scope not allowed"},
    )
    _link(session, platform, scopes=[SCOPE_SCORE], nrps=False)
    target = preflight.target(session, platform.id)
    session.rollback()
    report = preflight.run(tokens, target, round_trip=True)
    status = _status(report)
    assert not report.passed
    assert status["scope score"] == CheckStatus.PASSED
    assert status["scope lineitem"] == CheckStatus.FAILED
    assert status["scope result.readonly"] == CheckStatus.FAILED
    assert status["AGS token"] == CheckStatus.FAILED
    # The platform's answer is in the report.
    assert "invalid_scope" in _detail(report, "AGS token")
    assert "HTTP 400" in _detail(report, "AGS token")
    assert status["names and roles service"] == CheckStatus.FAILED
    assert status["names and roles token"] == CheckStatus.SKIPPED
    assert status["line items can be listed"] == CheckStatus.SKIPPED
    assert status["line items can be created"] == CheckStatus.FAILED
    assert status["round trip"] == CheckStatus.SKIPPED
    assert "as a comment only" in _detail(report, "gradebook")
    assert not [r for r in requests_mock.request_history if r.method in ("GET", "DELETE")]


def test_an_unreadable_container_fails_the_listing(session, platform, tokens, moodle):
    moodle.get(LINEITEMS_URL, status_code=403, text="Access denied to line items")
    _link(session, platform)
    target = preflight.target(session, platform.id)
    session.rollback()
    report = preflight.run(tokens, target, round_trip=True)
    status = _status(report)
    assert status["AGS token"] == CheckStatus.PASSED
    assert status["line items can be listed"] == CheckStatus.FAILED
    assert "HTTP 403: Access denied" in _detail(report, "line items can be listed")
    assert status["round trip"] == CheckStatus.SKIPPED
    assert not report.passed


def _created(request, context):
    body = request.json()
    context.status_code = 201
    return {**body, "id": f"{ISSUER}/mod/lti/services.php/2/lineitems/99/lineitem?type_id=1"}


TEST_ITEM_URL = f"{ISSUER}/mod/lti/services.php/2/lineitems/99/lineitem?type_id=1"


def test_round_trip_creates_reads_back_and_deletes_a_test_line_item(
    session, platform, tokens, moodle
):
    link = _link(session, platform)
    moodle.post(LINEITEMS_URL, json=_created)
    tagged = {"id": TEST_ITEM_URL, "label": preflight.TEST_LINE_ITEM_LABEL, "scoreMaximum": 1}
    tagged |= {"tag": "preflight", "resourceId": "preflight"}
    moodle.get(f"{LINEITEMS_URL}&tag=preflight", json=[tagged])
    moodle.delete(TEST_ITEM_URL, status_code=204)
    target = preflight.target(session, platform.id)
    session.rollback()
    report = preflight.run(tokens, target, round_trip=True)
    status = _status(report)
    assert report.passed
    assert status["round trip: create"] == CheckStatus.PASSED
    assert status["round trip: read back"] == CheckStatus.PASSED
    assert status["round trip: delete"] == CheckStatus.PASSED
    (create,) = [r for r in moodle.request_history if r.method == "POST" and "lineitems" in r.url]
    assert create.json() == {
        "label": "Assessment service connection check",
        "scoreMaximum": 1.0,
        "resourceId": "preflight",
        "tag": "preflight",
        "resourceLinkId": link.resource_link_id,
    }
    assert create.headers["Content-Type"] == "application/vnd.ims.lis.v2.lineitem+json"
    (delete,) = [r for r in moodle.request_history if r.method == "DELETE"]
    assert delete.url == TEST_ITEM_URL and delete.headers["Authorization"].startswith("Bearer ")


def test_round_trip_still_deletes_when_the_read_back_misses_it(session, platform, tokens, moodle):
    _link(session, platform)
    moodle.post(LINEITEMS_URL, json=_created)
    moodle.get(f"{LINEITEMS_URL}&tag=preflight", json=[])
    moodle.delete(TEST_ITEM_URL, status_code=500, text="oops")
    target = preflight.target(session, platform.id)
    session.rollback()
    report = preflight.run(tokens, target, round_trip=True)
    status = _status(report)
    assert status["round trip: read back"] == CheckStatus.FAILED
    assert status["round trip: delete"] == CheckStatus.FAILED
    assert "delete the column" in _detail(report, "round trip: delete")


def test_the_link_checked_is_the_newest_unless_one_is_named(session, platform, tokens):
    assert preflight.target(session, platform.id).link_pk is None
    report = preflight.run(tokens, preflight.target(session, platform.id))
    assert _status(report) == {"resource link": CheckStatus.FAILED}
    now = datetime.now(UTC)
    older = _link(session, platform, updated_at=now - timedelta(days=1))
    newer = _link(session, platform, updated_at=now)
    assert preflight.target(session, platform.id).link_pk == newer.id
    assert preflight.target(session, platform.id, older.id).link_pk == older.id
    with pytest.raises(resource_links.UnknownResourceLink):
        preflight.target(session, platform.id, 2_000_000_000)


# --- what the assessor page says (no HTTP) ---------------------------------------------------


def test_summary_for_link_says_what_the_gradebook_gets(session, platform):
    full = preflight.summary_for_link(session, _link(session, platform))
    assert (full.scores, full.criterion_columns, full.comment_only) == (True, True, False)
    score_only = preflight.summary_for_link(session, _link(session, platform, [SCOPE_SCORE]))
    assert (score_only.criterion_columns, score_only.comment_only) == (False, True)
    assert score_only.sentence == (
        "This course's gradebook gets the grade and the criteria as a comment only "
        "(the platform did not grant line item management)."
    )
    nothing = preflight.summary_for_link(session, _link(session, platform, []))
    assert not (nothing.scores or nothing.criterion_columns or nothing.comment_only)
    canvas = _link(session, platform, product="canvas")
    assert preflight.summary_for_link(session, canvas).comment_only
    assert "Canvas" in preflight.summary_for_link(session, canvas).sentence
    platform.deployments[0].canvas_criteria = CanvasCriteria.ASSIGNMENTS
    session.flush()
    assert preflight.summary_for_link(session, canvas).criterion_columns


# --- pre-flight: API and CLI -----------------------------------------------------------------


def test_preflight_report_over_the_api(app, session, platform, moodle):
    link = _link(session, platform)
    client = app.test_client()
    url = f"/api/v1/admin/lti/platforms/{platform.id}/preflight"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=bearer(app, ["content:read"])).status_code == 403
    admin = bearer(app, ["admin"])
    response = client.get(url, headers=admin)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["passed"] is True and body["round_trip"] is False
    assert body["link"]["id"] == link.id
    assert body["link"]["resource_link_id"] == link.resource_link_id
    assert body["gradebook"]["criterion_columns"] is True
    checks = {c["name"]: c for c in body["checks"]}
    assert checks["line items can be listed"]["status"] == "passed"
    assert checks["round trip"]["status"] == "skipped"
    assert set(checks["AGS token"]) == {"name", "status", "detail"}

    moodle.post(LINEITEMS_URL, json=_created)
    moodle.get(f"{LINEITEMS_URL}&tag=preflight", json=[{"id": TEST_ITEM_URL, "label": "x"}])
    moodle.delete(TEST_ITEM_URL, status_code=204)
    response = client.post(url, json={"round_trip": True, "link": link.id}, headers=admin)
    assert response.status_code == 200, response.get_json()
    checks = {c["name"]: c["status"] for c in response.get_json()["checks"]}
    assert checks["round trip: delete"] == "passed"

    # No body: no round trip.
    response = client.post(url, headers=admin)
    assert response.status_code == 200 and response.get_json()["round_trip"] is False
    missing = client.get(url, query_string={"link": 2_000_000_000}, headers=admin)
    assert missing.status_code == 404
    assert (
        client.get("/api/v1/admin/lti/platforms/2000000000/preflight", headers=admin).status_code
        == 404
    )


def test_preflight_on_the_command_line(app, session, platform, moodle):
    runner = app.test_cli_runner()
    assert "no course links yet" in runner.invoke(args=["lti", "links", str(platform.id)]).output
    link = _link(session, platform)
    listed = runner.invoke(args=["lti", "links", str(platform.id)]).output
    assert f"link={link.resource_link_id}" in listed and listed.startswith(f"{link.id:>5}")
    assert "scopes=lineitem,lineitem.readonly,result.readonly,score" in listed
    result = app.test_cli_runner().invoke(args=["lti", "preflight", str(platform.id)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("PASSED") and "line items can be listed" in line for line in lines)
    assert any(line.startswith("SKIPPED") and "round trip" in line for line in lines)
    assert lines[-1] == "all checks passed"

    moodle.get(LINEITEMS_URL, status_code=401, text="token expired")
    result = app.test_cli_runner().invoke(
        args=["lti", "preflight", str(platform.id), "--round-trip"]
    )
    assert result.exit_code == 1
    assert "FAILED   line items can be listed" in result.output
    assert result.output.splitlines()[-1] == "some checks failed"


# --- the Canvas choice -----------------------------------------------------------------------


def test_canvas_criteria_choice_over_the_api_and_cli(app, session, platform):
    client = app.test_client()
    admin = bearer(app, ["admin"])
    url = f"/api/v1/admin/lti/platforms/{platform.id}/deployments/1"
    assert client.patch(url, json={"canvas_criteria": "assignments"}).status_code == 401
    response = client.patch(url, json={"canvas_criteria": "assignments"}, headers=admin)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"deployment_id": "1", "canvas_criteria": "assignments"}
    session.expire_all()
    assert platform.deployments[0].canvas_criteria == CanvasCriteria.ASSIGNMENTS
    assert client.patch(url, json={"canvas_criteria": "both"}, headers=admin).status_code == 422
    unknown = f"/api/v1/admin/lti/platforms/{platform.id}/deployments/nope"
    assert (
        client.patch(unknown, json={"canvas_criteria": "comment"}, headers=admin).status_code == 404
    )

    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["lti", "deployments", "set-canvas-criteria", str(platform.id), "1", "comment"]
    )
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert platform.deployments[0].canvas_criteria == CanvasCriteria.COMMENT
    listed = runner.invoke(args=["lti", "deployments", "list", str(platform.id)])
    assert listed.output == "1  canvas criteria: comment\n"
    result = runner.invoke(
        args=["lti", "deployments", "set-canvas-criteria", str(platform.id), "nope", "comment"]
    )
    assert result.exit_code != 0 and "no deployment" in result.output


# --- reconciliation --------------------------------------------------------------------------


def _graded_and_sent(session, link, now):
    """A learner's submitted attempt whose queued scores the worker has sent: the grade
    (PendingManual, awaiting an assessor) and a FullyGraded row per auto-marked criterion.
    Returns {resource_id: row}."""
    learner = attempt_access.lti_learner(link.platform, f"learner-{uuid.uuid4().hex[:8]}")
    assessment = bank.get_assessment(session, ASSESSMENT)
    attempt = attempts.start_attempt(session, assessment, learner, now, resource_link_id=link.id)
    bodies = {item.code: version.body for item, version in attempts.form_items(session, attempt)}
    attempts.submit(session, attempt, {c: _keyed_response(b) for c, b in bodies.items()}, now)
    rows = session.scalars(
        select(ScoreDelivery).where(ScoreDelivery.attempt_id == attempt.id)
    ).all()
    for number, row in enumerate(rows, start=100):
        if row.line_item.url is None:
            row.line_item.url = f"{ISSUER}/mod/lti/services.php/2/lineitems/{number}/lineitem"
        row.status = DeliveryStatus.SENT
        row.sent_at = now
    session.commit()
    return {row.line_item.resource_id: row for row in rows}


def _result(row, score, maximum):
    return {
        "id": service_url(row.line_item.url, "results") + f"&user_id={row.user_sub}",
        "userId": row.user_sub,
        "resultScore": score,
        "resultMaximum": maximum,
        "scoreOf": row.line_item.url,
    }


@pytest.fixture()
def sent(session, platform, moodle):
    """A learner's sent scores and a Moodle whose results hold: the first criterion right
    (scaled to a maximum of 10), the second missing, the third wrong; no grade for the
    activity (Moodle blanks a PendingManual score)."""
    link = _link(session, platform)
    rows = _graded_and_sent(session, link, datetime(2026, 11, 28, 9, 0, tzinfo=UTC))
    grade = next(r for r in rows.values() if r.line_item.tag == LineItemTag.ASSESSMENT)
    assert grade.grading_progress == GradingProgress.PENDING_MANUAL
    criteria = [r for r in rows.values() if r.line_item.tag == LineItemTag.CRITERION]
    assert len(criteria) >= 3 and all(r.score_given == 1.0 for r in criteria)
    right, missing, wrong, *others = criteria
    moodle.get(service_url(grade.line_item.url, "results"), json=[])
    moodle.get(service_url(right.line_item.url, "results"), json=[_result(right, 10, 10)])
    moodle.get(service_url(missing.line_item.url, "results"), json=[])
    moodle.get(service_url(wrong.line_item.url, "results"), json=[_result(wrong, 0, 1)])
    for row in others:
        moodle.get(service_url(row.line_item.url, "results"), json=[_result(row, 1, 1)])
    return link, {"right": right, "missing": missing, "wrong": wrong, "grade": grade}


def test_reconciliation_finds_a_missing_and_a_wrong_score(session, platform, tokens, sent):
    link, rows = sent
    plans = reconcile.plan(session, platform.id)
    session.rollback()
    outcome = reconcile.compare(tokens, plans)
    assert outcome.unreadable == []
    # Every FullyGraded criterion compared; the PendingManual grade not.
    assert outcome.compared == len(plans) - 1
    found = {(m.line_item_id, m.ours, m.theirs) for m in outcome.mismatches}
    assert found == {
        (rows["missing"].line_item_id, 1.0, None),
        (rows["wrong"].line_item_id, 1.0, 0.0),
    }
    assert {m.user_sub for m in outcome.mismatches} == {rows["wrong"].user_sub}
    assert {m.label for m in outcome.mismatches} == {
        rows["missing"].line_item.label,
        rows["wrong"].line_item.label,
    }
    with pytest.raises(resource_links.UnknownResourceLink):
        reconcile.plan(session, platform.id, 2_000_000_000)


def test_resend_queues_the_mismatches_again_with_later_timestamps(session, platform, tokens, sent):
    _link_row, rows = sent
    plans = reconcile.plan(session, platform.id)
    session.rollback()
    outcome = reconcile.compare(tokens, plans)
    queued = reconcile.resend(session, outcome.mismatches, datetime.now(UTC))
    session.commit()
    assert {r.line_item_id for r in queued} == {
        rows["missing"].line_item_id,
        rows["wrong"].line_item_id,
    }
    for row in queued:
        old = rows["missing"] if row.line_item_id == rows["missing"].line_item_id else rows["wrong"]
        session.refresh(old)
        assert row.status == DeliveryStatus.PENDING and old.status == DeliveryStatus.SENT
        assert row.timestamp >= old.timestamp + timedelta(seconds=1)
        assert (row.score_given, row.score_maximum, row.comment) == (
            old.score_given,
            old.score_maximum,
            old.comment,
        )
        assert (row.attempt_id, row.user_sub) == (old.attempt_id, old.user_sub)
    # Their newest rows are not sent now: a second reconciliation leaves them to the worker.
    again = {p.line_item_id: p for p in reconcile.plan(session, platform.id)}
    assert rows["missing"].line_item_id not in again and rows["wrong"].line_item_id not in again
    assert rows["right"].line_item_id in again
    assert reconcile.resend(session, outcome.mismatches, datetime.now(UTC)) == []
    assert (
        grade_sync.requeue(
            session,
            rows["right"].attempt_id,
            rows["right"].line_item_id,
            "someone-else",
            datetime.now(UTC),
        )
        is None
    )


def test_reconciliation_over_the_api_and_cli(app, session, platform, sent):
    _link_row, rows = sent
    client = app.test_client()
    admin = bearer(app, ["admin"])
    url = f"/api/v1/admin/lti/platforms/{platform.id}/reconciliation"
    assert client.get(url).status_code == 401
    response = client.get(url, headers=admin)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["queued"] is None and body["unreadable"] == []
    assert {(m["line_item_id"], m["ours"], m["theirs"]) for m in body["mismatches"]} == {
        (rows["missing"].line_item_id, 1.0, None),
        (rows["wrong"].line_item_id, 1.0, 0.0),
    }
    assert {m["user_id"] for m in body["mismatches"]} == {rows["wrong"].user_sub}

    result = app.test_cli_runner().invoke(args=["grades", "reconcile", str(platform.id)])
    assert result.exit_code == 0, result.output
    assert result.output.count("MISMATCH") == 2
    assert "ours 1  theirs none" in result.output and "ours 1  theirs 0" in result.output

    response = client.post(f"{url}/resend", headers=admin)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["queued"] == 2
    pending = session.scalars(
        select(ScoreDelivery).where(
            ScoreDelivery.user_sub == rows["wrong"].user_sub,
            ScoreDelivery.status == DeliveryStatus.PENDING,
        )
    ).all()
    assert {r.line_item_id for r in pending} == {
        rows["missing"].line_item_id,
        rows["wrong"].line_item_id,
    }


def test_resend_on_the_command_line(app, session, platform, sent):
    _link_row, rows = sent
    result = app.test_cli_runner().invoke(
        args=["grades", "reconcile", str(platform.id), "--resend"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "2 score(s) queued again"


def test_results_unreadable_without_the_result_scope(session, platform, tokens, sent):
    link, _rows = sent
    link.ags_scopes = " ".join(s for s in AGS_SCOPES if "result" not in s)
    session.commit()
    plans = reconcile.plan(session, platform.id, link.id)
    session.rollback()
    outcome = reconcile.compare(tokens, plans)
    assert outcome.compared == 0 and outcome.mismatches == []
    assert len(outcome.unreadable) == len(plans)
    assert "result.readonly" in outcome.unreadable[0].detail


def test_lineitem_covers_lineitem_readonly_and_no_score_scope_fails(
    session, platform, tokens, moodle
):
    _link(session, platform, scopes=[SCOPE_LINEITEM, SCOPE_SCORE])
    target = preflight.target(session, platform.id)
    session.rollback()
    report = preflight.run(tokens, target)
    assert _status(report)["scope lineitem.readonly"] == CheckStatus.PASSED
    assert "covers it" in _detail(report, "scope lineitem.readonly")

    _link(session, platform, scopes=[SCOPE_LINEITEM_READONLY])
    target = preflight.target(session, platform.id)
    session.rollback()
    report = preflight.run(tokens, target)
    assert _status(report)["gradebook"] == CheckStatus.FAILED
    assert "did not grant the score scope" in _detail(report, "gradebook")

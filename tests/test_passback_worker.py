"""The worker that sends the score outbox to the gradebook (lti/passback_worker.py) and its
admin surface (`assessment grades list|retry`, /api/v1/admin/grade-sync).

Rows are made by real submits and marks (as tests/test_grade_sync.py). The platform is mostly
requests-mock; the concurrency test runs a real HTTP server on 127.0.0.1. The module has a
database of its own (the worker drains every due row), and each test starts with an empty
queue. A fake clock moves the worker past retry delays and leases without sleeping.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select, update

from lti import keys, passback_admin, passback_outbox
from lti.ags import AGS_SCOPES, CANVAS_SUBMISSION
from lti.gradebook_vocabulary import CanvasCriteria, DeliveryStatus, LineItemTag
from lti.models import LtiDeployment, LtiLineItem, LtiPlatform, LtiResourceLink, ScoreDelivery
from lti.passback_worker import PlatformAnswers, Worker, WorkerSettings
from service import attempt_access, attempts, bank, db
from service.config import PROJECT_ROOT
from service.grading.scoring import EXTENDED
from service.grading.vocabulary import AttemptStatus
from tests.conftest import bearer, loaded_database, make_app, on_postgres
from tests.test_lti_pages import _keyed_response

ASSESSMENT = "CSC-01-A1"
ISSUER = "https://lms.example.ac.uk"
TOKEN_URL = f"{ISSUER}/mod/lti/token.php"
SCORES = re.compile(r"/scores(\?|$)")
_learners = itertools.count(1)


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with loaded_database(tmp_path_factory.mktemp("passback")) as url:
        application = make_app(
            url,
            loaded=True,
            LTI_SERVICES_ON_LOOPBACK=True,
            LTI_PASSBACK_BACKOFF_SECONDS=0.5,
            LTI_PASSBACK_BACKOFF_CAP_SECONDS=2,
            LTI_PASSBACK_GIVE_UP_HOURS=10 / 3600,  # ten seconds of failing
        )
        yield application
        application.extensions["db_engine"].dispose()


@pytest.fixture()
def session(app):
    """The app's session; the queue is emptied first (rows of earlier tests are not due)."""
    with app.app_context():
        session = db.session()
        session.execute(
            update(ScoreDelivery)
            .where(ScoreDelivery.status != DeliveryStatus.SENT)
            .values(status=DeliveryStatus.SUPERSEDED)
        )
        session.commit()
        yield session
        session.rollback()


class Clock:
    """The worker's now: real time moved on by the test, or frozen (freeze()) where a test
    measures delays, so a slow machine's passing seconds cannot blur them."""

    def __init__(self) -> None:
        self.offset = timedelta()
        self.frozen: datetime | None = None

    @property
    def now(self) -> datetime:
        return (self.frozen or datetime.now(UTC)) + self.offset

    def freeze(self) -> None:
        """From now on, time moves only by advance() (rows queued so far are due)."""
        self.frozen = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture()
def clock() -> Clock:
    return Clock()


def _worker(app, clock, **settings) -> Worker:
    worker = Worker.for_app(app, **settings)
    worker.clock = clock
    return worker


def _platform(session, issuer=ISSUER, token_url=TOKEN_URL) -> LtiPlatform:
    platform = LtiPlatform(
        name="Gradebook",
        issuer=issuer,
        client_id=f"worker-{uuid.uuid4().hex[:12]}",
        auth_login_url=f"{issuer}/auth",
        auth_token_url=token_url,
        key_set_url=f"{issuer}/certs",
        active=True,
    )
    platform.deployments.append(LtiDeployment(deployment_id="1"))
    session.add(platform)
    keys.signing_key(session)
    session.commit()
    return platform


def _link(session, platform, product="moodle", base=ISSUER) -> LtiResourceLink:
    """A course activity as a launch leaves it, with a line items container of its own."""
    course = uuid.uuid4().hex[:8]
    lineitems = f"{base}/mod/lti/services.php/{course}/lineitems?type_id=1"
    link = LtiResourceLink(
        platform_id=platform.id,
        deployment_id="1",
        resource_link_id=f"rl-{course}",
        context_id=course,
        assessment_code=ASSESSMENT,
        product_family=product,
        ags_scopes=" ".join(AGS_SCOPES),
        ags_lineitems=lineitems,
        ags_lineitem=f"{base}/mod/lti/services.php/{course}/lineitems/1/lineitem?type_id=1",
        updated_at=datetime.now(UTC),
    )
    session.add(link)
    session.commit()
    return link


def _submitted(session, link: LtiResourceLink):
    """A learner who answered every item as keyed and submitted (committed)."""
    learner = attempt_access.lti_learner(link.platform, f"learner-{next(_learners)}")
    assessment = bank.get_assessment(session, ASSESSMENT)
    now = datetime.now(UTC)
    attempt = attempts.start_attempt(session, assessment, learner, now, resource_link_id=link.id)
    bodies = {item.code: version.body for item, version in attempts.form_items(session, attempt)}
    attempts.submit(session, attempt, {c: _keyed_response(b) for c, b in bodies.items()}, now)
    session.commit()
    return attempt


def _mark_all(session, attempt) -> None:
    for key in [k for k in attempts._keys(session, attempt) if k.type == EXTENDED]:
        attempts.mark(session, attempt, key.id, dict.fromkeys(key.criteria, "met"))
    session.commit()


def _rows(session, attempt) -> list[ScoreDelivery]:
    session.expire_all()
    return list(
        session.scalars(
            select(ScoreDelivery)
            .where(ScoreDelivery.attempt_id == attempt.id)
            .order_by(ScoreDelivery.id)
        )
    )


class Gradebook:
    """A Moodle-like platform on requests-mock: tokens, a line items container per course
    (filtered by resource_id and tag, as asked), line item creation and scores."""

    def __init__(self, requests_mock) -> None:
        self.mock = requests_mock
        self.items: dict[str, list[dict]] = {}
        self.scores: list[tuple[str, dict]] = []
        self.ids = itertools.count(100)
        requests_mock.post(TOKEN_URL, json=self._token)
        requests_mock.get(re.compile(r"/lineitems\?"), json=self._list)
        requests_mock.post(re.compile(r"/lineitems\?"), json=self._create)
        self.answer_scores([{"status_code": 200, "json": {}}])

    def answer_scores(self, answers: list[dict]) -> None:
        """What score POSTs get, in turn (the last one repeats)."""
        scripted = iter(answers)
        last = {}

        def respond(request, context):
            nonlocal last
            last = next(scripted, last)
            if "exc" in last:
                raise last["exc"]
            context.status_code = last["status_code"]
            context.headers.update(last.get("headers", {}))
            if context.status_code == 200:
                self.scores.append((request.url.split("/scores")[0], request.json()))
            return json.dumps(last.get("json", {}))

        self.mock.post(SCORES, text=respond)

    def _token(self, request, context):
        return {"access_token": uuid.uuid4().hex, "token_type": "Bearer", "expires_in": 3600}

    def _container(self, request) -> str:
        return request.url.split("?")[0]

    def _list(self, request, context):
        query = parse_qs(urlsplit(request.url).query)
        wanted = {"resourceId": query.get("resource_id"), "tag": query.get("tag")}
        return [
            item
            for item in self.items.get(self._container(request), [])
            if all(value is None or item.get(key) == value[0] for key, value in wanted.items())
        ]

    def _create(self, request, context):
        container = self._container(request)
        item = {**request.json(), "id": f"{container}/{next(self.ids)}/lineitem?type_id=1"}
        self.items.setdefault(container, []).append(item)
        return item

    def calls(self, method: str, pattern: str) -> list:
        return [
            r for r in self.mock.request_history if r.method == method and re.search(pattern, r.url)
        ]


@pytest.fixture()
def gradebook(requests_mock) -> Gradebook:
    return Gradebook(requests_mock)


# --- sending ---------------------------------------------------------------------------------


def test_submit_sends_the_pending_grade_and_the_criteria_with_one_token(
    app, session, clock, gradebook
):
    platform = _platform(session)
    link = _link(session, platform)
    attempt = _submitted(session, link)
    rows = _rows(session, attempt)
    criteria = [r.line_item for r in rows if r.line_item.tag == LineItemTag.CRITERION]
    assert len(criteria) >= 2
    # The platform already has the first criterion's column: found by resourceId, not made.
    existing = criteria[0]
    gradebook.items[link.ags_lineitems.split("?")[0]] = [
        {
            "id": f"{ISSUER}/existing/lineitem",
            "label": existing.label,
            "scoreMaximum": 1,
            "resourceId": existing.resource_id,
            "tag": "criterion",
            "resourceLinkId": link.resource_link_id,
        }
    ]

    assert _worker(app, clock).run(once=True) == len(rows)

    rows = _rows(session, attempt)
    assert {r.status for r in rows} == {DeliveryStatus.SENT}
    assert all(r.tries == 1 and r.sent_at is not None for r in rows)
    sent = dict(gradebook.scores)
    grade = sent[link.ags_lineitem.split("?")[0]]
    assert (grade["activityProgress"], grade["gradingProgress"]) == ("Submitted", "PendingManual")
    assert grade["userId"] == attempt.lti_sub and grade["scoreMaximum"] == 100
    assert "Awaiting an assessor" in grade["comment"]
    assert sent[f"{ISSUER}/existing/lineitem"]["scoreGiven"] in (0.0, 1.0)
    for score in sent.values():
        assert CANVAS_SUBMISSION not in score
    # Every other criterion column was made once, on this link, with its resourceId and tag.
    made = [r.json() for r in gradebook.calls("POST", r"/lineitems\?")]
    assert sorted(m["resourceId"] for m in made) == sorted(c.resource_id for c in criteria[1:])
    for body in made:
        assert body["tag"] == "criterion" and body["resourceLinkId"] == link.resource_link_id
        assert body["submissionReview"]["reviewableStatus"] == ["Submitted", "Completed"]
    stored = session.scalars(
        select(LtiLineItem.url).where(LtiLineItem.id.in_([c.id for c in criteria]))
    ).all()
    assert None not in stored
    # One token for every call.
    assert len(gradebook.calls("POST", "token.php")) == 1

    # The next learner's scores go to the stored URLs: a column is looked up and made once.
    _submitted(session, link)
    _worker(app, clock).run(once=True)
    looked_up = [parse_qs(urlsplit(r.url).query)["resource_id"][0] for r in _lookups(gradebook)]
    assert len(looked_up) == len(set(looked_up))
    made = [r.json()["resourceId"] for r in gradebook.calls("POST", r"/lineitems\?")]
    assert len(made) == len(set(made))
    assert len(gradebook.calls("POST", "token.php")) == 1


def _lookups(gradebook) -> list:
    return gradebook.calls("GET", r"/lineitems\?")


def test_marking_sends_fully_graded_and_never_the_superseded_state(app, session, clock, gradebook):
    link = _link(session, _platform(session))
    # Marked before the worker ran: the submit-time state is replaced, never sent.
    early = _submitted(session, link)
    _mark_all(session, early)
    # Marked after the worker sent the submit-time state: both arrive, in order.
    late = _submitted(session, link)
    _worker(app, clock).run(once=True)
    _mark_all(session, late)
    _worker(app, clock).run(once=True)

    for attempt in (early, late):
        assert attempt.status == AttemptStatus.FULLY_GRADED
        rows = _rows(session, attempt)
        received = {(url, s["userId"], s["timestamp"]) for url, s in gradebook.scores}
        for row in rows:
            key = (row.line_item.url.split("?")[0], row.user_sub, _iso(row.timestamp))
            assert (key in received) == (row.status == DeliveryStatus.SENT), row.status
        assert DeliveryStatus.SUPERSEDED in {r.status for r in _rows(session, early)}
    grades = [s for url, s in gradebook.scores if url == link.ags_lineitem.split("?")[0]]
    early_grades = [s for s in grades if s["userId"] == early.lti_sub]
    assert [s["gradingProgress"] for s in early_grades] == ["FullyGraded"]
    late_grades = [s for s in grades if s["userId"] == late.lti_sub]
    assert [s["gradingProgress"] for s in late_grades] == ["PendingManual", "FullyGraded"]
    assert "Awaiting an assessor" not in late_grades[-1]["comment"]
    # As received, each learner's timestamps on each line item strictly increase.
    seen: dict[tuple[str, str], str] = {}
    for url, score in gradebook.scores:
        key = (url, score["userId"])
        assert key not in seen or score["timestamp"] > seen[key]
        seen[key] = score["timestamp"]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _grade_row(session, attempt) -> ScoreDelivery:
    return next(r for r in _rows(session, attempt) if r.line_item.tag == LineItemTag.ASSESSMENT)


def test_a_stale_timestamp_counts_as_sent_and_is_not_retried(app, session, clock, gradebook):
    moodle = _link(session, _platform(session))
    gradebook.answer_scores(
        [{"status_code": 409, "json": {"error": "Refusing score with an earlier timestamp"}}]
    )
    attempt = _submitted(session, moodle)
    _worker(app, clock).run(once=True)
    row = _grade_row(session, attempt)
    assert row.status == DeliveryStatus.SENT and row.tries == 1
    assert "newer score" in row.last_error and "HTTP 409" in row.last_error

    canvas = _link(session, _platform(session), product="canvas")
    stale = "Provided timestamp of 2026-11-28 before last updated timestamp of 2026-11-29"
    gradebook.answer_scores([{"status_code": 400, "json": {"errors": [{"message": stale}]}}])
    attempt = _submitted(session, canvas)
    _worker(app, clock).run(once=True)
    rows = _rows(session, attempt)
    # Canvas shows criteria as the comment unless the deployment chose assignments.
    assert [r.line_item.tag for r in rows] == [LineItemTag.ASSESSMENT]
    assert rows[0].status == DeliveryStatus.SENT and "HTTP 400" in rows[0].last_error
    body = gradebook.calls("POST", SCORES.pattern)[-1].json()
    assert body[CANVAS_SUBMISSION] == {"new_submission": True}


def test_canvas_criterion_columns_are_separate_assignments(app, session, clock, gradebook):
    platform = _platform(session)
    platform.deployments[0].canvas_criteria = CanvasCriteria.ASSIGNMENTS
    session.commit()
    link = _link(session, platform, product="canvas")
    _submitted(session, link)
    _worker(app, clock).run(once=True)
    made = [r.json() for r in gradebook.calls("POST", r"/lineitems\?")]
    assert made and all("resourceLinkId" not in body for body in made)
    assert all(body["tag"] == "criterion" for body in made)
    looked_up = gradebook.calls("GET", r"/lineitems\?")
    assert all("resource_link_id" not in r.url for r in looked_up)


def test_429_waits_as_long_as_the_platform_asks(app, session, clock, gradebook):
    link = _link(session, _platform(session))
    gradebook.answer_scores(
        [{"status_code": 429, "headers": {"Retry-After": "30"}}, {"status_code": 200}]
    )
    attempt = _submitted(session, link)
    worker = _worker(app, clock, batch=1)
    clock.freeze()
    before = clock.now
    worker.run(once=True)
    row = _grade_row(session, attempt)
    assert row.status == DeliveryStatus.PENDING and row.tries == 1
    assert "HTTP 429" in row.last_error
    # Longer than the backoff (capped at 2 s here): the platform's 30 s.
    assert row.next_try_at >= before + timedelta(seconds=30)
    # Not before then (a margin for a slow machine's real seconds), and then it goes.
    clock.advance((row.next_try_at - clock.now).total_seconds() - 5)
    worker.run(once=True)
    assert _grade_row(session, attempt).status == DeliveryStatus.PENDING
    clock.advance(5.01)
    worker.run(once=True)
    row = _grade_row(session, attempt)
    assert row.status == DeliveryStatus.SENT and row.tries == 2


def test_timeouts_errors_and_dropped_connections_are_retried_then_delivered(
    app, session, clock, gradebook
):
    link = _link(session, _platform(session))
    gradebook.answer_scores(
        [
            {"exc": requests.exceptions.ReadTimeout},
            {"status_code": 500, "json": {"error": "database"}},
            {"exc": requests.exceptions.ConnectionError("connection reset")},
            {"status_code": 200},
        ]
    )
    attempt = _submitted(session, link)
    # One row at a time, so the scripted answers go to the grade's row.
    session.execute(
        update(ScoreDelivery)
        .where(ScoreDelivery.id != _grade_row(session, attempt).id)
        .where(ScoreDelivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SUPERSEDED)
    )
    session.commit()
    worker = _worker(app, clock)
    clock.freeze()  # a retry made due by the clock alone would be sent within the same run
    for expected in ("ReadTimeout", "HTTP 500", "ConnectionError"):
        before = clock.now
        worker.run(once=True)
        after = clock.now
        row = _grade_row(session, attempt)
        assert row.status == DeliveryStatus.PENDING and expected in row.last_error
        # Backed off, by no more than the cap (2 s here).
        assert before <= row.next_try_at <= after + timedelta(seconds=2)
        clock.advance(2.01)  # past the cap
    worker.run(once=True)
    row = _grade_row(session, attempt)
    assert row.status == DeliveryStatus.SENT and row.tries == 4


def test_retries_end_in_failed_after_the_give_up_time(app, session, clock, gradebook):
    """Retrying ends a time after the first failure (ten seconds here, 72 hours by default),
    not after a count; a person's retry starts the time afresh."""
    link = _link(session, _platform(session))
    gradebook.answer_scores([{"status_code": 503}])
    attempt = _submitted(session, link)
    worker = _worker(app, clock)
    clock.freeze()
    first = clock.now
    worker.run(once=True)
    row = _grade_row(session, attempt)
    assert row.status == DeliveryStatus.PENDING and row.failing_since == first
    for _ in range(4):  # failures at 2, 4, 6, 8 s: still inside the ten seconds
        clock.advance(2.01)
        worker.run(once=True)
        row = _grade_row(session, attempt)
        assert row.status == DeliveryStatus.PENDING and row.failing_since == first
    clock.advance(2.01)  # 10.05 s after the first failure
    worker.run(once=True)
    row = _grade_row(session, attempt)
    assert row.status == DeliveryStatus.FAILED and row.tries == 6
    assert "gave up after 6 tries over 0.0 h" in row.last_error and "HTTP 503" in row.last_error

    passback_admin.retry(session, [row.id], clock.now)
    session.commit()
    session.refresh(row)
    assert row.status == DeliveryStatus.PENDING and row.tries == 0 and row.failing_since is None
    gradebook.answer_scores([{"status_code": 503}, {"status_code": 200}])
    worker.run(once=True)
    session.refresh(row)
    assert row.status == DeliveryStatus.PENDING and row.failing_since == clock.now
    clock.advance(2.01)
    worker.run(once=True)
    session.refresh(row)
    assert row.status == DeliveryStatus.SENT and row.failing_since is None


@pytest.mark.parametrize("status", [400, 403, 404])
def test_a_refusal_fails_at_once_with_the_answer(app, session, clock, gradebook, status):
    link = _link(session, _platform(session))
    gradebook.answer_scores([{"status_code": status, "json": {"error": f"no-{status}"}}])
    attempt = _submitted(session, link)
    _worker(app, clock).run(once=True)
    row = _grade_row(session, attempt)
    assert row.status == DeliveryStatus.FAILED and row.tries == 1
    assert f"HTTP {status}" in row.last_error and f"no-{status}" in row.last_error
    clock.advance(3600)
    _worker(app, clock).run(once=True)
    assert _grade_row(session, attempt).tries == 1  # never retried by itself


def test_a_line_item_that_cannot_be_made_fails_its_scores(app, session, clock, gradebook):
    link = _link(session, _platform(session))
    gradebook.mock.post(re.compile(r"/lineitems\?"), status_code=403, text="not allowed")
    attempt = _submitted(session, link)
    _worker(app, clock).run(once=True)
    rows = _rows(session, attempt)
    criteria = [r for r in rows if r.line_item.tag == LineItemTag.CRITERION]
    assert {r.status for r in criteria} == {DeliveryStatus.FAILED}
    assert all(r.last_error.startswith("line item: Refused: HTTP 403") for r in criteria)
    assert _grade_row(session, attempt).status == DeliveryStatus.SENT


def test_a_worker_killed_mid_send_is_taken_over_when_its_lease_ends(app, session, clock, gradebook):
    link = _link(session, _platform(session))
    attempt = _submitted(session, link)
    engine = app.extensions["db_engine"]
    # A worker claims the rows and dies before recording anything.
    dead = passback_outbox.claim(engine, clock.now, 100, timedelta(seconds=120))
    assert dead and {r.status for r in _rows(session, attempt)} == {DeliveryStatus.SENDING}
    worker = _worker(app, clock)
    assert worker.run(once=True) == 0  # the lease still holds
    clock.advance(121)
    assert worker.run(once=True) == len(dead)
    rows = _rows(session, attempt)
    assert {r.status for r in rows} == {DeliveryStatus.SENT} and {r.tries for r in rows} == {2}
    # The dead worker's late answer is not recorded over the new one.
    assert not passback_outbox.mark_failed(engine, dead[0], "late")


# --- admin: list and retry -------------------------------------------------------------------


def test_failed_scores_are_listed_and_retried_by_cli_and_api(app, session, clock, gradebook):
    link = _link(session, _platform(session))
    gradebook.answer_scores([{"status_code": 404, "json": {"error": "unknown user"}}])
    first, second = _submitted(session, link), _submitted(session, link)
    _worker(app, clock).run(once=True)
    failed = [_grade_row(session, first).id, _grade_row(session, second).id]

    runner = app.test_cli_runner()
    listed = runner.invoke(args=["grades", "list", "--status", "failed"])
    assert listed.exit_code == 0, listed.output
    assert all(str(row_id) in listed.output for row_id in failed)
    assert "unknown user" in listed.output

    client = app.test_client()
    admin = bearer(app, ["admin"])
    url = "/api/v1/admin/grade-sync"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=bearer(app, ["content:read"])).status_code == 403
    # One page holds them all (each attempt also failed its criterion columns).
    query = {"status": "failed", "page_size": 100}
    response = client.get(url, query_string=query, headers=admin)
    assert response.status_code == 200
    entries = {e["id"]: e for e in response.get_json()}
    assert set(failed) <= set(entries)
    assert entries[failed[0]]["tries"] == 1 and "HTTP 404" in entries[failed[0]]["last_error"]
    assert entries[failed[0]]["user_id"] == first.lti_sub
    assert json.loads(response.headers["X-Pagination"])["total"] >= len(failed)
    paged = client.get(url, query_string={"page_size": 1}, headers=admin)
    assert len(paged.get_json()) == 1

    gradebook.answer_scores([{"status_code": 200}])
    # The CLI retries one; the API the other (and every failed one).
    retried = runner.invoke(args=["grades", "retry", str(failed[0])])
    assert "1 score(s) queued" in retried.output, retried.output
    row = session.get(ScoreDelivery, failed[0])
    session.refresh(row)
    assert (row.status, row.tries) == (DeliveryStatus.PENDING, 0)
    response = client.post(f"{url}/retry", json={"failed": True}, headers=admin)
    assert response.status_code == 200 and failed[1] in response.get_json()["retried"]
    _worker(app, clock).run(once=True)
    for row_id in failed:
        row = session.get(ScoreDelivery, row_id)
        session.refresh(row)
        assert (row.status, row.tries) == (DeliveryStatus.SENT, 1)
    assert client.post(f"{url}/retry", json={}, headers=admin).status_code == 422


def test_a_superseded_or_sent_score_is_never_revived(app, session, clock, gradebook):
    link = _link(session, _platform(session))
    attempt = _submitted(session, link)
    old = _grade_row(session, attempt).id
    _mark_all(session, attempt)
    result = app.test_cli_runner().invoke(args=["grades", "retry", str(old), "999999999"])
    assert f"{old}: not retried: it is superseded" in result.output
    assert "999999999: not retried: no such score" in result.output
    assert "0 score(s) queued" in result.output
    _worker(app, clock).run(once=True)
    sent = _grade_row(session, attempt)
    response = app.test_client().post(
        "/api/v1/admin/grade-sync/retry", json={"ids": [sent.id]}, headers=bearer(app, ["admin"])
    )
    body = response.get_json()
    assert body["retried"] == [] and body["skipped"][0]["id"] == sent.id


# --- two workers, a real platform ------------------------------------------------------------


class FakePlatform(BaseHTTPRequestHandler):
    """Tokens, line items and scores on 127.0.0.1; remembers every score it accepted."""

    scores: list[tuple[str, dict]] = []
    items: list[dict] = []
    lock = threading.Lock()
    # How long a score takes, and how many were being answered at once (at most).
    score_delay = 0.0
    in_flight = 0
    most_in_flight = 0

    def log_message(self, *args) -> None:
        pass

    def _answer(self, status: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        with self.lock:
            found = [i for i in self.items if i["resourceId"] == query["resource_id"][0]]
        self._answer(200, found)

    def do_POST(self) -> None:
        body = self._body()
        path = urlsplit(self.path).path
        if path == "/token":
            self._answer(200, {"access_token": "t", "token_type": "Bearer", "expires_in": 600})
        elif path.endswith("/scores"):
            self._slow_score()
            with self.lock:
                self.scores.append((path.removesuffix("/scores"), json.loads(body)))
            self._answer(200, {})
        else:
            with self.lock:
                item = {**json.loads(body), "id": f"{self._base()}/items/{len(self.items)}"}
                self.items.append(item)
            self._answer(201, item)

    def _slow_score(self) -> None:
        cls = type(self)
        with self.lock:
            cls.in_flight += 1
            cls.most_in_flight = max(cls.most_in_flight, cls.in_flight)
        threading.Event().wait(cls.score_delay)
        with self.lock:
            cls.in_flight -= 1

    def _base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture()
def platform_server():
    FakePlatform.scores, FakePlatform.items = [], []
    FakePlatform.score_delay, FakePlatform.in_flight, FakePlatform.most_in_flight = 0.0, 0, 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakePlatform)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _worker_process(database_url: str) -> subprocess.Popen:
    """`assessment worker` as its own process, on this checkout's code."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LTI_SERVICES_ON_LOOPBACK": "1",
        "LTI_PASSBACK_PER_PLATFORM": "2",
    }
    command = [sys.executable, "-c", "from service.cli import main; main()", "worker"]
    return subprocess.Popen(
        [*command, "--batch", "3", "--poll", "0.05"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _started(process: subprocess.Popen) -> str:
    """Wait for the worker to say it runs (a SIGTERM before would kill it mid-import); what
    it printed so far."""
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("worker started"):
            break
    return "".join(lines)


class RivalClaims(threading.Thread):
    """On SQLite, where one worker runs: a second claimer racing it, which gives back at once
    whatever it gets. Each give-back must find the row still its own (never also the
    worker's), and the worker sends the row later."""

    def __init__(self, engine) -> None:
        super().__init__(daemon=True)
        self.engine = engine
        self.stopping = threading.Event()
        self.taken = 0
        self.lost: list[int] = []

    def run(self) -> None:
        while not self.stopping.is_set():
            now = datetime.now(UTC)
            for claimed in passback_outbox.claim(self.engine, now, 2, timedelta(seconds=30)):
                self.taken += 1
                if not passback_outbox.release(self.engine, claimed):
                    self.lost.append(claimed.id)
            self.stopping.wait(0.01)


def test_concurrent_workers_deliver_each_newest_state_exactly_once(app, session, platform_server):
    platform = _platform(session, issuer=platform_server, token_url=f"{platform_server}/token")
    link = _link(session, platform, base=platform_server)
    # SQLite has one writer: one worker there, raced by a second claimer in this process.
    count = 2 if on_postgres() else 1
    processes = [_worker_process(app.config["DATABASE_URL"]) for _ in range(count)]
    learners = [_submitted(session, link) for _ in range(4)]
    early = [_started(process) for process in processes]
    rival = None if on_postgres() else RivalClaims(app.extensions["db_engine"])
    if rival:
        rival.start()
    try:
        # Marks land while the workers send: some submit-time states are superseded unsent.
        for attempt in learners:
            _mark_all(session, attempt)
        _wait_until_drained(session)
    finally:
        if rival:
            rival.stopping.set()
            rival.join(timeout=10)
        for process in processes:
            process.send_signal(signal.SIGTERM)
        outputs = [
            head + process.communicate(timeout=30)[0]
            for head, process in zip(early, processes, strict=True)
        ]

    # SIGTERM: each worker finished what it had and exited cleanly.
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
        assert "worker stopped" in output
    if rival:
        assert rival.lost == []
    received = [(path, s["userId"], s["timestamp"]) for path, s in FakePlatform.scores]
    assert len(received) == len(set(received)), "a score arrived twice"
    received_set = set(received)
    for attempt in learners:
        rows = _rows(session, attempt)
        newest = {}
        for row in rows:
            newest[row.line_item_id] = row
            key = (urlsplit(row.line_item.url).path, row.user_sub, _iso(row.timestamp))
            assert (key in received_set) == (row.status == DeliveryStatus.SENT)
        assert {r.status for r in newest.values()} == {DeliveryStatus.SENT}
    # One column per criterion: never made twice.
    resource_ids = [i["resourceId"] for i in FakePlatform.items]
    assert len(resource_ids) == len(set(resource_ids))


def _wait_until_drained(session, seconds: float = 30) -> None:
    deadline = datetime.now(UTC) + timedelta(seconds=seconds)
    while datetime.now(UTC) < deadline:
        session.expire_all()
        left = session.scalar(
            select(ScoreDelivery.id).where(
                ScoreDelivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING])
            )
        )
        session.rollback()
        if left is None:
            return
        threading.Event().wait(0.05)
    raise AssertionError("the workers did not drain the queue")


# --- claims ----------------------------------------------------------------------------------


def test_claims_are_serial_per_learner_and_line_item(app, session, clock, gradebook):
    link = _link(session, _platform(session))
    attempt = _submitted(session, link)
    engine = app.extensions["db_engine"]
    grade = _grade_row(session, attempt)
    # One worker is sending the grade's submit-time state when the marking queues the next.
    first = passback_outbox.claim(engine, clock.now, 1, timedelta(seconds=60))
    assert [c.id for c in first] == [grade.id]
    _mark_all(session, attempt)
    newer = _grade_row_newest(session, attempt)
    assert newer.id != grade.id and newer.status == DeliveryStatus.PENDING
    # Another worker's claim leaves the newer state until the first send is recorded.
    taken = passback_outbox.claim(engine, clock.now, 100, timedelta(seconds=60))
    assert newer.id not in {c.id for c in taken}
    passback_outbox.mark_sent(engine, first[0], clock.now)
    for claimed in taken:
        passback_outbox.release(engine, claimed)
    again = passback_outbox.claim(engine, clock.now, 100, timedelta(seconds=60))
    assert newer.id in {c.id for c in again}


def test_an_unresolved_line_item_is_resolved_by_one_claim_at_a_time(app, session, clock):
    link = _link(session, _platform(session))
    first, second = _submitted(session, link), _submitted(session, link)
    engine = app.extensions["db_engine"]
    unresolved = {
        r.line_item_id
        for attempt in (first, second)
        for r in _rows(session, attempt)
        if r.line_item.url is None
    }
    assert unresolved
    # Two workers claim in turn: neither holds two rows of a line item whose URL is unknown,
    # and the second holds none of those the first is resolving.
    one = passback_outbox.claim(engine, clock.now, 100, timedelta(seconds=60))
    two = passback_outbox.claim(engine, clock.now, 100, timedelta(seconds=60))
    for claims in (one, two):
        items = [c.line_item_id for c in claims if c.line_item_id in unresolved]
        assert len(items) == len(set(items))
    resolving = {c.line_item_id for c in one} & unresolved
    assert resolving and not resolving & {c.line_item_id for c in two}


def test_backoff_is_jittered_capped_and_never_shorter_than_retry_after():
    backoff = passback_outbox.Backoff(base_seconds=10, cap_seconds=60)
    for tries in range(1, 12):
        delay = backoff.delay(tries, None).total_seconds()
        assert 0 <= delay <= min(60, 10 * 2 ** (tries - 1))
    assert backoff.delay(1, 300).total_seconds() == 300


def _grade_row_newest(session, attempt) -> ScoreDelivery:
    rows = [r for r in _rows(session, attempt) if r.line_item.tag == LineItemTag.ASSESSMENT]
    return rows[-1]


def test_at_most_per_platform_requests_are_in_flight(app, session, clock, platform_server):
    # A real server: requests-mock answers one request at a time.
    platform = _platform(session, issuer=platform_server, token_url=f"{platform_server}/token")
    link = _link(session, platform, base=platform_server)
    for _ in range(3):
        _submitted(session, link)
    # Each score takes a moment on the platform, so the worker's threads overlap.
    FakePlatform.score_delay = 0.05
    _worker(app, clock, per_platform=2, threads=8).run(once=True)
    assert FakePlatform.most_in_flight == 2


def test_a_token_the_platform_keeps_refusing_fails_the_score(app, session, clock, gradebook):
    link = _link(session, _platform(session))
    gradebook.answer_scores([{"status_code": 401, "json": {"error": "invalid token"}}])
    attempt = _submitted(session, link)
    _worker(app, clock, batch=1).run(once=True)
    row = _grade_row(session, attempt)
    assert row.status == DeliveryStatus.FAILED and row.tries == 1
    assert row.last_error.startswith("score: TokenRejected: HTTP 401")
    # The refused token was replaced once before giving up.
    assert len(gradebook.calls("POST", "token.php")) >= 2


def test_the_worker_logs_row_ids_and_outcomes_never_learners(
    app, session, clock, gradebook, caplog
):
    link = _link(session, _platform(session))
    gradebook.answer_scores([{"status_code": 400, "json": {"error": "bad"}}])
    attempt = _submitted(session, link)
    with caplog.at_level("DEBUG"):
        _worker(app, clock).run(once=True)
    logged = caplog.text
    assert f"score {_grade_row(session, attempt).id} try 1: Refused" in logged
    assert attempt.lti_sub not in logged
    assert "Bearer" not in logged and "access_token" not in logged


def test_a_platform_is_failing_until_most_of_its_recent_answers_came():
    answers = PlatformAnswers()
    assert answers.failing()  # nothing known: a first failure is not presumed luck
    for _ in range(10):
        answers.note(True)
    answers.note(False)
    assert not answers.failing()
    for _ in range(10):
        answers.note(False)
    assert answers.failing()  # 11 of the last 20 unanswered


def test_retries_grow_only_while_the_platform_is_failing(app, session, clock):
    """A row's fifth failure on a platform that answers most requests waits the base delay
    (0.5 s here); on a failing platform it waits up to the cap (2 s here)."""
    link = _link(session, _platform(session))
    attempt = _submitted(session, link)
    row = _grade_row(session, attempt)
    session.execute(
        update(ScoreDelivery)
        .where(ScoreDelivery.status == DeliveryStatus.PENDING, ScoreDelivery.id != row.id)
        .values(status=DeliveryStatus.SUPERSEDED)
    )
    session.execute(update(ScoreDelivery).where(ScoreDelivery.id == row.id).values(tries=4))
    session.commit()
    engine = app.extensions["db_engine"]
    backoff = WorkerSettings.from_config(app.config).backoff
    delays = {}
    for failing in (False, True):
        longest = timedelta()
        for _ in range(40):
            now = datetime.now(UTC)
            (claimed,) = passback_outbox.claim(engine, now, 1, timedelta(seconds=60))
            assert claimed.tries == 5
            passback_outbox.mark_retry(engine, claimed, now, backoff, "HTTP 500", None, failing)
            session.expire_all()
            due = _grade_row(session, attempt).next_try_at
            longest = max(longest, due - now)
            session.execute(
                update(ScoreDelivery)
                .where(ScoreDelivery.id == row.id)
                .values(tries=4, next_try_at=now)
            )
            session.commit()
        delays[failing] = longest.total_seconds()
    assert delays[False] <= 0.5
    assert 0.5 < delays[True] <= 2.0

"""Centres' webhooks: registration and tenancy through HTTP, events written with the change
they tell of (never an HTTP call in the request), signed delivery by the worker to a real
HTTP server on 127.0.0.1 (threads), retries after a 500, a receiver that is down (the event is
kept, given up after the window, retried by hand), and two workers never sending one event
twice. The module has a database of its own; a fake clock moves the worker past retry delays.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, update

from lti.gradebook_vocabulary import DeliveryStatus
from lti.passback_outbox import Backoff
from lti.passback_worker import WorkerSettings
from service import db, webhooks
from service.models import WebhookDelivery, utcnow
from service.webhook_worker import WebhookWorker
from tests.conftest import bearer, loaded_database, make_app
from tests.test_attempts_api import _keyed_response

URL = "/api/v1/webhooks"
CENTRE, OTHER = "C-WH-1", "C-WH-2"
_learners = itertools.count(1)


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with loaded_database(tmp_path_factory.mktemp("webhooks")) as url:
        application = make_app(url, WEBHOOKS_ON_LOOPBACK=True, loaded=True)
        yield application
        application.extensions["db_engine"].dispose()


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def tokens(app):
    work = ["attempts:write", "attempts:read", "results:read", "evidence:write", "webhooks:write"]
    return {
        "centre": bearer(app, work, centre_code=CENTRE),
        "other_centre": bearer(app, work, centre_code=OTHER),
        "no_webhooks": bearer(app, ["attempts:write", "attempts:read"], centre_code=CENTRE),
        "admin": bearer(app, ["webhooks:write", "admin"]),
        "body_no_admin": bearer(app, ["webhooks:write"]),
        "eqa": bearer(app, ["results:read"], eqa_of=(CENTRE,)),
        "content": bearer(app, ["content:read"]),
    }


@pytest.fixture(autouse=True)
def empty_queue(app):
    """Each test starts with no webhook and nothing due."""
    with app.app_context():
        session = db.session()
        session.execute(update(WebhookDelivery).values(status=DeliveryStatus.SENT))
        from service.models import WebhookEndpoint

        session.execute(update(WebhookEndpoint).values(active=False))
        session.commit()


class Receiver:
    """A receiver on 127.0.0.1: answers each POST with the next scripted status (then 200),
    and keeps what it got (headers and raw body)."""

    def __init__(self, script=(), delay: float = 0.0) -> None:
        self.script = list(script)
        self.got: list[tuple[dict, bytes]] = []
        self.lock = threading.Lock()
        self.open = self.most_open = 0  # requests being answered now, and the most at once
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.open += 1
                    receiver.most_open = max(receiver.most_open, receiver.open)
                time.sleep(delay)
                with receiver.lock:
                    receiver.open -= 1
                    receiver.got.append((dict(self.headers), body))
                    status = receiver.script.pop(0) if receiver.script else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[dict]:
        return [json.loads(body) for _headers, body in self.got]


@pytest.fixture()
def receiver():
    made = []

    def make(*args, **kwargs) -> Receiver:
        made.append(Receiver(*args, **kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _worker(app, clock=None, **settings) -> WebhookWorker:
    values = {"threads": 4, "batch": 10, "backoff": Backoff(0.5, 2.0, 1.0)} | settings
    return WebhookWorker(
        app.extensions["db_engine"],
        WorkerSettings(**values),
        app.config["SECRET_KEY"],
        loopback=True,
        clock=clock or utcnow,
    )


def _register(client, tokens, url, who="centre", **body):
    response = client.post(URL, json={"url": url} | body, headers=tokens[who])
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _deliveries(client, tokens, hook, who="centre"):
    response = client.get(f"{URL}/{hook['id']}/deliveries", headers=tokens[who])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _submit(client, tokens, learner=None):
    """An attempt started and submitted with full marks: its extended responses await an
    assessor. Returns the attempt as started and its URL."""
    headers = tokens["centre"]
    learner = learner or f"wh-learner-{next(_learners)}"
    started = client.post(
        "/api/v1/assessments/CSC-01-A1/attempts", json={"learner_ref": learner}, headers=headers
    ).get_json()
    responses = {i["id"]: _keyed_response(client, tokens, i) for i in started["items"]}
    url = f"/api/v1/attempts/{started['id']}"
    submitted = client.post(f"{url}/submit", json={"responses": responses}, headers=headers)
    assert submitted.status_code == 200, submitted.get_json()
    return started, url


def _mark(client, tokens, started, url, level="met"):
    for item in started["items"]:
        if item["type"] == "extended_response":
            levels = {c: level for c in item["criteria"]}
            marked = client.post(
                f"{url}/marks",
                json={"item": item["id"], "levels": levels},
                headers=tokens["centre"],
            )
            assert marked.status_code == 200, marked.get_json()


# --- registration and tenancy ----------------------------------------------------------------


def test_a_centre_registers_lists_rotates_and_removes_its_webhooks(client, tokens):
    hook = _register(client, tokens, "https://mis.example-college.ac.uk/hooks", description="MIS")
    assert hook["centre"] == CENTRE and hook["active"] is True
    assert hook["secret"].startswith("whsec_")
    listed = client.get(URL, headers=tokens["centre"]).get_json()
    assert [h["id"] for h in listed if h["id"] == hook["id"]] == [hook["id"]]
    assert all("secret" not in h for h in listed)
    shown = client.get(f"{URL}/{hook['id']}", headers=tokens["centre"]).get_json()
    assert "secret" not in shown and shown["description"] == "MIS"

    rotated = client.patch(
        f"{URL}/{hook['id']}", json={"rotate_secret": True}, headers=tokens["centre"]
    ).get_json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != hook["secret"]
    paused = client.patch(f"{URL}/{hook['id']}", json={"active": False}, headers=tokens["centre"])
    assert paused.get_json()["active"] is False and "secret" not in paused.get_json()

    assert client.delete(f"{URL}/{hook['id']}", headers=tokens["centre"]).status_code == 204
    assert client.get(f"{URL}/{hook['id']}", headers=tokens["centre"]).status_code == 404


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://mis.example-college.ac.uk/hooks", "https"),
        ("https://10.0.0.7/hooks", "private"),
        ("https://169.254.169.254/latest", "metadata"),
        ("https://user:pw@mis.example-college.ac.uk/", "password"),
        ("not a url", "https"),
    ],
)
def test_a_url_the_policy_refuses_is_422_and_nothing_is_registered(client, tokens, url, words):
    before = len(client.get(URL, headers=tokens["centre"]).get_json())
    response = client.post(URL, json={"url": url}, headers=tokens["centre"])
    assert response.status_code == 422
    assert words in " ".join(response.get_json()["details"]["url"]).lower()
    assert len(client.get(URL, headers=tokens["centre"]).get_json()) == before


def test_another_centres_webhook_is_404_and_scopes_are_enforced(client, tokens):
    hook = _register(client, tokens, "https://mis.example-college.ac.uk/a")
    other = tokens["other_centre"]
    for method, path, body in [
        ("get", f"{URL}/{hook['id']}", None),
        ("patch", f"{URL}/{hook['id']}", {"rotate_secret": True}),
        ("delete", f"{URL}/{hook['id']}", None),
        ("get", f"{URL}/{hook['id']}/deliveries", None),
        ("post", f"{URL}/{hook['id']}/deliveries/{hook['id']}/retry", None),
    ]:
        assert getattr(client, method)(path, json=body, headers=other).status_code == 404, path
    assert hook["id"] not in [h["id"] for h in client.get(URL, headers=other).get_json()]
    # The centre's webhook is unchanged by the other centre's tries.
    assert client.get(f"{URL}/{hook['id']}", headers=tokens["centre"]).status_code == 200
    # A centre's client cannot register for another centre.
    elsewhere = client.post(
        URL, json={"url": "https://x.example.ac.uk/", "centre": CENTRE}, headers=other
    )
    assert elsewhere.status_code == 422

    assert client.get(URL).status_code == 401
    assert client.get(URL, headers=tokens["no_webhooks"]).status_code == 403
    assert client.get(URL, headers=tokens["eqa"]).status_code == 403
    assert client.get(URL, headers=tokens["body_no_admin"]).status_code == 403

    # The awarding body's admin manages any centre's, naming the centre.
    assert client.get(f"{URL}/{hook['id']}", headers=tokens["admin"]).status_code == 200
    no_centre = client.post(URL, json={"url": "https://x.example.ac.uk/"}, headers=tokens["admin"])
    assert no_centre.status_code == 422
    made = _register(client, tokens, "https://x.example.ac.uk/", who="admin", centre=OTHER)
    assert made["centre"] == OTHER
    assert client.get(f"{URL}/{made['id']}", headers=other).status_code == 200
    assert client.get(f"{URL}/{made['id']}", headers=tokens["centre"]).status_code == 404


# --- signing ---------------------------------------------------------------------------------


def test_a_receiver_verifies_the_signature_and_refuses_tampering_and_replays():
    secret, body = webhooks.new_secret(), b'{"id":"x"}'
    now = datetime.now(UTC)
    header = webhooks.signature(secret, int(now.timestamp()), body)
    assert webhooks.verify(secret, header, body, now)
    assert not webhooks.verify(secret, header, b'{"id":"y"}', now)
    assert not webhooks.verify(webhooks.new_secret(), header, body, now)
    assert not webhooks.verify(secret, header, body, now + timedelta(minutes=6))
    assert not webhooks.verify(secret, "t=x,v1=00", body, now)


# --- events and delivery ---------------------------------------------------------------------


def test_grading_and_marking_are_delivered_signed_without_names(app, client, tokens, receiver):
    live = receiver()
    hook = _register(client, tokens, live.url)
    started, url = _submit(client, tokens)
    # Written with the submit, not sent by it.
    assert live.got == []
    _mark(client, tokens, started, url, "met")
    _mark(client, tokens, started, url, "not_yet_met")  # an assessor changes their mind
    assert _worker(app).run(once=True) >= 3
    got = live.events()
    kinds = [(e["type"], e["data"].get("attempt", {}).get("status")) for e in got]
    assert ("attempt.graded", "pending_manual") in kinds
    assert ("attempt.graded", "fully_graded") in kinds
    changed = [e for e in got if e["type"] == "criterion.decision_changed"]
    assert changed and {e["data"]["source"] for e in changed} == {"attempt"}
    # Sent in no guaranteed order: the assessor's change of mind is one of them.
    moves = [{(c["previous"], c["decision"]) for c in e["data"]["changes"]} for e in changed]
    assert {("met", "not_yet_met")} in moves
    for headers, body in live.got:
        assert webhooks.verify(
            hook["secret"], headers["Webhook-Signature"], body, datetime.now(UTC)
        )
        assert headers["Webhook-Id"] == json.loads(body)["id"]
        assert b"name" not in body
    first = next(e for e in got if e["data"].get("attempt", {}).get("status") == "pending_manual")
    assert first["data"]["attempt"]["id"] == started["id"]
    assert first["data"]["attempt"]["assessment"] == "CSC-01-A1"
    assert first["data"]["learner"]["id"]  # the learner's uuid
    assert {c["decision"] for c in first["data"]["criteria"]} >= {"met", "pending"}
    shown = _deliveries(client, tokens, hook)
    assert {d["status"] for d in shown} == {"sent"}
    assert {d["response_code"] for d in shown} == {200}


def test_performance_evidence_recorded_and_withdrawn_are_events(app, client, tokens, receiver):
    live = receiver()
    _register(client, tokens, live.url)
    body = {
        "learner_ref": f"wh-learner-{next(_learners)}",
        "criterion": "CSC-01.AC4",
        "evidence_type": "observation",
        "evidenced_on": datetime.now(UTC).date().isoformat(),
        "description": "Observed three live calls.",
        "decision": "met",
    }
    recorded = client.post("/api/v1/performance-evidence", json=body, headers=tokens["centre"])
    assert recorded.status_code == 201, recorded.get_json()
    record = recorded.get_json()
    withdrawn = client.post(
        f"/api/v1/performance-evidence/{record['id']}/withdraw",
        json={"reason": "Wrong learner"},
        headers=tokens["centre"],
    )
    assert withdrawn.status_code == 200
    _worker(app).run(once=True)
    sources = sorted((e["data"]["source"], e["data"]["changes"]) for e in live.events())
    assert sources == [
        ("performance_evidence.recorded", [{"criterion": "CSC-01.AC4", "decision": "met"}]),
        ("performance_evidence.withdrawn", [{"criterion": "CSC-01.AC4", "decision": None}]),
    ]
    assert all(e["data"]["performance_evidence"]["id"] == record["id"] for e in live.events())


def test_another_centres_events_are_not_sent_to_this_centre(app, client, tokens, receiver):
    live = receiver()
    _register(client, tokens, live.url, who="other_centre")
    _submit(client, tokens)  # the first centre's attempt
    assert _worker(app).run(once=True) == 0
    assert live.got == []


def test_a_500_is_retried_until_it_succeeds_with_the_same_id(app, client, tokens, receiver):
    live = receiver(script=[500, 503])
    hook = _register(client, tokens, live.url)
    _submit(client, tokens)
    clock = Clock()
    worker = _worker(app, clock)
    worker.run(once=True)
    (row,) = _deliveries(client, tokens, hook)
    assert row["status"] == "pending" and row["tries"] == 1 and row["response_code"] == 500
    assert "HTTP 500" in row["error"] and row["next_try_at"]
    clock.now += timedelta(seconds=5)
    worker.run(once=True)
    clock.now += timedelta(seconds=5)
    worker.run(once=True)
    (row,) = _deliveries(client, tokens, hook)
    assert row["status"] == "sent" and row["tries"] == 3 and row["response_code"] == 200
    ids = {headers["Webhook-Id"] for headers, _ in live.got}
    assert ids == {row["id"]} and len(live.got) == 3


def test_a_receiver_that_is_down_loses_nothing_and_a_failed_delivery_is_retried(
    app, client, tokens, receiver
):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    hook = _register(client, tokens, down)
    _submit(client, tokens)
    clock = Clock()
    worker = _worker(app, clock)
    worker.run(once=True)
    (row,) = _deliveries(client, tokens, hook)
    assert row["status"] == "pending" and row["response_code"] is None
    assert "ConnectionError" in row["error"]
    retry_url = f"{URL}/{hook['id']}/deliveries/{row['id']}/retry"
    assert client.post(retry_url, headers=tokens["centre"]).status_code == 409  # not failed yet

    clock.now += timedelta(hours=2)  # past the give-up window (an hour here)
    worker.run(once=True)
    (row,) = _deliveries(client, tokens, hook)
    assert row["status"] == "failed" and "gave up" in row["error"]

    live = receiver()
    changed = client.patch(f"{URL}/{hook['id']}", json={"url": live.url}, headers=tokens["centre"])
    assert changed.status_code == 200
    retried = client.post(retry_url, headers=tokens["centre"])
    assert retried.status_code == 200 and retried.get_json()["status"] == "pending"
    worker.run(once=True)
    (row,) = _deliveries(client, tokens, hook)
    assert row["status"] == "sent"
    assert [h["Webhook-Id"] for h, _ in live.got] == [row["id"]]
    assert client.post(retry_url, headers=tokens["centre"]).status_code == 409


def test_a_refusal_fails_at_once_and_a_paused_webhook_waits(app, client, tokens, receiver):
    live = receiver(script=[400])
    hook = _register(client, tokens, live.url)
    _submit(client, tokens)
    worker = _worker(app)
    worker.run(once=True)
    (row,) = _deliveries(client, tokens, hook)
    assert row["status"] == "failed" and row["response_code"] == 400

    client.patch(f"{URL}/{hook['id']}", json={"active": False}, headers=tokens["centre"])
    client.post(f"{URL}/{hook['id']}/deliveries/{row['id']}/retry", headers=tokens["centre"])
    assert worker.run(once=True) == 0
    client.patch(f"{URL}/{hook['id']}", json={"active": True}, headers=tokens["centre"])
    assert worker.run(once=True) == 1
    assert _deliveries(client, tokens, hook)[0]["status"] == "sent"


def test_two_workers_send_each_event_once(app, client, tokens, receiver):
    live = receiver()
    hooks = [_register(client, tokens, live.url) for _ in range(5)]
    for _ in range(4):
        _submit(client, tokens)  # 4 events for each of 5 webhooks
    workers = [_worker(app, threads=4, batch=3) for _ in range(2)]
    threads = [threading.Thread(target=w.run, kwargs={"once": True}) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [h["Webhook-Id"] for h, _ in live.got]
    assert len(ids) == 20 and len(set(ids)) == 20
    with app.app_context():
        statuses = db.session().scalars(
            select(WebhookDelivery.status).where(WebhookDelivery.uuid.in_(ids))
        )
        assert set(statuses) == {DeliveryStatus.SENT}
    assert all(len(_deliveries(client, tokens, h)) == 4 for h in hooks)


def test_requests_that_make_events_make_no_http_call(app, client, tokens, receiver, monkeypatch):
    """The events are rows in the request's transaction: any outgoing HTTP call during the
    submit, the marks or the evidence would fail here (and nothing reaches the receiver)."""
    import requests

    live = receiver()
    _register(client, tokens, live.url)

    def no_http(*args, **kwargs):
        raise AssertionError("an HTTP call was made during the request")

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", no_http)
    started, url = _submit(client, tokens)
    _mark(client, tokens, started, url, "met")
    monkeypatch.undo()
    assert live.got == []
    with app.app_context():
        pending = db.session().scalars(
            select(WebhookDelivery.status).where(WebhookDelivery.status == DeliveryStatus.PENDING)
        )
        assert len(list(pending)) >= 2


def test_assessment_worker_once_sends_webhooks_too(app, client, tokens, receiver):
    live = receiver()
    hook = _register(client, tokens, live.url)
    _submit(client, tokens)
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 webhook delivery(ies)" in result.output
    assert [d["status"] for d in _deliveries(client, tokens, hook)] == ["sent"]


def test_a_receiver_gets_at_most_per_platform_requests_at_once(app, client, tokens, receiver):
    live = receiver(delay=0.2)
    _register(client, tokens, live.url)
    for _ in range(6):
        _submit(client, tokens)
    assert _worker(app, threads=8, batch=8, per_platform=2).run(once=True) == 6
    assert len(live.got) == 6
    assert live.most_open == 2

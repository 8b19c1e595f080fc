"""A fake LMS gradebook on 127.0.0.1 for bench/passback.py, run in a process of its own.

- POST /token: any client assertion gets a token (expires_in 3600).
- POST /lineitems/<n>/scores: 3% are answered 429 (Retry-After: 1) at once, 2% hang longer
  than the caller's read timeout and are never applied (the connection is then closed); the
  rest wait for one of `concurrency` slots, hold it `service_seconds` (the LMS's work), then
  10% of all requests are answered 500, and the others are applied as Moodle does: 200 if the
  timestamp is newer than the one held for that user and line item, else 409.
- GET /bench/record: every score request received, in arrival order, with its answer.

Its own limit: `concurrency` / `service_seconds` score requests per second through the slots,
of which only the non-500 share can be accepted (see `FakeLms.limit`).
"""

from __future__ import annotations

import json
import multiprocessing
import random
import re
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCORES = re.compile(r"^/lineitems/(\d+)/scores$")


@dataclass(frozen=True)
class FakeLms:
    concurrency: int = 4
    service_seconds: float = 0.020
    share_500: float = 0.10
    share_429: float = 0.03
    share_timeout: float = 0.02
    hang_seconds: float = 1.5  # longer than the worker's read timeout
    seed: int = 8

    @property
    def request_limit(self) -> float:
        """Score requests per second its slots can serve."""
        return self.concurrency / self.service_seconds

    @property
    def limit(self) -> float:
        """Scores per second it can accept at most: the slots' requests less its own 500s."""
        slotted = 1.0 - self.share_429 - self.share_timeout
        return self.request_limit * (slotted - self.share_500) / slotted


class _State:
    def __init__(self, lms: FakeLms) -> None:
        self.lms = lms
        self.slots = threading.Semaphore(lms.concurrency)
        self.lock = threading.Lock()
        self.random = random.Random(lms.seed)
        self.held: dict[tuple[int, str], datetime] = {}
        # [line item, userId, timestamp, scoreGiven, answer, time.time() of the answer]
        self.received: list[list] = []
        self.tokens = 0

    def roll(self) -> float:
        with self.lock:
            return self.random.random()

    def note(self, item: int, score: dict, answer: str) -> None:
        entry = [item, score.get("userId"), score.get("timestamp"), score.get("scoreGiven")]
        with self.lock:
            self.received.append([*entry, answer, time.time()])

    def apply(self, item: int, score: dict) -> int:
        """Moodle's rule: a score not newer than the one held is refused (409)."""
        key = (item, str(score["userId"]))
        stamp = datetime.fromisoformat(score["timestamp"])
        with self.lock:
            held = self.held.get(key)
            accepted = held is None or stamp > held
            if accepted:
                self.held[key] = stamp
            answer = "200" if accepted else "409"
            self.received.append(
                [item, key[1], score["timestamp"], score.get("scoreGiven"), answer, time.time()]
            )
        return 200 if accepted else 409


def _handler(state: _State):
    lms = state.lms

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _answer(self, status: int, body: dict | None = None, headers: dict | None = None):
            data = json.dumps(body or {}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_GET(self) -> None:
            if self.path == "/bench/record":
                with state.lock:
                    record = {"received": list(state.received), "tokens": state.tokens}
                self._answer(200, record)
            else:
                self._answer(404)

        def do_POST(self) -> None:
            body = self._body()
            if self.path == "/token":
                with state.lock:
                    state.tokens += 1
                self._answer(
                    200,
                    {
                        "access_token": f"bench-token-{state.tokens}",
                        "token_type": "Bearer",
                        "expires_in": 3600,
                        "scope": "https://purl.imsglobal.org/spec/lti-ags/scope/score",
                    },
                )
                return
            match = SCORES.match(self.path)
            if not match:
                self._answer(404)
                return
            item, score = int(match.group(1)), json.loads(body)
            roll = state.roll()
            if roll < lms.share_429:
                state.note(item, score, "429")
                self._answer(429, {"error": "slow down"}, {"Retry-After": "1"})
                return
            if roll < lms.share_429 + lms.share_timeout:
                state.note(item, score, "timeout")
                time.sleep(lms.hang_seconds)
                self.close_connection = True  # the caller gave up long ago; nothing applied
                return
            with state.slots:
                time.sleep(lms.service_seconds)
                if roll < lms.share_429 + lms.share_timeout + lms.share_500:
                    state.note(item, score, "500")
                    status = 500
                else:
                    status = state.apply(item, score)
            self._answer(status, {} if status == 200 else {"error": f"HTTP {status}"})

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the listen backlog: two workers' connections at once


def _serve(lms_fields: dict, port: int, ready) -> None:
    state = _State(FakeLms(**lms_fields))
    server = _Server(("127.0.0.1", port), _handler(state))
    ready.set()
    server.serve_forever()


def start(lms: FakeLms, port: int) -> multiprocessing.Process:
    """The fake LMS in a process of its own, listening once this returns."""
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    process = context.Process(target=_serve, args=(asdict(lms), port, ready), daemon=True)
    process.start()
    if not ready.wait(20):
        process.terminate()
        raise RuntimeError("the fake LMS did not start")
    return process

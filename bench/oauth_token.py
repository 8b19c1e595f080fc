"""A cheap route's throughput while 20 threads post 1,000 wrong client secrets to /oauth/token.

    .venv/bin/python -m bench.oauth_token [wrong-secrets] [gunicorn-workers]

Each wrong secret used to cost a full scrypt hash, so a handful of callers starved every
worker for as long as their requests lasted. Printed per mode: the cheap route's requests per
second alone and during the attack, how long the attack's requests took to be answered, and
what the attackers got. Sync workers serve connections in turn, so during any flood the cheap
route gets about 1/21 of the capacity; what changes is how long the flood lasts.
"""

from __future__ import annotations

import http.client
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlencode

from flask import jsonify

from bench.common import get, gunicorn, prepared_database
from service import create_app, db
from service.auth import create_client

ATTACKERS = 20
# (label, environment): the defaults, and limits lifted (what the cheaper hash does alone).
# The "before" figures come from running this file against the previous commit.
LIFTED = "1000000/second"
MODES = [
    ("default rate limits", {}),
    (
        "rate limits lifted",
        {"OAUTH_TOKEN_RATE_LIMIT": LIFTED, "OAUTH_TOKEN_ADDRESS_RATE_LIMIT": LIFTED},
    ),
]


def create_bench_app():
    """The service with a bare route (limits come from the environment, via Config)."""
    app = create_app()

    @app.get("/bench/bare")
    def bare():
        return jsonify({"ok": True})

    return app


def _post_token(port: int, client_id: str, secret: str) -> int:
    body = urlencode(
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(
        "POST", "/oauth/token", body, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    status = connection.getresponse().status
    connection.close()
    return status


def cheap_route_rate(port: int, seconds: float | None = None, until=None) -> tuple[float, int]:
    """Answered requests per second, and how many failed (a 10 s timeout counts as failed)."""
    count, failed, started = 0, 0, time.monotonic()
    while (until is None and time.monotonic() - started < seconds) or (
        until is not None and not until.is_set()
    ):
        try:
            ok = get(port, "/bench/bare")[0] == 200
        except OSError:
            ok = False
        count, failed = count + ok, failed + (not ok)
    return count / (time.monotonic() - started), failed


def measure(url: str, client_id: str, env: dict, total: int, workers: int) -> dict:
    with gunicorn("bench.oauth_token:create_bench_app()", url, workers=workers, env=env) as port:
        cheap_route_rate(port, 1)  # warm up
        alone, _failed = cheap_route_rate(port, 5)
        statuses: Counter = Counter()
        lock = threading.Lock()
        done = threading.Event()

        def attack(n: int) -> None:
            for i in range(total // ATTACKERS):
                try:
                    status = _post_token(port, client_id, f"wrong-{n}-{i}")
                except OSError:
                    status = "error"
                with lock:
                    statuses[status] += 1

        threads = [threading.Thread(target=attack, args=(n,)) for n in range(ATTACKERS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()

        def wait_for_attackers() -> None:
            for thread in threads:
                thread.join()
            done.set()

        threading.Thread(target=wait_for_attackers).start()
        under_attack, failed = cheap_route_rate(port, until=done)
        duration = time.monotonic() - started
    return {
        "alone": alone,
        "under": under_attack,
        "failed": failed,
        "duration": duration,
        "statuses": statuses,
    }


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    url = prepared_database()
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        client, _secret = create_client(db.session(), "bench", ["content:read"], None)
        client_id = client.client_id
    print(
        f"database: {url.split(':', 1)[0]}; gunicorn, {workers} sync worker(s); "
        f"{ATTACKERS} threads posting {total} wrong secrets for one real client id"
    )
    print(
        f"{'mode':<22} {'bare alone':>11} {'bare attacked':>14} {'bare failed':>12} "
        f"{'attack lasted':>14}  statuses"
    )
    for label, env in MODES:
        result = measure(url, client_id, env, total, workers)
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(result["statuses"].items(), key=str))
        print(
            f"{label:<22} {result['alone']:>9.0f}/s {result['under']:>12.1f}/s "
            f"{result['failed']:>12} {result['duration']:>12.1f} s  {statuses}"
        )


if __name__ == "__main__":
    main()

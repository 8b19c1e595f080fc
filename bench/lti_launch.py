"""A learner's full LTI start under gunicorn on PostgreSQL: OIDC login, launch, first page.

    .venv/bin/python -m bench.lti_launch [launches] [concurrency]

The benchmark plays the LMS itself (it signs id_tokens with the development platform's key),
so only the tool's work is timed: GET /lti/login, POST /lti/launch, GET the attempt page (a new
attempt for each learner). The same server answers a bare Flask route under the same
concurrency, for the ratio. Needs PostgreSQL on 127.0.0.1:5432 (database test).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

from bench.common import free_port, gunicorn, prepared_database
from lti import dev_platform, keys
from service import create_app, db
from tests.conftest import isolated_database

POSTGRES = os.environ.get("BENCH_POSTGRES", "postgresql+psycopg://root@127.0.0.1:5432/test")


def serve_json(document: dict) -> str:
    body = json.dumps(document).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/jwks"


def one_launch(base: str, n: int, sign) -> float:
    """Seconds for login + launch + first page, for learner number n."""
    browser = requests.Session()
    started = time.perf_counter()
    login = browser.get(
        f"{base}/lti/login",
        params={
            "iss": f"{base}/dev-platform",
            "login_hint": f"learner-{n}",
            "client_id": dev_platform.CLIENT_ID,
            "target_link_uri": f"{base}/lti/launch",
            "lti_deployment_id": dev_platform.DEPLOYMENT_ID,
            "new_window": "1",
        },
        allow_redirects=False,
    )
    query = parse_qs(urlsplit(login.headers["Location"]).query)
    token = sign(query["nonce"][0], n)
    launch = browser.post(
        f"{base}/lti/launch",
        data={"id_token": token, "state": query["state"][0]},
        allow_redirects=False,
    )
    if launch.status_code != 303:
        raise RuntimeError(f"launch refused: {launch.status_code}")
    page = browser.get(base + launch.headers["Location"])
    if page.status_code != 200:
        raise RuntimeError(f"first page answered {page.status_code}")
    return time.perf_counter() - started


def bare(base: str, _n: int, _sign) -> float:
    started = time.perf_counter()
    requests.get(f"{base}/bench/bare").raise_for_status()
    return time.perf_counter() - started


def run(task, base: str, count: int, concurrency: int, sign) -> tuple[list[float], float]:
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        timings = list(pool.map(lambda n: task(base, n, sign), range(count)))
    return timings, time.perf_counter() - started


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 640
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    workers = int(os.environ.get("WEB_CONCURRENCY", (os.cpu_count() or 2) * 2 + 1))
    with isolated_database(Path(tempfile.mkdtemp()), POSTGRES) as url:
        os.environ["DATABASE_URL"] = url
        prepared_database()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        app = create_app({"DATABASE_URL": url, "DEV_PLATFORM": True})
        with app.app_context():
            session = db.session()
            platform = dev_platform.ensure_registered(session, base)
            # The platform's JWKS is served from here, as an LMS serves it: not by the tool's
            # own busy workers.
            platform.key_set_url = serve_json(keys.jwks(session, dev_platform.OWNER))
            session.commit()

        def sign(nonce: str, n: int) -> str:
            claims = dev_platform.id_token_claims(
                base,
                "learner-1",
                "LtiResourceLinkRequest",
                nonce,
                custom={"assessment": "CSC-01-A1"},
            )
            claims["sub"] = f"bench-learner-{n}"
            with app.app_context():
                return dev_platform.sign(db.session(), claims)

        env = {"PUBLIC_BASE_URL": base, "DEV_PLATFORM": "1", "LTI_SECURE_COOKIES": "0"}
        with gunicorn("bench.app:create_bench_app()", url, workers=workers, env=env, port=port):
            run(one_launch, base, concurrency, concurrency, sign)  # warm up: JWKS, pools
            run(bare, base, concurrency * 4, concurrency, sign)
            launches, launch_wall = run(one_launch, base, count, concurrency, sign)
            bares, bare_wall = run(bare, base, count, concurrency, sign)
        app.extensions["db_engine"].dispose()

    def line(name, timings, wall):
        p50 = statistics.median(timings) * 1000
        p95 = statistics.quantiles(timings, n=20)[-1] * 1000
        print(f"{name:<38}{len(timings) / wall:>10.1f}{p50:>10.1f}{p95:>10.1f}")
        return p50, len(timings) / wall

    print(
        f"PostgreSQL; gunicorn {workers} sync workers; {concurrency} concurrent clients; "
        f"{count} requests per row"
    )
    print(f"{'':<38}{'per s':>10}{'p50 ms':>10}{'p95 ms':>10}")
    launch_p50, launch_rate = line("login + launch + first page", launches, launch_wall)
    bare_p50, bare_rate = line("bare Flask route", bares, bare_wall)
    print(
        f"ratio launch/bare: p50 {launch_p50 / bare_p50:.1f}x, "
        f"throughput {bare_rate / launch_rate:.1f}x"
    )


if __name__ == "__main__":
    main()

"""Shared by the benchmarks: a migrated, loaded database and a gunicorn server to measure."""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from service import create_app, db, migrations
from service.content_loader import load_content

ROOT = Path(__file__).resolve().parent.parent


def prepared_database() -> str:
    """DATABASE_URL if set (e.g. PostgreSQL), else a fresh SQLite file; migrated and loaded."""
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    migrations.upgrade(url)
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        load_content(db.session(), app.config["CONTENT_DIR"])
        db.session().commit()
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(
    app_spec: str,
    database_url: str,
    workers: int = 1,
    env: dict | None = None,
    port: int | None = None,
    threads: int | None = None,
    pid_file: Path | None = None,
):
    """Workers as gunicorn.conf.py makes them (the production model), unless `threads` says
    how many threads each gthread worker runs."""
    port = port or free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", **(env or {})}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            # gthread workers finish their open connections before stopping: do not wait long.
            "--graceful-timeout",
            "5",
            *(["--worker-class", "gthread", "--threads", str(threads)] if threads else []),
            *(["--pid", str(pid_file)] if pid_file else []),
            app_spec,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(os.environ.get("BENCH_SERVER_LOG", os.devnull), "a"),  # noqa: SIM115
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if get(port, "/healthz")[0] == 200:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:  # a busy worker: the server is ours, stop it
            process.kill()
            process.wait(timeout=10)


def get(port: int, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), body


def time_requests(port: int, path: str, count: int, headers: dict | None = None) -> list[float]:
    """Seconds per request, one at a time, each on a new connection (as gunicorn's sync
    workers close them)."""
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        status, _, _ = get(port, path, headers)
        timings.append(time.perf_counter() - started)
        if status not in (200, 304):
            raise RuntimeError(f"{path} answered {status}")
    return timings


def median_ms(timings: list[float]) -> float:
    return statistics.median(timings) * 1000


def p95_ms(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=20)[-1] * 1000

"""1,000 concurrent saves (20 threads x 50) against gunicorn; prints acknowledged, lost (must
be 0), and median and p95 latency of a save.

    .venv/bin/python -m bench.concurrent_saves                     # SQLite file
    BENCH_DATABASE_URL=postgresql+psycopg://root@127.0.0.1:5432/test \\
        .venv/bin/python -m bench.concurrent_saves                 # a schema of its own there

Four learners' attempts; each thread owns one item of one attempt (so five threads write to
each attempt at once) and saves it 50 times with different values. Lost: an item whose stored
response is not the last value its thread saw acknowledged. Saves use a write-only token (the
receipt answer); the final check reads with attempts:read.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.attempt_client import Api, together, token_for, valid_responses
from bench.common import gunicorn
from service import create_app, db, migrations
from service.content_loader import load_content
from tests.conftest import isolated_database

THREADS, SAVES, ATTEMPTS = 20, 50, 4


def run(url: str, workers: int, threads: int) -> dict:
    migrations.upgrade(url)
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        load_content(db.session(), app.config["CONTENT_DIR"])
        db.session().commit()
    app.extensions["db_engine"].dispose()
    with gunicorn("service.wsgi:app", url, workers=workers, threads=threads) as port:
        reader = Api(port, token_for(url, port, ["attempts:read", "attempts:write"], "C-BENCH"))
        writer = Api(port, token_for(url, port, ["attempts:write"], "C-BENCH"))
        full = []
        for n in range(ATTEMPTS):
            status, receipt = writer.start(f"bench-learner-{n}")
            assert status == 201, receipt
            full.append(reader.get(receipt["id"]))
        latencies: list[float] = []
        failures: list[int] = []

        def client(t: int):
            attempt = full[t % ATTEMPTS][1]
            item = attempt["items"][t // ATTEMPTS]
            last = None
            for value in valid_responses(item, SAVES):
                started = time.perf_counter()
                status, _ = writer.save(attempt["id"], {item["id"]: value})
                latencies.append(time.perf_counter() - started)
                if status == 200:
                    last = value
                else:
                    failures.append(status)
            return attempt["id"], item["id"], last

        started = time.perf_counter()
        acknowledged = together(THREADS, client)
        elapsed = time.perf_counter() - started
        lost = 0
        for attempt_id, item_id, last in acknowledged:
            stored = reader.get(attempt_id)[1]["responses"].get(item_id)
            lost += stored != last
    return {
        "saves": THREADS * SAVES,
        "acknowledged": THREADS * SAVES - len(failures),
        "refused": len(failures),
        "lost": lost,
        "median_ms": statistics.median(latencies) * 1000,
        "p95_ms": statistics.quantiles(latencies, n=20)[-1] * 1000,
        "per_second": THREADS * SAVES / elapsed,
    }


def main() -> None:
    server = os.environ.get("BENCH_DATABASE_URL", "")
    workers, threads = (int(x) for x in (sys.argv[1:3] or ["4", "4"]))
    with isolated_database(Path(tempfile.mkdtemp()), server) as url:
        figures = run(url, workers, threads)
    where = "PostgreSQL" if server.startswith("postgresql") else "SQLite"
    print(
        f"{where}, gunicorn {workers} workers x {threads} threads, {THREADS} clients x {SAVES}: "
        f"acknowledged {figures['acknowledged']}/{figures['saves']} "
        f"(refused {figures['refused']}), lost {figures['lost']} (must be 0 of {THREADS} "
        f"items' last acknowledged answers), median {figures['median_ms']:.1f} ms, "
        f"p95 {figures['p95_ms']:.1f} ms, {figures['per_second']:.0f} saves/s"
    )
    if figures["lost"]:
        sys.exit(1)


if __name__ == "__main__":
    main()

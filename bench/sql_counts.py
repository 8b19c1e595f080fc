"""Bench only: what each request costs the database, counted with SQLAlchemy events.

`bench.app:create_bench_app()` installs this when BENCH_SQL_COUNTS names a directory; each
gunicorn worker then keeps running totals per step (the client's X-Bench-Step header, else the
endpoint) and writes them to <directory>/<pid>.json (bench/lti_launch.py reads and sums them).
Also the CPU of each request's thread (`cpu_us`, microseconds). Never used by the service.

Round trips are counted as psycopg makes them: the BEGIN it sends before the first statement
of a transaction, each statement, a COMMIT or ROLLBACK only when a transaction is open (psycopg
sends nothing otherwise), the pool's rollback on return when one is, a pre-ping per checkout
when the engine pings, and the statements of a new connection's set-up (counted apart, as
`connects`). Prepared statements add one round trip per statement per connection, the first
time psycopg prepares it: not counted (it fades as connections are reused).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

from flask import Flask, g, has_app_context, request
from sqlalchemy import event

STEP_HEADER = "X-Bench-Step"
FIELDS = ("statements", "begins", "commits", "rollbacks", "checkouts", "pings", "connects")


def _in_transaction(dbapi_connection) -> bool:
    info = getattr(dbapi_connection, "info", None)  # psycopg; SQLite: assume it is
    return info is None or info.transaction_status != 0  # 0: psycopg's IDLE


def install(app: Flask, directory: str) -> threading.Event:
    """Count from now on; set the returned event to stop writing."""
    engine = app.extensions["db_engine"]
    pre_ping = bool(getattr(engine.pool, "_pre_ping", False))
    totals: dict[str, Counter] = defaultdict(Counter)
    lock = threading.Lock()
    out = Path(directory) / f"{os.getpid()}.json"

    def count(field: str) -> None:
        # The step the client named (X-Bench-Step), else the endpoint. Kept in g: the pool's
        # rollback on return runs after the request context is gone, in the app context.
        where = g.get("bench_step", "(no request)") if has_app_context() else "(outside)"
        with lock:
            totals[where][field] += 1

    @app.before_request
    def _step() -> None:
        g.bench_step = request.headers.get(STEP_HEADER) or request.endpoint or "(no endpoint)"
        g.bench_cpu = time.thread_time()  # gthread: one request, one thread

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(_conn, cursor, *_args) -> None:
        if not _in_transaction(cursor.connection):
            count("begins")
        count("statements")

    @event.listens_for(engine, "commit")
    def _commit(conn) -> None:
        if _in_transaction(conn.connection.dbapi_connection):
            count("commits")

    @event.listens_for(engine, "rollback")
    def _rollback(conn) -> None:
        if _in_transaction(conn.connection.dbapi_connection):
            count("rollbacks")

    @event.listens_for(engine.pool, "reset")
    def _reset(dbapi_connection, _record, _state) -> None:
        if _in_transaction(dbapi_connection):
            count("rollbacks")

    @event.listens_for(engine.pool, "checkout")
    def _checkout(*_args) -> None:
        count("checkouts")
        if pre_ping:
            count("pings")

    @event.listens_for(engine.pool, "connect")
    def _connect(*_args) -> None:
        count("connects")

    @app.teardown_request
    def _requests(_exc) -> None:
        count("requests")
        # CPU of the request's thread from its first hook to its teardown (the view, hooks,
        # the response; not gunicorn's HTTP parsing and writing), with the counting's own cost.
        if "bench_cpu" in g:
            spent = int((time.thread_time() - g.bench_cpu) * 1_000_000)
            with lock:
                totals[g.bench_step]["cpu_us"] += spent

    def write() -> None:
        # Every 0.1 s, from a thread of the worker: the request's own teardown runs before the
        # session is closed (and the connection's reset counted).
        written = None
        while not stop.wait(0.1):
            with lock:
                snapshot = json.dumps({name: dict(c) for name, c in totals.items()})
            if snapshot != written:
                out.write_text(snapshot)
                written = snapshot

    stop = threading.Event()
    threading.Thread(target=write, daemon=True, name="bench-sql-counts").start()
    return stop


def read(directory: str) -> dict[str, Counter]:
    """Totals per endpoint over every worker that wrote to `directory`."""
    summed: dict[str, Counter] = defaultdict(Counter)
    for path in Path(directory).glob("*.json"):
        for endpoint, counts in json.loads(path.read_text()).items():
            summed[endpoint].update(counts)
    return summed


def round_trips(counts: Counter) -> int:
    return sum(counts[f] for f in ("statements", "begins", "commits", "rollbacks", "pings"))

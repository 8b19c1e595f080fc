"""Engine and the one-Session-per-request pattern."""

from __future__ import annotations

import select
from pathlib import Path

import psycopg
from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

# libpq's TCP keepalives: a connection whose peer vanished (server host down, a NAT or
# firewall that forgot it) is noticed by the kernel within about a minute, not hours.
POSTGRES_KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


def make_engine(url: str, recycle_seconds: int = 1800, prepare_threshold: int | None = 1) -> Engine:
    if url.startswith("sqlite"):
        db_path = url.removeprefix("sqlite:///")
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping: it costs a round trip on every checkout (six per launch). Instead
    # connections are replaced after `recycle_seconds`, libpq's keepalives notice a vanished
    # peer, and a connection the server has closed (restart, pg_terminate_backend, idle
    # timeout) is seen at checkout without a round trip (_refuse_closed_by_server).
    # psycopg prepares a statement the `prepare_threshold`-th time a connection runs it again
    # (None: never, e.g. behind a PgBouncer older than 1.21 in transaction mode).
    engine = create_engine(
        url,
        pool_pre_ping=False,
        pool_recycle=recycle_seconds,
        pool_size=10,
        max_overflow=10,
        connect_args={
            **POSTGRES_KEEPALIVES,
            "prepare_threshold": prepare_threshold,
        },
    )
    event.listen(engine, "connect", _keep_more_prepared)
    event.listen(engine, "checkout", _refuse_closed_by_server)
    return engine


def _keep_more_prepared(dbapi_connection, _record) -> None:
    # psycopg keeps 100 prepared statements per connection by default (least recently used
    # dropped); the service runs more distinct statements than that.
    dbapi_connection.prepared_max = 256


def _refuse_closed_by_server(dbapi_connection, _record, _proxy) -> None:
    """A pooled connection is idle: normally nothing waits on its socket. When something does,
    libpq reads it: the server's "terminating connection" message and end of file (restart,
    pg_terminate_backend, idle timeout) fail the read, and DisconnectionError makes the pool
    discard the connection and check out another, so no request fails on a dead connection.
    Anything else (a notice, a notification) leaves the connection in use. A poll with timeout
    0 and no round trip: nothing is sent to the server."""
    if dbapi_connection.closed:
        raise DisconnectionError("connection closed")
    pgconn = dbapi_connection.pgconn
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    for _ in range(3):  # the message, then end of file; a live connection stops at once
        if not poller.poll(0):
            break
        try:
            pgconn.consume_input()
        except psycopg.OperationalError as error:
            raise DisconnectionError("the server closed the connection") from error
    if pgconn.status != psycopg.pq.ConnStatus.OK:
        raise DisconnectionError("the connection is broken")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets gunicorn workers read while another process writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    # Writes to one attempt queue on the write lock (see service/attempts.py): wait, not fail.
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def init_app(app: Flask) -> None:
    engine = make_engine(
        app.config["DATABASE_URL"],
        recycle_seconds=app.config["DB_POOL_RECYCLE_SECONDS"],
        prepare_threshold=app.config["DB_PREPARE_THRESHOLD"],
    )
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    return current_app.extensions["db_engine"]


def session() -> Session:
    """The request's Session, opened on first use and closed when the request ends."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["db_sessionmaker"]()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()

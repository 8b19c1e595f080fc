"""Engine and the one-Session-per-request pattern."""

from __future__ import annotations

import select
from pathlib import Path

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
    """A pooled connection is idle: nothing should be waiting on its socket. If something is
    (the server's "terminating connection" notice, or end of file), the server has closed it:
    DisconnectionError makes the pool discard it and check out another, so no request fails on
    a dead connection. A poll with timeout 0: no round trip."""
    if dbapi_connection.closed:
        raise DisconnectionError("connection closed")
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    if poller.poll(0):
        raise DisconnectionError("the server closed the connection")


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

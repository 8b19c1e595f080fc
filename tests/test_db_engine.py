"""The PostgreSQL engine: no round trip per checkout, prepared statements, and a connection the
server has closed replaced at checkout without a failed request."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from service import create_app, db
from tests.conftest import TEST_DATABASE_URL, isolated_database, on_postgres

postgres_only = pytest.mark.skipif(not on_postgres(), reason="needs TEST_DATABASE_URL")


def test_the_postgresql_engine_recycles_instead_of_pinging_on_every_checkout():
    engine = db.make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", recycle_seconds=600)
    assert engine.pool._pre_ping is False
    assert engine.pool._recycle == 600
    engine.dispose()


def test_the_configuration_reaches_the_engine(tmp_path, monkeypatch):
    monkeypatch.setenv("DB_POOL_RECYCLE_SECONDS", "900")
    monkeypatch.setenv("DB_PREPARE_THRESHOLD", "off")
    app = create_app({"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    assert app.extensions["db_engine"].pool._recycle == 900
    assert app.config["DB_PREPARE_THRESHOLD"] is None
    app.extensions["db_engine"].dispose()


@postgres_only
def test_connections_prepare_repeated_statements_and_keep_tcp_alive(tmp_path):
    with isolated_database(tmp_path) as url:
        engine = db.make_engine(url)
        with engine.connect() as connection:
            raw = connection.connection.dbapi_connection
            assert raw.prepare_threshold == 1
            assert raw.prepared_max == 256
            assert raw.info.get_parameters()["keepalives"] == "1"
            query = text("SELECT count(*) FROM pg_class WHERE relname = :name")
            for _ in range(3):
                connection.execute(query, {"name": "pg_type"})
            prepared = connection.scalar(
                text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :q"),
                {"q": "%FROM pg_class WHERE relname%"},
            )
            assert prepared == 1
        engine.dispose()


def _backend_pid(app) -> int:
    with app.extensions["db_engine"].connect() as connection:
        return connection.scalar(text("SELECT pg_backend_pid()"))


def _terminate(pid: int) -> None:
    admin = create_engine(TEST_DATABASE_URL)
    with admin.begin() as connection:
        # Waits (up to 10 s) until the backend has ended, not only been signalled.
        ended = connection.scalar(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid})
        assert ended
    admin.dispose()


@postgres_only
def test_a_connection_the_server_closed_is_replaced_and_the_next_request_succeeds(tmp_path):
    with isolated_database(tmp_path) as url:
        app = create_app({"TESTING": True, "DATABASE_URL": url})
        client = app.test_client()
        assert client.get("/readyz").status_code == 200
        pid = _backend_pid(app)  # the one pooled connection /readyz used
        assert _backend_pid(app) == pid
        _terminate(pid)
        time.sleep(0.1)  # the server's notice reaches our socket

        answer = client.get("/readyz")
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["database"] == "ok"
        assert _backend_pid(app) != pid
        app.extensions["db_engine"].dispose()


@postgres_only
def test_a_live_connection_with_something_pending_is_kept(tmp_path):
    """A notification waiting on an idle pooled connection makes its socket readable too;
    the connection is alive and stays in use (no reconnect for nothing)."""
    with isolated_database(tmp_path) as url:
        engine = db.make_engine(url)
        with engine.connect() as connection:
            pid = connection.scalar(text("SELECT pg_backend_pid()"))
            connection.execute(text("LISTEN bench_pending"))
            connection.commit()
        admin = create_engine(TEST_DATABASE_URL)
        with admin.begin() as other:
            other.execute(text("NOTIFY bench_pending"))
        admin.dispose()
        time.sleep(0.1)  # the notification reaches the idle connection's socket
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT pg_backend_pid()")) == pid
        engine.dispose()

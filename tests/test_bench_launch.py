"""The launch benchmark's own parts, so it keeps measuring what it says: it finds the start
page's Start form and the first question page on the real pages, and bench/sql_counts.py counts
statements, checkouts and round trips as the database sees them."""

from __future__ import annotations

import itertools
import time
from urllib.parse import urlsplit

from bench import sql_counts
from bench.lti_launch import (
    STEP,
    ceiling_without_gunicorn,
    is_question_page,
    start_form,
    worker_budget,
)
from service import create_app
from tests import lti_flow
from tests.conftest import isolated_database, on_postgres

_learners = itertools.count(1)


def test_the_flow_follows_the_start_page_form_to_the_first_question_page(app, requests_mock):
    lti_flow.register(app)
    lti_flow.mock_platform_jwks(app, requests_mock)
    client = app.test_client()
    sub = f"bench-flow-learner-{next(_learners)}"

    def mutate(claims):
        claims["sub"] = sub

    launch, _token, _state = lti_flow.launch(
        app, client, custom={"assessment": "CSC-01-A1"}, mutate=mutate
    )
    page = client.get(launch.headers["Location"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert not is_question_page(html)  # the start page comes first

    form = start_form(html)
    assert form is not None
    assert form["action"].endswith("/lti/attempt/start")
    assert {"ls", "attempt"} <= set(form["fields"])
    started = client.post(urlsplit(form["action"]).path, data=form["fields"])
    assert started.status_code == 303
    question = client.get(started.headers["Location"])
    assert question.status_code == 200
    assert is_question_page(question.get_data(as_text=True))
    assert start_form(question.get_data(as_text=True)) is None


def test_sql_counts_count_per_step_as_the_database_sees_it(tmp_path):
    directory = tmp_path / "counts"
    directory.mkdir()
    with isolated_database(tmp_path) as url:
        app = create_app({"TESTING": True, "DATABASE_URL": url})
        stop = sql_counts.install(app, str(directory))
        client = app.test_client()
        for _ in range(3):
            assert client.get("/readyz", headers={STEP: "probe"}).status_code == 200
        assert client.get("/healthz").status_code == 200  # no SQL
        deadline = time.monotonic() + 10  # the writer thread writes every 0.1 s
        while sql_counts.read(str(directory))["health.healthz"]["requests"] < 1:
            assert time.monotonic() < deadline, "the counts were never written"
            time.sleep(0.05)
        counts = sql_counts.read(str(directory))
        probe = counts["probe"]
        assert probe["requests"] == 3
        assert probe["statements"] == 3  # SELECT 1
        assert probe["checkouts"] == 3
        assert probe["pings"] == 0  # no pre-ping
        assert counts["health.healthz"]["requests"] == 1
        assert counts["health.healthz"]["statements"] == 0
        if on_postgres():
            # psycopg's BEGIN, the SELECT, and the pool's rollback of the open transaction.
            assert probe["begins"] == 3 and probe["rollbacks"] == 3
            assert sql_counts.round_trips(probe) == 9
        stop.set()
        app.extensions["db_engine"].dispose()


def test_the_ceiling_counts_every_process_but_the_tools_workers():
    # 2 cores, 18 ms of CPU per flow outside gunicorn: at most 2000 / 18 flows a second,
    # however cheap the tool's own workers are.
    cpu = {"gunicorn": 27.0, "postgresql": 7.0, "redis": 0.5, "client": 10.5}
    rest, bound = ceiling_without_gunicorn(cpu, 2)
    assert rest == 18.0
    assert bound == 2000 / 18

    # At the bare tool's 80 launches/s, 2 cores give each flow 25 ms of CPU in all: 7 for the
    # workers once the rest has its 18; at 125/s (16 ms), less than nothing.
    assert worker_budget(cpu, 2, 80) == 25.0 - 18.0
    assert worker_budget(cpu, 2, 125) < 0

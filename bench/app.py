"""The service with one bare Flask route added, so both are measured in one process.

With BENCH_SQL_COUNTS set (a directory), every worker counts its SQL per endpoint
(bench/sql_counts.py). With BENCH_TESTING=1 the app runs in testing mode, which keeps the
development platform on with PostgreSQL (as tests/wsgi_testing.py does): the launch benchmark
plays that platform."""

import os

from flask import jsonify

from service import create_app


def create_bench_app(cache_type: str | None = None):
    config = {"CACHE_TYPE": cache_type} if cache_type else {}
    if os.environ.get("BENCH_TESTING") == "1":
        config["TESTING"] = True
    app = create_app(config)

    @app.get("/bench/bare")
    def bare():
        return jsonify({"ok": True})

    if os.environ.get("BENCH_SQL_COUNTS"):
        from bench import sql_counts

        sql_counts.install(app, os.environ["BENCH_SQL_COUNTS"])
    return app

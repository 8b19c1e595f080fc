"""The service with one bare Flask route added, so both are measured in one process."""

from flask import jsonify

from service import create_app


def create_bench_app(cache_type: str | None = None):
    app = create_app({"CACHE_TYPE": cache_type} if cache_type else None)

    @app.get("/bench/bare")
    def bare():
        return jsonify({"ok": True})

    return app

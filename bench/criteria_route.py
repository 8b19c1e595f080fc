"""GET /api/v1/units/{code}/criteria under gunicorn, against a bare Flask route in the same run.

    .venv/bin/python -m bench.criteria_route [requests-per-round]

Target: the criteria route costs no more than 3x the bare route, and a matching If-None-Match
(304, answered from the cached ETag before any body is built or read) costs less than the 200.
Rounds alternate between the routes so machine noise falls on both alike.
"""

from __future__ import annotations

import sys

from bench.common import get, gunicorn, median_ms, p95_ms, prepared_database, time_requests

CRITERIA = "/api/v1/units/CSC-01/criteria"
BARE = "/bench/bare"


# (label, cache type): the default per-process cache, the shared Redis cache, and no cache
# at all (what a cache miss costs).
REDIS_CACHE = "service.cache.JsonRedisCache"  # the JSON-only Redis cache the service uses
MODES = [("process cache", None), ("redis cache", REDIS_CACHE), ("no cache", "NullCache")]


def measure(url: str, cache_type: str | None, per_round: int, rounds: int) -> dict[str, list]:
    spec = f"bench.app:create_bench_app({cache_type!r})"
    env = {"REDIS_URL": "redis://127.0.0.1:6379/0"} if cache_type == REDIS_CACHE else {}
    with gunicorn(spec, url, env=env) as port:
        etag = get(port, CRITERIA)[1]["ETag"]
        for path in (BARE, CRITERIA):
            time_requests(port, path, 50)  # warm up
        timings: dict[str, list] = {"bare": [], "200": [], "304": []}
        for _ in range(rounds):
            timings["bare"] += time_requests(port, BARE, per_round)
            timings["200"] += time_requests(port, CRITERIA, per_round)
            timings["304"] += time_requests(port, CRITERIA, per_round, {"If-None-Match": etag})
    return timings


def main() -> None:
    per_round = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    rounds = 5
    url = prepared_database()
    print(
        f"database: {url.split(':', 1)[0]}; gunicorn, 1 worker (gunicorn.conf.py); "
        f"{rounds} rounds x {per_round} requests per route, one at a time"
    )
    print(f"{'cache':<15}{'route':<34}{'median ms':>10}{'p95 ms':>10}{'x bare':>8}")
    for label, cache_type in MODES:
        timings = measure(url, cache_type, per_round, rounds)
        base = median_ms(timings["bare"])
        for name, key in (
            ("bare Flask route", "bare"),
            (f"{CRITERIA}", "200"),
            ("  same, If-None-Match (304)", "304"),
        ):
            print(
                f"{label:<15}{name:<34}{median_ms(timings[key]):>10.3f}"
                f"{p95_ms(timings[key]):>10.3f}{median_ms(timings[key]) / base:>8.2f}"
            )
        full, revalidated = median_ms(timings["200"]), median_ms(timings["304"])
        print(
            f"{label:<15}median 200 {full:.3f} ms, 304 {revalidated:.3f} ms: "
            f"the 304 costs {revalidated / full:.2f} of the 200"
        )
        ratio = full / base
        print(
            f"{label:<15}criteria/bare {ratio:.2f} (target <= 3): "
            f"{'met' if ratio <= 3 else 'NOT met'}"
        )


if __name__ == "__main__":
    main()

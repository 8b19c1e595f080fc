"""A class starting its exam at once: the tool's full LTI flow under gunicorn on PostgreSQL,
against a bare pylti1p3 tool (bench/bare_tool.py) measured the same way.

    .venv/bin/python -m bench.lti_launch [--workers 2] [--launches 1:40,8:200,32:320]

The benchmark plays the LMS (it signs id_tokens with the development platform's key; the
platform's JWKS is served from this process, as an LMS serves it, not by the tool's workers),
so only the tools' work is timed. Each launch is a new learner:
- the tool: GET /lti/login, POST /lti/launch, the page the launch leads to (the start page),
  the start page's Start form (POST), the first question page. The flow follows redirects and
  the start page's own form, so it works with whatever launch path the tool has;
- the bare tool: GET /login, POST /launch (pylti1p3 validates the id_token), a small page.

It prints, in one run:
1. SQL per launch, per step, from SQLAlchemy events (bench/sql_counts.py, in a gunicorn of its
   own so counting costs the timed runs nothing): statements, BEGINs, commits, rollbacks, pool
   checkouts, pings and the round trips they make;
2. launches/s, p50 and p95 of one learner's whole flow, and server CPU per launch (gunicorn
   master and workers from /proc; the tool's PostgreSQL backends; Redis) at 1, 8 and 32
   concurrent learners, for the tool and the bare tool, and the ratio tool/bare; and, like
   for like, the tool's first three requests (login, launch, start page) against the bare
   tool's three;
3. the ceiling this machine sets: the launches/s the tool's flow could reach if its own workers
   cost no CPU at all (PostgreSQL, Redis and the client share the same cores), against the bare
   tool's.
Needs PostgreSQL (BENCH_POSTGRES, default 127.0.0.1:5432/test) and Redis on 127.0.0.1:6379.
The client shares the machine: on a busy one, compare medians of several runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from sqlalchemy import create_engine, text

from bench import sql_counts
from bench.common import free_port, gunicorn, prepared_database
from lti import dev_platform, keys
from service import create_app, db
from tests.conftest import isolated_database

POSTGRES = os.environ.get("BENCH_POSTGRES", "postgresql+psycopg://root@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14")
ASSESSMENT = "CSC-01-A1"
APPLICATION_NAME = "bench-lti-tool"  # marks the tool's PostgreSQL backends
TOOL_STEPS = ("login", "launch", "start page", "start", "question page")
STEP = sql_counts.STEP_HEADER  # names the flow's step for the counts


def serve_json(document: dict) -> str:
    body = json.dumps(document).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/jwks"


class Platform:
    """The LMS's side: login parameters and signed id_tokens for learner n."""

    def __init__(self, tool_base: str, private_pem: str, kid: str) -> None:
        self.tool_base = tool_base
        # Loaded once: loading a PEM checks the RSA key, tens of ms of the machine's CPU that
        # the client would otherwise spend per launch beside the servers it measures.
        self.private_key = serialization.load_pem_private_key(private_pem.encode(), None)
        self.kid = kid
        self.run = uuid.uuid4().hex[:6]  # every launch of every run is a new learner

    def login_params(self, n: int, target_link_uri: str) -> dict:
        return {
            "iss": dev_platform.issuer(self.tool_base),
            "login_hint": f"learner-{n}",
            "client_id": dev_platform.CLIENT_ID,
            "target_link_uri": target_link_uri,
            "lti_deployment_id": dev_platform.DEPLOYMENT_ID,
            "new_window": "1",
        }

    def id_token(self, nonce: str, n: int) -> str:
        claims = dev_platform.id_token_claims(
            self.tool_base,
            "learner-1",
            "LtiResourceLinkRequest",
            nonce,
            custom={"assessment": ASSESSMENT},
        )
        claims["sub"] = f"bench-{self.run}-{n}"
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid})


class Forms(HTMLParser):
    """Each <form>: method, action, and the fields a browser submits with its button."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(
                {
                    "method": (attrs.get("method") or "get").lower(),
                    "action": attrs.get("action") or "",
                    "fields": {},
                    "buttons": [],
                }
            )
        elif self.forms and tag == "input" and attrs.get("type") == "hidden" and "name" in attrs:
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value") or ""
        elif self.forms and tag == "button":
            self.forms[-1]["buttons"].append(attrs)


def start_form(page: str) -> dict | None:
    """The start page's Start form, if the page is one: found by its button or its action."""
    parser = Forms()
    parser.feed(page)
    for form in parser.forms:
        ids = {button.get("id") for button in form["buttons"]}
        if form["method"] == "post" and (
            "start-assessment" in ids or form["action"].rstrip("/").endswith("/start")
        ):
            for button in form["buttons"]:
                if button.get("name"):
                    form["fields"][button["name"]] = button.get("value") or ""
            return form
    return None


def is_question_page(page: str) -> bool:
    return 'id="attempt-form"' in page or 'name="answer-' in page


def follow(browser: requests.Session, response: requests.Response, step: str):
    """Follow redirects as a browser does, each request labelled `step`."""
    while response.is_redirect:
        location = urljoin(response.url, response.headers["Location"])
        response = browser.get(location, headers={STEP: step}, allow_redirects=False)
    return response


def tool_launch(browser: requests.Session, base: str, platform: Platform, n: int):
    """Login, launch, and the page the launch leads to (the start page): the bare tool's three
    requests, for a like-for-like comparison beside the full flow."""
    login = browser.get(
        f"{base}/lti/login",
        params=platform.login_params(n, f"{base}/lti/launch"),
        headers={STEP: "login"},
        allow_redirects=False,
    )
    if login.status_code != 302:
        raise RuntimeError(f"login answered {login.status_code}")
    query = parse_qs(urlsplit(login.headers["Location"]).query)
    launch = browser.post(
        f"{base}/lti/launch",
        data={"id_token": platform.id_token(query["nonce"][0], n), "state": query["state"][0]},
        headers={STEP: "launch"},
        allow_redirects=False,
    )
    if launch.status_code >= 400:
        raise RuntimeError(f"launch refused: {launch.status_code}")
    page = follow(browser, launch, "start page")
    if page.status_code != 200:
        raise RuntimeError(f"the launch's page answered {page.status_code}")
    return page


def tool_launch_flow(base: str, platform: Platform, n: int) -> None:
    tool_launch(requests.Session(), base, platform, n)


def tool_flow(base: str, platform: Platform, n: int) -> None:
    browser = requests.Session()
    page = tool_launch(browser, base, platform, n)
    form = start_form(page.text)
    if form is not None:
        started = browser.post(
            urljoin(page.url, form["action"]),
            data=form["fields"],
            headers={STEP: "start"},
            allow_redirects=False,
        )
        page = follow(browser, started, "question page")
    if page.status_code != 200 or not is_question_page(page.text):
        raise RuntimeError(f"no first question page: {page.status_code} {page.url}")


def bare_flow(base: str, platform: Platform, n: int) -> None:
    browser = requests.Session()
    login = browser.get(
        f"{base}/login", params=platform.login_params(n, f"{base}/launch"), allow_redirects=False
    )
    if login.status_code != 302:
        raise RuntimeError(f"bare login answered {login.status_code}")
    query = parse_qs(urlsplit(login.headers["Location"]).query)
    launch = browser.post(
        f"{base}/launch",
        data={"id_token": platform.id_token(query["nonce"][0], n), "state": query["state"][0]},
        allow_redirects=False,
    )
    page = follow(browser, launch, "page")
    if page.status_code != 200 or 'id="bare-page"' not in page.text:
        raise RuntimeError(f"bare page answered {page.status_code}")


def run(flow, base: str, platform: Platform, count: int, concurrency: int, first: int):
    """Seconds per launch, and the wall time of all `count` at `concurrency`."""

    def timed(n: int) -> float:
        started = time.perf_counter()
        flow(base, platform, n)
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        timings = list(pool.map(timed, range(first, first + count)))
    return timings, time.perf_counter() - started


# --- server CPU -------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        text_ = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text_.rsplit(")", 1)[1].split()  # fields from 3 (state) on


def process_cpu(pids) -> dict[int, float]:
    """CPU seconds (user + system) of each process still there."""
    seconds = {}
    for pid in pids:
        fields = _stat(pid)
        if fields:
            seconds[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return seconds


def gunicorn_pids(pid_file: Path) -> list[int]:
    master = int(pid_file.read_text())
    children = [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and (_stat(int(entry.name)) or ["", "0"])[1] == str(master)
    ]
    return [master, *children]


def redis_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == "redis-server":
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


class CpuMeter:
    """Server CPU spent between start() and stop(): gunicorn, the tool's PostgreSQL backends
    (by application_name), Redis (shared with whatever else uses it)."""

    def __init__(self, pid_file: Path, admin_url: str | None) -> None:
        self.pid_file = pid_file
        self.admin = create_engine(admin_url) if admin_url else None

    def _backends(self) -> list[int]:
        if self.admin is None:
            return []
        with self.admin.connect() as connection:
            return list(
                connection.scalars(
                    text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                    {"name": APPLICATION_NAME},
                )
            )

    def _read(self) -> dict[str, dict[int, float]]:
        return {
            "gunicorn": process_cpu(gunicorn_pids(self.pid_file)),
            "postgresql": process_cpu(self._backends()),
            "redis": process_cpu(redis_pids()),
        }

    def start(self) -> None:
        self.before = self._read()

    def stop(self) -> dict[str, float]:
        after = self._read()
        return {
            part: sum(seconds - self.before[part].get(pid, 0.0) for pid, seconds in now.items())
            for part, now in after.items()
        }

    def close(self) -> None:
        if self.admin is not None:
            self.admin.dispose()


# --- the runs ---------------------------------------------------------------------------------


def count_sql(url: str, env: dict, workers: int, platform: Platform, port: int) -> None:
    """One gunicorn with SQL counting on: warm up, then launches one at a time, counted."""
    directory = tempfile.mkdtemp(prefix="bench-sql-")
    base = f"http://127.0.0.1:{port}"
    counting = {**env, "BENCH_SQL_COUNTS": directory}
    launches = 20
    with gunicorn("bench.app:create_bench_app()", url, workers, counting, port):
        # JWKS, pools, and what each worker keeps per process (content, registrations): enough
        # launches that every worker has served every step before counting starts.
        for round_ in range(3):
            run(tool_flow, base, platform, workers * 8, workers * 4, 10_000_000 + round_ * 1000)
        time.sleep(0.5)
        before = sql_counts.read(directory)
        run(tool_flow, base, platform, launches, 1, 20_000_000)
        time.sleep(0.5)
        after = sql_counts.read(directory)
    fields = ("requests", *sql_counts.FIELDS)
    print(
        f"SQL per launch (SQLAlchemy events; {launches} launches one at a time, after warm-up), "
        "and the CPU of the request's thread in the worker (counting included)"
    )
    print(f"{'step':<15}" + "".join(f"{f:>12}" for f in (*fields, "round trips", "CPU ms")))
    total: Counter = Counter()
    login_to_start: Counter = Counter()
    for step in (*TOOL_STEPS, *sorted(set(after) - set(TOOL_STEPS))):
        counts = Counter(after.get(step, {}))
        counts.subtract(before.get(step, {}))
        if step not in TOOL_STEPS and not +counts:
            continue
        total.update(counts)
        if step in ("login", "launch", "start page"):
            login_to_start.update(counts)
        values = [counts[f] / launches for f in fields]
        trips = sql_counts.round_trips(counts) / launches
        cpu = counts["cpu_us"] / launches / 1000
        print(f"{step:<15}" + "".join(f"{v:>12.1f}" for v in (*values, trips, cpu)))
    values = [total[f] / launches for f in fields]
    trips = sql_counts.round_trips(total) / launches
    cpu = total["cpu_us"] / launches / 1000
    print(f"{'whole flow':<15}" + "".join(f"{v:>12.1f}" for v in (*values, trips, cpu)))
    statements = login_to_start["statements"] / launches
    commits = login_to_start["commits"] / launches
    print(
        f"login + launch + start page: {statements:.1f} statements, {commits:.1f} commits "
        f"(goal: at most 8 and 2: {'met' if statements <= 8 and commits <= 2 else 'not met'})"
    )
    print()


def measure(spec, url, env, workers, flow, platform, port, levels, admin_url) -> list[dict]:
    base = f"http://127.0.0.1:{port}"
    pid_file = Path(tempfile.mkdtemp()) / "gunicorn.pid"
    rows = []
    first = 0
    with gunicorn(spec, url, workers, env, port, pid_file=pid_file):
        meter = CpuMeter(pid_file, admin_url)
        warm = max(levels)
        run(flow, base, platform, warm, warm, first)  # JWKS, pools, imports, templates
        first += warm
        for concurrency, count in levels.items():
            meter.start()
            client = time.process_time()
            timings, wall = run(flow, base, platform, count, concurrency, first)
            cpu = meter.stop()
            cpu["client"] = time.process_time() - client
            first += count
            rows.append(
                {
                    "learners": concurrency,
                    "rate": count / wall,
                    "p50": statistics.median(timings) * 1000,
                    "p95": statistics.quantiles(timings, n=20)[-1] * 1000,
                    "cpu": {part: seconds / count * 1000 for part, seconds in cpu.items()},
                }
            )
        meter.close()
    return rows


def parse_levels(text_: str) -> dict[int, int]:
    levels = {}
    for part in text_.split(","):
        concurrency, count = part.split(":")
        levels[int(concurrency)] = int(count)
    return levels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 2)))
    parser.add_argument(
        "--launches",
        default="1:40,8:200,32:320",
        help="concurrent learners:launches, comma-separated",
    )
    args = parser.parse_args()
    levels = parse_levels(args.launches)

    with isolated_database(Path(tempfile.mkdtemp()), POSTGRES) as url:
        os.environ["DATABASE_URL"] = url
        prepared_database()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        app = create_app({"DATABASE_URL": url, "DEV_PLATFORM": True, "TESTING": True})
        with app.app_context():
            session = db.session()
            platform_row = dev_platform.ensure_registered(session, base)
            key = keys.signing_key(session, dev_platform.OWNER)
            jwks_url = serve_json(keys.jwks(session, dev_platform.OWNER))
            platform_row.key_set_url = jwks_url
            session.commit()
            platform = Platform(base, key.private_pem, key.kid)
        app.extensions["db_engine"].dispose()

        tool_url = f"{url}&application_name={APPLICATION_NAME}"
        env = {
            "PUBLIC_BASE_URL": base,
            "DEV_PLATFORM": "1",
            "BENCH_TESTING": "1",
            "LTI_SECURE_COOKIES": "0",
            "REDIS_URL": REDIS_URL,
        }
        conf = "gunicorn.conf.py"
        print(
            f"PostgreSQL; {args.workers} gunicorn workers as {conf} makes them "
            f"(GUNICORN_THREADS={os.environ.get('GUNICORN_THREADS', 'default')}); "
            f"Redis {REDIS_URL}; each launch a new learner"
        )
        print()
        count_sql(tool_url, env, args.workers, platform, port)
        tool = measure(
            "bench.app:create_bench_app()",
            tool_url,
            env,
            args.workers,
            tool_flow,
            platform,
            port,
            levels,
            POSTGRES,
        )
        # The same three requests the bare tool serves: like for like beside the goal.
        tool_launch_only = measure(
            "bench.app:create_bench_app()",
            tool_url,
            env,
            args.workers,
            tool_launch_flow,
            platform,
            port,
            levels,
            POSTGRES,
        )
        bare_env = {
            "REDIS_URL": REDIS_URL,
            "BARE_TOOL": json.dumps(
                {
                    "iss": dev_platform.issuer(base),
                    "client_id": dev_platform.CLIENT_ID,
                    "deployment_id": dev_platform.DEPLOYMENT_ID,
                    "key_set_url": jwks_url,
                }
            ),
        }
        bare = measure(
            "bench.bare_tool:create_app()",
            url,
            bare_env,
            args.workers,
            bare_flow,
            platform,
            free_port(),
            levels,
            None,
        )

    print("Full flow per learner: tool = login, launch, start page, Start, first question page;")
    print(
        "tool 3 = the tool's login, launch, start page (no attempt yet); bare = pylti1p3 login, "
        "launch, small page. CPU ms per launch: the servers', and the client's (this process: "
        "it shares the machine)."
    )
    header = (
        f"{'':<10}{'learners':>9}{'launch/s':>10}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'CPU gunicorn':>14}{'PostgreSQL':>12}{'Redis':>8}{'client':>8}"
    )
    print(header)
    for name, rows in (("tool", tool), ("tool 3", tool_launch_only), ("bare tool", bare)):
        for row in rows:
            cpu = row["cpu"]
            print(
                f"{name:<10}{row['learners']:>9}{row['rate']:>10.1f}{row['p50']:>9.1f}"
                f"{row['p95']:>9.1f}{cpu['gunicorn']:>14.1f}{cpu['postgresql']:>12.1f}"
                f"{cpu['redis']:>8.1f}{cpu['client']:>8.1f}"
            )
    print()
    print("tool/bare, the full flow (goal at 32 learners: launches/s >= 1, p95 <= 1):")
    print_ratios(tool, bare)
    print("tool 3/bare, three requests each (login, launch, the page it leads to):")
    print_ratios(tool_launch_only, bare)
    # Only where the learners keep the machine busy (the most of them): with fewer, latency,
    # not CPU, sets the rate, and the bound says nothing.
    cores = len(os.sched_getaffinity(0))
    ours, theirs = tool[-1], bare[-1]
    rest, bound = ceiling_without_gunicorn(ours["cpu"], cores)
    print(
        f"Ceiling on this machine ({cores} cores shared by the servers and the client; a flow "
        f"costing C ms of CPU in all runs at most {cores} x 1000 / C a second), at "
        f"{ours['learners']} learners: the tool's flow with its workers costing nothing still "
        f"spends {rest:.1f} ms (PostgreSQL + Redis + client), so at most {bound:.1f} launches/s, "
        f"{bound / theirs['rate']:.2f} of the bare tool's {theirs['rate']:.1f}. To match it, the "
        f"workers could spend {worker_budget(ours['cpu'], cores, theirs['rate']):.1f} ms per "
        f"flow; they spend {ours['cpu']['gunicorn']:.1f}"
    )


def print_ratios(ours_rows: list[dict], their_rows: list[dict]) -> None:
    for ours, theirs in zip(ours_rows, their_rows, strict=True):
        total_ours = sum(ms for part, ms in ours["cpu"].items() if part != "client")
        total_theirs = sum(ms for part, ms in theirs["cpu"].items() if part != "client")
        print(
            f"  {ours['learners']:>2} learners: launches/s {ours['rate'] / theirs['rate']:.2f}, "
            f"p50 {ours['p50'] / theirs['p50']:.2f}, p95 {ours['p95'] / theirs['p95']:.2f}, "
            f"server CPU {total_ours / total_theirs:.2f}"
        )


def ceiling_without_gunicorn(cpu: dict[str, float], cores: int) -> tuple[float, float]:
    """The CPU ms per flow that the tool's flow spends outside its own workers (PostgreSQL,
    Redis, the benchmark's client, all on this machine), and the launches/s that alone allows:
    even a tool whose workers cost nothing could not serve more."""
    rest = sum(ms for part, ms in cpu.items() if part != "gunicorn")
    return rest, cores * 1000 / rest


def worker_budget(cpu: dict[str, float], cores: int, rate: float) -> float:
    """The CPU ms per flow the tool's workers could spend and still serve `rate` launches/s on
    this machine, beside what the rest of the flow costs (negative: not even at no cost)."""
    rest, _bound = ceiling_without_gunicorn(cpu, cores)
    return cores * 1000 / rate - rest


if __name__ == "__main__":
    main()

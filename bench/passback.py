"""Grade passback: 10,000 queued scores drained by two `assessment worker` processes on
PostgreSQL into a fake LMS (bench/fake_lms.py) with a known limit; prints scores per second
against that limit (goal: at least 80%), retries by cause, and the proof that no score was
lost and none was sent for a superseded state. Exits 1 if the proof fails.

    BENCH_DATABASE_URL=postgresql+psycopg://root@127.0.0.1:5432/test \\
        .venv/bin/python -m bench.passback [--scores 10000] [--workers 2]

Set-up, in a schema of its own: one platform whose token endpoint is the fake LMS, one course
link with the score scope, `--line-items` line items whose URLs are already known (no line item
calls), one attempt per learner, and `--scores` pending rows, one per learner and line item.
Some 15% of those learners and line items also have one or two older states, superseded before
the drain; while the workers run, grade_sync._enqueue queues newer states for another 5% (as
a marking would), superseding pending rows or following sent ones.

The workers are `assessment worker` (lti.cli.worker_command) in an app whose read timeout is
short (`--read-timeout`, so the LMS's hangs end as timeouts) and which allows loopback
platforms; LTI_PASSBACK_* settings come from the environment as in production.

Scores per second: scores the LMS accepted, from its first score request to its last accept.
The proof: every learner and line item's newest row is sent and is what the LMS holds (none
lost); every accepted score is a row now `sent` (no superseded state reached the gradebook);
and the LMS never received a state older than one it had already accepted for the same key.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from bench.common import ROOT, free_port
from bench.fake_lms import FakeLms, start
from lti import grade_sync, keys
from lti.ags import AGS_SCOPES, ActivityProgress, GradingProgress
from lti.gradebook_vocabulary import DeliveryStatus, LineItemTag
from lti.models import LtiDeployment, LtiLineItem, LtiPlatform, LtiResourceLink, ScoreDelivery
from service import create_app, db, migrations
from service.content_loader import load_content
from service.grading.vocabulary import AttemptStatus
from service.models import Assessment, Attempt
from tests.conftest import isolated_database

DEFAULT_SERVER = "postgresql+psycopg://root@127.0.0.1:5432/test"
EARLIER_SHARE = 0.15  # learners and line items with older states superseded before the drain
DURING_SHARE = 0.05  # newer states queued while the workers drain


def worker_main() -> None:
    """One worker process: `assessment worker` in an app set up for the fake LMS."""
    from lti.cli import worker_command

    app = create_app(
        {
            "LTI_SERVICES_ON_LOOPBACK": True,
            "LTI_SERVICE_READ_TIMEOUT": float(os.environ["BENCH_READ_TIMEOUT"]),
        }
    )
    with app.app_context():
        worker_command.main(args=["--poll", "0.2"], standalone_mode=False)


# ---------------------------------------------------------------------------- set-up


def _score(rng: random.Random, not_this: float | None = None) -> float:
    value = round(rng.uniform(0, 100), 2)
    return value if value != not_this else round((value + 1) % 100, 2)


def set_up(session: Session, base: str, scores: int, line_items: int, rng: random.Random):
    """The platform, link, line items, attempts and queued rows. Returns the line items' ids
    by the number in their URL, and the attempts' ids by learner."""
    now = datetime.now(UTC)
    platform = LtiPlatform(
        name="Fake LMS",
        issuer=base,
        client_id="bench-passback",
        auth_login_url=f"{base}/auth",
        auth_token_url=f"{base}/token",
        key_set_url=f"{base}/certs",
        active=True,
    )
    platform.deployments.append(LtiDeployment(deployment_id="1"))
    session.add(platform)
    session.commit()
    keys.signing_key(session)
    link = LtiResourceLink(
        platform_id=platform.id,
        deployment_id="1",
        resource_link_id="bench-link",
        context_id="bench-course",
        product_family="moodle",
        ags_scopes=" ".join(AGS_SCOPES),
        ags_lineitems=f"{base}/lineitems",
        ags_lineitem=f"{base}/lineitems/1",
        updated_at=now,
    )
    session.add(link)
    session.commit()
    items = {}
    for n in range(1, line_items + 1):
        item = LtiLineItem(
            resource_link_pk=link.id,
            tag=LineItemTag.ASSESSMENT if n == 1 else LineItemTag.CRITERION,
            resource_id=f"BENCH-{n}",
            label=f"Bench column {n}",
            score_maximum=100.0,
            url=f"{base}/lineitems/{n}",
        )
        session.add(item)
        session.flush()
        items[n] = item.id
    assessment_id = session.scalar(select(Assessment.id).order_by(Assessment.id).limit(1))
    learners = [f"learner-{n:05d}" for n in range((scores + line_items - 1) // line_items)]
    session.execute(
        insert(Attempt),
        [
            {
                "uuid": str(uuid.uuid4()),
                "assessment_id": assessment_id,
                "learner_ref": f"lti:{platform.id}:{sub}",
                "lti_platform_id": platform.id,
                "lti_sub": sub,
                "lti_resource_link_id": link.id,
                "seed": "0" * 64,
                "status": AttemptStatus.FULLY_GRADED,
                "percent": 0.0,
                "started_at": now,
                "deadline": now + timedelta(hours=1),
            }
            for sub in learners
        ],
    )
    attempts = dict(session.execute(select(Attempt.lti_sub, Attempt.id)).all())
    keys_queued = [(n, sub) for sub in learners for n in items][:scores]
    start_at = now - timedelta(minutes=10)
    rows = []
    for n, sub in keys_queued:
        states = 1 if rng.random() >= EARLIER_SHARE else rng.choice((2, 3))
        score = None
        for k in range(states):
            score = _score(rng, score)
            newest = k == states - 1
            rows.append(
                {
                    "line_item_id": items[n],
                    "attempt_id": attempts[sub],
                    "user_sub": sub,
                    "score_given": score,
                    "score_maximum": 100.0,
                    "activity_progress": ActivityProgress.COMPLETED.value,
                    "grading_progress": GradingProgress.FULLY_GRADED.value,
                    "timestamp": start_at + k * grade_sync.TIMESTAMP_STEP,
                    "status": DeliveryStatus.PENDING if newest else DeliveryStatus.SUPERSEDED,
                    "tries": 0,
                    "next_try_at": now,
                    "created_at": now,
                }
            )
    for chunk in range(0, len(rows), 2000):
        session.execute(insert(ScoreDelivery), rows[chunk : chunk + 2000])
    session.commit()
    if session.bind.dialect.name == "postgresql":
        # As after any bulk load: the planner's statistics, which autovacuum would gather a
        # minute later. In service the outbox grows a class at a time, and they are current;
        # on a table 12,000 rows larger than its statistics say, a claim plans ten times slower.
        session.execute(text("ANALYZE score_deliveries"))
        session.commit()
    return items, attempts, keys_queued


def queue_newer(engine, items, attempts, keys_queued, count: int, seconds: float, rng, done):
    """Newer states for random learners and line items while the workers drain, through
    grade_sync._enqueue under the attempt's write lock (as service.attempts takes it)."""
    chosen = [rng.choice(keys_queued) for _ in range(count)]
    for n, sub in chosen:
        with Session(engine) as session, session.begin():
            session.execute(
                update(Attempt)
                .where(Attempt.id == attempts[sub])
                .values(version=Attempt.version + 1)
                .execution_options(synchronize_session=False)
            )
            item = session.get(LtiLineItem, items[n])
            attempt = session.get(Attempt, attempts[sub])
            last = grade_sync.latest(session, item.id, sub)
            state = grade_sync.ScoreState(
                score_given=_score(rng, last.score_given if last else None),
                score_maximum=100.0,
                activity_progress=ActivityProgress.COMPLETED,
                grading_progress=GradingProgress.FULLY_GRADED,
                comment=None,
            )
            grade_sync._enqueue(session, item, attempt, state, datetime.now(UTC))
        time.sleep(seconds / max(count, 1))
    done.set()


# ---------------------------------------------------------------------------- the run


def calibrate(base: str, threads: int, seconds: float, read_timeout: float) -> float:
    """Scores per second a bare client (no database) gets accepted by the fake LMS on this
    machine now: `threads` threads posting to line item 0 (not in the outbox) for `seconds`."""
    import requests

    deadline = time.monotonic() + seconds
    accepted = Counter()

    def post(thread: int) -> None:
        http = requests.Session()
        stamp = datetime(2020, 1, 1, tzinfo=UTC)
        while time.monotonic() < deadline:
            stamp += timedelta(seconds=1)
            score = {"userId": f"calibration-{thread}", "timestamp": _ms(stamp), "scoreGiven": 1}
            try:
                status = http.post(
                    f"{base}/lineitems/0/scores", json=score, timeout=(5, read_timeout)
                ).status_code
            except requests.RequestException:
                continue
            accepted[thread] += status == 200

    pool = [threading.Thread(target=post, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sum(accepted.values()) / seconds


def _workers(count: int, url: str, read_timeout: float) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
        "BENCH_READ_TIMEOUT": str(read_timeout),
    }
    log = open(os.environ.get("BENCH_SERVER_LOG", os.devnull), "a")  # noqa: SIM115
    return [
        subprocess.Popen(
            [sys.executable, "-c", "from bench.passback import worker_main; worker_main()"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
        for _ in range(count)
    ]


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # ours: stop it
            process.kill()
            process.wait(timeout=10)


def _open(engine) -> int:
    with Session(engine) as session:
        return session.scalar(
            select(func.count())
            .select_from(ScoreDelivery)
            .where(ScoreDelivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]))
        )


def _ms(moment: datetime) -> str:
    """A timestamp as the score carries it (milliseconds, UTC)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def prove(rows: list, received: list, number_of: dict) -> dict:
    """rows: (id, line item id, user, timestamp, status, scoreGiven); received: the LMS's
    record. Returns the proof's counts (each must be 0)."""
    by_stamp = {(number_of[r[1]], r[2], _ms(r[3])): r for r in rows}
    newest = {}
    for row in sorted(rows, key=lambda r: r[0]):
        newest[(number_of[row[1]], row[2])] = row
    held, superseded_sent, unknown, older_after_newer = {}, 0, 0, 0
    for item, user, stamp, score, answer, _ in received:
        key = (item, user)
        seen = held.get(key)
        if seen is not None and datetime.fromisoformat(stamp) < datetime.fromisoformat(seen[0]):
            older_after_newer += 1
        if answer != "200":
            continue
        row = by_stamp.get((item, user, stamp))
        if row is None:
            unknown += 1
        elif row[4] != DeliveryStatus.SENT:
            superseded_sent += 1
        held[key] = (stamp, score)
    lost = sum(
        row[4] != DeliveryStatus.SENT or held.get(key) != (_ms(row[3]), row[5])
        for key, row in newest.items()
    )
    return {
        "lost": lost,
        "accepted_not_sent_rows": superseded_sent,
        "accepted_unknown": unknown,
        "older_after_newer": older_after_newer,
    }


def run(url: str, args) -> dict:
    rng = random.Random(8)
    migrations.upgrade(url)
    app = create_app({"DATABASE_URL": url})
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with app.app_context():
        load_content(db.session(), app.config["CONTENT_DIR"])
        db.session().commit()
        items, attempts, keys_queued = set_up(db.session(), base, args.scores, args.line_items, rng)
    engine = app.extensions["db_engine"]
    number_of = {item_id: n for n, item_id in items.items()}
    lms = FakeLms(concurrency=args.lms_concurrency)
    lms_process = start(lms, port)
    try:
        bare = calibrate(base, args.calibrate_threads, 3.0, args.read_timeout)
        during = int(args.scores * DURING_SHARE)
        done = threading.Event()
        spread = 0.5 * args.scores / lms.limit  # over about the first half of a perfect drain
        queuer = threading.Thread(
            target=queue_newer,
            args=(engine, items, attempts, keys_queued, during, spread, rng, done),
            daemon=True,
        )
        started = time.monotonic()
        workers = _workers(args.workers, url, args.read_timeout)
        try:
            queuer.start()
            while not (done.is_set() and _open(engine) == 0):
                if any(w.poll() is not None for w in workers):
                    raise RuntimeError("a worker exited; BENCH_SERVER_LOG=file shows why")
                if time.monotonic() - started > args.give_up:
                    raise RuntimeError(f"the outbox was not drained in {args.give_up} s")
                time.sleep(0.2)
            drained = time.monotonic() - started
        finally:
            _stop(workers)
        with urllib.request.urlopen(f"{base}/bench/record", timeout=30) as answer:
            record = json.load(answer)
    finally:
        lms_process.terminate()
        lms_process.join(10)
    with Session(engine) as session:
        rows = session.execute(
            select(
                ScoreDelivery.id,
                ScoreDelivery.line_item_id,
                ScoreDelivery.user_sub,
                ScoreDelivery.timestamp,
                ScoreDelivery.status,
                ScoreDelivery.score_given,
                ScoreDelivery.tries,
            )
        ).all()
    engine.dispose()
    received = [entry for entry in record["received"] if entry[0] != 0]  # not calibration
    answers = Counter(entry[4] for entry in received)
    accepted_at = [entry[5] for entry in received if entry[4] == "200"]
    first = min(entry[5] for entry in received)
    window = max(accepted_at) - first
    # The bulk: until 95% of the accepts, before the tail of retries waiting out their backoff.
    bulk = sorted(accepted_at)[int(0.95 * len(accepted_at)) - 1] - first
    statuses = Counter(row[4] for row in rows)
    tried = [row[6] for row in rows if row[6]]
    return {
        "lms": lms,
        "rows": len(rows),
        "statuses": statuses,
        "accepted": answers["200"],
        "answers": answers,
        "tokens": record["tokens"],
        "window": window,
        "bulk": bulk,
        "drained": drained,
        "extra_tries": sum(tried) - len(tried),
        "during": during,
        "bare": bare,
        "proof": prove(rows, received, number_of),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scores", type=int, default=10_000, help="pending rows at the start")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--line-items", type=int, default=5, help="line items (columns)")
    parser.add_argument(
        "--lms-concurrency", type=int, default=4, help="requests the fake LMS serves at once"
    )
    parser.add_argument("--read-timeout", type=float, default=0.5, help="the workers' seconds")
    parser.add_argument(
        "--calibrate-threads",
        type=int,
        default=16,
        help="threads of the bare client measured first (two workers x 8 per platform)",
    )
    parser.add_argument("--give-up", type=float, default=900, help="seconds before failing")
    args = parser.parse_args()
    if importlib.util.find_spec("lti.passback_worker") is None:
        sys.exit("no lti/passback_worker.py here: this benchmark needs `assessment worker`")
    server = os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER)
    with isolated_database(Path(tempfile.mkdtemp()), server) as url:
        f = run(url, args)
    lms, answers, proof = f["lms"], f["answers"], f["proof"]
    rate = f["accepted"] / f["window"]
    settings = {k: v for k, v in os.environ.items() if k.startswith("LTI_PASSBACK_")}
    print(
        f"{'PostgreSQL' if server.startswith('postgresql') else 'SQLite'}, {args.workers} "
        f"worker processes ({', '.join(f'{k}={v}' for k, v in settings.items()) or 'defaults'})"
        f", {args.scores} pending scores over {args.line_items} line items, "
        f"{f['during']} newer states queued while draining"
    )
    print(
        f"fake LMS limit: {lms.concurrency} at once x {lms.service_seconds * 1000:.0f} ms = "
        f"{lms.request_limit:.0f} score requests/s, at most {lms.limit:.0f} accepted/s "
        f"(its 500s take slots too; 429s and hangs do not); a bare client of "
        f"{args.calibrate_threads} threads gets {f['bare']:.0f} accepted/s on this machine now"
    )
    print(
        f"delivered {f['accepted']} scores in {f['window']:.1f} s (first request to last "
        f"accept; {f['drained']:.1f} s from starting the workers to an empty outbox): "
        f"{rate:.0f} scores/s = {rate / lms.limit:.0%} of the LMS's limit (goal 80%)"
    )
    bulk = int(0.95 * f["accepted"]) / f["bulk"]
    print(
        f"the first 95% of them in {f['bulk']:.1f} s: {bulk:.0f} scores/s = "
        f"{bulk / lms.limit:.0%} of the limit (the rest is retries waiting out their backoff)"
    )
    print(
        f"LMS answers: {answers['200']} accepted, {answers['500']} x 500, {answers['429']} x "
        f"429 (Retry-After 1), {answers['timeout']} timeouts, {answers['409']} x 409 stale; "
        f"{f['tokens']} token request(s); retries recorded in the outbox: {f['extra_tries']}"
    )
    print(
        "outbox: "
        + ", ".join(f"{status.value} {count}" for status, count in sorted(f["statuses"].items()))
        + f" ({f['rows']} rows)"
    )
    print(
        f"proof: lost {proof['lost']} (newest state not what the LMS holds), accepted for a "
        f"row not sent {proof['accepted_not_sent_rows']} (a superseded state), accepted "
        f"unknown {proof['accepted_unknown']}, older state received after a newer one "
        f"{proof['older_after_newer']} (all must be 0)"
    )
    if any(proof.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()

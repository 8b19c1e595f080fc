"""Coverage reports at scale: a centre of 10,000 learners (and one of 1,000) with attempts and
evidence in every unit on PostgreSQL, then the coverage CSV (every learner, streamed) and the
JSON first page, each timed, with its peak Python memory and its number of SQL statements.

    BENCH_DATABASE_URL=postgresql+psycopg://root@127.0.0.1:5432/test \\
        .venv/bin/python -m bench.coverage [--learners 1000 10000]

Goals: the CSV streams (peak memory flat from 1,000 to 10,000 learners), runs in a handful of
queries per chunk of learners (never one per learner), and the 10,000-learner CSV takes under
2 seconds.

Data, built with INSERT ... SELECT in a schema of its own (seconds, not minutes): per learner a
Learner and its identity; per unit a fully graded attempt deciding each knowledge criterion
(85% met, two items each, a third of them marked by one of seven assessors), a pending attempt
for one learner in ten, and a performance evidence record for each performance criterion (80%
met). Time (the median of --repeat runs) and statements are measured apart from peak memory
(tracemalloc, which slows Python, in one more run); the report is read through the Flask app,
as a client would.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc

from sqlalchemy import event, text

from service import create_app, db, migrations
from service.auth import create_client
from service.content_loader import load_content
from tests.conftest import isolated_database

DEFAULT_SERVER = "postgresql+psycopg://root@127.0.0.1:5432/test"

BUILD = [
    """INSERT INTO centres (uuid, code, name, created_at)
       VALUES (gen_random_uuid()::text, :code, :name, now())""",
    """INSERT INTO learners (uuid, centre_id, reference, name, created_at, updated_at)
       SELECT gen_random_uuid()::text, (SELECT id FROM centres WHERE code = :code),
              CAST(:code AS text) || '-L' || n, 'Learner ' || n, now(), now()
       FROM generate_series(1, :learners) AS n""",
    """INSERT INTO learner_identities (learner_id, centre_id, learner_ref, created_at)
       SELECT l.id, l.centre_id, l.reference, now() FROM learners l
       JOIN centres c ON c.id = l.centre_id WHERE c.code = :code""",
    """INSERT INTO attempts (uuid, assessment_id, centre_id, learner_ref, seed, status,
                             opened_at, submitted_at, graded_at)
       SELECT gen_random_uuid()::text, a.id, l.centre_id, l.reference, repeat('0', 64),
              'fully_graded', now(), now(), now() - random() * interval '30 days'
       FROM learners l JOIN centres c ON c.id = l.centre_id CROSS JOIN assessments a
       WHERE c.code = :code""",
    """INSERT INTO attempts (uuid, assessment_id, centre_id, learner_ref, seed, status,
                             opened_at, submitted_at)
       SELECT gen_random_uuid()::text, a.id, l.centre_id, l.reference, repeat('0', 64),
              'pending_manual', now(), now()
       FROM learners l JOIN centres c ON c.id = l.centre_id CROSS JOIN assessments a
       WHERE c.code = :code AND l.id % 10 = 0""",
    """INSERT INTO attempt_criterion_decisions (attempt_id, criterion_code, decision, evidence)
       SELECT t.id, k.code,
              CASE WHEN t.status = 'pending_manual' THEN 'pending'
                   WHEN random() < 0.85 THEN 'met' ELSE 'not_yet_met' END,
              json_build_array(k.code || '-Q1', k.code || '-Q2')
       FROM attempts t JOIN centres c ON c.id = t.centre_id
       JOIN assessments a ON a.id = t.assessment_id
       JOIN criteria k ON k.unit_id = a.unit_id
       JOIN criterion_versions v ON v.criterion_id = k.id AND v.version = k.current_version
       WHERE c.code = :code AND v.evidence_type = 'knowledge'""",
    """INSERT INTO attempt_marks (attempt_id, item_code, criterion_code, quality, marked_by,
                                  marked_at)
       SELECT d.attempt_id, d.criterion_code || '-Q2', d.criterion_code, d.decision,
              'client:assessor-' || (d.attempt_id % 7), now()
       FROM attempt_criterion_decisions d JOIN attempts t ON t.id = d.attempt_id
       JOIN centres c ON c.id = t.centre_id
       WHERE c.code = :code AND t.status = 'fully_graded' AND d.id % 3 = 0""",
    """INSERT INTO performance_evidence (uuid, centre_id, learner_ref, criterion_id,
              criterion_version_id, evidence_type, evidenced_on, description, decision,
              assessor, created_at)
       SELECT gen_random_uuid()::text, l.centre_id, l.reference, k.id, v.id, 'observation',
              date '2026-11-20', 'Observed with a customer',
              CASE WHEN random() < 0.8 THEN 'met' ELSE 'not_yet_met' END,
              'client:assessor-' || (l.id % 7), now()
       FROM learners l JOIN centres c ON c.id = l.centre_id
       CROSS JOIN criteria k
       JOIN criterion_versions v ON v.criterion_id = k.id AND v.version = k.current_version
       WHERE c.code = :code AND v.evidence_type = 'performance'""",
]


def build(app, code: str, learners: int) -> float:
    started = time.perf_counter()
    with app.app_context():
        session = db.session()
        values = {"code": code, "name": f"Bench centre {code}", "learners": learners}
        for statement in BUILD:
            session.execute(text(statement), values)
        session.commit()
        session.execute(text("ANALYZE"))
        session.commit()
    return time.perf_counter() - started


def token(app) -> dict:
    """An awarding-body client with coverage:read (it sees every centre)."""
    with app.app_context():
        client, secret = create_client(db.session(), "bench", ["coverage:read"], None)
        client_id = client.client_id
    response = app.test_client().post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def read(app, headers: dict, url: str) -> tuple[int, int]:
    """Read the response as a client does, a piece at a time; (bytes, statements)."""
    engine = app.extensions["db_engine"]
    statements = [0]

    def count(*_args):
        statements[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = app.test_client().get(url, headers=headers, buffered=False)
        assert response.status_code == 200, response.status_code
        size = 0
        for piece in response.response:
            size += len(piece)
        response.close()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return size, statements[0]


def measure(app, headers: dict, url: str, repeat: int) -> dict:
    read(app, headers, url)  # warm: imports, templates, plans
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        size, statements = read(app, headers, url)
        times.append(time.perf_counter() - started)
    seconds = statistics.median(times)
    tracemalloc.start()
    read(app, headers, url)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"seconds": seconds, "peak_mib": peak / 2**20, "statements": statements, "bytes": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--server", default=DEFAULT_SERVER)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs; the median is printed")
    args = parser.parse_args()
    import tempfile
    from pathlib import Path

    with isolated_database(Path(tempfile.mkdtemp()), args.server) as url:
        migrations.upgrade(url)
        app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
        with app.app_context():
            load_content(db.session(), app.config["CONTENT_DIR"])
            db.session().commit()
        headers = token(app)
        print(f"# seconds: median of {args.repeat} runs; peak MiB: tracemalloc, one more run")
        print(
            f"{'learners':>9} {'format':>11} {'seconds':>8} {'peak MiB':>9} "
            f"{'statements':>10} {'bytes':>11}"
        )
        for learners in args.learners:
            code = f"B{learners}"
            built = build(app, code, learners)
            print(f"# built centre {code}: {learners} learners in {built:.1f} s")
            for label, url_ in (
                ("csv", f"/api/v1/coverage?centre={code}&format=csv"),
                ("json page 1", f"/api/v1/coverage?centre={code}"),
            ):
                m = measure(app, headers, url_, args.repeat)
                print(
                    f"{learners:>9} {label:>11} {m['seconds']:>8.2f} {m['peak_mib']:>9.1f} "
                    f"{m['statements']:>10} {m['bytes']:>11}"
                )
        app.extensions["db_engine"].dispose()


if __name__ == "__main__":
    main()

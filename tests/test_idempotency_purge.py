"""Expired Idempotency-Keys are deleted by the daily `assessment learners retention`: the
responses stored with them hold personal data (a created learner's name) and must not be kept
once the key no longer replays. Live keys are kept and still replay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from service import db
from service.models import IdempotencyKey, utcnow
from tests.conftest import bearer

WRITE = ["learners:read", "learners:write"]


def _create(client, headers, key: str, reference: str, name: str):
    return client.post(
        "/api/v1/learners",
        json={"reference": reference, "name": name},
        headers={**headers, "Idempotency-Key": key},
    )


def _keys(app) -> dict[str, str | None]:
    with app.app_context():
        rows = db.session().execute(select(IdempotencyKey.key, IdempotencyKey.body)).all()
        return {row.key: row.body for row in rows}


def test_retention_purges_expired_keys_and_keeps_live_ones(fresh):
    app, _ = fresh
    client = app.test_client()
    writer = bearer(app, WRITE, centre_code="C1")
    assert _create(client, writer, "k-old", "MIS-OLD", "Old Learner").status_code == 201
    live = _create(client, writer, "k-live", "MIS-LIVE", "Live Learner")
    assert live.status_code == 201
    with app.app_context():
        session = db.session()
        session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == "k-old")
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        session.commit()
    assert "Old Learner" in _keys(app)["k-old"]  # the stored response is personal data

    runner = app.test_cli_runner()
    dry = runner.invoke(args=["learners", "retention", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "1 expired idempotency key(s) would be deleted" in dry.output
    assert set(_keys(app)) == {"k-old", "k-live"}

    done = runner.invoke(args=["learners", "retention"])
    assert done.exit_code == 0, done.output
    assert "1 expired idempotency key(s) deleted" in done.output
    assert set(_keys(app)) == {"k-live"}

    again = _create(client, writer, "k-live", "MIS-LIVE", "Live Learner")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == live.get_json()
    assert (
        "0 expired idempotency key(s) deleted"
        in runner.invoke(args=["learners", "retention"]).output
    )

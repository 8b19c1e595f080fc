"""Webhook signing secrets are sealed at rest (service/sealed_secrets.py): a read of the
database does not reveal them, deliveries still verify with the secret given at registration
(and, after rotation, with the new one only), a SECRET_KEY that changed fails the delivery with
a message instead of sending it, and migration 0024 seals the rows that were stored in plain
text (and 0023's downgrade gives them back)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, select, text

from lti.gradebook_vocabulary import DeliveryStatus
from lti.passback_worker import WorkerSettings
from service import db, migrations, sealed_secrets
from service.identifiers import new_uuid
from service.models import WebhookDelivery, WebhookEndpoint, utcnow
from service.webhook_worker import UNREADABLE_SECRET, WebhookWorker
from tests.conftest import bearer, isolated_database, make_app
from tests.test_webhooks import Receiver

URL = "/api/v1/webhooks"
CENTRE = "C-SEAL-1"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with isolated_database(tmp_path_factory.mktemp("sealed")) as url:
        application = make_app(url, WEBHOOKS_ON_LOOPBACK=True, SECRET_KEY="key-of-this-test")
        yield application
        application.extensions["db_engine"].dispose()


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def headers(app):
    return bearer(app, ["webhooks:write"], centre_code=CENTRE)


@pytest.fixture()
def receiver():
    made = Receiver()
    yield made
    made.close()


def _row_text(app, webhook_id: str) -> str:
    """Every column of the endpoint's row, as the database gives it."""
    with app.app_context():
        row = (
            db.session()
            .execute(text("SELECT * FROM webhook_endpoints WHERE uuid = :id"), {"id": webhook_id})
            .mappings()
            .one()
        )
        return json.dumps({k: str(v) for k, v in row.items()})


def _event(app, webhook_id: str) -> str:
    """A due delivery for the endpoint, as service.webhooks writes them."""
    with app.app_context():
        session = db.session()
        endpoint = session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.uuid == webhook_id))
        event_id = new_uuid()
        now = utcnow()
        session.add(
            WebhookDelivery(
                uuid=event_id,
                endpoint_id=endpoint.id,
                event="attempt.graded",
                body=json.dumps({"id": event_id, "type": "attempt.graded", "data": {}}),
                status=DeliveryStatus.PENDING,
                tries=0,
                next_try_at=now,
                created_at=now,
            )
        )
        session.commit()
        return event_id


def _worker(app, secret_key: str) -> WebhookWorker:
    settings = WorkerSettings(threads=2, batch=10)
    return WebhookWorker(app.extensions["db_engine"], settings, secret_key, loopback=True)


def _signature(receiver: Receiver, event_id: str) -> tuple[str, bytes]:
    [(got_headers, body)] = [(h, b) for h, b in receiver.got if json.loads(b)["id"] == event_id]
    return got_headers["Webhook-Signature"], body


def _verifies(secret: str, signed: tuple[str, bytes]) -> bool:
    from service import webhooks

    header, body = signed
    return webhooks.verify(secret, header, body, datetime.now(UTC))


def test_the_database_holds_no_secret_and_deliveries_verify(app, client, headers, receiver):
    made = client.post(URL, json={"url": receiver.url}, headers=headers)
    assert made.status_code == 201, made.get_json()
    hook = made.get_json()
    secret = hook["secret"]
    stored = _row_text(app, hook["id"])
    assert secret not in stored and secret.removeprefix("whsec_") not in stored

    first = _event(app, hook["id"])
    assert _worker(app, app.config["SECRET_KEY"]).run(once=True) >= 1
    assert _verifies(secret, _signature(receiver, first))

    rotated = client.patch(
        f"{URL}/{hook['id']}", json={"rotate_secret": True}, headers=headers
    ).get_json()
    new = rotated["secret"]
    assert new != secret and new not in _row_text(app, hook["id"])
    second = _event(app, hook["id"])
    assert _worker(app, app.config["SECRET_KEY"]).run(once=True) >= 1
    signed = _signature(receiver, second)
    assert _verifies(new, signed) and not _verifies(secret, signed)


def test_a_changed_secret_key_fails_the_delivery_and_sends_nothing(app, client, headers, receiver):
    hook = client.post(URL, json={"url": receiver.url}, headers=headers).get_json()
    event_id = _event(app, hook["id"])
    assert _worker(app, "another-secret-key").run(once=True) >= 1
    assert receiver.got == []
    with app.app_context():
        row = db.session().scalar(select(WebhookDelivery).where(WebhookDelivery.uuid == event_id))
        assert row.status == DeliveryStatus.FAILED
        assert UNREADABLE_SECRET in row.last_error


def test_migration_0024_seals_plain_secrets_and_0023_restores_them(tmp_path):
    plain = "whsec_" + "ab" * 24
    with isolated_database(tmp_path) as url:
        migrations.upgrade(url, "0023")
        engine = create_engine(url)
        try:
            now = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "INSERT INTO centres (id, uuid, code, name, created_at) "
                        "VALUES (1, 'cen-1', 'C1', 'Centre', :now)"
                    ),
                    {"now": now},
                )
                connection.execute(
                    text(
                        "INSERT INTO webhook_endpoints (id, uuid, centre_id, url, secret, active,"
                        " created_by, created_at, updated_at) VALUES (1, 'wh-1', 1,"
                        " 'https://mis.example/hook', :secret, true, 'client:x', :now, :now)"
                    ),
                    {"secret": plain, "now": now},
                )
            migrations.upgrade(url, "0024", secret_key="production-key")
            with engine.connect() as connection:
                row = connection.execute(text("SELECT * FROM webhook_endpoints")).mappings().one()
            assert "secret" not in row and plain not in json.dumps(
                {k: str(v) for k, v in row.items()}
            )
            assert sealed_secrets.unseal("production-key", row["sealed_secret"]) == plain
            with pytest.raises(sealed_secrets.Unreadable):
                sealed_secrets.unseal("another-key", row["sealed_secret"])

            migrations.downgrade(url, "0023", secret_key="production-key")
            with engine.connect() as connection:
                back = connection.execute(text("SELECT secret FROM webhook_endpoints")).scalar()
            assert back == plain
        finally:
            engine.dispose()

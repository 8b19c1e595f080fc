"""Idempotency-Key on POSTs that create: a retried request gets the first one's response, never
a second record.

A client sends `Idempotency-Key: <up to 255 characters>`. The key is stored per client with a
SHA-256 of the request's method, path and body:
- The first request inserts the key in its own transaction, so the key and what the view
  creates commit together (or neither does: a refused request leaves no key, and may be
  retried). Its successful (2xx) response is then stored with the key.
- A retry with the same method, path and body gets the stored response again, with the header
  `Idempotent-Replayed: true`. A concurrent duplicate waits for the first to finish (the unique
  index on (client, key) makes it wait), then replays it.
- The same key with a different request is 422.
- Keys expire 24 hours after first use; after that the key is new again.
"""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from functools import wraps

from flask import Response, request
from flask_smorest import abort
from sqlalchemy import delete, func, select, update

from service import db
from service.auth import current_client
from service.models import IdempotencyKey, utcnow
from service.upserts import insert_for

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
LIFETIME = timedelta(hours=24)
KEY_MAX = 255
# How long a duplicate waits for the first request's response to be stored.
WAIT_SECONDS = 10.0

PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "description": "Any string up to 255 characters, unique per request you mean to make once. "
    "A retry with the same key, method, path and body gets the first response again (header "
    "Idempotent-Replayed: true) and creates nothing; the same key with a different request is "
    "422. Keys are kept 24 hours.",
    "schema": {"type": "string", "maxLength": KEY_MAX},
    "example": "9c1e2f7a-enrol-MIS-004217",
}


def _request_hash() -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), request.get_data()):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def idempotent(view):
    """Decorator for a creating POST view, placed under @require_scope (the client is known)
    and above flask-smorest's @arguments/@response (it stores the serialised response)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not key or len(key) > KEY_MAX:
            abort(422, errors={HEADER: [f"Must be 1 to {KEY_MAX} characters."]})
        client_id = current_client().id
        digest = _request_hash()
        stored = _claim(client_id, key, digest)
        if stored is not None:
            return _replay(stored)
        response = view(*args, **kwargs)
        response = _as_response(response)
        if 200 <= response.status_code < 300:
            _store(client_id, key, digest, response)
        return response

    return wrapper


def _claim(client_id: int, key: str, digest: str) -> IdempotencyKey | None:
    """Insert the key in the request's transaction (None: this request goes ahead), or the
    stored key of an earlier request with its response."""
    session = db.session()
    # A fresh transaction: on SQLite a write after the token's reads could fail on a stale
    # snapshot; the key's INSERT is its first statement.
    session.rollback()
    now = utcnow()
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.client_id == client_id,
            IdempotencyKey.key == key,
            IdempotencyKey.expires_at <= now,
        )
    )
    inserted = session.execute(
        insert_for(session, IdempotencyKey)
        .values(
            client_id=client_id,
            key=key,
            request_hash=digest,
            created_at=now,
            expires_at=now + LIFETIME,
        )
        .on_conflict_do_nothing()
        .returning(IdempotencyKey.id)
    ).scalar()
    if inserted is not None:
        return None
    # Someone holds the key: the first request committed (or is finishing).
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        session.rollback()
        found = session.scalar(
            select(IdempotencyKey).where(
                IdempotencyKey.client_id == client_id, IdempotencyKey.key == key
            )
        )
        if found is not None and found.request_hash != digest:
            session.rollback()
            abort(
                422,
                message="This Idempotency-Key was used with a different request: use a new key.",
                errors={HEADER: ["Used before with a different method, path or body."]},
            )
        if found is not None and found.status is not None:
            session.rollback()
            return found
        if found is None:
            # The first request was refused and left no key: this one goes ahead.
            return _claim(client_id, key, digest)
        if time.monotonic() > deadline:
            session.rollback()
            abort(409, message="A request with this Idempotency-Key is still running: retry.")
        time.sleep(0.05)


def _store(client_id: int, key: str, digest: str, response: Response) -> None:
    """Keep the response with the key. If the view's transaction lost the key (a view that
    rolls back and recovers, like a start that meets another start), insert it now."""
    session = db.session()
    body = response.get_data(as_text=True)
    updated = session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.client_id == client_id,
            IdempotencyKey.key == key,
            IdempotencyKey.status.is_(None),
        )
        .values(status=response.status_code, body=body)
    ).rowcount
    if not updated:
        now = utcnow()
        session.execute(
            insert_for(session, IdempotencyKey)
            .values(
                client_id=client_id,
                key=key,
                request_hash=digest,
                status=response.status_code,
                body=body,
                created_at=now,
                expires_at=now + LIFETIME,
            )
            .on_conflict_do_nothing()
        )
    session.commit()


def _replay(stored: IdempotencyKey) -> Response:
    return Response(
        stored.body,
        status=stored.status,
        mimetype="application/json",
        headers={REPLAYED: "true"},
    )


def _as_response(result) -> Response:
    from flask import make_response

    return make_response(result)


def count_expired(session) -> int:
    return session.scalar(
        select(func.count())
        .select_from(IdempotencyKey)
        .where(IdempotencyKey.expires_at <= utcnow())
    )


def purge_expired(session) -> int:
    """Delete keys past their 24 hours. Run daily by `assessment learners retention`: a stored
    response can hold a learner's personal data (a created learner's name), so it must not
    outlive its key; live keys are kept, and an expired one no longer replays anyway."""
    return session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.expires_at <= utcnow())
    ).rowcount

"""What each process keeps of the content: the unit's item keys and rubric levels, immutable
per content version, read once per process per version instead of on every launch and page
(issue 12; keys_for alone cost about 4.5 ms per call).

The version is a token in the one row of `content_versions`. Any change to the content written
through the ORM (service/content_loader.py, service/bank_loader.py, approvals and withdrawals in
service/item_provenance.py, bulk update/delete statements) writes a new token in the same
transaction, so the change and its version commit together; every process sees the new token
at its next transaction. A transaction reads the token once (one primary-key read) and keeps it
for the transaction. A transaction that changed the content keeps nothing: it may roll back.

Values are kept per engine (each app has its own) and per version; they are shared between
threads (gunicorn gthread workers), so callers must not change what they are given.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Hashable
from typing import TypeVar

from sqlalchemy import ScalarSelect, event, insert, inspect, select, update
from sqlalchemy.orm import Session, make_transient_to_detached

from service.models import (
    AccessArrangement,
    Assessment,
    ContentVersion,
    Criterion,
    CriterionVersion,
    Item,
    ItemCriterion,
    ItemVersion,
    Rubric,
    Unit,
)
from service.per_engine import PerEngine

T = TypeVar("T")

ROW_ID = 1
# What the kept values are made of: a change to any of these is a new content version.
# Access arrangements are not content, but who has one is kept the same way (a page need not
# read the arrangement of a learner who has none, service/access_arrangements.py); they change
# seldom, and a change then reloads the rest once per process.
CONTENT_MODELS = (
    AccessArrangement,
    Assessment,
    Unit,
    Criterion,
    CriterionVersion,
    Rubric,
    Item,
    ItemVersion,
    ItemCriterion,
)
# session.info keys, both emptied when the session's transaction ends.
_VERSION = "content_version"  # the token this transaction read
_CHANGED = "content_changed"  # this transaction wrote content: keep nothing it reads


class _Kept:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.version: str | None = None
        self.values: dict[Hashable, object] = {}


_kept: PerEngine[_Kept] = PerEngine(_Kept)


def version(session: Session) -> str | None:
    """The content version this transaction sees (read once per transaction), or None when
    the transaction has changed the content itself."""
    if session.info.get(_CHANGED):
        return None
    token = session.info.get(_VERSION)
    if token is None:
        found = session.scalar(select(ContentVersion.token).where(ContentVersion.id == ROW_ID))
        token = session.info[_VERSION] = found or ""
    return token


def version_column() -> ScalarSelect:
    """The content version as a column, for a statement the request runs anyway (the launch
    session's read): `noted` then keeps it for the transaction, one round trip fewer."""
    return select(ContentVersion.token).where(ContentVersion.id == ROW_ID).scalar_subquery()


def noted(session: Session, token: str | None) -> None:
    """The version a statement of this transaction read with `version_column()`."""
    if not session.info.get(_CHANGED) and _VERSION not in session.info:
        session.info[_VERSION] = token or ""


def kept(
    session: Session,
    key: Hashable,
    load: Callable[[Session], T],
    keep: Callable[[T], bool] = lambda _value: True,
) -> T:
    """`load(session)`, computed once per process per content version for `key`. A value
    `keep` refuses is not kept (what is not found: a key an outsider chooses must not grow
    the cache)."""
    token = version(session)
    if token is None:
        return load(session)
    cache = _kept.of(session)
    with cache.lock:
        if cache.version == token and key in cache.values:
            return cache.values[key]  # type: ignore[return-value]
    # Loaded outside the lock: two threads may both load a key once, never block each other.
    value = load(session)
    if not keep(value):
        return value
    with cache.lock:
        if cache.version != token:  # a newer (or, briefly, older) version: keep only it
            cache.version, cache.values = token, {}
        cache.values[key] = value
    return value


def detached_copy(row: object) -> object:
    """A copy of an ORM object's columns that belongs to no session, to keep across requests
    and give each session with `session.merge(copy, load=False)` (no SQL, no change to flush).
    Relationships are not copied (the caller sets them with set_committed_value)."""
    mapper = inspect(row).mapper
    copy = mapper.class_(**{attr.key: getattr(row, attr.key) for attr in mapper.column_attrs})
    make_transient_to_detached(copy)
    return copy


def forget(session: Session) -> None:
    """Drop what this process keeps for the session's database (tests; never needed for
    correctness, the version does that)."""
    cache = _kept.of(session)
    with cache.lock:
        cache.version, cache.values = None, {}


# ---------------------------------------------------------------------------- the version


def _new_version(session: Session) -> None:
    """Write a new token in the session's transaction: it commits with the content change."""
    session.info[_CHANGED] = True
    session.info.pop(_VERSION, None)
    connection = session.connection()
    token = uuid.uuid4().hex
    table = ContentVersion.__table__
    written = connection.execute(update(table).where(table.c.id == ROW_ID).values(token=token))
    if written.rowcount == 0:
        connection.execute(insert(table).values(id=ROW_ID, token=token))


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    changed = [*session.new, *session.deleted] + [
        obj for obj in session.dirty if session.is_modified(obj, include_collections=False)
    ]
    if any(isinstance(obj, CONTENT_MODELS) for obj in changed):
        _new_version(session)


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state) -> None:
    """update()/delete() statements on the content bypass the flush."""
    if not (state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    if mapper is not None and mapper.class_ in CONTENT_MODELS:
        _new_version(state.session)


@event.listens_for(Session, "after_transaction_end")
def _transaction_end(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction: committed or rolled back
        session.info.pop(_VERSION, None)
        session.info.pop(_CHANGED, None)

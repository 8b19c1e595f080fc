"""The content each process keeps per content version (service/content_cache.py, issue 12):
a second call reads no items; a change to the content, in this process or another, is used by
the next transaction; a change rolled back leaves nothing behind."""

from __future__ import annotations

import contextlib

from sqlalchemy import create_engine, event, select, text, update

from service import bank, db, item_provenance
from service.models import Criterion, Item, Rubric, Unit

UNIT = "CSC-04"
ITEM = "CSC-04-Q001"  # reviewed, not approved: approving it puts it in the live pool


@contextlib.contextmanager
def statements(app):
    engine = app.extensions["db_engine"]
    seen: list[str] = []

    def record(_conn, _cursor, sql, *_args):
        seen.append(" ".join(sql.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _unit_id(session) -> int:
    return session.scalar(select(Unit.id).where(Unit.code == UNIT))


def _keys(app, approved_only: bool = False) -> list:
    with app.app_context():
        session = db.session()
        keys = bank.keys_for(session, _unit_id(session), approved_only)
        session.commit()
        return keys


def _reading_items(sql: list[str]) -> list[str]:
    return [s for s in sql if "FROM items" in s or "FROM item_versions" in s or "rubrics" in s]


def test_a_second_call_reads_the_version_only(fresh):
    app, _ = fresh
    with statements(app) as first:
        keys = _keys(app)
    assert _reading_items(first), first
    with statements(app) as second:
        again = _keys(app)
    assert again == keys
    assert not _reading_items(second), second
    assert len([s for s in second if "content_versions" in s]) == 1, second
    with app.app_context():
        session = db.session()
        unit_id = _unit_id(session)
        with statements(app) as levels:
            assert bank.rubric_levels(session, unit_id)
            assert bank.rubric_max_scores(session, unit_id)
            bank.keys_for(session, unit_id)
        session.rollback()
    # One version read for the whole transaction, nothing else.
    assert levels == [s for s in levels if "content_versions" in s] and len(levels) == 1, levels


def test_an_approval_is_a_new_version_the_next_transaction_uses(fresh):
    app, _ = fresh
    assert ITEM not in {k.id for k in _keys(app, approved_only=True)}
    with app.app_context():
        item_provenance.approve(db.session(), ITEM, "Dr A. Patel, sector expert")
        db.session().commit()
    assert ITEM in {k.id for k in _keys(app, approved_only=True)}
    with app.app_context():
        item_provenance.withdraw_approval(db.session(), ITEM)
        db.session().commit()
    assert ITEM not in {k.id for k in _keys(app, approved_only=True)}


def test_a_rubric_change_is_used_by_the_next_transaction(fresh):
    app, _ = fresh
    with app.app_context():
        session = db.session()
        unit_id = _unit_id(session)
        before = bank.rubric_max_scores(session, unit_id)
        session.commit()
        code, _top = next(iter(before.items()))
        rubric = session.scalar(
            select(Rubric)
            .join(Criterion, Criterion.id == Rubric.criterion_id)
            .where(Criterion.code == code)
        )
        levels = [dict(level) for level in rubric.levels]
        levels[-1]["score"] += 10
        rubric.levels = levels
        session.commit()
        after = bank.rubric_max_scores(session, unit_id)
        session.commit()
    assert after[code] == before[code] + 10


def test_a_change_rolled_back_is_not_kept(fresh):
    app, _ = fresh
    _keys(app, approved_only=True)  # kept
    with app.app_context():
        session = db.session()
        item_provenance.approve(session, ITEM, "Dr A. Patel, sector expert")
        session.flush()
        # This transaction changed the content: it reads its own change and keeps nothing.
        inside = bank.keys_for(session, _unit_id(session), approved_only=True)
        assert ITEM in {k.id for k in inside}
        session.rollback()
    assert ITEM not in {k.id for k in _keys(app, approved_only=True)}


def test_a_change_by_another_process_is_used_by_the_next_transaction(fresh):
    """Another process writes the content and a new token (as its ORM flush would): this
    process's cache is not told, yet its next transaction reads the new version."""
    app, _ = fresh
    assert ITEM not in {k.id for k in _keys(app, approved_only=True)}
    other = create_engine(str(app.extensions["db_engine"].url.render_as_string(False)))
    try:
        with other.begin() as connection:
            connection.execute(
                update(Item.__table__).where(Item.code == ITEM).values(status="approved")
            )
            connection.execute(text("UPDATE content_versions SET token = 'another-process'"))
    finally:
        other.dispose()
    assert ITEM in {k.id for k in _keys(app, approved_only=True)}

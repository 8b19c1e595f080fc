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


ASSESSMENT = "CSC-01-A1"


def _time_limit(app) -> int:
    with app.app_context():
        session = db.session()
        assessment = bank.get_assessment(session, ASSESSMENT)
        minutes = assessment.time_limit_minutes
        assert assessment.unit.code == "CSC-01"
        session.commit()
        return minutes


def test_an_assessment_is_read_once_per_version_and_a_change_is_a_new_version(fresh):
    """The launch path's assessment and unit: no statement of their own once kept; each
    session gets its own objects, with nothing to flush; changing the assessment (content
    loading does, through the ORM) is a new version the next transaction uses."""
    app, _ = fresh
    limit = _time_limit(app)  # kept
    with statements(app) as sql:
        assert _time_limit(app) == limit
    assert not [s for s in sql if "FROM assessments" in s or "FROM units" in s], sql
    with app.app_context():
        session = db.session()
        first = bank.get_assessment(session, ASSESSMENT)
        assert first is bank.get_assessment(session, ASSESSMENT)  # one per session
        assert not session.dirty and not session.new
        first.time_limit_minutes = limit + 15
        session.commit()
    assert _time_limit(app) == limit + 15
    with app.app_context():
        other = db.session()
        assert bank.get_assessment(other, ASSESSMENT).time_limit_minutes == limit + 15


def test_an_unknown_assessment_code_is_not_kept(fresh):
    """A code is outside input (a launch's custom parameter, an API path): not found is read
    each time, never kept, so strangers' codes cannot grow the cache."""
    from service import content_cache

    app, _ = fresh
    with app.app_context():
        session = db.session()
        for n in range(5):
            assert bank.get_assessment(session, f"NOPE-{n}") is None
        kept = content_cache._kept.of(session)
        assert not [key for key in kept.values if key[0] == "assessment" and "NOPE" in key[1]]

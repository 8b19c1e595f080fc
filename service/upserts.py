"""INSERT ... ON CONFLICT for the two databases the service runs on."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_for(session: Session, model):
    """The dialect's INSERT, which has on_conflict_do_update / on_conflict_do_nothing."""
    return insert_for_dialect(session.get_bind().dialect.name, model)


def insert_for_dialect(dialect: str, model):
    """insert_for, by the dialect's name (for statements built once per database kind)."""
    make = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if make is None:  # pragma: no cover - the service runs on PostgreSQL or SQLite only
        raise RuntimeError(f"no upsert for {dialect}")
    return make(model)


def upsert(session: Session, model, index_elements: list[str], rows: list[dict], changing):
    """INSERT ... ON CONFLICT (index_elements) DO UPDATE SET changing = excluded.changing."""
    if not rows:
        return
    statement = insert_for(session, model)
    statement = statement.on_conflict_do_update(
        index_elements=index_elements,
        set_={name: getattr(statement.excluded, name) for name in changing},
    )
    session.execute(statement, rows)

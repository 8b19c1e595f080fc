"""SQL that turns values into text on the database, the same on PostgreSQL and SQLite: for
reports that read many rows and want strings, not Python objects to format one by one."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class utc_iso(FunctionElement):  # noqa: N801 (named as SQL functions are)
    """A UTC timestamp column (service.models.UTCDateTime) as ISO 8601 text to the second:
    2026-11-20T10:00:00+00:00. NULL stays NULL."""

    type = String()
    inherit_cache = True


@compiles(utc_iso, "postgresql")
def _utc_iso_postgresql(element, compiler, **kw):
    (column,) = element.clauses
    value = compiler.process(column, **kw)
    return f"""to_char({value} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')"""


@compiles(utc_iso, "sqlite")
def _utc_iso_sqlite(element, compiler, **kw):
    # SQLite keeps UTCDateTime as naive UTC text ("2026-11-20 10:00:00.000000").
    (column,) = element.clauses
    return f"strftime('%Y-%m-%dT%H:%M:%S+00:00', {compiler.process(column, **kw)})"

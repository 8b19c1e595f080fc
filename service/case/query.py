"""The CASE binding's sort / filter / fields on a collection of plain dicts.

Filter grammar (1EdTech REST binding): <field><predicate><value> joined by " AND " or " OR "
(one kind per filter); predicates = != > >= < <= ~ (contains); value optionally in single quotes.
"""

from __future__ import annotations

import operator
import re


class QueryError(ValueError):
    """Bad sort, filter or fields: carries CASE's codeMinor value."""

    def __init__(self, code_minor: str, message: str) -> None:
        super().__init__(message)
        self.code_minor = code_minor


PREDICATES = {
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    "=": operator.eq,
    ">": operator.gt,
    "<": operator.lt,
    "~": lambda field, value: value.lower() in field.lower(),
}
_CLAUSE = re.compile(r"^\s*(?P<field>[A-Za-z]+)\s*(?P<op>!=|>=|<=|=|>|<|~)\s*(?P<value>.*?)\s*$")


def _as_text(value) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    if isinstance(value, dict):
        return str(value.get("title", ""))
    return "" if value is None else str(value)


def _parse_clause(clause: str, known: set[str]):
    match = _CLAUSE.match(clause)
    if not match:
        raise QueryError("invalid_selection_field", f"Cannot read filter clause {clause!r}.")
    field, op, value = match["field"], match["op"], match["value"]
    if field not in known:
        raise QueryError("invalid_selection_field", f"Unknown filter field {field!r}.")
    if len(value) >= 2 and value[0] == value[-1] == "'":
        value = value[1:-1]
    return field, PREDICATES[op], value


def apply_filter(records: list[dict], expression: str, known: set[str]) -> list[dict]:
    has_and, has_or = " AND " in expression, " OR " in expression
    if has_and and has_or:
        raise QueryError("invalid_selection_field", "Use AND or OR in a filter, not both.")
    joiner, combine = (" OR ", any) if has_or else (" AND ", all)
    clauses = [_parse_clause(c, known) for c in expression.split(joiner)]
    return [
        r
        for r in records
        if combine(test(_as_text(r.get(field)), value) for field, test, value in clauses)
    ]


def apply_sort(records: list[dict], field: str, order: str, known: set[str]) -> list[dict]:
    if field not in known:
        raise QueryError("invalid_sort_field", f"Cannot sort by unknown field {field!r}.")
    return sorted(records, key=lambda r: _as_text(r.get(field)), reverse=order == "desc")


def select_fields(records: list[dict], fields: list[str], known: set[str]) -> list[dict]:
    unknown = [f for f in fields if f not in known]
    if unknown:
        raise QueryError("invalid_selection_field", f"Unknown field(s): {', '.join(unknown)}.")
    return [{f: r[f] for f in fields if f in r} for r in records]

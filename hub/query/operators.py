"""The property-filter operators of ``field__op=value``, each one entry of one table.

Like datasette's ``Filters``, an operator is data: its name, the field types it applies to,
how its value is read (one value, a comma list or a flag), the SQL it builds and the text that
documents it. The parameter parser, the SQL builder (:mod:`hub.query.records`), the OpenAPI
description and ``docs/api.md`` (checked by a test) all read :data:`OPERATORS`, so adding an
operator is adding one entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, or_

ValueShape = Literal["one", "list", "flag"]
ORDERED_TYPES = frozenset({"integer", "year", "number", "date", "datetime", "time", "string"})
MAX_LIST_VALUES = 500


@dataclass(frozen=True)
class FilterOperator:
    """One operator: ``types`` None means every field type."""

    name: str
    doc: str
    sql: Callable[[ColumnElement[Any], Any], ColumnElement[bool]]
    types: frozenset[str] | None = None
    shape: ValueShape = "one"

    def applies_to(self, field_type: str) -> bool:
        return self.types is None or field_type in self.types


def _not_in(column: ColumnElement[Any], values: Any) -> ColumnElement[bool]:
    return or_(column.not_in(values), column.is_(None))


def _is_null(column: ColumnElement[Any], wanted: Any) -> ColumnElement[bool]:
    return column.is_(None) if wanted else column.is_not(None)


_TABLE = (
    FilterOperator("exact", "equals (also plain `field=value`)", lambda c, v: c == v),
    FilterOperator("not", "differs from (rows without a value included)",
                   lambda c, v: c.is_distinct_from(v)),
    FilterOperator("lt", "less than", lambda c, v: c < v, ORDERED_TYPES),
    FilterOperator("lte", "less than or equal", lambda c, v: c <= v, ORDERED_TYPES),
    FilterOperator("gt", "greater than", lambda c, v: c > v, ORDERED_TYPES),
    FilterOperator("gte", "greater than or equal", lambda c, v: c >= v, ORDERED_TYPES),
    FilterOperator("in", f"one of a comma list (at most {MAX_LIST_VALUES} values)",
                   lambda c, v: c.in_(v), shape="list"),
    FilterOperator("notin", "none of a comma list (rows without a value included)", _not_in,
                   shape="list"),
    FilterOperator("isnull", "`true`: has no value; `false`: has one", _is_null, shape="flag"),
    FilterOperator("contains", "text contains (text fields)",
                   lambda c, v: c.contains(v, autoescape=True), frozenset({"string"})),
    FilterOperator("startswith", "text starts with (text fields)",
                   lambda c, v: c.startswith(v, autoescape=True), frozenset({"string"})),
)
OPERATORS: dict[str, FilterOperator] = {op.name: op for op in _TABLE}


def operators_markdown() -> str:
    """The operator list for API descriptions: one bullet per operator."""
    return "\n".join(f"  * `__{op.name}`: {op.doc}" for op in _TABLE)

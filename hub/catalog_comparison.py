"""How two versions of a dataset are compared: the one rule behind change summaries and diffs.

The change summary stored at publish (:mod:`etl.changes`) and the row diff served on demand
(:mod:`hub.query.diff`) both ask the same questions: are rows matched by key or as whole
rows, which columns are compared, and how. They must give the same answer, so both take it
from :func:`compare_versions` and count with :func:`change_counts`. This module sits in the
catalogue layer because it is the lowest layer both ``etl`` and ``hub.query`` may import.

The rule, per column (schema fields, then the geometry under the name ``geometry``):

``value``     on both sides with the same type: compared as stored (geometry by its binary form).
``text``      on both sides with different types (integer -> string): compared as text, so
              ``5`` and ``"5"`` are the same value and a changed type alone changes no row.
``new-only``  only in the new version: a row changes where the new column is not null
              (filling in a new column is a change; adding an empty one is not).
``old-only``  only in the old version: a row changes where the old column was not null.

Rows are matched by primary key when both versions declare the same key (key fields whose
type changed are joined as text); otherwise whole rows are compared as multisets, where an
edit shows as one removal plus one addition and ``changed`` is null.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Select, Table, Text, and_, cast, exists, func, literal, null, or_, select
from sqlalchemy.sql.elements import ColumnElement

from hub.catalog import TableSchema

ComparedAs = Literal["value", "text", "new-only", "old-only"]
Side = Literal["old", "new"]
GEOMETRY = "geometry"


@dataclass(frozen=True)
class ComparedColumn:
    """One compared column: a field name (or ``geometry``) and how its sides are compared."""

    name: str
    how: ComparedAs

    def on(self, side: Side) -> bool:
        """Whether ``side``'s version has this column."""
        return self.how in ("value", "text") or self.how == f"{side}-only"


@dataclass(frozen=True)
class VersionComparison:
    """How one version is compared with another (see the module docstring for the rule)."""

    by: Literal["primary-key", "whole-row"]
    key: tuple[str, ...]
    columns: tuple[ComparedColumn, ...]

    @property
    def fields_added(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.how == "new-only" and c.name != GEOMETRY)

    @property
    def fields_removed(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.how == "old-only" and c.name != GEOMETRY)

    @property
    def fields_retyped(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.how == "text")

    @property
    def schema_changed(self) -> bool:
        return any(c.how != "value" for c in self.columns)

    def value(self, table: Any, column: ComparedColumn, side: Side) -> ColumnElement[Any]:
        """``column``'s compared value in ``table`` (of version ``side``); NULL where that
        version lacks the column, so a one-sided column differs exactly where it is not null."""
        if not column.on(side):
            return null()
        if column.name == GEOMETRY:
            return func.ST_AsBinary(table.c.geom)
        stored = table.c[column.name]
        return cast(stored, Text()) if column.how == "text" else stored

    def key_value(self, table: Any, name: str) -> ColumnElement[Any]:
        """A key field as joined and ordered (as text when its type changed)."""
        column = next(c for c in self.columns if c.name == name)
        return self.value(table, column, "new")

    def key_join(self, new: Any, old: Any) -> ColumnElement[bool]:
        return and_(*[self.key_value(new, k) == self.key_value(old, k) for k in self.key])

    def differences(self, new: Any, old: Any) -> list[tuple[str, ColumnElement[bool]]]:
        """(column name, "this column differs") for every compared column but the key."""
        return [
            (c.name, self.value(new, c, "new").is_distinct_from(self.value(old, c, "old")))
            for c in self.columns if c.name not in self.key
        ]

    def row_hashes(self, table: Any, side: Side) -> Any:
        """Per row of a whole-row comparison: ``fid``, ``h`` (hash of its compared values)
        and ``dup`` (its occurrence number among equal rows), so multisets can be matched."""
        values = [self.value(table, c, side) for c in self.columns]
        digest = func.md5(cast(func.row(*values), Text())) if values else literal("")
        return select(
            table.c._fid.label("fid"), digest.label("h"),
            func.row_number().over(partition_by=digest, order_by=table.c._fid).label("dup"),
        ).subquery()


def compare_versions(
    old: TableSchema, old_geometry: bool, new: TableSchema, new_geometry: bool
) -> VersionComparison:
    """The comparison of version ``new`` against version ``old``, from their schemas."""
    old_types = {f.name: f.type for f in old.fields}
    new_types = {f.name: f.type for f in new.fields}
    columns = [
        ComparedColumn(name, "new-only" if name not in old_types
                       else "value" if old_types[name] == new_types[name] else "text")
        for name in new.field_names
    ]
    columns += [ComparedColumn(name, "old-only") for name in old.field_names
                if name not in new_types]
    if old_geometry or new_geometry:
        columns.append(ComparedColumn(GEOMETRY, "value" if old_geometry and new_geometry
                                      else "new-only" if new_geometry else "old-only"))
    key = new.primary_key
    keyed = bool(key) and key == old.primary_key
    return VersionComparison(by="primary-key" if keyed else "whole-row",
                             key=key if keyed else (), columns=tuple(columns))


def _unmatched(mine: Any, theirs: Any) -> ColumnElement[bool]:
    return ~exists(select(literal(1)).where(theirs.c.h == mine.c.h, theirs.c.dup == mine.c.dup))


def unmatched_rows(comparison: VersionComparison, table: Any, side: Side, other: Any) -> Any:
    """Whole-row comparison: ``table``'s rows (with ``fid``) that have no equal partner in
    ``other`` (the other version's table): removed rows when ``side`` is old, else added."""
    mine = comparison.row_hashes(table, side)
    theirs = comparison.row_hashes(other, "new" if side == "old" else "old")
    return select(mine.c.fid).where(_unmatched(mine, theirs))


def change_counts(comparison: VersionComparison, old: Table, new: Table) -> Select[Any]:
    """One row ``added, removed, changed`` (``changed`` null for whole-row comparisons)."""
    o, n = old.alias("o"), new.alias("n")
    if comparison.by == "whole-row":
        added = select(func.count()).select_from(
            unmatched_rows(comparison, n, "new", o).subquery()).scalar_subquery()
        removed = select(func.count()).select_from(
            unmatched_rows(comparison, o, "old", n).subquery()).scalar_subquery()
        return select(added.label("added"), removed.label("removed"), null().label("changed"))
    differs = [d for _name, d in comparison.differences(n, o)]
    both = and_(o.c._fid.is_not(None), n.c._fid.is_not(None))
    return select(
        func.count().filter(o.c._fid.is_(None)).label("added"),
        func.count().filter(n.c._fid.is_(None)).label("removed"),
        func.count().filter(and_(both, or_(*differs)) if differs else literal(False))
        .label("changed"),
    ).select_from(n.join(o, comparison.key_join(n, o), full=True))

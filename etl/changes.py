"""Change summary of a new version against its predecessor: added / removed / changed rows.

Rows are matched by primary key and compared on every field both versions share (geometry
by its binary form). Without a primary key the summary falls back to multiset difference of
whole rows, where an edit shows as one removal plus one addition and ``changed`` is null.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from hub.catalog import TableSchema
from hub.db.tables import DATA_SCHEMA


def _compared_columns(new: TableSchema, old: TableSchema, geometry: bool, alias: str) -> list[str]:
    shared = [f.name for f in new.fields if f.name in old.field_names]
    cols = [f'{alias}."{name}"' for name in shared]
    if geometry:
        cols.append(f"ST_AsBinary({alias}.geom)")
    return cols


def change_summary(
    conn: Connection,
    *,
    new_table: str,
    new_schema: TableSchema,
    old_table: str | None,
    old_schema: TableSchema | None,
    old_version: int | None,
    geometry: bool,
) -> dict[str, Any]:
    """Counts of added, removed and changed rows (all rows count as added for a first version)."""
    new_q = f'{DATA_SCHEMA}."{new_table}"'
    if old_table is None or old_schema is None:
        total = conn.execute(text(f"SELECT count(*) FROM {new_q}")).scalar_one()
        return {"previous_version": None, "added": total, "removed": 0, "changed": 0,
                "by": "first-version", "schema_changed": False}
    old_q = f'{DATA_SCHEMA}."{old_table}"'
    schema_changed = [
        (f.name, f.type) for f in new_schema.fields
    ] != [(f.name, f.type) for f in old_schema.fields]
    pk = new_schema.primary_key
    if pk and pk == old_schema.primary_key:
        join = " AND ".join(f'n."{k}" = o."{k}"' for k in pk)
        new_cols = ", ".join(_compared_columns(new_schema, old_schema, geometry, "n"))
        old_cols = ", ".join(_compared_columns(new_schema, old_schema, geometry, "o"))
        row = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE o._fid IS NULL),"
                " count(*) FILTER (WHERE n._fid IS NULL),"
                " count(*) FILTER (WHERE n._fid IS NOT NULL AND o._fid IS NOT NULL"
                f" AND ROW({new_cols}) IS DISTINCT FROM ROW({old_cols}))"
                f" FROM {new_q} n FULL JOIN {old_q} o ON {join}"
            )
        ).one()
        return {"previous_version": old_version, "added": row[0], "removed": row[1],
                "changed": row[2], "by": "primary-key", "schema_changed": schema_changed}
    new_cols = ", ".join(_compared_columns(new_schema, old_schema, geometry, "n"))
    old_cols = ", ".join(_compared_columns(new_schema, old_schema, geometry, "o"))
    added = conn.execute(
        text(f"SELECT count(*) FROM (SELECT {new_cols} FROM {new_q} n EXCEPT ALL "
             f"SELECT {old_cols} FROM {old_q} o) d")
    ).scalar_one()
    removed = conn.execute(
        text(f"SELECT count(*) FROM (SELECT {old_cols} FROM {old_q} o EXCEPT ALL "
             f"SELECT {new_cols} FROM {new_q} n) d")
    ).scalar_one()
    return {"previous_version": old_version, "added": added, "removed": removed,
            "changed": None, "by": "whole-row", "schema_changed": schema_changed}

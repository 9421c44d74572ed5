"""Change summary of a new version against its predecessor: added / removed / changed rows.

What is compared, and how, is the catalogue's one comparison rule
(:mod:`hub.catalog_comparison`), which the row diff served on demand uses too; so the summary
stored with a version and the diff of the same two versions always agree. A field whose type
changed is compared as text, so a new type never makes a publish fail.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from hub.catalog import PublishedVersion, TableSchema, version_table
from hub.catalog_comparison import change_counts, compare_versions


def change_summary(
    conn: Connection,
    *,
    new_table: str,
    new_schema: TableSchema,
    new_geometry: bool,
    previous: PublishedVersion | None,
) -> dict[str, Any]:
    """Counts of added, removed and changed rows (all rows count as added for a first version).

    ``changed`` is null when rows are compared whole (no common primary key): an edit then
    shows as one removal plus one addition."""
    new = version_table(new_table, new_schema, has_geometry=new_geometry)
    if previous is None:
        total = conn.execute(select(func.count()).select_from(new)).scalar_one()
        return {"previous_version": None, "added": total, "removed": 0, "changed": 0,
                "by": "first-version", "schema_changed": False}
    comparison = compare_versions(previous.schema, previous.has_geometry, new_schema,
                                  new_geometry)
    counts = conn.execute(change_counts(comparison, previous.table(), new)).one()
    return {"previous_version": previous.version, "added": counts.added,
            "removed": counts.removed, "changed": counts.changed, "by": comparison.by,
            "schema_changed": comparison.schema_changed,
            "fields_retyped": list(comparison.fields_retyped)}

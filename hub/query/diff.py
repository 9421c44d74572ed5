"""Row-level differences between two versions of a dataset (statements only).

Which rows are matched and which columns are compared, and how, is decided by
:func:`hub.catalog_comparison.compare_versions`, the same rule the change summary stored at
publish uses, and the summary counts come from the same :func:`change_counts`; so a diff
always agrees with its version's change summary.

By primary key: a FULL JOIN on the key gives added rows (no old side), removed rows (no new
side) and changed rows (some compared column differs), ordered and paged by the key (keyset,
never OFFSET). Without a common key, whole rows are compared as multisets: a row is added (or
removed) when its (hash, occurrence) has no partner on the other side; pages go removed rows
first (old ``_fid`` order), then added rows (new ``_fid`` order).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    Table,
    Text,
    case,
    func,
    literal,
    null,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import JSON, array

from hub.catalog import PublishedVersion
from hub.catalog_comparison import (
    VersionComparison,
    change_counts,
    compare_versions,
    unmatched_rows,
)
from hub.query.records import _row_json

GEOJSON_DIGITS = 9


def diff_plan(old: PublishedVersion, new: PublishedVersion) -> VersionComparison:
    """How ``new`` is compared with ``old`` (the one comparison rule)."""
    return compare_versions(old.schema, old.has_geometry, new.schema, new.has_geometry)


def _record_json(table: Any, version: PublishedVersion) -> Any:
    columns = [table.c[n] for n in version.schema.field_names]
    if version.has_geometry:
        columns.append(func.ST_AsGeoJSON(table.c.geom, GEOJSON_DIGITS).cast(JSON())
                       .label("geometry"))
    return _row_json(columns).cast(Text())


def _aliases(old: PublishedVersion, new: PublishedVersion) -> tuple[Table, Table]:
    return old.table().alias("o"), new.table().alias("n")  # type: ignore[return-value]


def key_diff_page(old: PublishedVersion, new: PublishedVersion, plan: VersionComparison,
                  after: tuple[Any, ...] | None, limit: int) -> Select[Any]:
    """One page (limit + 1 rows) of changes by primary key, after key values ``after``.

    Row layout: ``change``, the key values ``_k0..``, ``changed`` (text[] of changed field
    names), ``old_record`` and ``new_record`` (JSON text written by PostgreSQL, or NULL).
    """
    o, n = _aliases(old, new)
    keys = [func.coalesce(plan.key_value(n, k), plan.key_value(o, k)) for k in plan.key]
    differences = plan.differences(n, o)
    changed = func.array_remove(
        array([case((d, literal(name, Text())), else_=null()) for name, d in differences],
              type_=Text()),
        null(),
    ) if differences else null()
    change = case((o.c._fid.is_(None), literal("added")),
                  (n.c._fid.is_(None), literal("removed")), else_=literal("changed"))
    statement = (
        select(
            change.label("change"),
            *[k.label(f"_k{i}") for i, k in enumerate(keys)],
            changed.label("changed"),
            case((o.c._fid.is_not(None), _record_json(o, old)), else_=null()).label("old_record"),
            case((n.c._fid.is_not(None), _record_json(n, new)), else_=null()).label("new_record"),
        )
        .select_from(n.join(o, plan.key_join(n, o), full=True))
        .where(or_(o.c._fid.is_(None), n.c._fid.is_(None), *[d for _n, d in differences]))
        .order_by(*keys)
        .limit(limit + 1)
    )
    if after is not None:
        typed = [literal(v, type_=key.type) for key, v in zip(keys, after, strict=True)]
        statement = statement.where(tuple_(*keys) > tuple_(*typed))
    return statement


def row_diff_page(old: PublishedVersion, new: PublishedVersion, plan: VersionComparison,
                  after: tuple[int, int] | None, limit: int) -> Select[Any]:
    """One page of whole-row changes after (phase, fid): phase 0 removed, 1 added.

    Row layout: ``change``, ``_phase``, ``_fid``, ``changed`` (always empty),
    ``old_record``, ``new_record``.
    """
    o, n = _aliases(old, new)
    removed_fids = unmatched_rows(plan, o, "old", n).subquery()
    added_fids = unmatched_rows(plan, n, "new", o).subquery()
    empty = null()
    removed = (
        select(literal("removed").label("change"), literal(0, Integer()).label("_phase"),
               o.c._fid.label("_fid"), empty.label("changed"),
               _record_json(o, old).label("old_record"), null().label("new_record"))
        .select_from(o.join(removed_fids, removed_fids.c.fid == o.c._fid))
    )
    added = (
        select(literal("added").label("change"), literal(1, Integer()).label("_phase"),
               n.c._fid.label("_fid"), empty.label("changed"),
               null().label("old_record"), _record_json(n, new).label("new_record"))
        .select_from(n.join(added_fids, added_fids.c.fid == n.c._fid))
    )
    both = union_all(removed, added).subquery("d")
    statement = select(both).order_by(both.c._phase, both.c._fid).limit(limit + 1)
    if after is not None:
        statement = statement.where(tuple_(both.c._phase, both.c._fid) > tuple_(*after))
    return statement


def diff_counts(old: PublishedVersion, new: PublishedVersion,
                plan: VersionComparison) -> Select[Any]:
    """Added, removed and changed rows: the same count the publish stored as its summary."""
    return change_counts(plan, old.table(), new.table())

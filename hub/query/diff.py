"""Row-level differences between two versions of a dataset (statements only).

By primary key (both versions declare the same key): a FULL JOIN on the key gives added rows
(no old side), removed rows (no new side) and changed rows (some shared field, or the
geometry's binary form, IS DISTINCT FROM), ordered and paged by the key (keyset, never
OFFSET). Without a common key, whole rows are compared as multisets: each row gets the hash
of its shared values and its occurrence number among equal rows, and a row is added (or
removed) when its (hash, occurrence) has no partner on the other side; pages go removed rows
first (old ``_fid`` order), then added rows (new ``_fid`` order).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    Integer,
    Select,
    Table,
    Text,
    and_,
    case,
    cast,
    exists,
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
from hub.query.records import _row_json

GEOJSON_DIGITS = 9


@dataclass(frozen=True)
class DiffPlan:
    """How two versions are compared: by key or whole rows, over which fields."""

    by: Literal["primary-key", "whole-row"]
    key: tuple[str, ...]
    shared: tuple[str, ...]
    fields_added: tuple[str, ...]
    fields_removed: tuple[str, ...]
    geometry: bool  # both versions have a geometry, compared too


def diff_plan(old: PublishedVersion, new: PublishedVersion) -> DiffPlan:
    old_names, new_names = old.schema.field_names, new.schema.field_names
    shared = tuple(n for n in new_names
                   if n in old_names and new.schema.field(n).type == old.schema.field(n).type)
    key = new.schema.primary_key
    by: Literal["primary-key", "whole-row"] = (
        "primary-key" if key and key == old.schema.primary_key and set(key) <= set(shared)
        else "whole-row"
    )
    return DiffPlan(
        by=by, key=key if by == "primary-key" else (), shared=shared,
        fields_added=tuple(n for n in new_names if n not in old_names),
        fields_removed=tuple(n for n in old_names if n not in new_names),
        geometry=old.has_geometry and new.has_geometry,
    )


def _record_json(table: Any, version: PublishedVersion) -> Any:
    columns = [table.c[n] for n in version.schema.field_names]
    if version.has_geometry:
        columns.append(func.ST_AsGeoJSON(table.c.geom, GEOJSON_DIGITS).cast(JSON())
                       .label("geometry"))
    return _row_json(columns).cast(Text())


def _distinct(n: Any, o: Any, plan: DiffPlan) -> list[tuple[str, Any]]:
    pairs = [(name, n.c[name].is_distinct_from(o.c[name])) for name in plan.shared]
    if plan.geometry:
        pairs.append(("geometry",
                      func.ST_AsBinary(n.c.geom).is_distinct_from(func.ST_AsBinary(o.c.geom))))
    return pairs


def _aliases(old: PublishedVersion, new: PublishedVersion) -> tuple[Table, Table]:
    return old.table().alias("o"), new.table().alias("n")  # type: ignore[return-value]


def key_diff_page(old: PublishedVersion, new: PublishedVersion, plan: DiffPlan,
                  after: tuple[Any, ...] | None, limit: int) -> Select[Any]:
    """One page (limit + 1 rows) of changes by primary key, after key values ``after``.

    Row layout: ``change``, the key values ``_k0..``, ``changed`` (text[] of changed field
    names), ``old_record`` and ``new_record`` (JSON text written by PostgreSQL, or NULL).
    """
    o, n = _aliases(old, new)
    keys = [func.coalesce(n.c[k], o.c[k]) for k in plan.key]
    distinct = _distinct(n, o, plan)
    changed = func.array_remove(
        array([case((d, literal(name, Text())), else_=null()) for name, d in distinct],
              type_=Text()),
        null(),
    ) if distinct else null()
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
        .select_from(n.join(o, and_(*[n.c[k] == o.c[k] for k in plan.key]), full=True))
        .where(or_(o.c._fid.is_(None), n.c._fid.is_(None), *[d for _n, d in distinct]))
        .order_by(*keys)
        .limit(limit + 1)
    )
    if after is not None:
        typed = [literal(v, type_=new.table().c[k].type) for k, v in zip(plan.key, after,
                                                                          strict=True)]
        statement = statement.where(tuple_(*keys) > tuple_(*typed))
    return statement


def key_diff_counts(old: PublishedVersion, new: PublishedVersion, plan: DiffPlan) -> Select[Any]:
    o, n = _aliases(old, new)
    distinct = [d for _n, d in _distinct(n, o, plan)]
    both = and_(o.c._fid.is_not(None), n.c._fid.is_not(None))
    return select(
        func.count().filter(o.c._fid.is_(None)).label("added"),
        func.count().filter(n.c._fid.is_(None)).label("removed"),
        func.count().filter(and_(both, or_(*distinct)) if distinct else literal(False))
        .label("changed"),
    ).select_from(n.join(o, and_(*[n.c[k] == o.c[k] for k in plan.key]), full=True))


def _hashed(table: Any, plan: DiffPlan) -> Any:
    values = [table.c[name] for name in plan.shared]
    if plan.geometry:
        values.append(func.ST_AsBinary(table.c.geom))
    digest = func.md5(cast(func.row(*values), Text())) if values else literal("")
    return select(
        table.c._fid.label("fid"), digest.label("h"),
        func.row_number().over(partition_by=digest, order_by=table.c._fid).label("dup"),
    ).subquery()


def _unmatched(mine: Any, theirs: Any) -> Any:
    return ~exists(select(literal(1)).where(theirs.c.h == mine.c.h, theirs.c.dup == mine.c.dup))


def row_diff_page(old: PublishedVersion, new: PublishedVersion, plan: DiffPlan,
                  after: tuple[int, int] | None, limit: int) -> Select[Any]:
    """One page of whole-row changes after (phase, fid): phase 0 removed, 1 added.

    Row layout: ``change``, ``_phase``, ``_fid``, ``changed`` (always empty),
    ``old_record``, ``new_record``.
    """
    o, n = _aliases(old, new)
    oh, nh = _hashed(o, plan), _hashed(n, plan)
    empty = null()
    removed = (
        select(literal("removed").label("change"), literal(0, Integer()).label("_phase"),
               o.c._fid.label("_fid"), empty.label("changed"),
               _record_json(o, old).label("old_record"), null().label("new_record"))
        .select_from(o.join(oh, oh.c.fid == o.c._fid))
        .where(_unmatched(oh, nh))
    )
    added = (
        select(literal("added").label("change"), literal(1, Integer()).label("_phase"),
               n.c._fid.label("_fid"), empty.label("changed"),
               null().label("old_record"), _record_json(n, new).label("new_record"))
        .select_from(n.join(nh, nh.c.fid == n.c._fid))
        .where(_unmatched(nh, oh))
    )
    both = union_all(removed, added).subquery("d")
    statement = select(both).order_by(both.c._phase, both.c._fid).limit(limit + 1)
    if after is not None:
        statement = statement.where(tuple_(both.c._phase, both.c._fid) > tuple_(*after))
    return statement


def row_diff_counts(old: PublishedVersion, new: PublishedVersion, plan: DiffPlan) -> Select[Any]:
    o, n = _aliases(old, new)
    oh, nh = _hashed(o, plan), _hashed(n, plan)
    added = select(func.count()).select_from(nh).where(_unmatched(nh, oh)).scalar_subquery()
    removed = select(func.count()).select_from(oh).where(_unmatched(oh, nh)).scalar_subquery()
    return select(added.label("added"), removed.label("removed"),
                  null().label("changed"))

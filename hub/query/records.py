"""Build the SQL for a records page from a :class:`FeatureQuery` (statements only).

One small function per clause, as tipg does: the predicate, the distance expression, the
ordering, the keyset condition and the projection are each built and tested on their own.
Query values are transformed, never the stored column: boxes and polygons are built in
EPSG:4326 like the stored geometry, and a radius becomes boxes around its reference
(hub.query.geodesic) tested against ``geom`` before any distance is measured, so every spatial
filter can use the ``geom`` index.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from geoalchemy2 import Geography, Geometry
from geoalchemy2.shape import from_shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    ColumnElement,
    Float,
    FromClause,
    Numeric,
    Select,
    Text,
    and_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    union_all,
)

from hub.catalog import TableSchema, bucket_predicates, search_bounds_of
from hub.query.cql2 import cql2_predicate
from hub.query.geodesic import (
    across_the_antimeridian,
    geography_of,
    point_boxes,
    reference_box,
    within_metres,
    within_metres_of_geometry,
)
from hub.query.model import FeatureQuery, Near, NearSet, PropertyFilter, SortKey
from hub.query.operators import OPERATORS

Output = Literal["json", "geojson", "csv"]
GEOJSON_DIGITS = 9  # PostGIS default: keeps every digit publishers gave (lon/lat in degrees)


@dataclass(frozen=True)
class RecordsStatement:
    """The statement plus what the caller needs to read its rows back.

    Row layout: ``_fid``, then one ``_k<i>`` column per sort key (for the next cursor),
    then ``payload`` (JSON text for json/geojson) or the CSV columns named in ``csv_columns``.
    """

    statement: Select[Any]
    sort_keys: tuple[SortKey, ...]
    csv_columns: tuple[str, ...] = ()


def _near_point(near: Near) -> ColumnElement[str]:
    """The ``near`` point as one bound EWKT value, shared by every use in a statement.

    A nearest page names the point a dozen times; as ``ST_MakePoint(lon, lat)`` with its own
    parameters each time, that was a third of the statement's text and pushed it past the
    size up to which psycopg caches its conversion of a query (bench/README.md). ``repr`` writes the
    shortest text that reads back as the same double, so no precision is lost."""
    return bindparam("near_point", f"SRID=4326;POINT({near.lon!r} {near.lat!r})", type_=Text())


def _point(near: Near) -> ColumnElement[Any]:
    return cast(_near_point(near), Geography(srid=4326))


def _planar_point(near: Near) -> ColumnElement[Any]:
    return cast(_near_point(near), Geometry(srid=4326))


def _geography(table: FromClause) -> ColumnElement[Any]:
    return geography_of(table.c.geom)


def distance_expression(table: FromClause, near: Near) -> ColumnElement[float]:
    """Distance in metres on the WGS84 spheroid (what ``distance_m`` reports)."""
    return func.ST_Distance(_geography(table), _point(near))


def filter_predicate(field_column: ColumnElement[Any], flt: PropertyFilter) -> ColumnElement[bool]:
    """The operator table's SQL for one property filter."""
    return OPERATORS[flt.op].sql(field_column, flt.value)


def _geometry_value(geometry: BaseGeometry) -> ColumnElement[Any]:
    """A query geometry (lon lat) as one bound EWKB value in the stored column's SRID."""
    return cast(from_shape(geometry, srid=4326), Geometry(srid=4326))


def where_clause(table: FromClause, query: FeatureQuery) -> ColumnElement[bool]:
    """All filters of the query as one predicate with bound values."""
    parts: list[ColumnElement[bool]] = [
        filter_predicate(table.c[f.field], f) for f in query.filters
    ]
    if query.q:
        parts += search_clauses(table, query.q)
    if query.bbox:
        envelope = func.ST_MakeEnvelope(*query.bbox, 4326)
        parts.append(func.ST_Intersects(table.c.geom, envelope))
    if query.within is not None:
        parts.append(func.ST_Within(table.c.geom, _geometry_value(query.within)))
    if query.intersects is not None:
        parts.append(func.ST_Intersects(table.c.geom, _geometry_value(query.intersects)))
    if query.near and query.near.radius_m is not None:
        near = query.near
        parts.append(within_metres(table.c.geom, _point(near), near.radius_m,
                                   point_boxes(near.lon, near.lat, near.radius_m)))
    if query.cql2 is not None:
        parts.append(cql2_predicate(query.cql2, table))
    if query.near_set is not None:
        parts.append(near_set_predicate(table, query.near_set))
    if query.member_of is not None:
        field_name, members = query.member_of
        parts.append(table.c[field_name].in_(members))
    return and_(true(), *parts)


def search_clauses(table: FromClause, q: str) -> list[ColumnElement[bool]]:
    """``q``'s terms (already folded), each a substring of ``_search``, and, when the
    version's trigram index is split by ``_fid`` range, the OR of those ranges: it matches
    every row, and lets the planner read each partial index (hub.search_buckets)."""
    terms = [table.c._search.contains(term, autoescape=True) for term in q.split()]
    buckets = bucket_predicates(table.c._fid, search_bounds_of(table))
    if terms and buckets:
        terms.append(or_(*buckets))
    return terms


def _reference(near_set: NearSet) -> Any:
    return near_set.reference.subquery("ref")


def near_set_predicate(table: FromClause, near_set: NearSet) -> ColumnElement[bool]:
    """EXISTS a reference geometry within the radius (index-assisted on both sides)."""
    ref = _reference(near_set)
    return (
        select(literal(1))
        .select_from(ref)
        .where(_within_reference(table, ref, near_set.radius_m))
        .exists()
    )


def _within_reference(table: FromClause, ref: Any, metres: float) -> ColumnElement[bool]:
    """A row within ``metres`` of one reference geometry (any type)."""
    return within_metres_of_geometry(table.c.geom, ref.c.geom, metres)


def near_set_distance(table: FromClause, near_set: NearSet) -> ColumnElement[float]:
    """Spheroid distance in metres to the nearest reference geometry."""
    ref = _reference(near_set)
    return (
        select(func.min(func.ST_Distance(_geography(table), geography_of(ref.c.geom))))
        .select_from(ref)
        .where(_within_reference(table, ref, near_set.radius_m))
        .scalar_subquery()
    )


def near_set_nearest(table: FromClause, near_set: NearSet, column: str) -> ColumnElement[Any]:
    """``ref_id`` or ``ref_name`` of the nearest reference geometry."""
    ref = _reference(near_set)
    return (
        select(ref.c[column])
        .select_from(ref)
        .order_by(func.ST_Distance(_geography(table), geography_of(ref.c.geom)),
                  ref.c.ref_id)
        .limit(1)
        .scalar_subquery()
    )


def count_statement(table: FromClause, query: FeatureQuery, cap: int) -> Select[Any]:
    """How many rows the query's filters match, counting no further than ``cap + 1``: the
    count reads at most that many matches, so a broad filter costs what the cap costs, not a
    scan of every match (:meth:`hub.data.Data.number_matched` decides what it is used for)."""
    matching = (select(literal(1).label("one")).select_from(table)
                .where(where_clause(table, query)).limit(cap + 1).subquery())
    return select(func.count()).select_from(matching)


def output_geometry(table: FromClause, query: FeatureQuery) -> ColumnElement[Any]:
    """The stored geometry as GeoJSON text in the query's output CRS (CRS84 when unset).

    The transform runs on output only; filters always compare the stored EPSG:4326 column.
    Latitude-first CRSs (EPSG:4326 by the book, JGD2011) get their coordinates flipped.
    """
    crs = query.output_crs
    if crs is None:
        return func.ST_AsGeoJSON(table.c.geom, GEOJSON_DIGITS)
    geometry: ColumnElement[Any] = table.c.geom
    if crs.srid != 4326:
        geometry = func.ST_Transform(geometry, crs.srid)
    if crs.lat_lon:
        geometry = func.ST_FlipCoordinates(geometry)
    return func.ST_AsGeoJSON(geometry, crs.digits)


def sort_expressions(table: FromClause, query: FeatureQuery) -> list[ColumnElement[Any]]:
    """The value expression of each sort key (distance: exact spheroid metres; the nearest-first
    page is bounded by :func:`_nearest_page` so that it still reads through indexes)."""
    exprs: list[ColumnElement[Any]] = []
    for key in query.sort:
        if key.field == "distance_m" and query.near_set is not None:
            exprs.append(near_set_distance(table, query.near_set))
        elif key.field == "distance_m":
            assert query.near is not None
            exprs.append(distance_expression(table, query.near))
        else:
            exprs.append(table.c[key.field])
    return exprs


def keyset_condition(
    exprs: list[ColumnElement[Any]], keys: tuple[SortKey, ...], values: tuple[Any, ...],
    fid_column: ColumnElement[int], fid: int,
) -> ColumnElement[bool]:
    """Rows strictly after (values, fid) in ``ORDER BY keys NULLS LAST, _fid``.

    Lexicographic: k1 after v1, or k1 = v1 and k2 after v2, ..., or all equal and _fid > fid.
    NULLs sort last in both directions, so "after NULL" only admits further NULLs.
    """
    disjuncts: list[ColumnElement[bool]] = []
    equal_prefix: list[ColumnElement[bool]] = []
    for expr, key, value in zip(exprs, keys, values, strict=True):
        if value is None:
            after: ColumnElement[bool] = false()
            equal: ColumnElement[bool] = expr.is_(None)
        else:
            beyond = expr < value if key.descending else expr > value
            after = or_(beyond, expr.is_(None))
            equal = expr == value
        disjuncts.append(and_(*equal_prefix, after))
        equal_prefix.append(equal)
    disjuncts.append(and_(*equal_prefix, fid_column > fid))
    return or_(*disjuncts)


def order_by(exprs: list[ColumnElement[Any]], keys: tuple[SortKey, ...],
             fid_column: ColumnElement[int]) -> list[Any]:
    clauses: list[Any] = []
    for expr, key in zip(exprs, keys, strict=True):
        clauses.append((expr.desc() if key.descending else expr.asc()).nulls_last())
    clauses.append(fid_column.asc())
    return clauses


def feature_id_expression(table: FromClause, schema: TableSchema) -> ColumnElement[Any]:
    """A feature's public id: its single-column primary key, else its row number ``_fid``."""
    if len(schema.primary_key) == 1:
        return table.c[schema.primary_key[0]]
    return table.c._fid


def _projection(table: FromClause, schema: TableSchema,
                query: FeatureQuery) -> list[ColumnElement[Any]]:
    names = query.fields or schema.field_names
    return [table.c[n] for n in names]


def records_statement(
    table: FromClause, schema: TableSchema, query: FeatureQuery, *, has_geometry: bool,
    output: Output,
) -> RecordsStatement:
    """SELECT one page (limit + 1 rows, so the caller knows whether a next page exists)."""
    exprs = sort_expressions(table, query)
    key_columns = [e.label(f"_k{i}") for i, e in enumerate(exprs)]
    distance = (
        near_set_distance(table, query.near_set) if query.near_set is not None
        else distance_expression(table, query.near) if query.near else None
    )
    nearest: list[ColumnElement[Any]] = []
    if query.near_set is not None:
        nearest = [
            near_set_nearest(table, query.near_set, "ref_id").label(query.near_set.id_label),
            near_set_nearest(table, query.near_set, "ref_name").label(query.near_set.name_label),
        ]

    if distance is None and not nearest:
        # No per-request value in the projection: reuse one expression per shape, so it is
        # built once and SQLAlchemy's cache key for it is memoised (bench/README.md: building and
        # keying the projection was a third of the Python time of a by-id lookup).
        shape = (table, query.fields, output, query.output_crs, has_geometry)
        cached = _STATIC_PAYLOADS.get(shape)
        if cached is None:
            cached = _payload_columns(table, schema, query, output, has_geometry, None, [])
            if len(_STATIC_PAYLOADS) > 1024:
                _STATIC_PAYLOADS.clear()
            _STATIC_PAYLOADS[shape] = cached
        payload_columns, csv_columns = cached
    else:
        payload_columns, csv_columns = _payload_columns(
            table, schema, query, output, has_geometry, distance, nearest)

    after: list[ColumnElement[bool]] = []
    if query.cursor is not None:
        after.append(
            keyset_condition(exprs, query.sort, query.cursor.values, table.c._fid, query.cursor.fid)
        )
    rows = select(table.c._fid, *key_columns, *payload_columns).where(
        where_clause(table, query), *after)
    if nearest_first(query):
        return RecordsStatement(_nearest_page(rows, table, query, after), query.sort,
                                csv_columns)
    statement = rows.order_by(*order_by(exprs, query.sort, table.c._fid)).limit(query.limit + 1)
    return RecordsStatement(statement, query.sort, csv_columns)


# PostGIS rounds geography distances to 1e-8 m, so the farthest candidate itself can lie a
# hair beyond its own rounded distance; rows up to this much farther are read too, and sorted.
NEAREST_MARGIN_M = 0.1


def nearest_first(query: FeatureQuery) -> bool:
    """``near`` (with or without a radius), nearest first: the query the bounded plan below
    serves."""
    return (query.near is not None and query.near_set is None
            and bool(query.sort) and query.sort[0].field == "distance_m"
            and not query.sort[0].descending)


def _nearest_page(rows: Select[Any], table: FromClause, query: FeatureQuery,
                  after: list[ColumnElement[bool]]) -> Select[Any]:
    """The page of the nearest rows, read through indexes only.

    ``ORDER BY distance, _fid`` cannot be served by a KNN index scan (the ``_fid`` tie-break
    is not in the index), so PostgreSQL measured every row: 1.7 s at 1M rows without a
    radius; with one, every row inside it (a 500 m circle held 25,000 rows at 5M, 126 ms).
    Instead:

    1. the page size of candidates by planar KNN on the ``geom`` index (``<->``, degrees),
       with the same filters and cursor, and the largest spheroid distance among them;
    2. the page itself: rows within that distance (boxes on the ``geom`` index, computed
       from the distance in the statement), ordered by exact spheroid distance and
       ``_fid``. At least a page of rows lies within it, so the true
       nearest rows, ties included, are all there, whatever order step 1 found them in.

    With a radius, step 1 only finds candidates inside it, and when fewer than a page are
    there, the bound is the radius itself. Rows without geometry have no distance and sort
    last: they are added only once the candidates run out (``Infinity``), a branch
    PostgreSQL skips at run time otherwise, and that a radius leaves out.
    """
    assert query.near is not None
    size = query.limit + 1
    planar_point = _planar_point(query.near)
    # The radius is left out of step 1: with it, the planner reads every row inside the
    # circle and sorts them by planar distance instead of walking the KNN index (measured:
    # 5,513 rows read for a 101-row page). Without it the bound may exceed the radius; the
    # page keeps the radius filter, so it never returns a row outside it.
    unbounded = dataclasses.replace(query, near=dataclasses.replace(query.near, radius_m=None))
    candidates = (
        select(table.c.geom)
        .where(where_clause(table, unbounded), table.c.geom.is_not(None), *after)
        .order_by(table.c.geom.op("<->", return_type=Float(precision=53))(planar_point))
        .limit(size)
        .subquery("candidates")
    )
    distance = func.ST_Distance(geography_of(candidates.c.geom),
                                _point(query.near))
    bound = select(case((func.count() < size, literal(float("inf"), Float(precision=53))),
                        else_=func.max(distance) + NEAREST_MARGIN_M).label("metres")
                   ).select_from(candidates).cte("nearest_bound")
    metres = select(bound.c.metres).scalar_subquery()
    # The bound is only known inside the statement: its box is computed once, beside it,
    # and joined (one row), so the box is a parameter of the index scans. MATERIALIZED: a
    # CTE named once is otherwise folded into the query, and the planner then put the
    # candidates' aggregate on the inner side of a nested loop, re-run for every row.
    box = reference_box(planar_point, bound.c.metres, abs(query.near.lat))
    boxed = (select(bound.c.metres, box.label("box")).select_from(bound)
             .cte("nearest_box").prefix_with("MATERIALIZED"))
    within = rows.join_from(table, boxed, within_metres(
        table.c.geom, _point(query.near), boxed.c.metres,
        across_the_antimeridian(boxed.c.box, query.near.lon)))
    if query.near.radius_m is not None:  # no row without geometry is within a radius
        page = within.subquery("nearest")
    else:
        unplaced = rows.where(table.c.geom.is_(None), metres == float("inf"))
        page = union_all(within, unplaced).subquery("nearest")
    keys = [page.c[f"_k{i}"] for i in range(len(query.sort))]
    return (select(*page.c)
            .order_by(*order_by(keys, query.sort, page.c._fid))
            .limit(size))


def record_by_key_statement(
    table: FromClause, schema: TableSchema, key_column: str, *, output: Output,
    output_crs: Any, has_geometry: bool,
) -> tuple[Select[Any], tuple[str, ...]]:
    """SELECT one record's payload by its key (:func:`hub.query.params.record_key`), and
    the CSV column names (csv output; the row is the payload column otherwise).

    The key is the bind parameter ``key`` and nothing else varies, so the executor compiles
    this once per (table, format, CRS) and runs it as a prepared statement (bench/README.md: the
    by-id lookup is the hub's most frequent request).
    """
    query = FeatureQuery(limit=1, output_crs=output_crs)
    payload, csv_columns = _payload_columns(table, schema, query, output, has_geometry, None, [])
    key = table.c[key_column]
    return select(*payload).where(key == bindparam("key", type_=key.type)), csv_columns


_STATIC_PAYLOADS: dict[tuple[Any, ...], tuple[list[ColumnElement[Any]], tuple[str, ...]]] = {}


def _payload_columns(
    table: FromClause, schema: TableSchema, query: FeatureQuery, output: Output, has_geometry: bool,
    distance: ColumnElement[Any] | None, nearest: list[ColumnElement[Any]],
) -> tuple[list[ColumnElement[Any]], tuple[str, ...]]:
    """The selected payload: JSON/GeoJSON text in one column, or the CSV columns."""
    projected = _projection(table, schema, query)
    csv_columns: tuple[str, ...] = ()
    if output == "csv":
        columns = list(projected)
        if has_geometry:
            columns.append(func.ST_AsText(table.c.geom).label("geometry"))
        if distance is not None:
            columns.append(func.round(cast(distance, Numeric()), 2).label("distance_m"))
        columns += nearest
        csv_columns = tuple(c.name for c in columns)
        return columns, csv_columns
    else:
        properties = list(projected)
        if distance is not None:
            properties.append(func.round(cast(distance, Numeric()), 2).label("distance_m"))
        properties += nearest
        if output == "json":
            if has_geometry:
                properties.append(
                    output_geometry(table, query).cast(_json()).label("geometry")
                )
            payload = _row_json(properties).cast(Text()).label("payload")
        else:
            feature_id = feature_id_expression(table, schema)
            geometry = (
                output_geometry(table, query).cast(_json())
                if has_geometry else null()
            )
            payload = func.json_build_object(
                sql_text("type"), sql_text("Feature"),
                sql_text("id"), feature_id,
                sql_text("geometry"), geometry,
                sql_text("properties"), _row_json(properties),
            ).cast(Text()).label("payload")
        return [payload], ()


def sql_text(value: str) -> ColumnElement[str]:
    """A constant string written into the SQL, not bound: JSON keys are the same in every
    execution of a statement, and as parameters they made each records statement carry
    40-50 of them, past the 50 up to which psycopg caches its conversion of a query
    (bench/README.md: that conversion was a fifth of the server's time on a radius page)."""
    return literal_column("'" + value.replace("'", "''") + "'", Text())


def _json() -> Any:
    from sqlalchemy.dialects.postgresql import JSON

    return JSON()


def _row_json(columns: list[ColumnElement[Any]]) -> ColumnElement[Any]:
    """``json_build_object`` keeps column order; chunks of 50 pairs stay under PostgreSQL's
    100-argument limit and are merged in order with ``jsonb``-free concatenation."""
    pairs: list[Any] = []
    for column in columns:
        name = column.key if hasattr(column, "key") else column.name
        pairs += [sql_text(name), column]
    if len(pairs) <= 100:
        return func.json_build_object(*pairs)
    # Wide schemas: build chunks and merge textually, preserving key order.
    chunks = [func.json_build_object(*pairs[i:i + 100]).cast(Text())
              for i in range(0, len(pairs), 100)]
    merged: ColumnElement[Any] = chunks[0]
    for chunk in chunks[1:]:
        merged = func.concat(func.left(merged, -1), ", ", func.right(chunk, -1))
    return merged.cast(_json())

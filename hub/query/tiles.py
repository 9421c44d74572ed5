"""Mapbox vector tile statements (built here, executed by :mod:`hub.data.tiles`).

The tile's buffered envelope is computed in EPSG:4326 (:func:`search_bounds`) for the filter,
so the stored column's GiST index answers it (the value is reprojected, never the column).
Only the selected rows are brought into the tile: a point by the Mercator arithmetic of
:func:`_tile_pixels` (the very pixels ``ST_AsMVTGeom`` would give it, without a PROJ call per
row), any other shape by ``ST_AsMVTGeom(ST_Transform(geom, 3857), ...)``. The filter
is the same :func:`hub.query.records.where_clause` as the records API, so a tile can carry
property or CQL2 filters too. PostGIS writes the tile bytes.

Three details keep a tile cheap (measured in bench/, bench/README.md): the spatial filter is
the bounding-box operator ``&&`` alone, because the placement clips exactly anyway (an exact
``ST_Intersects`` per candidate row cost as much again); the row subquery is fenced with
``OFFSET 0`` so PostgreSQL cannot inline it, which would evaluate each expression once per
use instead of once per row; and nothing filters on the placed geometry: ``ST_AsMVT`` skips
a row whose geometry is NULL (clipped away) by itself, and a filter ``mvt_geom IS NOT NULL``
made PostgreSQL place every row twice or, fenced, cost a projection per row (bench/README.md,
"Cold z16 tiles against the encoding floor").

A tile has a size cap (``HUB_TILE_MAX_KB``): a dense z14 tile of 5M points is ~21 MB, which
no browser map can use. A tile whose full encoding would pass the cap is *thinned*
(:func:`_thinned_tile_statement`): the tile is cut into square cells of ``cell`` pixels, and
each cell that holds features keeps one of them, the one with the lowest ``_fid``, with a
``count`` attribute saying how many features of the tile's area it stands for. Everything
is ordered by ``_fid``, so the same tile is the same bytes every time. Whether a tile must be
thinned, and how coarsely, is decided in :mod:`hub.data.tiles` from the tile's feature count
(``TileStatements.counted``) and the version's bytes per feature
(:func:`feature_bytes_sample_statement`), and checked against the encoded size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    Select,
    Table,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    true,
)

from hub.catalog import TableSchema
from hub.query.model import FeatureQuery, QueryError
from hub.query.records import where_clause

EXTENT = 4096  # tile coordinate space
BUFFER = 64  # pixels of geometry kept outside the tile edge, so clipped shapes join up
MAX_ZOOM = 24
TEXT_TYPES = ("date", "datetime", "time")  # written as ISO text (MVT has no date type)


MAX_TILE_INDEX = (1 << MAX_ZOOM) - 1  # largest column or row at the deepest zoom
MAX_LATITUDE = 85.0511287798066  # WebMercatorQuad's northern and southern edge
CLUSTER_COUNT = "count"  # attribute of every feature of a thinned tile: features it stands for


def check_tile_ranges(z: int, x: int, y: int) -> None:
    """400 naming the parameter outside the ranges the OpenAPI documents declare."""
    if not 0 <= z <= MAX_ZOOM:
        raise QueryError(f"zoom level {z} is outside 0..{MAX_ZOOM}", "z")
    for name, value in (("x", x), ("y", y)):
        if not 0 <= value <= MAX_TILE_INDEX:
            raise QueryError(f"tile {'column' if name == 'x' else 'row'} {name}={value} is "
                             f"outside 0..{MAX_TILE_INDEX}", name)


def tile_exists(z: int, x: int, y: int) -> bool:
    """Whether WebMercatorQuad has tile ``z/x/y``: zoom 0..MAX_ZOOM, column and row below
    2**z. The OpenAPI documents cannot bind x and y to z, so they declare the widest range
    (0..MAX_TILE_INDEX) and a tile past the edge of its zoom is 404, like any absent tile."""
    size = 1 << z if 0 <= z <= MAX_ZOOM else 0
    return 0 <= x < size and 0 <= y < size


# What a field's values are in a tile (MVT values are numbers, booleans or strings; dates
# travel as ISO text), as TileJSON's ``vector_layers`` and the PMTiles metadata list them.
MVT_VALUE_TYPES = {"integer": "Number", "year": "Number", "number": "Number",
                   "boolean": "Boolean"}


def vector_layer_fields(schema: TableSchema) -> dict[str, str]:
    """Field name -> ``Number``/``Boolean``/``String``, and ``count`` (thinned tiles only)."""
    fields = {f.name: MVT_VALUE_TYPES.get(f.type, "String") for f in schema.fields}
    return {**fields, CLUSTER_COUNT: "Number"}


def tiles_over(bbox: tuple[float, float, float, float], z: int) -> tuple[int, int, int, int]:
    """(first column, first row, last column, last row) of the tiles at zoom ``z`` that can
    hold a feature of ``bbox`` (west, south, east, north in lon/lat): the tiles over it and
    one more on every side, since a feature near a tile's edge is drawn in its neighbour's
    buffer too. The PMTiles archive visits these tiles, and the tileset metadata lists them
    as its ``tileMatrixSetLimits``."""
    west, south, east, north = bbox
    last = (1 << z) - 1

    def column(lon: float) -> int:
        return min(max(int((lon + 180) / 360 * (1 << z)), 0), last)

    def row(lat: float) -> int:
        lat = max(min(lat, MAX_LATITUDE), -MAX_LATITUDE)
        y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * (1 << z)
        return min(max(int(y), 0), last)

    return (max(column(west) - 1, 0), max(row(north) - 1, 0),
            min(column(east) + 1, last), min(row(south) + 1, last))


def search_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The tile with its buffer as (west, south, east, north) in EPSG:4326, clamped to the
    world. Computed here rather than by transforming ``ST_TileEnvelope(..., margin)``: at low
    zooms the margin reaches past 180 degrees, where the transform wraps the longitude round
    and the box turned inside out (a z1 tile of Tokyo found nothing)."""
    size = 1 << z
    margin = BUFFER / EXTENT

    def lon(column: float) -> float:
        return min(max(column / size * 360 - 180, -180.0), 180.0)

    def lat(row: float) -> float:
        row = min(max(row, 0.0), float(size))
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / size))))

    return lon(x - margin), lat(y + 1 + margin), lon(x + 1 + margin), lat(y - margin)


# The tile a statement is run for travels as bind parameters (:func:`tile_parameters`), so a
# layer's statements are built once and PostgreSQL prepares them (building and compiling
# them anew cost about 4 ms of Python per tile, as much as a small tile's query).
_Z = bindparam("tile_z", type_=Integer)
_X = bindparam("tile_x", type_=Integer)
_Y = bindparam("tile_y", type_=Integer)
_SCALE_X, _OFFSET_X, _SCALE_Y, _OFFSET_Y = (
    bindparam(f"tile_{name}", type_=Float)
    for name in ("scale_x", "offset_x", "scale_y", "offset_y"))
_AREA = tuple(bindparam(f"area_{side}", type_=Float)
              for side in ("west", "south", "east", "north"))
_CELL = bindparam("cell", type_=Float)


def tile_parameters(z: int, x: int, y: int) -> dict[str, Any]:
    """The bind parameters of tile ``z/x/y`` for the statements of :func:`tile_statements`;
    a tile WebMercatorQuad does not have is a :class:`QueryError`."""
    if not tile_exists(z, x, y):
        raise QueryError(f"tile {z}/{x}/{y} is not in WebMercatorQuad (zoom 0..{MAX_ZOOM})", "z")
    west, south, east, north = search_bounds(z, x, y)
    scale_x, offset_x, scale_y, offset_y = tile_affine(z, x, y)
    return {"tile_z": z, "tile_x": x, "tile_y": y,
            "tile_scale_x": scale_x, "tile_offset_x": offset_x,
            "tile_scale_y": scale_y, "tile_offset_y": offset_y,
            "area_west": west, "area_south": south, "area_east": east, "area_north": north}


# Web Mercator as PROJ computes EPSG:3857 from lon/lat on the sphere of this radius, and the
# half-width of the square ST_TileEnvelope cuts into tiles (its default bounds).
MERCATOR_RADIUS = 6378137.0
MERCATOR_HALF_WORLD = 20037508.342789244


def tile_affine(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """``(scale_x, offset_x, scale_y, offset_y)`` taking EPSG:3857 metres to the pixels of
    tile ``z/x/y`` (``pixel = scale * metres + offset``, rows downwards): the steps of
    ``ST_TileEnvelope(z, x, y)`` and of ``ST_AsMVTGeom``'s affine, in the same order on the
    same doubles, so a point placed with it lands on the very pixel ``ST_AsMVTGeom`` gives
    it (tests/integration/test_tile_points.py compares the tiles byte for byte)."""
    world = MERCATOR_HALF_WORLD - -MERCATOR_HALF_WORLD
    size = world / (1 << z)
    west, east = -MERCATOR_HALF_WORLD + size * x, -MERCATOR_HALF_WORLD + size * (x + 1)
    south, north = MERCATOR_HALF_WORLD - size * (y + 1), MERCATOR_HALF_WORLD - size * y
    scale_x = EXTENT / (east - west)
    scale_y = -(EXTENT / (north - south))
    return scale_x, -west * scale_x, scale_y, -north * scale_y


def _search_area() -> ColumnElement[Any]:
    """The tile's envelope with its buffer, in EPSG:4326 (the stored CRS, so the GiST index
    answers ``&&``), as a scalar subquery: PostgreSQL builds it once per statement. Written
    as a function of the bind parameters, a prepared statement's generic plan (psycopg
    prepares a statement on its fifth run) built the envelope again for every row the
    bitmap scan rechecks: ~0.7 ms of a z16 tile's 9 ms (bench/README.md)."""
    return select(func.ST_MakeEnvelope(*_AREA, 4326)).scalar_subquery()


def _in_tile(table: Table, query: FeatureQuery) -> list[ColumnElement[bool]]:
    """The candidate rows of the tile's area: the query's filters and the buffered envelope.
    ``&&`` alone compares the index's float4 boxes, which reach a little past the envelope;
    statements that count features narrow it exactly (:func:`_thinned_tile_statement`)."""
    return [table.c.geom.op("&&")(_search_area()), where_clause(table, query)]


def _properties(table: Any, schema: TableSchema,
                leave_out: str | None = None) -> list[ColumnElement[Any]]:
    properties: list[ColumnElement[Any]] = []
    for field in schema.fields:
        if field.name == leave_out:
            continue
        column: ColumnElement[Any] = table.c[field.name]
        if field.type in TEXT_TYPES:
            column = cast(column, Text())
        properties.append(column.label(field.name))
    return properties


def _mvt_geometry(geometry: ColumnElement[Any]) -> ColumnElement[Any]:
    """``ST_AsMVTGeom`` into the tile; the tile's envelope is a scalar subquery, built once
    per statement rather than once per row (see :func:`_search_area`)."""
    envelope = select(func.ST_TileEnvelope(_Z, _X, _Y)).scalar_subquery()
    return func.ST_AsMVTGeom(func.ST_Transform(geometry, 3857), envelope, EXTENT, BUFFER, True)


# Names of the pixel columns of a full tile's rows (leading underscores, as the table's own
# columns _fid and _search have, so no schema field shares them).
_POINT_COLUMN, _POINT_ROW = "_point_column", "_point_row"


def _point_pixels(geometry: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    """The columns :func:`_placed_geometry` reads: a point's pixel in the tile (column and
    row, rounded as ``ST_AsMVTGeom`` snaps), NULL for any other shape. Computed below an
    ``OFFSET 0`` fence, so once per row."""
    is_point = func.GeometryType(geometry) == "POINT"
    column, row = _tile_pixels(func.ST_X(geometry), func.ST_Y(geometry))
    return [case((is_point, func.round(column))).label(_POINT_COLUMN),
            case((is_point, func.round(row))).label(_POINT_ROW)]


def _placed_geometry(placed: Any) -> ColumnElement[Any]:
    """``mvt_geom`` of a row of ``placed`` (a subquery with ``geom`` and the columns of
    :func:`_point_pixels`): a point by its pixel, built with ``ST_Point`` (the bytes
    ``ST_AsMVTGeom(ST_Transform(geom, 3857), ...)`` gives, without a PROJ call per row),
    NULL when past the buffer (``ST_AsMVTGeom`` clips it away too); any other shape through
    ``ST_AsMVTGeom``, which also simplifies and makes polygons valid."""
    point_column, point_row = placed.c[_POINT_COLUMN], placed.c[_POINT_ROW]
    return case(
        (point_column.is_(None), _mvt_geometry(placed.c.geom)),
        (and_(point_column.between(-BUFFER, EXTENT + BUFFER),
              point_row.between(-BUFFER, EXTENT + BUFFER)),
         func.ST_Point(point_column, point_row)),
        else_=None,
    ).label("mvt_geom")


def _as_mvt(rows: Any, layer: str) -> Select[Any]:
    """The layer of ``rows``; rows whose ``mvt_geom`` is NULL (clipped away) are skipped by
    ``ST_AsMVT`` itself, and a tile with no feature is the empty bytea."""
    return select(
        func.ST_AsMVT(rows.table_valued(), literal(layer, Text()), EXTENT,
                      literal("mvt_geom", Text()), literal("_fid", Text()))
    ).select_from(rows)


@dataclass(frozen=True)
class TileStatements:
    """The statements of one layer's tiles (with one filter), built once and run for any
    tile with :func:`tile_parameters`:

    - ``counted``: ``(features, tile)``: how many features the tile's area holds and, when
      that is 1..``worth_trying`` (a bind parameter), the full tile; else NULL;
    - ``full``: the tile with every feature;
    - ``thinned``: the tile thinned to cells of ``cell`` pixels.
    """

    counted: Select[Any]
    full: Select[Any]
    thinned: Select[Any]


def tile_statements(table: Table, schema: TableSchema, query: FeatureQuery,
                    layer: str) -> TileStatements:
    """The statements of :class:`TileStatements` for a version layer's table, tiles named
    ``layer``, filtered by ``query``."""
    full = _full_tile_statement(table, schema, query, layer)
    return TileStatements(counted=_counted_tile_statement(table, query, full), full=full,
                          thinned=_thinned_tile_statement(table, schema, query, layer))


_WORTH_TRYING = bindparam("worth_trying", type_=Integer)


def _counted_tile_statement(table: Table, query: FeatureQuery,
                            full: Select[Any]) -> Select[Any]:
    """The tile's feature count (:func:`_tile_features_statement`) and, in the same round
    trip, the ``full`` tile when the count is 1..``worth_trying``. The tile is an
    uncorrelated subquery, which PostgreSQL runs only when the ``CASE`` asks for it: a
    dense tile costs its count alone, as a separate count statement did, and a tile that
    fits saves a round trip (about 0.2 ms of the server's CPU per tile, bench/README.md)."""
    counted = _tile_features_statement(table, query).subquery("counted")
    features = counted.c.features
    return select(features, case((features.between(1, _WORTH_TRYING), full.scalar_subquery()),
                                 else_=None).label("tile"))


def _full_tile_statement(
    table: Table, schema: TableSchema, query: FeatureQuery, layer: str,
) -> Select[Any]:
    """``SELECT ST_AsMVT(...)``: one layer named ``layer``, feature ids from ``_fid``, every
    schema field as a property; rows outside the (buffered) tile are never read.

    A point is placed in the tile by arithmetic (:func:`_tile_pixels`, rounded and clipped
    to the buffered tile as ``ST_AsMVTGeom`` rounds and clips a point), and built there with
    ``ST_Point``: the same integer coordinates, so the same bytes, as
    ``ST_AsMVTGeom(ST_Transform(geom, 3857), ...)``, which costs a PROJ call and two
    geometry round trips per row (on the bench's z16 tiles of 1M places the rows took 1.7
    instead of 2.3 ms of a 10 ms tile, bench/README.md). Every other shape goes through
    ``ST_AsMVTGeom``, which also simplifies and makes polygons valid. The pixels are
    computed below the ``OFFSET 0`` fence, so once per row, and the geometry once, where
    ``ST_AsMVT`` reads it (see the module doc)."""
    placed = (
        select(table.c._fid, table.c.geom, *_point_pixels(table.c.geom),
               *_properties(table, schema))
        .where(*_in_tile(table, query))
        .order_by(table.c._fid)  # the same tile, the same bytes
        .offset(0)  # optimisation fence: every expression once per row (see the module doc)
        .subquery("placed")
    )
    mvt_geom = _placed_geometry(placed)
    rows = (
        select(placed.c._fid, mvt_geom, *(placed.c[f.name] for f in schema.fields))
        .subquery("tile_rows")
    )
    return _as_mvt(rows, layer)


def _tile_features_statement(table: Table, query: FeatureQuery) -> Select[Any]:
    """How many features the tile's buffered area holds, by the spatial index's ``&&``
    alone: with the version's sampled bytes per feature it decides whether a full encoding
    is worth trying (:mod:`hub.data.tiles`). Counted whole: with a ``LIMIT`` (to stop at
    what the cap could hold) PostgreSQL may pick a sequential scan expecting matches early,
    and a dense tile of the 5M bench table then scanned most of it (1.9 s instead of 0.2 s)."""
    return select(func.count().label("features")).where(*_in_tile(table, query))


SAMPLE_FEATURES = 256  # rows encoded to measure a version's bytes per feature


def feature_bytes_sample_statement(
    table: Table, schema: TableSchema, layer: str,
) -> Select[Any]:
    """``(bytes, features)`` of an MVT layer holding the version's first
    :data:`SAMPLE_FEATURES` rows (by ``_fid``) with every property and a one-point
    geometry each: what a feature of this version costs in a tile, attributes included.
    A version never changes, so neither does the sample: the thinning it steers is the
    same every time."""
    rows = (
        select(table.c._fid, func.ST_Point(EXTENT // 2, EXTENT // 2).label("mvt_geom"),
               *_properties(table, schema))
        .order_by(table.c._fid)
        .limit(SAMPLE_FEATURES)
        .subquery("sample_rows")
    )
    encoded = func.ST_AsMVT(rows.table_valued(), literal(layer, Text()), EXTENT,
                            literal("mvt_geom", Text()), literal("_fid", Text()))
    return select(func.coalesce(func.length(encoded), 0), func.count()).select_from(rows)


def _tile_pixels(lon: ColumnElement[Any],
                 lat: ColumnElement[Any]) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """``(column, row)``: where longitude ``lon`` and latitude ``lat`` fall in the tile, in
    tile pixels (``0..EXTENT`` inside, rows downwards, not rounded): the spherical Mercator
    formulas PROJ uses for EPSG:3857 (``R * lambda``, ``R * asinh(tan(phi))``; equal to
    ``ST_Transform``'s to the last bit on all 1M points of the bench table), then
    :func:`tile_affine`. Plain arithmetic on the stored coordinates: a PROJ transform per
    feature cost about ten times as much on a dense tile."""
    # Written so that SQL's left-to-right order is PostGIS's: ((radius * angle) * scale) +
    # offset. SQLAlchemy drops the parentheses of ``scale * (radius * angle)``, and that
    # order rounds differently: a point on a half pixel landed one pixel off.
    radius = literal(MERCATOR_RADIUS, Float)
    column = func.radians(lon) * radius * _SCALE_X + _OFFSET_X
    row = func.asinh(func.tan(func.radians(lat))) * radius * _SCALE_Y + _OFFSET_Y
    return column, row


def _thinned_tile_statement(
    table: Table, schema: TableSchema, query: FeatureQuery, layer: str,
) -> Select[Any]:
    """The tile thinned to one feature per ``cell`` x ``cell`` pixel square (see the module
    doc): the cell's lowest ``_fid`` with its geometry and attributes, and ``count``, the
    features of the tile's area in that cell (they sum to all of them). A cell is placed by
    the feature's bounding-box centre. A schema field named ``count`` is left out of
    thinned tiles.

    A point belongs to the tile's area when its pixel position lies within the buffered
    tile (exact, where the index's ``&&`` compares rounded boxes); any other shape when it
    intersects the buffered envelope. Cells come from narrow rows (``_fid`` and a position);
    only the kept rows are then read whole, by ``_fid`` through its primary key, so the
    attribute reads and the encoding scale with the cells, not with the features of a
    dense tile."""
    candidates = (
        select(table.c._fid, table.c.geom,
               (func.GeometryType(table.c.geom) == "POINT").label("is_point"))
        .where(*_in_tile(table, query))
        .offset(0)  # each value computed once per row, not once per use
        .subquery("candidates")
    )
    # a point is its own position; any other shape is placed by its bounding box's centre
    box = func.Box2D(candidates.c.geom)
    column, row = _tile_pixels(
        case((candidates.c.is_point, func.ST_X(candidates.c.geom)),
             else_=(func.ST_XMin(box) + func.ST_XMax(box)) / 2.0),
        case((candidates.c.is_point, func.ST_Y(candidates.c.geom)),
             else_=(func.ST_YMin(box) + func.ST_YMax(box)) / 2.0))
    placed = (
        select(candidates.c._fid, candidates.c.is_point,
               column.label("pixel_column"), row.label("pixel_row"),
               case((candidates.c.is_point, true()),
                    else_=func.ST_Intersects(candidates.c.geom, _search_area()))
               .label("touches"))
        .offset(0)
        .subquery("placed")
    )
    inside = and_(placed.c.pixel_column.between(-BUFFER, EXTENT + BUFFER),
                  placed.c.pixel_row.between(-BUFFER, EXTENT + BUFFER))
    kept = (
        select(func.min(placed.c._fid).label("fid"),
               cast(func.count(), BigInteger).label("in_cell"))
        .where(placed.c.touches, or_(~placed.c.is_point, inside))
        .group_by(func.floor(placed.c.pixel_column / _CELL),
                  func.floor(placed.c.pixel_row / _CELL))
        .cte("kept")
        .prefix_with("MATERIALIZED")
    )
    # Each kept row is read by its key, in a fenced LATERAL subquery: an index lookup per
    # kept row whatever PostgreSQL estimates (a plain join let a filtered tile, estimated
    # at one kept row, compare every kept row with every other: 177 ms for 1,264 rows).
    properties = _properties(table, schema, leave_out=CLUSTER_COUNT)
    kept_row = (
        select(table.c._fid, table.c.geom, *_point_pixels(table.c.geom), *properties)
        .where(table.c._fid == kept.c.fid)
        .offset(0)
        .lateral("kept_row")
    )
    rows = (
        select(kept_row.c._fid, _placed_geometry(kept_row),
               *(kept_row.c[p.name] for p in properties),
               kept.c.in_cell.label(CLUSTER_COUNT))
        .select_from(kept.join(kept_row, true()))
        .order_by(kept.c.fid)
        .offset(0)
        .subquery("tile_rows")
    )
    return _as_mvt(rows, layer)

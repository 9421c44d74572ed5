"""Mapbox vector tile statements (built here, executed by :mod:`hub.data.tiles`).

The tile's buffered envelope is computed in EPSG:4326 (:func:`search_bounds`) for the filter,
so the stored column's GiST index answers it (the value is reprojected, never the column);
only the selected rows' geometries are transformed to 3857 for ``ST_AsMVTGeom``. The filter
is the same :func:`hub.query.records.where_clause` as the records API, so a tile can carry
property or CQL2 filters too. PostGIS writes the tile bytes.

Two details keep a dense tile cheap (measured in bench/, bench/README.md): the spatial filter is the
bounding-box operator ``&&`` alone, because ``ST_AsMVTGeom`` clips exactly anyway (an exact
``ST_Intersects`` per candidate row cost as much again); and the row subquery is fenced with
``OFFSET 0`` so PostgreSQL cannot inline it, which would evaluate the transform and
``ST_AsMVTGeom`` twice per row (once for ``mvt_geom IS NOT NULL``, once for ``ST_AsMVT``).

A tile has a size cap (``HUB_TILE_MAX_KB``): a dense z14 tile of 5M points is ~21 MB, which
no browser map can use. A tile whose full encoding would pass the cap is *thinned*
(:func:`thinned_tile_statement`): the tile is cut into square cells of ``cell`` pixels, and
each cell that holds features keeps one of them, the one with the lowest ``_fid``, with a
``count`` attribute saying how many features of the tile's area it stands for. Everything
is ordered by ``_fid``, so the same tile is the same bytes every time. Whether a tile must be
thinned is decided in :mod:`hub.data.tiles` from :func:`tile_probe_statement`'s lower bound of
the full encoding (so a hopeless full tile is never encoded) and, when that cannot tell,
from the full encoding itself.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Table,
    Text,
    any_,
    cast,
    func,
    literal,
    literal_column,
    over,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import UserDefinedType

from hub.catalog import TableSchema
from hub.query.model import FeatureQuery, QueryError
from hub.query.records import where_clause

EXTENT = 4096  # tile coordinate space
BUFFER = 64  # pixels of geometry kept outside the tile edge, so clipped shapes join up
MAX_ZOOM = 24
TEXT_TYPES = ("date", "datetime", "time")  # written as ISO text (MVT has no date type)


MAX_TILE_INDEX = (1 << MAX_ZOOM) - 1  # largest column or row at the deepest zoom
CLUSTER_COUNT = "count"  # attribute of every feature of a thinned tile: features it stands for
# The fewest bytes ST_AsMVT can spend on one feature (message tag and length, id, type, a
# point's geometry, the tags field's tag and length), and on one non-null attribute (a key
# index and a value index): the probe's lower bound of a full tile's size.
MIN_FEATURE_BYTES = 11
MIN_ATTRIBUTE_BYTES = 2


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


class RowAddress(UserDefinedType[Any]):
    """PostgreSQL's ``tid``, a row's physical address (``ctid``)."""

    cache_ok = True

    def get_col_spec(self) -> str:
        return "tid"


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


def _search_area(z: int, x: int, y: int) -> ColumnElement[Any]:
    """The tile's envelope with its buffer, in EPSG:4326 (the stored CRS, so the GiST index
    answers ``&&``)."""
    return func.ST_MakeEnvelope(*search_bounds(z, x, y), 4326)


def _in_tile(table: Table, query: FeatureQuery, z: int, x: int, y: int,
             exact: bool = False) -> list[ColumnElement[bool]]:
    """The rows of the tile's area: the query's filters and the buffered envelope. ``&&``
    alone compares the index's float4 boxes, which reach a little past the envelope;
    ``exact`` adds ``ST_Intersects`` for statements that count the rows."""
    if not tile_exists(z, x, y):
        raise QueryError(f"tile {z}/{x}/{y} is not in WebMercatorQuad (zoom 0..{MAX_ZOOM})", "z")
    area = _search_area(z, x, y)
    spatial = [table.c.geom.op("&&")(area)]
    if exact:
        spatial.append(func.ST_Intersects(table.c.geom, area))
    return [*spatial, where_clause(table, query)]


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


def _mvt_geometry(geometry: ColumnElement[Any], z: int, x: int, y: int) -> ColumnElement[Any]:
    return func.ST_AsMVTGeom(func.ST_Transform(geometry, 3857), func.ST_TileEnvelope(z, x, y),
                             EXTENT, BUFFER, True).label("mvt_geom")


def _as_mvt(rows: Any, layer: str) -> Select[Any]:
    return select(
        func.ST_AsMVT(rows.table_valued(), literal(layer, Text()), EXTENT,
                      literal("mvt_geom", Text()), literal("_fid", Text()))
    ).select_from(rows).where(rows.c.mvt_geom.is_not(None))


def tile_statement(
    table: Table, schema: TableSchema, query: FeatureQuery, layer: str, z: int, x: int, y: int,
) -> Select[Any]:
    """``SELECT ST_AsMVT(...)``: one layer named ``layer``, feature ids from ``_fid``, every
    schema field as a property; rows outside the (buffered) tile are never read."""
    rows = (
        select(table.c._fid, _mvt_geometry(table.c.geom, z, x, y), *_properties(table, schema))
        .where(*_in_tile(table, query, z, x, y))
        .order_by(table.c._fid)  # the same tile, the same bytes
        .offset(0)  # optimisation fence: ST_AsMVTGeom once per row (see the module doc)
        .subquery("tile_rows")
    )
    return _as_mvt(rows, layer)


def tile_probe_statement(
    table: Table, schema: TableSchema, query: FeatureQuery, z: int, x: int, y: int,
) -> Select[Any]:
    """``(features, lower bound of the full tile's bytes)`` of the tile's area, without
    encoding anything: every feature costs at least :data:`MIN_FEATURE_BYTES` and every
    non-null attribute :data:`MIN_ATTRIBUTE_BYTES`. A bound past the cap means the full tile
    cannot fit, so it is thinned without being encoded first."""
    columns = [table.c[f.name] for f in schema.fields]
    attributes = func.num_nonnulls(*columns) if columns else literal(0)
    return select(
        func.count().label("features"),
        func.coalesce(func.sum(MIN_FEATURE_BYTES + MIN_ATTRIBUTE_BYTES * attributes), 0)
        .label("min_bytes"),
    ).where(*_in_tile(table, query, z, x, y, exact=True))


def thinned_tile_statement(
    table: Table, schema: TableSchema, query: FeatureQuery, layer: str, z: int, x: int, y: int,
    cell: int,
) -> Select[Any]:
    """The tile thinned to one feature per ``cell`` x ``cell`` pixel square (see the module
    doc): the cell's lowest ``_fid`` with its geometry and attributes, and ``count``, the
    features of the tile's area in that cell (they sum to all of them). A cell is placed by
    the feature's centroid. A schema field named ``count`` is left out of thinned tiles."""
    if cell < 1:
        raise ValueError("cell must be at least one pixel")
    envelope = func.ST_TileEnvelope(z, x, y)
    pixel = (func.ST_XMax(envelope) - func.ST_XMin(envelope)) / EXTENT
    centre = func.ST_Transform(func.ST_Centroid(table.c.geom), 3857)
    column = func.floor((func.ST_X(centre) - func.ST_XMin(envelope)) / (pixel * cell))
    row = func.floor((func.ST_YMax(envelope) - func.ST_Y(centre)) / (pixel * cell))
    # Cells are found from narrow rows (row address, _fid, cell); only the kept rows are
    # then fetched whole, by their address (a TID scan), so the sort and the attribute
    # reads scale with the cells, not with the features of a dense tile.
    row_id = literal_column("ctid")
    cells = (
        select(row_id.label("row_id"), table.c._fid,
               column.label("cell_column"), row.label("cell_row"))
        .where(*_in_tile(table, query, z, x, y, exact=True))
        .subquery("cells")
    )
    in_cell = (cells.c.cell_column, cells.c.cell_row)
    ranking = select(
        cells.c.row_id,
        over(func.row_number(), partition_by=in_cell, order_by=cells.c._fid).label("rank"),
        cast(over(func.count(), partition_by=in_cell), BigInteger).label("in_cell"),
    ).subquery("ranking")
    ranked = select(ranking.c.row_id, ranking.c.in_cell).where(ranking.c.rank == 1).cte(
        "ranked").prefix_with("MATERIALIZED")
    kept = table.alias("kept")
    kept_row_id = literal_column("kept.ctid")
    properties = _properties(kept, schema, leave_out=CLUSTER_COUNT)
    rows = (
        select(kept.c._fid, _mvt_geometry(kept.c.geom, z, x, y), *properties,
               ranked.c.in_cell.label(CLUSTER_COUNT))
        .select_from(ranked.join(kept, kept_row_id == ranked.c.row_id))
        # the kept rows by address (a TID scan); joined alone, the planner scanned the table
        .where(kept_row_id == any_(cast(select(func.array_agg(ranked.c.row_id))
                                        .scalar_subquery(), ARRAY(RowAddress()))))
        .order_by(kept.c._fid)
        .offset(0)
        .subquery("tile_rows")
    )
    return _as_mvt(rows, layer)

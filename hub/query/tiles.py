"""Mapbox vector tile statements (built here, executed by :mod:`hub.data.tiles`).

The tile's envelope is made by ``ST_TileEnvelope`` in EPSG:3857 and transformed to EPSG:4326
for the filter, so the stored column's GiST index answers it (the value is reprojected,
never the column); only the selected rows' geometries are transformed to 3857 for
``ST_AsMVTGeom``. The filter is the same :func:`hub.query.records.where_clause` as the records
API, so a tile can carry property or CQL2 filters too. PostGIS writes the tile bytes.

Two details keep a dense tile cheap (measured in bench/, bench/README.md): the spatial filter is the
bounding-box operator ``&&`` alone, because ``ST_AsMVTGeom`` clips exactly anyway (an exact
``ST_Intersects`` per candidate row cost as much again); and the row subquery is fenced with
``OFFSET 0`` so PostgreSQL cannot inline it, which would evaluate the transform and
``ST_AsMVTGeom`` twice per row (once for ``mvt_geom IS NOT NULL``, once for ``ST_AsMVT``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, Table, Text, cast, func, literal, select

from hub.catalog import TableSchema
from hub.query.model import FeatureQuery, QueryError
from hub.query.records import where_clause

EXTENT = 4096  # tile coordinate space
BUFFER = 64  # pixels of geometry kept outside the tile edge, so clipped shapes join up
MAX_ZOOM = 24
TEXT_TYPES = ("date", "datetime", "time")  # written as ISO text (MVT has no date type)


def check_tile(z: int, x: int, y: int) -> None:
    """400 for a tile that does not exist in WebMercatorQuad."""
    if not 0 <= z <= MAX_ZOOM:
        raise QueryError(f"zoom level {z} is outside 0..{MAX_ZOOM}", "z")
    size = 1 << z
    if not 0 <= x < size:
        raise QueryError(f"tile column x={x} is outside 0..{size - 1} at zoom {z}", "x")
    if not 0 <= y < size:
        raise QueryError(f"tile row y={y} is outside 0..{size - 1} at zoom {z}", "y")


def tile_statement(
    table: Table, schema: TableSchema, query: FeatureQuery, layer: str, z: int, x: int, y: int,
) -> Select[Any]:
    """``SELECT ST_AsMVT(...)``: one layer named ``layer``, feature ids from ``_fid``, every
    schema field as a property; rows outside the (buffered) tile are never read."""
    check_tile(z, x, y)
    envelope = func.ST_TileEnvelope(z, x, y)
    margin = BUFFER / EXTENT
    search_area = func.ST_Transform(func.ST_TileEnvelope(z, x, y, func.ST_MakeEnvelope(
        -20037508.342789244, -20037508.342789244, 20037508.342789244, 20037508.342789244,
        3857), margin), 4326)
    properties: list[ColumnElement[Any]] = []
    for field in schema.fields:
        column: ColumnElement[Any] = table.c[field.name]
        if field.type in TEXT_TYPES:
            column = cast(column, Text())
        properties.append(column.label(field.name))
    geometry = func.ST_AsMVTGeom(func.ST_Transform(table.c.geom, 3857), envelope, EXTENT,
                                 BUFFER, True).label("mvt_geom")
    rows = (
        select(table.c._fid, geometry, *properties)
        .where(table.c.geom.op("&&")(search_area))
        .where(where_clause(table, query))
        .offset(0)  # optimisation fence: ST_AsMVTGeom once per row (see the module doc)
        .subquery("tile_rows")
    )
    return select(
        func.ST_AsMVT(rows.table_valued(), literal(layer, Text()), EXTENT,
                      literal("mvt_geom", Text()), literal("_fid", Text()))
    ).select_from(rows).where(rows.c.mvt_geom.is_not(None))

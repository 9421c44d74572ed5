"""A full tile places points by arithmetic (``hub.query.tiles._tile_pixels``) instead of
``ST_AsMVTGeom(ST_Transform(geom, 3857), ...)``: it must be the very tile that statement
gives. Each tile here is compared, decoded and byte for byte, with a reference built the
way tipg and PostGIS's documentation build one, written out below in plain SQL (not by the
code under test), on a real PostGIS.

The rows sit where rounding and clipping decide: on the tile's edges, on half pixels, in
the buffer and just past it, near the poles of Web Mercator; with a NULL geometry and with
lines, polygons and multipoints (which keep ``ST_AsMVTGeom``). The table is the version
table the hub queries (``hub.catalog.version_table``); its rows are written directly, since
a point has to lie on a chosen pixel edge to the last bit."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import mapbox_vector_tile
import pytest
from sqlalchemy import Engine, Table, text

from hub.catalog import SchemaField, TableSchema
from hub.query.model import FeatureQuery
from hub.query.tiles import (
    BUFFER,
    EXTENT,
    MERCATOR_HALF_WORLD,
    search_bounds,
    tile_affine,
    tile_parameters,
    tile_statements,
)
from tests.conftest import version_table_holding

LAYER = "edge-cases"
SCHEMA = TableSchema(fields=(
    SchemaField(name="name", type="string"),
    SchemaField(name="floors", type="integer"),
    SchemaField(name="rating", type="number"),
    SchemaField(name="open", type="boolean"),
    SchemaField(name="opened", type="date"),
    SchemaField(name="updated", type="datetime"),
))
# (z, x, y): a street-level tile in Tokyo, the bench's zoom, a deep one, low zooms, and
# tiles at the northern and southern edge of Web Mercator
TILES = [(16, 58226, 25801), (14, 14556, 6450), (20, 931621, 412830), (0, 0, 0), (3, 7, 3),
         (10, 900, 0), (16, 58226, 0), (12, 3000, 4095)]
# pixel positions that rounding and the buffer's edges decide (BUFFER = 64, EXTENT = 4096)
EDGES = [-64.6, -64.5, -64.4, -64.0, -63.5, -0.5, 0.0, 0.5, 1.5, 2.5, 2047.5, 4095.5, 4096.0,
         4096.5, 4159.5, 4160.0, 4160.4, 4160.5, 4160.6]


def _lon_lat(z: int, x: int, y: int, column: float, row: float) -> tuple[float, float]:
    """The lon/lat of pixel (column, row) of tile z/x/y (the inverse of the tile's Mercator
    arithmetic, worked out here independently with the EPSG:3857 sphere)."""
    size = 2 * MERCATOR_HALF_WORLD / (1 << z)
    mx = -MERCATOR_HALF_WORLD + size * (x + column / EXTENT)
    my = MERCATOR_HALF_WORLD - size * (y + row / EXTENT)
    return math.degrees(mx / 6378137.0), math.degrees(math.atan(math.sinh(my / 6378137.0)))


def _rows() -> list[dict[str, Any]]:
    rng = random.Random(7)
    rows: list[dict[str, Any]] = []

    def add(geom: str | None) -> None:
        n = len(rows)
        rows.append({"geom": geom, "name": f"place {n}" if n % 7 else None,
                     "floors": n % 9, "rating": n / 8, "open": n % 3 == 0,
                     "opened": date(2020, 1, 1) + timedelta(days=n) if n % 5 else None,
                     "updated": datetime(2024, 5, 1, tzinfo=UTC)
                     + timedelta(minutes=7 * n)})

    for z, x, y in TILES:
        for column in EDGES:
            for row in EDGES[::3]:
                lon, lat = _lon_lat(z, x, y, column, row)
                add(f"SRID=4326;POINT({lon!r} {lat!r})")
                lon, lat = _lon_lat(z, x, y, row, column)
                add(f"SRID=4326;POINT({lon!r} {lat!r})")
        for _ in range(150):  # anywhere in the tile with its buffer and a little more
            lon, lat = _lon_lat(z, x, y, rng.uniform(-80, 4176), rng.uniform(-80, 4176))
            add(f"SRID=4326;POINT({lon!r} {lat!r})")
        (west, north), (east, south) = (_lon_lat(z, x, y, -30, -30),
                                        _lon_lat(z, x, y, 4130, 4130))
        middle_lon, middle_lat = _lon_lat(z, x, y, 2048.3, 2048.7)
        add(f"SRID=4326;LINESTRING({west!r} {north!r}, {east!r} {south!r})")
        add(f"SRID=4326;POLYGON(({west!r} {north!r}, {middle_lon!r} {north!r}, "
            f"{middle_lon!r} {middle_lat!r}, {west!r} {middle_lat!r}, {west!r} {north!r}))")
        add(f"SRID=4326;MULTIPOINT({west!r} {north!r}, {middle_lon!r} {middle_lat!r})")
        add(None)
    return rows


@pytest.fixture(scope="module")
def edge_table(pg_cluster) -> Iterator[tuple[Engine, Table]]:
    with version_table_holding(pg_cluster, "tile_edges__v1", SCHEMA, _rows()) as made:
        yield made


def _reference_tile(engine: Engine, table: Table, z: int, x: int, y: int) -> bytes:
    """The tile as ``ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(z, x, y),
    4096, 64, true)`` builds it, over the same rows in the same order."""
    west, south, east, north = search_bounds(z, x, y)
    sql = f"""
        SELECT ST_AsMVT(r, :layer, {EXTENT}, 'mvt_geom', '_fid') FROM (
            SELECT _fid, ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(:z, :x, :y),
                                      {EXTENT}, {BUFFER}, true) AS mvt_geom,
                   name, floors, rating, open, opened::text AS opened,
                   updated::text AS updated
            FROM {table.fullname}
            WHERE geom && ST_MakeEnvelope(:west, :south, :east, :north, 4326)
            ORDER BY _fid OFFSET 0) r
        WHERE mvt_geom IS NOT NULL"""
    with engine.connect() as conn:
        value = conn.execute(text(sql), {"layer": LAYER, "z": z, "x": x, "y": y,
                                         "west": west, "south": south, "east": east,
                                         "north": north}).scalar()
    return bytes(value) if value else b""


def _hub_tile(engine: Engine, table: Table, z: int, x: int, y: int) -> bytes:
    statements = tile_statements(table, SCHEMA, FeatureQuery(), LAYER)
    with engine.connect() as conn:
        value = conn.execute(statements.full, tile_parameters(z, x, y)).scalar()
    return bytes(value) if value else b""


def _features(body: bytes) -> list[dict[str, Any]]:
    return mapbox_vector_tile.decode(body, default_options={"y_coord_down": True})[
        LAYER]["features"]


@pytest.mark.parametrize(("z", "x", "y"), TILES)
def test_a_full_tile_is_the_tile_st_asmvtgeom_builds(edge_table, z, x, y):
    engine, table = edge_table
    expected, got = _reference_tile(engine, table, z, x, y), _hub_tile(engine, table, z, x, y)
    assert expected, "each tile should hold some of the rows"
    expected_features, got_features = _features(expected), _features(got)
    kinds = {f["geometry"]["type"] for f in expected_features}
    assert {"Point", "LineString", "MultiPoint"} <= kinds, kinds
    assert [f["id"] for f in got_features] == [f["id"] for f in expected_features]
    assert got_features == expected_features  # coordinates, properties, ids, in order
    assert got == expected  # and the very bytes


def test_edge_points_are_in_the_tile_and_in_its_buffer(edge_table):
    """The reference itself holds points on both sides of each edge: the comparison above
    covers rounding towards and away from the buffer, not only points well inside."""
    engine, table = edge_table
    columns = {f["geometry"]["coordinates"][0]
               for f in _features(_reference_tile(engine, table, *TILES[0]))
               if f["geometry"]["type"] == "Point"}
    assert {-BUFFER, 0, EXTENT, EXTENT + BUFFER} <= columns
    assert min(columns) == -BUFFER and max(columns) == EXTENT + BUFFER


@pytest.mark.parametrize(("z", "x", "y"), [*TILES, (24, 16_000_000, 100), (1, 1, 1)])
def test_the_affine_is_st_tileenvelope_and_st_asmvtgeom_arithmetic(edge_table, z, x, y):
    """The scale and offset computed in Python are the doubles PostGIS derives from
    ``ST_TileEnvelope`` (``extent / width``, ``-xmin * scale``), to the last bit."""
    engine, _table = edge_table
    with engine.connect() as conn:
        in_postgis = conn.execute(text(
            "SELECT s_x, -ST_XMin(e) * s_x, s_y, -ST_YMax(e) * s_y FROM ("
            "  SELECT e, 4096 / (ST_XMax(e) - ST_XMin(e)) AS s_x,"
            "         -(4096 / (ST_YMax(e) - ST_YMin(e))) AS s_y"
            "  FROM ST_TileEnvelope(:z, :x, :y) AS e) t"), {"z": z, "x": x, "y": y}).one()
    assert tile_affine(z, x, y) == tuple(in_postgis)


@pytest.mark.parametrize(("z", "x", "y"), TILES)
def test_a_thinned_tile_places_its_features_as_the_full_tile_does(edge_table, z, x, y):
    """The features a thinned tile keeps are placed by the same arithmetic: each one's
    geometry is its geometry in the full tile (cells of 2 pixels keep most rows apart, so
    most features are compared)."""
    engine, table = edge_table
    statements = tile_statements(table, SCHEMA, FeatureQuery(), LAYER)
    with engine.connect() as conn:
        thinned = conn.execute(statements.thinned,
                               {**tile_parameters(z, x, y), "cell": 2.0}).scalar()
    full = {f["id"]: f["geometry"] for f in _features(_reference_tile(engine, table, z, x, y))}
    kept = _features(bytes(thinned))
    assert len(kept) > 100
    assert {f["id"]: f["geometry"] for f in kept if f["id"] in full} == {
        f["id"]: full[f["id"]] for f in kept if f["id"] in full}
    points = [f for f in kept if f["geometry"]["type"] == "Point"]
    assert points and all(f["id"] in full for f in points)

"""Radius searches read the ``geom`` index through boxes (hub.query.geodesic) and still return
exactly the rows PostGIS's own ``ST_DWithin(geography, geography, r)`` returns: for random
reference points and for the hard places (both poles, across the antimeridian), for radii
from 1 m to 20,000 km, and for rows exactly on the circle. Every query goes through the real
builders (records pages, nearest pages, near-set and CQL2 ``S_DWITHIN``) on real PostGIS;
the expected rows come from one plain ``ST_DWithin`` per case, never from the code under test.
The version tables here have no geography index, like the ones a publish builds now; one
copy has the index older versions kept, and answers the same.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pyproj import Geod
from sqlalchemy import Engine, Table, create_engine, func, literal, select, text
from sqlalchemy.dialects import postgresql

from hub.catalog import TableSchema, version_table
from hub.query.cql2 import parse_cql2
from hub.query.model import FeatureQuery, Near, NearSet, SortKey
from hub.query.records import records_statement
from tests.conftest import create_test_database, drop_test_database

GEOD = Geod(ellps="WGS84")
SCHEMA = TableSchema.from_json({"fields": [{"name": "name", "type": "string"}]})
NEW, OLD = "radius_new__v1", "radius_old__v1"  # OLD keeps a geography index
RADII = (1.0, 37.0, 1_000.0, 150_000.0, 2_500_000.0, 20_000_000.0)
FACTORS = (0.5, 0.999999, 1.0, 1.000001, 1.5)
# Both poles, both sides of the antimeridian, the equator, and a city.
SPECIAL = [(89.99, 10.0), (-89.9, -120.0), (89.0, 179.5), (0.0, 179.999), (-33.0, -179.99),
           (65.0, 180.0), (45.0, -180.0), (0.0, 0.0), (35.66, 139.7), (-0.0001, -179.9999)]
LIMIT = 20_000
GLOBAL_POINTS = 2500


@dataclass(frozen=True)
class Case:
    lat: float
    lon: float
    metres: float


def _references(rng: random.Random) -> list[tuple[float, float]]:
    uniform = [(math.degrees(math.asin(rng.uniform(-1, 1))), rng.uniform(-180, 180))
               for _ in range(10)]
    return SPECIAL + uniform


def _points(rng: random.Random, references: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(lon, lat): spread over the globe, and around each reference at and near each radius
    (placed by pyproj's geodesic), so every circle's edge has rows on both sides."""
    points = [(rng.uniform(-180, 180), math.degrees(math.asin(rng.uniform(-1, 1))))
              for _ in range(GLOBAL_POINTS)]
    for lat, lon in references:
        for metres in RADII[:-1]:
            for factor in FACTORS:
                for _ in range(3):
                    x, y, _back = GEOD.fwd(lon, lat, rng.uniform(0, 360), metres * factor)
                    points.append((x, y))
    return points


def _placed_fid(reference: int, radius: int) -> int:
    """``_fid`` of the first row :func:`_points` placed at factor 1.0 of RADII[radius]."""
    per_radius = len(FACTORS) * 3
    index = GLOBAL_POINTS + reference * (len(RADII) - 1) * per_radius + radius * per_radius
    return index + FACTORS.index(1.0) * 3 + 1


def _create(conn: Any, name: str, points: list[tuple[float, float]]) -> Table:
    table = version_table(name, SCHEMA, has_geometry=True)
    table.create(conn)
    conn.execute(text(
        f'INSERT INTO data."{name}" (_fid, name, geom) '
        "SELECT n, 'p' || n, ST_SetSRID(ST_MakePoint(x, y), 4326) "
        "FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) WITH ORDINALITY AS p(x, y, n)"),
        {"xs": [p[0] for p in points], "ys": [p[1] for p in points]})
    conn.execute(text(f'CREATE INDEX "{name}_geom" ON data."{name}" USING gist (geom)'))
    return table


@dataclass
class World:
    engine: Engine
    tables: dict[str, Table]
    cases: list[Case]


@pytest.fixture(scope="module")
def world(pg_cluster) -> Iterator[World]:
    url = create_test_database(pg_cluster)
    # A wrong plan here reads whole tables per row: fail, not hang.
    engine = create_engine(url, connect_args={"options": "-c statement_timeout=20000"})
    rng = random.Random(20261206)
    references = _references(rng)
    points = _points(rng, references)
    with engine.begin() as conn:
        tables = {name: _create(conn, name, points) for name in (NEW, OLD)}
        conn.execute(text(f'CREATE INDEX "{OLD}_geog" ON data."{OLD}" '
                          "USING gist ((geography(geom)))"))
        conn.execute(text(f'ANALYZE data."{NEW}"'))
        conn.execute(text(f'ANALYZE data."{OLD}"'))
        # Rows exactly on the circle: the radius is PostGIS's own distance to a stored row,
        # one placed at about 1 m and one at about 1 km from each reference.
        on_circle = [Case(lat, lon, conn.execute(text(
            f'SELECT ST_Distance(geography(geom), {_reference(lat, lon)}) '
            f'FROM data."{NEW}" WHERE _fid = :fid'), {"fid": _placed_fid(i, r)}).scalar_one())
            for i, (lat, lon) in enumerate(references) for r in (0, 2)]
    cases = [Case(lat, lon, metres) for lat, lon in references for metres in RADII] + on_circle
    yield World(engine, tables, cases)
    engine.dispose()
    drop_test_database(pg_cluster, url)


def _reference(lat: float, lon: float) -> str:
    return f"geography(ST_SetSRID(ST_MakePoint({lon!r}, {lat!r}), 4326))"


def _expected(conn: Any, name: str, case: Case) -> list[int]:
    return list(conn.execute(text(
        f'SELECT _fid FROM data."{name}" '
        f"WHERE ST_DWithin(geography(geom), {_reference(case.lat, case.lon)}, :m) ORDER BY _fid"),
        {"m": case.metres}).scalars())


def _fids(conn: Any, table: Table, query: FeatureQuery) -> list[int]:
    built = records_statement(table, SCHEMA, query, has_geometry=True, output="json")
    return [row._fid for row in conn.execute(built.statement)]


@pytest.mark.parametrize("name", [NEW, OLD])
def test_radius_pages_return_exactly_the_spheroid_rows(world: World, name: str) -> None:
    """Plain radius pages (file order) and nearest-first radius pages, every case."""
    table = world.tables[name]
    with world.engine.connect() as conn:
        for case in world.cases:
            expected = _expected(conn, name, case)
            near = Near(case.lat, case.lon, case.metres)
            plain = _fids(conn, table, FeatureQuery(near=near, limit=LIMIT))
            nearest = _fids(conn, table, FeatureQuery(
                near=near, sort=(SortKey("distance_m"),), limit=LIMIT))
            assert plain == expected, case
            assert sorted(nearest) == expected, case


def test_nearest_pages_without_a_radius_are_the_nearest_rows_in_order(world: World) -> None:
    """The nearest page bounds itself with a box computed in SQL from its candidates."""
    table = world.tables[NEW]
    with world.engine.connect() as conn:
        for case in world.cases[::7]:
            expected = list(conn.execute(text(
                f'SELECT _fid FROM data."{NEW}" ORDER BY '
                f"ST_Distance(geography(geom), {_reference(case.lat, case.lon)}), _fid LIMIT 25"
            )).scalars())
            got = _fids(conn, table, FeatureQuery(near=Near(case.lat, case.lon),
                                                  sort=(SortKey("distance_m"),), limit=24))
            assert got == expected, case


# Reference geometries with extent: short edges (hub.query.geodesic: the box widens the
# bounding box; edges up to a few km bow less than its margin).
REFERENCES = {
    "point-north": "POINT(12.5 89.95)",
    "line": "LINESTRING(139.70 35.66, 139.72 35.67, 139.73 35.69)",
    "polygon": "POLYGON((-0.2 51.4, 0.0 51.4, 0.0 51.55, -0.2 51.55, -0.2 51.4))",
    "meridian-line": "LINESTRING(179.999 -16.5, 179.999 -16.45)",
}


@pytest.mark.parametrize("metres", [1.0, 5_000.0, 800_000.0, 20_000_000.0])
def test_near_set_and_cql2_return_exactly_the_spheroid_rows(world: World, metres: float) -> None:
    table = world.tables[NEW]
    with world.engine.connect() as conn:
        for label, wkt in REFERENCES.items():
            expected = list(conn.execute(text(
                f'SELECT _fid FROM data."{NEW}" WHERE ST_DWithin(geography(geom), '
                "geography(ST_GeomFromText(:w, 4326)), :m) ORDER BY _fid"),
                {"w": wkt, "m": metres}).scalars())
            near_set = NearSet(_reference_set(wkt), metres)
            assert _fids(conn, table, FeatureQuery(near_set=near_set, limit=LIMIT)) == expected, (
                label, metres)
            cql2 = parse_cql2(f"S_DWITHIN(geometry, {wkt}, {metres!r}, meters)", "cql2-text",
                              SCHEMA, has_geometry=True)
            assert _fids(conn, table, FeatureQuery(cql2=cql2, limit=LIMIT)) == expected, (
                label, metres)


def _reference_set(wkt: str) -> Any:
    """A near-set reference of one geometry, shaped as hub.query.transit builds them."""
    return select(literal(1).label("ref_id"), literal("r").label("ref_name"),
                  func.ST_GeomFromText(wkt, 4326).label("geom"))


def _plan(conn: Any, table: Table, query: FeatureQuery) -> str:
    built = records_statement(table, SCHEMA, query, has_geometry=True, output="json")
    compiled = built.statement.compile(dialect=postgresql.psycopg.dialect())
    return "\n".join(line for (line,) in conn.exec_driver_sql(
        "EXPLAIN (COSTS OFF) " + str(compiled), compiled.params))


def test_radius_nearest_and_near_set_read_the_geom_index(world: World) -> None:
    """On a version without a geography index, at a size where the planner picks an index
    (sequential scans allowed), the three radius shapes scan the ``_geom`` GiST index."""
    near = Near(35.66, 139.7, 1_000.0)
    queries = {
        "radius": FeatureQuery(near=near, limit=10),
        "radius, nearest first": FeatureQuery(near=near, sort=(SortKey("distance_m"),),
                                              limit=10),
        "nearest": FeatureQuery(near=Near(35.66, 139.7), sort=(SortKey("distance_m"),),
                                limit=10),
        "near_set": FeatureQuery(near_set=NearSet(_reference_set(REFERENCES["line"]), 1_000.0),
                                 limit=10),
    }
    with world.engine.connect() as conn:
        for label, query in queries.items():
            plan = _plan(conn, world.tables[NEW], query)
            assert any("Index Scan" in line and f"{NEW}_geom" in line
                       for line in plan.splitlines()), (label, plan)
            assert f"Seq Scan on {NEW}" not in plan, (label, plan)

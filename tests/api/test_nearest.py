"""Nearest-first records (``near`` without ``radius``): exact order, every row once, and a
plan that reads through indexes instead of measuring every row of the table.

The shops here include ties (several shops at one address) and shops without coordinates,
the two cases where a nearest-first page is easy to get wrong. Expected orders come from
pyproj's geodesic distance and the file position, never from the SQL under test.
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pyproj import Geod
from sqlalchemy import create_engine

from etl.prepare import prepare
from etl.publish import publish
from hub.api.app import create_app
from hub.catalog import load_definition
from hub.query.model import PageLimits
from hub.query.params import parse_records_query
from hub.query.records import records_statement
from tests.api.test_records import all_pages
from tests.conftest import create_test_database, drop_test_database, make_settings
from tests.shopdata import SHIBUYA

GEOD = Geod(ellps="WGS84")
URL = "/v1/datasets/test-shops/records"
CATEGORIES = ("カフェ", "書店", "薬局")


@dataclass(frozen=True)
class Place:
    fid: int  # 1-based position in the file, the hub's tie-break
    shop_id: str
    category: str
    lat: float | None
    lon: float | None


def _places(n: int = 400, seed: int = 11) -> list[Place]:
    rng = random.Random(seed)
    addresses = [(SHIBUYA[0] + rng.uniform(-0.01, 0.01), SHIBUYA[1] + rng.uniform(-0.01, 0.01))
                 for _ in range(8)]
    places = []
    for i in range(1, n + 1):
        if i % 50 == 0:
            lat = lon = None  # no coordinates: no distance, listed last
        elif i % 9 == 0:
            lat, lon = addresses[i % len(addresses)]  # shares an address: equal distances
        else:
            lat = SHIBUYA[0] + rng.uniform(-0.03, 0.03)
            lon = SHIBUYA[1] + rng.uniform(-0.03, 0.03)
        places.append(Place(i, f"N{i:04d}", CATEGORIES[i % 3],
                            None if lat is None else round(lat, 6),
                            None if lon is None else round(lon, 6)))
    return places


def _write(path: Path, places: list[Place]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["店舗ID", "名称", "分類", "緯度", "経度"])
        for p in places:
            writer.writerow([p.shop_id, f"店{p.fid}", p.category,
                             "" if p.lat is None else p.lat, "" if p.lon is None else p.lon])
    return path


@dataclass
class World:
    client: TestClient
    engine: object
    places: list[Place]


@pytest.fixture(scope="module")
def world(pg_cluster, tmp_path_factory) -> Iterator[World]:
    url = create_test_database(pg_cluster)
    settings = make_settings(url, max_limit=500)
    engine = create_engine(url)
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    places = _places()
    prepared = prepare(definition, _write(tmp_path_factory.mktemp("near") / "n.csv", places))
    assert prepared.report.ok, prepared.report.errors[:3]
    publish(engine, prepared)
    with TestClient(create_app(settings)) as client:
        yield World(client, engine, places)
    engine.dispose()
    drop_test_database(pg_cluster, url)


def _expected(places: list[Place], lat: float, lon: float) -> list[str]:
    def key(p: Place) -> tuple[bool, float, int]:
        if p.lat is None or p.lon is None:
            return (True, 0.0, p.fid)
        return (False, GEOD.inv(lon, lat, p.lon, p.lat)[2], p.fid)

    return [p.shop_id for p in sorted(places, key=key)]


@pytest.mark.parametrize("limit", [1, 7, 37, 500])
def test_nearest_pages_visit_every_row_once_in_distance_then_file_order(
    world: World, limit: int
) -> None:
    lat, lon = SHIBUYA
    records = _all(world, {"near": f"{lat},{lon}", "limit": limit})
    assert [r["shop_id"] for r in records] == _expected(world.places, lat, lon)
    placed = [r for r in records if r["geometry"] is not None]
    distances = [r["distance_m"] for r in placed]
    assert distances == sorted(distances)
    assert all(r.get("distance_m") is None for r in records[len(placed):])


def test_nearest_with_a_filter_and_a_far_point(world: World) -> None:
    lat, lon = 35.70, 139.60  # outside the cloud: the first candidates are not the answer
    records = _all(world, {"near": f"{lat},{lon}", "limit": 25, "category": "書店"})
    wanted = [p for p in world.places if p.category == "書店"]
    assert [r["shop_id"] for r in records] == _expected(wanted, lat, lon)


@pytest.mark.parametrize(("radius", "limit"), [(900, 7), (2500, 37), (60, 5)])
def test_radius_pages_are_the_rows_inside_in_distance_then_file_order(
    world: World, radius: int, limit: int
) -> None:
    lat, lon = SHIBUYA
    records = _all(world, {"near": f"{lat},{lon}", "radius": radius, "limit": limit})
    inside = [p for p in world.places if p.lat is not None and p.lon is not None
              and GEOD.inv(lon, lat, p.lon, p.lat)[2] <= radius]
    assert [r["shop_id"] for r in records] == _expected(inside, lat, lon)


def test_a_radius_page_measures_about_a_page_of_rows_not_the_whole_circle(world: World) -> None:
    """Inside a radius holding most of the table, a 10-row page reads about 10 rows of it
    (the planar KNN candidates, then those within their farthest distance), not every row in
    the circle, which is what made radius pages slow down as data grew denser."""
    plan = _plan(world, [("near", f"{SHIBUYA[0]},{SHIBUYA[1]}"), ("radius", "4000"),
                         ("limit", "10")])
    table_rows = [int(m.group(1)) for line in plan if " on test_shops__v1" in line
                  for m in [re.search(r"actual time=\S+ rows=(\d+)", line)] if m]
    assert table_rows and max(table_rows) <= 40, "\n".join(plan)


def test_nearest_page_reads_through_indexes(world: World) -> None:
    """With sequential scans priced out, the plan must still avoid reading the whole table:
    a nearest-first page of the old plan (ORDER BY distance, _fid) could only be a full scan
    and a sort. The branch for rows without geometry may hold a scan that never runs."""
    plan = _plan(world, [("near", f"{SHIBUYA[0]},{SHIBUYA[1]}"), ("limit", "10")])
    scans = [line for line in plan if "Seq Scan" in line]
    assert all("never executed" in line for line in scans), "\n".join(plan)
    assert any("Index" in line and "geom" in line for line in plan), "\n".join(plan)


def _plan(world: World, pairs: list[tuple[str, str]]) -> list[str]:
    """EXPLAIN ANALYZE of the records statement, sequential scans priced out."""
    from hub.catalog import TableSchema, version_table

    with world.engine.connect() as conn:  # type: ignore[attr-defined]
        row = conn.exec_driver_sql("SELECT table_name, schema FROM hub.versions").one()
        schema = TableSchema.from_json(row.schema)
        table = version_table(row.table_name, schema, has_geometry=True)
        query = parse_records_query(pairs, schema, has_geometry=True,
                                    limits=PageLimits(10, 100, 5000))
        statement = records_statement(table, schema, query, has_geometry=True,
                                      output="geojson").statement
        compiled = statement.compile(dialect=conn.dialect)
        conn.exec_driver_sql("SET enable_seqscan = off")
        return [line for (line,) in conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, COSTS OFF) " + str(compiled), compiled.params)]


def _all(world: World, params: dict) -> list[dict]:
    return all_pages(_Client(world.client), URL, params)


class _Client:
    """What ``all_pages`` expects of its first argument: an object with a ``client``."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

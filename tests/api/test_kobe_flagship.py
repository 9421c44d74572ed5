"""The flagship query on real co-located data: multipurpose toilets and AEDs within 300 m of
the stations of Kobe's 西神・山手線, through the real app.

The three demo datasets (datasets/kobe-subway, kobe-ud-toilets, kobe-aed) are published with
our own ETL, as `hub demo` does. The expected answers come from the shipped files read
independently (csv, openpyxl) and geodesic distances on the WGS84 ellipsoid (pyproj), cross-
checked with a plain haversine: never from the hub's SQL.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass

import openpyxl
import pytest
from fastapi.testclient import TestClient
from pyproj import Geod
from sqlalchemy import create_engine

from etl.publish import publish
from etl.sources import prepare_source
from hub.api.app import create_app
from hub.catalog import load_definition
from tests.conftest import ROOT, create_test_database, drop_test_database, make_settings

DATASETS, SCHEMAS = ROOT / "datasets", ROOT / "schemas"
FEED = DATASETS / "kobe-subway" / "feed"
RADIUS = 300
GEOD = Geod(ellps="WGS84")
LINE = "seishin"  # routes.txt: seishin,,西神・山手線,1


@dataclass
class Place:
    key: str
    lat: float
    lon: float


@dataclass
class Kobe:
    client: TestClient
    stops: dict[str, tuple[float, float]]  # stop_id -> (lat, lon), every stop and station
    route_stops: dict[str, set[str]]  # route_id -> its platforms and their stations
    toilets: list[Place]
    aeds: list[Place]


def feed_rows(name: str) -> list[dict[str, str]]:
    with open(FEED / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def toilets_in_the_sheet() -> list[Place]:
    """番号 and coordinates of every record row (番号 is a number) of the workbook."""
    sheet = openpyxl.load_workbook(DATASETS / "kobe-ud-toilets" / "UDseibisisetu.xlsx")["Sheet1"]
    return [Place(str(row[1]), float(row[7]), float(row[8]))
            for row in sheet.iter_rows(values_only=True) if isinstance(row[1], int)]


def aeds_in_the_csv() -> list[Place]:
    path = DATASETS / "kobe-aed" / "aed_kobe_20141128-sjis.csv"
    with open(path, encoding="cp932", newline="") as handle:
        places = []
        for record in csv.DictReader(handle):
            try:
                lat, lon = float(record["緯度"]), float(record["経度"])
            except ValueError:  # one record has no coordinates
                continue
            places.append(Place(record["管轄入り交付番号"], lat, lon))
    return places


def station_ids() -> set[str]:
    return {s["stop_id"] for s in feed_rows("stops.txt") if s["location_type"] == "1"}


def geodesic_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def within(places: list[Place], stops: list[tuple[float, float]], distance=geodesic_m
           ) -> set[str]:
    return {p.key for p in places
            if any(distance(p.lat, p.lon, lat, lon) <= RADIUS for lat, lon in stops)}


@pytest.fixture(scope="module")
def kobe(pg_cluster) -> Iterator[Kobe]:
    url = create_test_database(pg_cluster)
    engine = create_engine(url)
    for dataset_id in ("kobe-subway", "kobe-ud-toilets", "kobe-aed"):
        definition = load_definition(dataset_id, DATASETS, SCHEMAS)
        prepared = prepare_source(definition, definition.directory / definition.source["file"],
                                  skip_invalid=bool(definition.source.get("skip_invalid")))
        publish(engine, prepared)
    engine.dispose()
    route_of = {t["trip_id"]: t["route_id"] for t in feed_rows("trips.txt")}
    route_stops: dict[str, set[str]] = {}
    for stop_time in feed_rows("stop_times.txt"):
        route_stops.setdefault(route_of[stop_time["trip_id"]], set()).add(stop_time["stop_id"])
    station_of = {s["stop_id"]: s["parent_station"] for s in feed_rows("stops.txt")
                  if s["parent_station"]}
    stations = {s["stop_id"] for s in feed_rows("stops.txt") if s["location_type"] == "1"}
    for served in route_stops.values():
        served |= {station_of[s] for s in served if station_of.get(s) in stations}
    stops = {s["stop_id"]: (float(s["stop_lat"]), float(s["stop_lon"]))
             for s in feed_rows("stops.txt")}
    settings = make_settings(url, max_limit=1000)
    with TestClient(create_app(settings)) as client:
        yield Kobe(client, stops, route_stops, toilets_in_the_sheet(), aeds_in_the_csv())
    drop_test_database(pg_cluster, url)


def records_near(client: TestClient, dataset_id: str, route: str, key: str) -> dict[str, dict]:
    response = client.get(f"/v1/datasets/{dataset_id}/records",
                          params={"near_route": f"kobe-subway:{route}", "radius": RADIUS,
                                  "limit": 1000})
    assert response.status_code == 200, response.text
    body = response.json()
    assert not any(link["rel"] == "next" for link in body["links"])
    return {r[key]: r for r in body["records"]}


def test_the_issue_counts_hold_for_the_shipped_files(kobe: Kobe) -> None:
    """41 of the 92 toilets and 217 AEDs lie within 300 m of a station: on the ellipsoid
    and on the sphere alike (no facility sits close enough to 300 m for the two to differ)."""
    every_stop = list(kobe.stops.values())
    assert len(kobe.toilets) == 92
    for distance in (geodesic_m, haversine_m):
        assert len(within(kobe.toilets, every_stop, distance)) == 41
        assert len(within(kobe.aeds, every_stop, distance)) == 217
    line = [kobe.stops[s] for s in kobe.route_stops[LINE]]
    assert within(kobe.toilets, line) == within(kobe.toilets, line, haversine_m)
    assert within(kobe.aeds, line) == within(kobe.aeds, line, haversine_m)


@pytest.mark.parametrize(("dataset_id", "key", "expected_count"),
                         [("kobe-ud-toilets", "id", 29), ("kobe-aed", "id", 143)])
def test_near_the_stations_of_the_seishin_yamate_line(kobe: Kobe, dataset_id: str, key: str,
                                                      expected_count: int) -> None:
    places = kobe.toilets if dataset_id == "kobe-ud-toilets" else kobe.aeds
    line = kobe.route_stops[LINE]
    expected = within(places, [kobe.stops[s] for s in line])
    found = records_near(kobe.client, dataset_id, LINE, key)
    assert set(found) == expected and len(expected) == expected_count
    for record in found.values():
        assert record["nearest_stop_id"] in line
        assert 0 <= record["distance_m"] <= RADIUS


@pytest.mark.parametrize(("dataset_id", "total"), [("kobe-ud-toilets", 41), ("kobe-aed", 217)])
def test_near_any_line_is_the_union_of_the_two_lines(kobe: Kobe, dataset_id: str,
                                                     total: int) -> None:
    """``near_route`` measures from the platforms the route's trips call at and from their
    stations: the two lines together give the issue's counts (every stop and station of the
    feed belongs to a line). One AED, 06長田30, is 299 m from the 新長田 station's own
    point but 304 m from its platform S09: the station's point brings it in."""
    places = kobe.toilets if dataset_id == "kobe-ud-toilets" else kobe.aeds
    served = set().union(*kobe.route_stops.values())
    expected = within(places, [kobe.stops[s] for s in served])
    found: set[str] = set()
    for route in sorted(kobe.route_stops):
        found |= set(records_near(kobe.client, dataset_id, route, "id"))
    assert found == expected and len(found) == total
    assert found == within(places, list(kobe.stops.values()))
    if dataset_id == "kobe-aed":
        platforms_only = [kobe.stops[s] for s in served if s not in station_ids()]
        assert "06長田30" in found - within(places, platforms_only)


def test_nearest_stop_is_the_nearer_of_platform_and_station(kobe: Kobe) -> None:
    """06長田30 is nearer the 新長田 station's point than any platform, so the station is
    the stop it is reported near, at the station's distance."""
    (aed,) = [a for a in kobe.aeds if a.key == "06長田30"]
    line = kobe.route_stops[LINE]
    distances = {s: geodesic_m(aed.lat, aed.lon, *kobe.stops[s]) for s in line}
    nearest = min(distances, key=distances.__getitem__)
    assert nearest in station_ids()
    found = records_near(kobe.client, "kobe-aed", LINE, "id")["06長田30"]
    assert found["nearest_stop_id"] == nearest
    assert found["distance_m"] == pytest.approx(distances[nearest], abs=0.5)


def test_ogc_items_answer_the_flagship_query_as_v1(kobe: Kobe) -> None:
    params = {"near_route": f"kobe-subway:{LINE}", "radius": RADIUS, "limit": 1000}
    ogc = kobe.client.get("/ogc/collections/kobe-ud-toilets/items", params=params)
    assert ogc.status_code == 200, ogc.text
    v1 = kobe.client.get("/v1/datasets/kobe-ud-toilets/records",
                         params={**params, "f": "geojson"})
    assert v1.status_code == 200, v1.text

    def answer(body: dict) -> list[tuple]:
        return [(f["id"], f["properties"]["distance_m"], f["properties"]["nearest_stop_id"])
                for f in body["features"]]

    assert answer(ogc.json()) == answer(v1.json())
    assert len(answer(ogc.json())) == 29


def test_the_toilets_carry_what_the_sheet_says(kobe: Kobe) -> None:
    """Section rows fill ``area``; the legend's symbols become the two flags."""
    found = records_near(kobe.client, "kobe-ud-toilets", LINE, "id")
    shinkobe = found["70"]  # 地下鉄西神・山手線 新神戸駅, ○, under 公共交通機関
    assert shinkobe["name"] == "地下鉄西神・山手線 新神戸駅"
    assert shinkobe["area"] == "公共交通機関"
    assert (shinkobe["adult_changing_bench"], shinkobe["baby_facilities"]) == (False, True)
    bus_terminal = found["1"]  # 三宮バスターミナル(ミント神戸1階), ◎, under 都心地域
    assert bus_terminal["area"] == "都心地域"
    assert (bus_terminal["adult_changing_bench"], bus_terminal["baby_facilities"]) == (True, None)


def test_a_route_the_feed_does_not_have_is_a_clear_422(kobe: Kobe) -> None:
    """Well formed, naming nothing the catalogue holds (`unknown-reference`)."""
    response = kobe.client.get("/v1/datasets/kobe-ud-toilets/records",
                               params={"near_route": "kobe-subway:西神・山手線", "radius": RADIUS})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "has no located stops" in response.json()["detail"]

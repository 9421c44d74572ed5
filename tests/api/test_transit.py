"""The Muroran feed's layers and the SYNTHETIC ridership over HTTP (real app, real PostGIS).

Answers are computed from the raw feed files with the csv module and pyproj, never from SQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pyproj import Geod
from sqlalchemy import create_engine

from etl.gtfs import prepare_feed
from etl.publish import publish
from etl.ridership import referenced_keys
from etl.sources import prepare_source
from hub.api.app import create_app
from hub.catalog import load_definition
from tests.conftest import create_test_database, drop_test_database, make_settings
from tests.gtfs_feeds import DATASETS, MURORAN, SCHEMAS, rows

GEOD = Geod(ellps="WGS84")
BASE = "/v1/datasets/bus-routes-muroran"
STATION = (42.3177, 140.9736)  # 室蘭駅前


@pytest.fixture(scope="module")
def client(pg_cluster) -> Iterator[TestClient]:
    url = create_test_database(pg_cluster)
    engine = create_engine(url)
    routes = load_definition("bus-routes-muroran", DATASETS, SCHEMAS)
    publish(engine, prepare_feed(routes, MURORAN))
    ridership = load_definition("bus-ridership-muroran-synthetic", DATASETS, SCHEMAS)
    prepared = prepare_source(ridership, ridership.directory / ridership.source["file"],
                              references=referenced_keys(engine, ridership))
    assert prepared.report.ok
    publish(engine, prepared)
    engine.dispose()
    settings = make_settings(url, datasets_dir=DATASETS, schemas_dir=SCHEMAS, max_limit=1000)
    with TestClient(create_app(settings)) as test_client:
        yield test_client
    drop_test_database(pg_cluster, url)


def get(client: TestClient, path: str, **params) -> dict:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_stops_near_a_point(client):
    lat, lon = STATION
    body = get(client, f"{BASE}/layers/stops/records", near=f"{lat},{lon}", radius=300,
               limit=1000)
    found = {r["stop_id"]: r["distance_m"] for r in body["records"]}
    distances = {s["stop_id"]: GEOD.inv(lon, lat, float(s["stop_lon"]), float(s["stop_lat"]))[2]
                 for s in rows(MURORAN, "stops.txt")}
    expected = {k for k, d in distances.items() if d <= 300}
    assert set(found) == expected and len(expected) >= 5
    for stop_id, d in found.items():
        assert abs(d - distances[stop_id]) < 0.5
    assert list(found.values()) == sorted(found.values())
    poles = get(client, f"{BASE}/layers/stops/records", near=f"{lat},{lon}", radius=300,
                location_type=0, limit=1000)["records"]
    assert {r["stop_id"] for r in poles} == {
        s["stop_id"] for s in rows(MURORAN, "stops.txt")
        if s["stop_id"] in expected and s["location_type"] == "0"}


def test_stop_summary_over_http(client):
    stop_times = rows(MURORAN, "stop_times.txt")
    trips = {t["trip_id"]: t for t in rows(MURORAN, "trips.txt")}
    last: dict[str, int] = {}
    for r in stop_times:
        last[r["trip_id"]] = max(last.get(r["trip_id"], 0), int(r["stop_sequence"]))
    poles = {s["stop_id"] for s in rows(MURORAN, "stops.txt") if s["parent_station"] == "0082"}
    departures = Counter(
        trips[r["trip_id"]]["service_id"] for r in stop_times
        if r["stop_id"] in poles and r["pickup_type"] != "1"
        and int(r["stop_sequence"]) != last[r["trip_id"]])
    body = get(client, f"{BASE}/layers/stop_summary/records", stop_id="0082", f="geojson")
    (feature,) = body["features"]
    station = next(s for s in rows(MURORAN, "stops.txt") if s["stop_id"] == "0082")
    assert feature["geometry"] == {"type": "Point", "coordinates": [
        float(station["stop_lon"]), float(station["stop_lat"])]}
    props = feature["properties"]
    assert props["stop_name"] == station["stop_name"] == "室蘭駅前"
    assert props["departures_weekday"] == departures["weekday"]
    assert props["departures_by_service"] == "; ".join(
        f"{s}={n}" for s, n in sorted(departures.items()))
    parent = {s["stop_id"]: s["parent_station"] for s in rows(MURORAN, "stops.txt")}
    weekday = Counter(  # 2020-04-01, the typical weekday, runs the "weekday" service only
        parent[r["stop_id"]] for r in stop_times
        if trips[r["trip_id"]]["service_id"] == "weekday" and r["pickup_type"] != "1"
        and int(r["stop_sequence"]) != last[r["trip_id"]])
    top = get(client, f"{BASE}/layers/stop_summary/records", location_type=1,
              sort="-departures_weekday", limit=3)["records"]
    assert [(r["stop_id"], r["departures_weekday"]) for r in top] == weekday.most_common(3)


def test_route_line_and_routes_near_a_point(client):
    trips = rows(MURORAN, "trips.txt")
    shape_id = next(t["shape_id"] for t in trips if t["route_id"] == "100310")
    expected = [[float(p["shape_pt_lon"]), float(p["shape_pt_lat"])] for p in sorted(
        (p for p in rows(MURORAN, "shapes.txt") if p["shape_id"] == shape_id),
        key=lambda p: int(p["shape_pt_sequence"]))]
    (feature,) = get(client, f"{BASE}/records", route_id="100310", f="geojson")["features"]
    assert feature["geometry"]["type"] == "LineString"
    assert feature["geometry"]["coordinates"] == expected
    near = get(client, f"{BASE}/records", near="42.3177,140.9736", radius=200, limit=100,
               fields="route_id,route_name")["records"]
    assert near and all(r["distance_m"] <= 200 for r in near)


def test_pinned_stop_times_of_a_trip(client):
    raw = [r for r in rows(MURORAN, "stop_times.txt") if r["trip_id"] == "100310_weekday_1"]
    response = client.get(f"{BASE}/versions/1/layers/stop_times/records",
                          params={"trip_id": "100310_weekday_1", "sort": "stop_sequence",
                                  "limit": 100})
    assert response.status_code == 200
    assert "immutable" in response.headers["cache-control"] and response.headers["etag"]
    records = response.json()["records"]
    assert [r["stop_id"] for r in records] == [r["stop_id"] for r in sorted(
        raw, key=lambda r: int(r["stop_sequence"]))]
    assert records[0]["departure_time"] == "06:55:00" and records[0]["departure_secs"] == 24900
    late = get(client, f"{BASE}/layers/stop_times/records", departure_secs__gte=75600,
               stop_id="0211_A", limit=1000)["records"]
    assert len(late) == sum(1 for r in rows(MURORAN, "stop_times.txt")
                            if r["stop_id"] == "0211_A" and r["departure_time"] >= "21:00:00")


def test_one_record_of_a_layer_by_key(client):
    """stops has a one-column key (stop_id); stop_times a composite one, so its records are
    named by row number, which is the file position."""
    stop = rows(MURORAN, "stops.txt")[5]
    record = get(client, f"{BASE}/layers/stops/records/{stop['stop_id']}")
    assert record["stop_name"] == stop["stop_name"]
    assert record["geometry"]["coordinates"] == pytest.approx(
        [float(stop["stop_lon"]), float(stop["stop_lat"])])
    pinned = get(client, f"{BASE}/versions/1/layers/stops/records/{stop['stop_id']}")
    assert pinned == record

    stop_time = rows(MURORAN, "stop_times.txt")[99]
    feature = get(client, f"{BASE}/layers/stop_times/records/100", f="geojson")
    assert feature["id"] == 100
    assert feature["properties"]["trip_id"] == stop_time["trip_id"]
    assert feature["properties"]["stop_sequence"] == int(stop_time["stop_sequence"])
    for impossible in ("abc", "-1", "99999999999999999999"):
        response = client.get(f"{BASE}/layers/stop_times/records/{impossible}")
        assert response.status_code == 404, impossible


def test_unknown_layer_is_404_naming_the_layers(client):
    response = client.get(f"{BASE}/layers/shapes/records")
    assert response.status_code == 404
    assert "stop_summary" in response.json()["detail"]


def test_synthetic_ridership_of_one_station(client):
    text = (DATASETS / "bus-ridership-muroran-synthetic" / "ridership-monthly-synthetic.csv"
            ).read_text("utf-8").split("\n")
    expected = [line.split(",") for line in text if line.startswith("0211,")]
    records = get(client, "/v1/datasets/bus-ridership-muroran-synthetic/records",
                  stop_id="0211", sort="month")["records"]
    assert [(r["month"], r["boardings"], r["alightings"]) for r in records] == [
        (e[2], int(e[3]), int(e[4])) for e in expected]
    dataset = get(client, "/v1/datasets/bus-ridership-muroran-synthetic")
    assert "合成データ" in str(dataset) and "SYNTHETIC" in str(dataset)

"""Cross-dataset geo-queries on the real Muroran feed (real app, real PostGIS).

Places near the stops of a route, the stops a route serves, routes passing near a point,
nearest-N, and ridership per stop with stop geometry. Expected answers come from the raw
feed files (csv), pyproj's geodesic and shapely in a metric projection; never from the SQL.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from pyproj import Geod, Transformer
from shapely.geometry import LineString, MultiLineString, Point
from sqlalchemy import create_engine

from etl.gtfs import prepare_feed
from etl.prepare import prepare
from etl.publish import publish
from etl.ridership import referenced_keys
from etl.sources import prepare_source
from hub.api.app import create_app
from hub.catalog import load_definition
from tests.conftest import FIXTURES, create_test_database, drop_test_database, make_settings
from tests.gtfs_feeds import DATASETS, MURORAN, SCHEMAS, rows
from tests.shopdata import Shop, write_csv

GEOD = Geod(ellps="WGS84")
TO_UTM = Transformer.from_crs(4326, 32654, always_xy=True)  # metres around Muroran
FEED = "/v1/datasets/bus-routes-muroran"
PLACES = "/v1/datasets/test-shops"
ROUTE = "100310"
RIDERSHIP_CSV = DATASETS / "bus-ridership-muroran-synthetic" / "ridership-monthly-synthetic.csv"


@dataclass
class World:
    client: TestClient
    stops: dict[str, dict]
    places: list[Shop]


def route_stop_ids(route_id: str) -> set[str]:
    trips = {t["trip_id"] for t in rows(MURORAN, "trips.txt") if t["route_id"] == route_id}
    return {st["stop_id"] for st in rows(MURORAN, "stop_times.txt") if st["trip_id"] in trips}


def route_stops_and_stations(route_id: str) -> set[str]:
    """The poles the route's trips stop at and the stations (location_type 1) they belong to:
    what ``near_route`` measures from."""
    stops = {s["stop_id"]: s for s in rows(MURORAN, "stops.txt")}
    served = route_stop_ids(route_id)
    return served | {stops[s]["parent_station"] for s in served
                     if stops.get(stops[s]["parent_station"], {}).get("location_type") == "1"}


def make_places(stops: dict[str, dict]) -> list[Shop]:
    """Places at known geodesic offsets from some stops of ROUTE and of other routes."""
    places = []
    served = sorted(route_stop_ids(ROUTE))
    others = sorted(set(stops) - route_stop_ids(ROUTE))
    plan = [(s, d) for s in served[:6] for d in (40, 140, 260)] + [(s, 90) for s in others[:8]]
    for i, (stop_id, metres) in enumerate(plan, start=1):
        stop = stops[stop_id]
        lon, lat, _ = GEOD.fwd(float(stop["stop_lon"]), float(stop["stop_lat"]), 37 * i, metres)
        places.append(
            Shop(
                f"P{i:03d}",
                f"バリアフリー店{i}",
                "カフェ",
                1,
                i % 2 == 0,
                None,
                round(lat, 7),
                round(lon, 7),
            )
        )
    return places


@pytest.fixture(scope="module")
def world(pg_cluster, tmp_path_factory) -> Iterator[World]:
    url = create_test_database(pg_cluster)
    engine = create_engine(url)
    publish(engine, prepare_feed(load_definition("bus-routes-muroran", DATASETS, SCHEMAS), MURORAN))
    ridership = load_definition("bus-ridership-muroran-synthetic", DATASETS, SCHEMAS)
    publish(
        engine,
        prepare_source(
            ridership,
            ridership.directory / ridership.source["file"],
            references=referenced_keys(engine, ridership),
        ),
    )
    stops = {s["stop_id"]: s for s in rows(MURORAN, "stops.txt")}
    places = make_places(stops)
    shops = load_definition("test-shops", FIXTURES / "datasets", FIXTURES / "schemas")
    path = write_csv(tmp_path_factory.mktemp("places") / "places.csv", places, messy=False)
    publish(engine, prepare(shops, path))
    engine.dispose()
    settings = make_settings(url, max_limit=1000, max_radius_m=5000)
    with TestClient(create_app(settings)) as client:
        yield World(client, stops, places)
    drop_test_database(pg_cluster, url)


def get_all(client: TestClient, path: str, **params) -> list[dict]:
    out, response = [], client.get(path, params=params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        out += body.get("records", body.get("features", []))
        nxt = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        if nxt is None:
            return out
        response = client.get(nxt)


def metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


def test_stops_served_by_a_route(world: World) -> None:
    records = get_all(
        world.client, f"{FEED}/routes/{ROUTE}/stops", limit=7, fields="stop_id,stop_name"
    )
    assert {r["stop_id"] for r in records} == route_stop_ids(ROUTE)
    assert len(records) == len(route_stop_ids(ROUTE))
    pinned = world.client.get(f"{FEED}/versions/1/routes/{ROUTE}/stops", params={"limit": 1})
    assert pinned.headers["cache-control"].endswith("immutable")


def test_places_near_the_stops_of_a_route(world: World) -> None:
    served = [world.stops[s] for s in route_stops_and_stations(ROUTE)
              if world.stops[s]["stop_lat"]]
    radius = 150.0
    expected = {}
    for place in world.places:
        best = min(
            served,
            key=lambda s: (
                metres(place.lon, place.lat, float(s["stop_lon"]), float(s["stop_lat"])),
                s["stop_id"],
            ),
        )
        distance = metres(place.lon, place.lat, float(best["stop_lon"]), float(best["stop_lat"]))
        if distance <= radius:
            expected[place.shop_id] = (distance, best["stop_id"])
    assert expected, "the fixture must put some places near the route"
    records = get_all(
        world.client,
        f"{PLACES}/records",
        near_route=f"bus-routes-muroran:{ROUTE}",
        radius=radius,
        limit=4,
    )
    assert {r["shop_id"]: r["nearest_stop_id"] for r in records} == {
        k: v[1] for k, v in expected.items()
    }
    for record in records:
        assert record["distance_m"] == pytest.approx(expected[record["shop_id"]][0], abs=0.05)
        assert record["nearest_stop_name"] == world.stops[record["nearest_stop_id"]]["stop_name"]
    assert [r["distance_m"] for r in records] == sorted(r["distance_m"] for r in records)
    # combined with an ordinary filter, as GeoJSON
    features = get_all(
        world.client,
        f"{PLACES}/records",
        near_route=f"bus-routes-muroran:{ROUTE}",
        radius=radius,
        step_free="true",
        f="geojson",
    )
    assert {f["id"] for f in features} == {
        p.shop_id for p in world.places if p.shop_id in expected and p.step_free
    }


def test_places_near_one_stop(world: World) -> None:
    stop_id = sorted(route_stop_ids(ROUTE))[0]
    stop = world.stops[stop_id]
    expected = {
        p.shop_id
        for p in world.places
        if metres(p.lon, p.lat, float(stop["stop_lon"]), float(stop["stop_lat"])) <= 200
    }
    records = get_all(
        world.client, f"{PLACES}/records", near_stop=f"bus-routes-muroran@1:{stop_id}", radius=200
    )
    assert {r["shop_id"] for r in records} == expected
    pinned = world.client.get(
        f"{PLACES}/versions/1/records",
        params={"near_stop": f"bus-routes-muroran@1:{stop_id}", "radius": 200},
    )
    assert pinned.headers["cache-control"].endswith("immutable")
    moving = world.client.get(
        f"{PLACES}/versions/1/records",
        params={"near_stop": f"bus-routes-muroran:{stop_id}", "radius": 200},
    )
    assert moving.headers["cache-control"] == "public, no-cache"  # the feed's latest may move
    # a shared cache drops it when either dataset's latest moves, and only then
    assert pinned.headers["hub-cache-tags"] == "test-shops@1 bus-routes-muroran@1"
    assert moving.headers["hub-cache-tags"] == "test-shops@1 bus-routes-muroran@latest"


@pytest.mark.parametrize("reference", ["near_route", "near_stop"])
def test_ogc_items_near_a_route_or_stop_answer_as_v1(world: World, reference: str) -> None:
    key = ROUTE if reference == "near_route" else sorted(route_stop_ids(ROUTE))[0]
    params = {reference: f"bus-routes-muroran:{key}", "radius": 150}
    v1 = get_all(world.client, f"{PLACES}/records", f="geojson", limit=4, **params)
    ogc = get_all(world.client, "/ogc/collections/test-shops/items", limit=4, **params)

    def answer(features: list[dict]) -> list[tuple]:
        return [(f["id"], f["properties"]["distance_m"], f["properties"]["nearest_stop_id"])
                for f in features]

    assert 0 < len(v1) < len(world.places)  # the filter is applied, not dropped
    assert answer(ogc) == answer(v1)
    pinned = world.client.get("/ogc/collections/test-shops@v1/items", params={
        reference: f"bus-routes-muroran@1:{key}", "radius": 150})
    assert pinned.headers["cache-control"].endswith("immutable")
    moving = world.client.get("/ogc/collections/test-shops@v1/items", params=params)
    assert moving.headers["cache-control"] == "public, no-cache"  # the feed's latest may move
    assert moving.headers["etag"] != pinned.headers["etag"]
    assert moving.headers["hub-cache-tags"] == "test-shops@1 bus-routes-muroran@latest"


def test_nearest_stops_to_a_point(world: World) -> None:
    lat, lon = 42.3177, 140.9736
    body = world.client.get(
        f"{FEED}/layers/stops/records", params={"near": f"{lat},{lon}", "limit": 5}
    ).json()
    located = [s for s in world.stops.values() if s["stop_lat"]]
    expected = sorted(
        located, key=lambda s: metres(lon, lat, float(s["stop_lon"]), float(s["stop_lat"]))
    )[:5]
    assert [r["stop_id"] for r in body["records"]] == [s["stop_id"] for s in expected]


def _route_lines() -> dict[str, MultiLineString]:
    shapes: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    for p in rows(MURORAN, "shapes.txt"):
        shapes[p["shape_id"]].append(
            (int(p["shape_pt_sequence"]), float(p["shape_pt_lon"]), float(p["shape_pt_lat"]))
        )
    by_route: dict[str, set[str]] = defaultdict(set)
    for t in rows(MURORAN, "trips.txt"):
        if t.get("shape_id"):
            by_route[t["route_id"]].add(t["shape_id"])
    lines = {}
    for route_id, shape_ids in by_route.items():
        parts = []
        for shape_id in shape_ids:
            points = [TO_UTM.transform(x, y) for _s, x, y in sorted(shapes[shape_id])]
            parts.append(LineString(points))
        lines[route_id] = MultiLineString(parts)
    return lines


def test_routes_passing_within_a_distance_of_a_point(world: World) -> None:
    lat, lon, radius = 42.3177, 140.9736, 250.0
    point = Point(TO_UTM.transform(lon, lat))
    distances = {r: line.distance(point) for r, line in _route_lines().items()}
    margin = 3.0  # UTM vs spheroid: ignore routes within 3 m of the threshold
    surely_in = {r for r, d in distances.items() if d <= radius - margin}
    surely_out = {r for r, d in distances.items() if d > radius + margin}
    records = get_all(
        world.client,
        f"{FEED}/records",
        near=f"{lat},{lon}",
        radius=radius,
        fields="route_id",
        limit=20,
    )
    found = {r["route_id"] for r in records}
    assert surely_in and surely_in <= found and not (found & surely_out)


def test_routes_within_a_bbox(world: World) -> None:
    from shapely.geometry import box

    bbox = (140.95, 42.30, 140.99, 42.33)
    area = box(*bbox)
    to_wgs = Transformer.from_crs(32654, 4326, always_xy=True)
    expected = set()
    for route_id, line in _route_lines().items():
        coords = [to_wgs.transform(x, y) for part in line.geoms for x, y in part.coords]
        if any(area.contains(Point(c)) for c in coords) or area.intersects(LineString(coords)):
            expected.add(route_id)
    records = get_all(
        world.client, f"{FEED}/records", bbox=",".join(map(str, bbox)), fields="route_id", limit=50
    )
    assert {r["route_id"] for r in records} == expected


def _ridership_rows() -> list[dict]:
    lines = [
        line for line in RIDERSHIP_CSV.read_text("utf-8").splitlines() if not line.startswith("#")
    ]
    return list(csv.DictReader(lines))


def test_ridership_per_stop_for_a_period(world: World) -> None:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    header = list(_ridership_rows()[0])
    stop_col, month_col, board_col, alight_col, wheel_col = header[:2] and (
        header[0],
        header[2],
        header[3],
        header[4],
        header[5],
    )
    for row in _ridership_rows():
        if "2020-04" <= row[month_col] <= "2020-06":
            t = totals[row[stop_col]]
            t[0] += int(row[board_col])
            t[1] += int(row[alight_col])
            t[2] += int(row[wheel_col] or 0)
    expected = sorted(totals.items(), key=lambda kv: (-kv[1][0], kv[0]))[:10]
    body = world.client.get(
        "/v1/datasets/bus-ridership-muroran-synthetic/ridership/stops",
        params={"from": "2020-04", "to": "2020-06", "limit": 10, "f": "geojson"},
    ).json()
    got = [
        (
            f["id"],
            f["properties"]["boardings"],
            f["properties"]["alightings"],
            f["properties"]["wheelchair_boardings"],
        )
        for f in body["features"]
    ]
    assert got == [(k, v[0], v[1], v[2]) for k, v in expected]
    first = body["features"][0]
    stop = world.stops[first["id"]]
    assert first["geometry"]["coordinates"] == [float(stop["stop_lon"]), float(stop["stop_lat"])]
    assert first["properties"]["stop_name"] == stop["stop_name"]
    assert first["properties"]["months"] == 3
    tags = world.client.get("/v1/datasets/bus-ridership-muroran-synthetic/ridership/stops"
                            ).headers["hub-cache-tags"]
    assert tags == "bus-ridership-muroran-synthetic@latest bus-routes-muroran@latest"


def test_busiest_stops_by_wheelchair_access(world: World) -> None:
    url = "/v1/datasets/bus-ridership-muroran-synthetic/ridership/stops"
    every = world.client.get(url, params={"limit": 1000}).json()["records"]
    unknown = world.client.get(url, params={"limit": 1000, "wheelchair": "unknown"}).json()
    no = world.client.get(url, params={"limit": 1000, "wheelchair": "no"}).json()
    assert len(unknown["records"]) + len(no["records"]) + len(
        world.client.get(url, params={"limit": 1000, "wheelchair": "yes"}).json()["records"]
    ) == len(every)
    assert all(r["wheelchair"] is None for r in unknown["records"])
    csv_text = world.client.get(url, params={"limit": 3, "f": "csv", "sort": "-alightings"}).text
    parsed = list(csv.DictReader(csv_text.splitlines()))
    assert [int(r["alightings"]) for r in parsed] == sorted(
        (r["alightings"] for r in every), reverse=True
    )[:3]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"near_route": "bus-routes-muroran", "radius": "100"}, "must be <dataset>"),
        ({"near_route": f"bus-routes-muroran:{ROUTE}"}, "needs 'radius'"),
        ({"near_route": f"bus-routes-muroran:{ROUTE}", "radius": "99999"}, "at most"),
        ({"near_route": f"bus-routes-muroran@0:{ROUTE}", "radius": "100"}, "positive integer"),
        (
            {
                "near_route": f"bus-routes-muroran:{ROUTE}",
                "near_stop": "bus-routes-muroran:1",
                "radius": "100",
            },
            "one of",
        ),
        (
            {"near_route": f"bus-routes-muroran:{ROUTE}", "near": "42,140", "radius": "100"},
            "either 'near'",
        ),
    ],
)
def test_reference_errors_are_problems(world: World, params: dict, fragment: str) -> None:
    response = world.client.get(f"{PLACES}/records", params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert fragment in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"near_route": "bus-routes-muroran:nope", "radius": "100"}, "has no located stops"),
        ({"near_route": "no-such-feed:1", "radius": "100"}, "does not exist"),
    ],
)
def test_a_reference_to_nothing_is_a_422(world: World, params: dict, fragment: str) -> None:
    """Well formed, so the document allows it; it names nothing in the catalogue."""
    response = world.client.get(f"{PLACES}/records", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert fragment in response.json()["detail"]
    assert response.json()["parameter"] == "near_route"


def test_ridership_errors_are_problems(world: World) -> None:
    url = "/v1/datasets/bus-ridership-muroran-synthetic/ridership/stops"
    for params, fragment in [
        ({"from": "2020-13"}, "YYYY-MM"),
        ({"sort": "height"}, "sortable"),
        ({"wheelchair": "maybe"}, "yes, no or unknown"),
    ]:
        response = world.client.get(url, params=params)
        assert response.status_code == 400 and fragment in response.json()["detail"]
    not_ridership = world.client.get(f"{PLACES}/ridership/stops")
    assert not_ridership.status_code == 404  # no ridership here: nothing to find
    assert "does not reference" in json.loads(not_ridership.text)["detail"]

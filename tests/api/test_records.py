"""Records over HTTP through the real app and a real PostGIS; answers computed independently."""

from __future__ import annotations

import csv
import io

import pytest
from pyproj import Geod
from shapely.geometry import Point, box, shape

from tests.api.conftest import Hub
from tests.shopdata import SHIBUYA

GEOD = Geod(ellps="WGS84")
V2 = "/v1/datasets/test-shops/versions/2/records"
LATEST = "/v1/datasets/test-shops/records"


def distance_m(lat: float, lon: float, shop) -> float:
    return GEOD.inv(lon, lat, shop.lon, shop.lat)[2]


def all_pages(hub: Hub, url: str, params: dict) -> list[dict]:
    records, next_url = [], None
    response = hub.client.get(url, params=params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        records += body.get("records", body.get("features", []))
        next_url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        if not next_url:
            return records
        response = hub.client.get(next_url)


def test_unfiltered_page_counts_from_version_metadata(hub: Hub) -> None:
    body = hub.client.get(V2, params={"limit": 5}).json()
    assert body["numberMatched"] == 290 and body["numberReturned"] == 5
    assert [r["shop_id"] for r in body["records"]] == ["S0001", "S0002", "S0003", "S0004", "S0005"]
    first = hub.shops_v2[0]
    assert body["records"][0]["geometry"] == {
        "type": "Point",
        "coordinates": [first.lon, first.lat],
    }
    assert body["records"][0]["name"] == first.name  # Japanese text round-trips


def test_keyset_paging_visits_every_row_once(hub: Hub) -> None:
    records = all_pages(hub, V2, {"limit": 37, "sort": "-floors,name"})
    assert len(records) == 290
    assert len({r["shop_id"] for r in records}) == 290
    expected = sorted(hub.shops_v2, key=lambda s: s.name)
    expected = sorted(expected, key=lambda s: (s.floors is None, -(s.floors or 0)))
    assert [r["floors"] for r in records] == [s.floors for s in expected]


def test_property_filters(hub: Hub) -> None:
    records = all_pages(hub, V2, {"category": "カフェ", "floors__gte": "5", "limit": 500})
    expected = {
        s.shop_id
        for s in hub.shops_v2
        if s.category == "カフェ" and (s.floors or 0) >= 5 and s.floors is not None
    }
    assert {r["shop_id"] for r in records} == expected
    nulls = all_pages(hub, V2, {"floors__isnull": "true", "limit": 500})
    assert {r["shop_id"] for r in nulls} == {s.shop_id for s in hub.shops_v2 if s.floors is None}
    listed = all_pages(hub, V2, {"shop_id__in": "S0001,S0003,S9999", "limit": 500})
    assert sorted(r["shop_id"] for r in listed) == ["S0001", "S0003"]
    dated = all_pages(hub, V2, {"opened__lt": "2000-01-01", "step_free": "true", "limit": 500})
    assert {r["shop_id"] for r in dated} == {
        s.shop_id
        for s in hub.shops_v2
        if s.opened and s.opened < "2000-01-01" and s.step_free is True
    }


def test_text_search_is_width_insensitive(hub: Hub) -> None:
    # "１２号店" in full-width digits matches "12号店"
    records = all_pages(hub, V2, {"q": "１２号店", "limit": 500})
    assert {r["shop_id"] for r in records} == {
        s.shop_id for s in hub.shops_v2 if "12号店" in s.name
    }


def test_near_with_radius_matches_geodesic_distance(hub: Hub) -> None:
    lat, lon = SHIBUYA
    records = all_pages(hub, V2, {"near": f"{lat},{lon}", "radius": "800", "limit": 50})
    expected = sorted(
        (s for s in hub.shops_v2 if distance_m(lat, lon, s) <= 800),
        key=lambda s: distance_m(lat, lon, s),
    )
    assert [r["shop_id"] for r in records] == [s.shop_id for s in expected]
    for record, shop in zip(records, expected, strict=True):
        assert record["distance_m"] == pytest.approx(distance_m(lat, lon, shop), abs=0.05)


def test_nearest_n_without_radius(hub: Hub) -> None:
    lat, lon = 35.66, 139.69
    body = hub.client.get(V2, params={"near": f"{lat},{lon}", "limit": 5}).json()
    expected = sorted(hub.shops_v2, key=lambda s: distance_m(lat, lon, s))[:5]
    assert [r["shop_id"] for r in body["records"]] == [s.shop_id for s in expected]
    assert "numberMatched" in body  # nearest-N filters nothing


def test_bbox_and_within_polygon(hub: Hub) -> None:
    bbox = (139.69, 35.65, 139.70, 35.66)
    records = all_pages(hub, V2, {"bbox": ",".join(map(str, bbox)), "limit": 500})
    area = box(*bbox)
    assert {r["shop_id"] for r in records} == {
        s.shop_id for s in hub.shops_v2 if area.intersects(Point(s.lon, s.lat))
    }
    polygon = {
        "type": "Polygon",
        "coordinates": [[[139.69, 35.65], [139.71, 35.65], [139.70, 35.67], [139.69, 35.65]]],
    }
    import json

    records = all_pages(hub, V2, {"within": json.dumps(polygon), "limit": 500})
    triangle = shape(polygon)
    assert {r["shop_id"] for r in records} == {
        s.shop_id for s in hub.shops_v2 if triangle.contains(Point(s.lon, s.lat))
    }
    wkt = "POLYGON ((139.69 35.65, 139.71 35.65, 139.70 35.67, 139.69 35.65))"
    assert len(all_pages(hub, V2, {"within": wkt, "limit": 500})) == len(records)


def test_geojson_is_a_feature_collection(hub: Hub) -> None:
    response = hub.client.get(V2, params={"f": "geojson", "limit": 3, "fields": "name"})
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 3
    feature = body["features"][0]
    assert feature["id"] == "S0001" and feature["properties"] == {"name": hub.shops_v2[0].name}
    assert feature["geometry"]["type"] == "Point"
    accept = hub.client.get(V2, params={"limit": 1}, headers={"Accept": "application/geo+json"})
    assert accept.json()["type"] == "FeatureCollection"


def test_csv_output(hub: Hub) -> None:
    response = hub.client.get(V2, params={"f": "csv", "limit": 4, "fields": "shop_id,name,floors"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["shop_id", "name", "floors", "geometry"]
    shop = hub.shops_v2[0]
    assert rows[0]["name"] == shop.name and rows[0]["geometry"] == f"POINT({shop.lon} {shop.lat})"
    by_accept = hub.client.get(V2, params={"limit": 1}, headers={"Accept": "text/csv"})
    assert by_accept.text.startswith("shop_id,")


def test_pinned_versions_are_immutable_and_cacheable(hub: Hub) -> None:
    v1 = hub.client.get("/v1/datasets/test-shops/versions/1/records", params={"limit": 1})
    assert v1.json()["version"] == 1
    assert v1.headers["cache-control"] == "public, max-age=31536000, immutable"
    etag = v1.headers["etag"]
    again = hub.client.get(
        "/v1/datasets/test-shops/versions/1/records",
        params={"limit": 1},
        headers={"If-None-Match": etag},
    )
    assert again.status_code == 304 and again.content == b""
    other = hub.client.get("/v1/datasets/test-shops/versions/1/records", params={"limit": 2})
    assert other.headers["etag"] != etag  # another representation, another ETag
    full_v1 = all_pages(hub, "/v1/datasets/test-shops/versions/1/records", {"limit": 500})
    assert len(full_v1) == 300


def test_latest_is_revalidated(hub: Hub) -> None:
    response = hub.client.get(LATEST, params={"limit": 1})
    assert response.json()["version"] == 2
    assert response.headers["cache-control"] == "public, no-cache"
    revalidated = hub.client.get(
        LATEST, params={"limit": 1}, headers={"If-None-Match": response.headers["etag"]}
    )
    assert revalidated.status_code == 304
    pinned = next(link for link in response.json()["links"] if link["rel"] == "pinned")
    assert pinned["href"].endswith("/versions/2/records")

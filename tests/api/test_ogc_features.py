"""OGC API - Features (Parts 1-3) over the test shops; expected answers come from the Python
rows (tests/shopdata.py) with pyproj/shapely, never from the SQL under test."""

from __future__ import annotations

import json
from datetime import date

import pytest
from fastapi.testclient import TestClient
from pyproj import Geod, Transformer
from shapely.geometry import Point, box

from hub.api.app import create_app
from tests.conftest import make_settings
from tests.shopdata import CATEGORIES

BASE = "/ogc/collections/test-shops"
GEOD = Geod(ellps="WGS84")


def all_features(client, url: str, params: dict | None = None) -> list[dict]:
    """Follow 'next' links to the end."""
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    features: list[dict] = []
    while True:
        body = response.json()
        features += body["features"]
        nxt = [link for link in body["links"] if link["rel"] == "next"]
        if not nxt:
            return features
        response = client.get(nxt[0]["href"])
        assert response.status_code == 200, response.text


def ids(features: list[dict]) -> set[str]:
    return {f["id"] for f in features}


def test_landing_conformance_and_api(hub):
    landing = hub.client.get("/ogc").json()
    rels = {link["rel"]: link for link in landing["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    conforms = hub.client.get("/ogc/conformance").json()["conformsTo"]
    for cls in ("ogcapi-features-1/1.0/conf/core", "ogcapi-features-1/1.0/conf/geojson",
                "ogcapi-features-1/1.0/conf/oas30", "ogcapi-features-2/1.0/conf/crs",
                "ogcapi-features-3/1.0/conf/filter", "cql2/1.0/conf/cql2-text",
                "cql2/1.0/conf/cql2-json", "cql2/1.0/conf/basic-cql2"):
        assert any(c.endswith(cls) for c in conforms), cls
    api = hub.client.get("/ogc/api")
    assert api.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    doc = api.json()
    assert doc["openapi"].startswith("3.0")
    per_collection = doc["paths"]["/collections/test-shops/items"]["get"]["parameters"]
    names = {p["name"] for p in per_collection}
    assert {"bbox", "crs", "filter", "filter-lang", "category", "floors"} <= names
    lang = next(p for p in per_collection if p["name"] == "filter-lang")
    assert "cql2-text" in lang["schema"]["enum"]


def test_collections_extent_crs_and_pinned_versions(hub):
    body = hub.client.get("/ogc/collections").json()
    found = {c["id"]: c for c in body["collections"]}
    assert "test-shops" in found
    shops = found["test-shops"]
    lons = [s.lon for s in hub.shops_v2]
    lats = [s.lat for s in hub.shops_v2]
    bbox = shops["extent"]["spatial"]["bbox"][0]
    assert bbox == pytest.approx([min(lons), min(lats), max(lons), max(lats)], abs=1e-6)
    assert shops["storageCrs"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    assert "http://www.opengis.net/def/crs/EPSG/0/6668" in shops["crs"]
    assert shops["version"] == 2
    rels = {link["rel"] for link in shops["links"]}
    assert {"self", "items", "http://www.opengis.net/def/rel/ogc/1.0/queryables"} <= rels

    pinned = hub.client.get(f"{BASE}@v1")
    assert pinned.status_code == 200
    assert pinned.json()["version"] == 1
    assert "immutable" in pinned.headers["cache-control"]
    again = hub.client.get(f"{BASE}@v1", headers={"If-None-Match": pinned.headers["etag"]})
    assert again.status_code == 304
    v1 = hub.client.get(f"{BASE}@v1/items", params={"limit": 1}).json()
    assert v1["numberMatched"] == 300
    for missing in ("nope", "test-shops@v9", "test-shops@x1", "test-shops.nolayer"):
        response = hub.client.get(f"/ogc/collections/{missing}")
        assert response.status_code == 404, missing
        assert response.headers["content-type"] == "application/problem+json"


def test_items_paging_counts_and_geojson(hub):
    first = hub.client.get(f"{BASE}/items", params={"limit": 100})
    assert first.headers["content-type"] == "application/geo+json"
    assert first.headers["content-crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    body = first.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberMatched"] == 290 and body["numberReturned"] == 100
    features = all_features(hub.client, f"{BASE}/items", {"limit": 100})
    assert ids(features) == {s.shop_id for s in hub.shops_v2}
    by_id = {s.shop_id: s for s in hub.shops_v2}
    sample = features[0]
    shop = by_id[sample["id"]]
    assert sample["geometry"]["coordinates"] == pytest.approx([shop.lon, shop.lat])
    assert sample["properties"]["name"] == shop.name


def test_bbox_in_crs84_and_in_lat_lon_and_mercator(hub):
    area = box(139.69, 35.65, 139.71, 35.665)
    expected = {s.shop_id for s in hub.shops_v2 if area.intersects(Point(s.lon, s.lat))}
    assert expected
    got = all_features(hub.client, f"{BASE}/items", {"bbox": "139.69,35.65,139.71,35.665"})
    assert ids(got) == expected
    latlon = all_features(hub.client, f"{BASE}/items", {
        "bbox": "35.65,139.69,35.665,139.71",
        "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/4326"})
    assert ids(latlon) == expected
    to_merc = Transformer.from_crs("OGC:CRS84", "EPSG:3857", always_xy=True)
    x0, y0 = to_merc.transform(139.69, 35.65)
    x1, y1 = to_merc.transform(139.71, 35.665)
    merc = all_features(hub.client, f"{BASE}/items", {
        "bbox": f"{x0},{y0},{x1},{y1}", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/3857"})
    assert ids(merc) == expected


def test_output_crs_flips_lat_lon_and_projects(hub):
    shop = hub.shops_v2[0]
    for uri, expect in [
        ("http://www.opengis.net/def/crs/EPSG/0/4326", [shop.lat, shop.lon]),
        ("http://www.opengis.net/def/crs/EPSG/0/6668", [shop.lat, shop.lon]),
        ("http://www.opengis.net/def/crs/EPSG/0/3857",
         list(Transformer.from_crs("OGC:CRS84", "EPSG:3857", always_xy=True)
              .transform(shop.lon, shop.lat))),
    ]:
        response = hub.client.get(f"{BASE}/items/{shop.shop_id}", params={"crs": uri})
        assert response.status_code == 200, response.text
        assert response.headers["content-crs"] == f"<{uri}>"
        assert response.json()["geometry"]["coordinates"] == pytest.approx(expect, abs=1e-2
                                                                           if "3857" in uri
                                                                           else 1e-6)
    bad = hub.client.get(f"{BASE}/items", params={"crs": "EPSG:9999"})
    assert bad.status_code == 400 and bad.json()["parameter"] == "crs"


def test_feature_by_id(hub):
    shop = hub.shops_v2[5]
    feature = hub.client.get(f"{BASE}/items/{shop.shop_id}").json()
    assert feature["id"] == shop.shop_id
    assert {link["rel"] for link in feature["links"]} == {"self", "collection"}
    assert hub.client.get(f"{BASE}/items/S9999").status_code == 404
    # the ten shops dropped in version 2 still exist in version 1
    dropped = hub.shops_v1[-1].shop_id
    assert hub.client.get(f"{BASE}/items/{dropped}").status_code == 404
    assert hub.client.get(f"{BASE}@v1/items/{dropped}").status_code == 200


def test_property_filters_and_datetime(hub):
    cafes = all_features(hub.client, f"{BASE}/items", {"category": CATEGORIES[0]})
    assert ids(cafes) == {s.shop_id for s in hub.shops_v2 if s.category == CATEGORIES[0]}
    within = all_features(hub.client, f"{BASE}/items", {"datetime": "2000-01-01/2009-12-31"})
    assert ids(within) == {s.shop_id for s in hub.shops_v2
                           if s.opened and "2000-01-01" <= s.opened <= "2009-12-31"}
    after = all_features(hub.client, f"{BASE}/items", {"datetime": "2020-06-01/.."})
    assert ids(after) == {s.shop_id for s in hub.shops_v2 if s.opened and s.opened >= "2020-06-01"}
    one = next(s for s in hub.shops_v2 if s.opened)
    instant = all_features(hub.client, f"{BASE}/items", {"datetime": one.opened})
    assert one.shop_id in ids(instant)
    assert all(f["properties"]["opened"] == one.opened for f in instant)
    queryables = hub.client.get(f"{BASE}/queryables")
    assert queryables.headers["content-type"] == "application/schema+json"
    schema = queryables.json()
    assert schema["properties"]["opened"]["x-ogc-role"] == "primary-instant"
    assert schema["properties"]["floors"]["type"] == "integer"
    assert "geometry" in schema["properties"]


def test_cql2_text_and_json_filters(hub):
    expected = {s.shop_id for s in hub.shops_v2
                if s.floors is not None and s.floors >= 5 and s.category == CATEGORIES[1]}
    text = all_features(hub.client, f"{BASE}/items",
                        {"filter": f"floors >= 5 AND category = '{CATEGORIES[1]}'"})
    assert ids(text) == expected
    as_json = json.dumps({"op": "and", "args": [
        {"op": ">=", "args": [{"property": "floors"}, 5]},
        {"op": "=", "args": [{"property": "category"}, CATEGORIES[1]]}]}, ensure_ascii=False)
    assert ids(all_features(hub.client, f"{BASE}/items",
                            {"filter": as_json, "filter-lang": "cql2-json"})) == expected
    counted = hub.client.get(f"{BASE}/items", params={
        "filter": f"floors >= 5 AND category = '{CATEGORIES[1]}'", "limit": 1}).json()
    assert counted["numberMatched"] == len(expected)

    nulls = all_features(hub.client, f"{BASE}/items",
                         {"filter": "floors IS NULL OR opened < DATE('1995-01-01')"})
    assert ids(nulls) == {s.shop_id for s in hub.shops_v2
                          if s.floors is None or (s.opened and s.opened < "1995-01-01")}
    between = all_features(hub.client, f"{BASE}/items",
                           {"filter": "floors BETWEEN 3 AND 4 AND name LIKE '%1%'"})
    assert ids(between) == {s.shop_id for s in hub.shops_v2
                            if s.floors in (3, 4) and "1" in s.name}
    listed = all_features(hub.client, f"{BASE}/items",
                          {"filter": "shop_id IN ('S0001', 'S0002', 'S9999')"})
    assert ids(listed) == {"S0001", "S0002"}


def test_cql2_spatial_and_filter_crs(hub):
    area = box(139.69, 35.65, 139.70, 35.66)
    expected = {s.shop_id for s in hub.shops_v2 if area.intersects(Point(s.lon, s.lat))}
    got = all_features(hub.client, f"{BASE}/items",
                       {"filter": f"S_INTERSECTS(geometry, {area.wkt})"})
    assert ids(got) == expected
    latlon = "POLYGON((35.65 139.69, 35.65 139.70, 35.66 139.70, 35.66 139.69, 35.65 139.69))"
    got = all_features(hub.client, f"{BASE}/items", {
        "filter": f"S_WITHIN(geometry, {latlon})",
        "filter-crs": "http://www.opengis.net/def/crs/EPSG/0/4326"})
    assert ids(got) == {s.shop_id for s in hub.shops_v2 if area.contains(Point(s.lon, s.lat))}
    # S_DWITHIN in metres on the spheroid; skip shops within 1 m of the edge
    centre = (139.7016, 35.658)
    distances = {s.shop_id: GEOD.inv(centre[0], centre[1], s.lon, s.lat)[2]
                 for s in hub.shops_v2}
    got = ids(all_features(hub.client, f"{BASE}/items", {
        "filter": f"S_DWITHIN(geometry, POINT({centre[0]} {centre[1]}), 500, meters)"}))
    assert {k for k, d in distances.items() if d < 499} <= got
    assert got <= {k for k, d in distances.items() if d < 501}


@pytest.mark.parametrize("params, parameter", [
    ({"filter": "colour = 'red'"}, "filter"),
    ({"filter": "floors >"}, "filter"),
    ({"filter": "x", "filter-lang": "sql"}, "filter-lang"),
    ({"colour": "red"}, "colour"),
    ({"bbox": "1,2,3"}, "bbox"),
    ({"bbox": "1,2,3,4", "bbox-crs": "EPSG:1234"}, "bbox-crs"),
    ({"datetime": "yesterday"}, "datetime"),
    ({"limit": "0"}, "limit"),
])
def test_bad_parameters_are_400_problems(hub, params, parameter):
    response = hub.client.get(f"{BASE}/items", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["parameter"] == parameter


def test_limit_is_clamped_not_refused(hub):
    """More rows than the maximum page: OGC clamps to it (GDAL/QGIS ask for large pages),
    /v1 refuses so a client learns its page is smaller than asked."""
    maximum = 100
    assert len(hub.shops_v2) > maximum
    with TestClient(create_app(make_settings(hub.url, max_limit=maximum))) as client:
        response = client.get(f"{BASE}/items", params={"limit": 100_000})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["numberReturned"] == maximum == len(body["features"])
        assert [link for link in body["links"] if link["rel"] == "next"]
        refused = client.get("/v1/datasets/test-shops/records", params={"limit": maximum + 1})
    assert refused.status_code == 400
    assert f"between 1 and {maximum}" in refused.json()["detail"]


@pytest.mark.parametrize(("url", "params", "fragment"), [
    (f"{BASE}/items", {"sort": "name"}, "use 'sortby'"),
    (f"{BASE}/items", {"colour": "red"}, "unknown field 'colour'"),
    (f"{BASE}/items", {"f": "csv"}, "formats are: json, geojson"),
    (f"{BASE}/tiles/WebMercatorQuad/14/6451/14552", {"limit": "5"},
     "'limit' does not apply to this endpoint"),
    ("/v1/datasets/test-shops/records", {"sortby": "name"}, "use 'sort'"),
    ("/v1/datasets/test-shops/records", {"count": "true"}, "unknown field 'count'"),
    ("/v1/datasets/test-shops/records", {"datetime": "2020-01-01"},
     "'datetime' does not apply to this endpoint"),
])
def test_parameters_not_applied_are_refused_on_both_surfaces(hub, url, params, fragment):
    response = hub.client.get(url, params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert fragment in body["detail"]
    assert body["parameter"] == next(iter(params))


def test_sortby_and_properties(hub):
    body = hub.client.get(f"{BASE}/items", params={"sortby": "-floors,+shop_id",
                                                   "properties": "floors", "limit": 5}).json()
    expected = sorted(hub.shops_v2, key=lambda s: (s.floors is None, -(s.floors or 0),
                                                     s.shop_id))[:5]
    assert [f["id"] for f in body["features"]] == [s.shop_id for s in expected]
    assert all(set(f["properties"]) == {"floors"} for f in body["features"])


def test_opened_is_a_date_property(hub):
    shop = next(s for s in hub.shops_v2 if s.opened)
    feature = hub.client.get(f"{BASE}/items/{shop.shop_id}").json()
    assert date.fromisoformat(feature["properties"]["opened"]) == date.fromisoformat(shop.opened)


@pytest.mark.parametrize(("url", "params", "fragment"), [
    (f"{BASE}/items/S0001", {"limit": "5"}, "takes only crs, f"),
    (f"{BASE}/items/S0001", {"f": "csv"}, "formats are: json, geojson"),
    ("/v1/datasets/test-shops/records/S0001", {"crs": "EPSG:4326"}, "takes only f"),
])
def test_single_records_refuse_parameters_they_cannot_apply(hub, url, params, fragment):
    response = hub.client.get(url, params=params)
    assert response.status_code == 400, response.text
    assert fragment in response.json()["detail"]


def test_a_collection_carries_its_dataset_and_version_read_together(hub):
    """The dataset's row and the version come from one statement
    (``Data.dataset_and_layer``): the title is the dataset's, the pin the version's, and an
    unknown dataset, version or layer is a 404 that names what is missing."""
    titles = hub.client.get("/v1/datasets/test-shops").json()
    pinned = hub.client.get(f"{BASE}@v1")
    assert pinned.status_code == 200, pinned.text
    assert pinned.json()["id"] == "test-shops@v1"
    assert pinned.json()["title"] == f"{titles['title']['ja']} (v1)"
    latest = hub.client.get(BASE).json()
    assert latest["title"] == titles["title"]["ja"]
    for missing, words in ((f"{BASE}@v9", "no version 9"),
                           ("/ogc/collections/no-such-shops", "does not exist"),
                           (f"{BASE}.no_layer", "has no layer 'no_layer'")):
        response = hub.client.get(missing)
        assert response.status_code == 404, (missing, response.text)
        assert words in response.json()["detail"], response.json()
    assert hub.client.get(f"{BASE}@v1/items?limit=1").json()["features"]

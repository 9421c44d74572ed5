"""OWSLib's OGC API - Features client against a running hub."""

from __future__ import annotations

import pytest
from owslib.ogcapi.features import Features
from shapely.geometry import Point, box

from tests.e2e.live_hub import LiveHub, running_hub
from tests.shopdata import CATEGORIES


@pytest.fixture(scope="module")
def live(pg_cluster, tmp_path_factory) -> LiveHub:
    with running_hub(pg_cluster, tmp_path_factory.mktemp("owslib-hub")) as hub:
        yield hub


def test_owslib_reads_landing_conformance_api_and_collections(live):
    features = Features(f"{live.url}/ogc")
    assert any(c.endswith("ogcapi-features-1/1.0/conf/core")
               for c in features.conformance()["conformsTo"])
    assert features.api()["openapi"].startswith("3.0")
    ids = {c["id"] for c in features.collections()["collections"]}
    assert {"test-shops", "yaizu-aed", "yaizu-accessible-shops"} <= ids
    assert "test-shops" in features.feature_collections()
    collection = features.collection("test-shops")
    assert collection["itemType"] == "feature"
    assert len(collection["extent"]["spatial"]["bbox"][0]) == 4


def test_owslib_reads_queryables_and_items(live):
    features = Features(f"{live.url}/ogc")
    queryables = features.collection_queryables("yaizu-aed")
    assert queryables["type"] == "object"
    assert "name" in queryables["properties"] and "geometry" in queryables["properties"]

    area = box(139.69, 35.65, 139.71, 35.665)
    page = features.collection_items("test-shops", bbox=[139.69, 35.65, 139.71, 35.665],
                                     limit=500)
    expected = {s.shop_id for s in live.shops_v2 if area.intersects(Point(s.lon, s.lat))}
    assert {f["id"] for f in page["features"]} == expected
    assert page["numberMatched"] == len(expected)

    filtered = features.collection_items(
        "test-shops", filter=f"category = '{CATEGORIES[2]}' AND step_free = true", limit=500)
    assert {f["id"] for f in filtered["features"]} == {
        s.shop_id for s in live.shops_v2 if s.category == CATEGORIES[2] and s.step_free}

    one = features.collection_item("test-shops", "S0003")
    assert one["properties"]["name"] == live.shops_v2[2].name

    pinned = features.collection_items("test-shops@v1", limit=1)
    assert pinned["numberMatched"] == 300

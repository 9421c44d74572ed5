"""OWSLib's OGC API - Features client against a running hub."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

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


@pytest.fixture(scope="module")
def capped_live(pg_cluster, tmp_path_factory) -> LiveHub:
    """A hub that counts a filtered page only up to 10 matches (HUB_COUNT_CAP)."""
    with running_hub(pg_cluster, tmp_path_factory.mktemp("owslib-capped-hub"), datasets=(),
                     count_cap=10) as hub:
        yield hub


def test_owslib_pages_a_filter_by_next_links(live, capped_live):
    """A filtered query over several pages: exact numberMatched up to the cap, left out
    above it; following the next links with OWSLib finds every match once, either way."""
    for hub, counted in ((live, True), (capped_live, False)):
        features = Features(f"{hub.url}/ogc")
        expected = [s.shop_id for s in hub.shops_v2 if s.category == CATEGORIES[1]]
        assert len(expected) > 3 * 10
        params = {"filter": f"category = '{CATEGORIES[1]}'", "limit": 10}
        seen: list[str] = []
        while True:
            page = features.collection_items("test-shops", **params)
            seen += [f["id"] for f in page["features"]]
            if counted:
                assert page["numberMatched"] == len(expected)
            else:
                assert "numberMatched" not in page
            following = [link["href"] for link in page["links"] if link["rel"] == "next"]
            if not following:
                break
            params = dict(parse_qsl(urlsplit(following[0]).query))
        assert sorted(seen) == sorted(expected)

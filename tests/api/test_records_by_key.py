"""One record by its key (``/records/{key}``, OGC ``/items/{id}``): same answer as the records
query, exact across publishes and withdrawals although the reader guesses the version.

Expected values come from the Python rows in tests.shopdata, or from the records endpoint
(a different statement path) where the point is that both agree.
"""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from etl.prepare import prepare
from etl.publish import publish
from etl.withdraw import withdraw
from hub.api.app import create_app
from hub.catalog import load_definition
from tests.api.conftest import Hub
from tests.shopdata import make_shops, write_csv

BASE = "/v1/datasets/test-shops"


def test_json_geojson_and_csv_agree_with_the_records_query(hub: Hub) -> None:
    shop = hub.shops_v2[41]
    listed = hub.client.get(f"{BASE}/versions/2/records",
                            params={"shop_id": shop.shop_id}).json()["records"][0]
    one = hub.client.get(f"{BASE}/versions/2/records/{shop.shop_id}")
    assert one.status_code == 200 and one.headers["content-type"] == "application/json"
    assert one.json() == listed
    assert one.json()["name"] == shop.name
    assert one.json()["geometry"]["coordinates"] == [shop.lon, shop.lat]

    feature = hub.client.get(f"{BASE}/versions/2/records/{shop.shop_id}",
                             params={"f": "geojson"}).json()
    assert feature["type"] == "Feature" and feature["id"] == shop.shop_id
    assert feature["properties"]["floors"] == shop.floors

    as_csv = hub.client.get(f"{BASE}/versions/2/records/{shop.shop_id}",
                            headers={"Accept": "text/csv"})
    listed_csv = hub.client.get(f"{BASE}/versions/2/records",
                                params={"shop_id": shop.shop_id, "f": "csv"})
    assert as_csv.text == listed_csv.text
    (row,) = csv.DictReader(io.StringIO(as_csv.text))
    assert row["shop_id"] == shop.shop_id


def test_latest_points_at_its_pinned_twin_and_pinned_is_immutable(hub: Hub) -> None:
    shop = hub.shops_v2[0]
    latest = hub.client.get(f"{BASE}/records/{shop.shop_id}")
    assert latest.headers["x-hub-version"] == "2"
    assert latest.headers["cache-control"] != hub.client.get(
        f"{BASE}/versions/2/records/{shop.shop_id}").headers["cache-control"]
    canonical = latest.headers["link"].split(">")[0].lstrip("<")
    assert canonical.endswith(f"{BASE}/versions/2/records/{shop.shop_id}")
    pinned = hub.client.get(canonical)
    assert "immutable" in pinned.headers["cache-control"]
    assert pinned.json() == latest.json()
    again = hub.client.get(canonical, headers={"If-None-Match": pinned.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    other_format = hub.client.get(canonical, params={"f": "geojson"})
    assert other_format.headers["etag"] != pinned.headers["etag"]


def test_old_versions_keep_their_records(hub: Hub) -> None:
    dropped = hub.shops_v1[-1]  # version 2 dropped the last ten shops
    assert hub.client.get(f"{BASE}/versions/1/records/{dropped.shop_id}").json()["name"] == \
        dropped.name
    gone = hub.client.get(f"{BASE}/records/{dropped.shop_id}")
    assert gone.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"
    assert dropped.shop_id in gone.json()["detail"] and "version 2" in gone.json()["detail"]


@pytest.mark.parametrize(("path", "status", "words"), [
    (f"{BASE}/records/S9999", 404, "no record 'S9999'"),
    ("/v1/datasets/no-such-dataset/records/S0001", 404, "no-such-dataset"),
    (f"{BASE}/versions/9/records/S0001", 404, "no version 9"),
    (f"{BASE}/versions/0/records/S0001", 400, "version"),
    (f"{BASE}/records/S0001?fields=name", 400, "unknown parameter 'fields'"),
    (f"{BASE}/records/S0001?f=xml", 400, "unknown format"),
    (f"{BASE}/layers/stops/records/S0001", 404, "no layer 'stops'"),
])
def test_errors_are_problems_that_say_what_is_wrong(hub: Hub, path: str, status: int,
                                                     words: str) -> None:
    response = hub.client.get(path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert words in response.json()["detail"]


def test_ogc_item_is_the_same_feature(hub: Hub) -> None:
    shop = hub.shops_v2[7]
    item = hub.client.get(f"/ogc/collections/test-shops@v2/items/{shop.shop_id}").json()
    native = hub.client.get(f"{BASE}/versions/2/records/{shop.shop_id}",
                            params={"f": "geojson"}).json()
    assert {k: v for k, v in item.items() if k != "links"} == native
    assert {link["rel"] for link in item["links"]} == {"self", "collection"}


def test_the_guessed_version_never_outlives_a_publish_or_a_withdrawal(settings, tmp_path) -> None:
    """The reader assumes the version it resolved last time and checks it in the same round
    trip: a publish must show at once, a withdrawal must turn the pinned record into 410."""
    engine = create_engine(settings.database_url)
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    shops = make_shops(30)
    publish(engine, prepare(definition, write_csv(tmp_path / "v1.csv", shops)))
    with TestClient(create_app(settings)) as client:
        first = client.get(f"{BASE}/records/S0003").json()
        pinned = client.get(f"{BASE}/versions/1/records/S0003")
        assert pinned.status_code == 200 and first["name"] == shops[2].name

        shops_v1_name = shops[2].name
        shops[2].name = "新しい名前のカフェ"
        publish(engine, prepare(definition, write_csv(tmp_path / "v2.csv", shops)))
        latest = client.get(f"{BASE}/records/S0003")
        assert latest.headers["x-hub-version"] == "2"
        assert latest.json()["name"] == "新しい名前のカフェ"

        pinned_v2 = client.get(f"{BASE}/versions/2/records/S0003")
        assert pinned_v2.status_code == 200
        withdraw(engine, "test-shops", 2, "published by mistake")
        back = client.get(f"{BASE}/records/S0003")
        assert back.headers["x-hub-version"] == "1" and back.json()["name"] == shops_v1_name
        withdrawn = client.get(f"{BASE}/versions/2/records/S0003")
        assert withdrawn.status_code == 410
        assert "withdrawn" in withdrawn.json()["detail"]

        withdraw(engine, "test-shops", 1, "also wrong")
        assert client.get(f"{BASE}/records/S0003").status_code == 404
    engine.dispose()

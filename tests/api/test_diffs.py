"""Row-level diffs: by primary key (paged by key), whole-row without a key, JSON and CSV."""

from __future__ import annotations

import copy
import csv
import io
from collections.abc import Iterator
from dataclasses import replace

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from etl.load import LayerData
from etl.prepare import prepare
from etl.publish import publish, publishable
from hub.api.app import create_app
from hub.catalog import TableSchema, load_definition
from tests.conftest import create_test_database, drop_test_database, make_settings
from tests.shopdata import make_shops, write_csv

DIFF = "/v1/datasets/test-shops/versions/1/diff/2"
V1 = make_shops(60)  # the rows of version 1, as written to its source file


@pytest.fixture(scope="module")
def client(pg_cluster, tmp_path_factory) -> Iterator[TestClient]:
    url = create_test_database(pg_cluster)
    folder = tmp_path_factory.mktemp("diffs")
    settings = make_settings(url, artifact_dir=folder / "artifacts")
    engine = create_engine(url)
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    v1 = V1
    v2 = copy.deepcopy(v1)
    v2[5].name = "改装した店"
    v2[7].floors = 99
    v2[9].lat = round(v2[9].lat + 0.001, 6)
    del v2[10:15]
    for i, extra in enumerate(make_shops(3, seed=5), start=1):
        extra.shop_id = f"S90{i:02d}"
        v2.append(extra)
    publish(engine, prepare(definition, write_csv(folder / "v1.csv", v1)))
    publish(engine, prepare(definition, write_csv(folder / "v2.csv", v2)))
    # version 3: the same rows as version 2 minus one, plus a duplicate, without a key
    data = publishable(prepare(definition, write_csv(folder / "v3.csv", v2[1:])))
    main, schema = data.main, data.main.schema
    no_key = TableSchema(fields=schema.fields, primary_key=(), raw={**schema.raw,
                                                                     "primaryKey": []})

    def twice(series):  # the row of S0003 (index 1 after dropping S0001) appears again
        return pd.concat([series, series.iloc[[1]]], ignore_index=True)

    data = replace(data, main=LayerData(no_key, twice(main.frame), twice(main.geometry_wkt),
                                        main.search_fields))
    publish(engine, data)
    engine.dispose()
    with TestClient(create_app(settings)) as test_client:
        yield test_client
    drop_test_database(pg_cluster, url)


def _all_pages(client: TestClient, url: str) -> tuple[list[dict], list[dict]]:
    pages, changes = [], []
    while url:
        page = client.get(url).json()
        pages.append(page)
        changes += page["changes"]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    return pages, changes


def test_diff_by_primary_key_paged(client) -> None:
    pages, changes = _all_pages(client, f"{DIFF}?limit=4")
    assert len(pages) == 3
    assert pages[0]["by"] == "primary-key" and pages[0]["key"] == ["shop_id"]
    assert pages[0]["summary"] == {"added": 3, "removed": 5, "changed": 3}
    assert "summary" not in pages[1]
    keys = [c["key"]["shop_id"] for c in changes]
    assert keys == sorted(keys) and len(set(keys)) == len(keys) == 11
    by_kind = {kind: [c for c in changes if c["change"] == kind]
               for kind in ("added", "removed", "changed")}
    assert [c["key"]["shop_id"] for c in by_kind["added"]] == ["S9001", "S9002", "S9003"]
    assert [c["key"]["shop_id"] for c in by_kind["removed"]] == [
        f"S{i:04d}" for i in range(11, 16)]
    assert by_kind["removed"][0]["record"]["shop_id"] == "S0011"
    changed = {c["key"]["shop_id"]: c["fields"] for c in by_kind["changed"]}
    # the old side is version 1's value as written in its source file, not the new one
    assert changed["S0006"] == {"name": {"old": V1[5].name, "new": "改装した店"}}
    assert V1[7].floors != 99
    assert changed["S0008"] == {"floors": {"old": V1[7].floors, "new": 99}}
    assert set(changed["S0010"]) == {"latitude", "geometry"}
    assert changed["S0010"]["latitude"]["old"] == V1[9].lat
    assert changed["S0010"]["geometry"]["new"]["type"] == "Point"


def test_diff_sides_match_each_version_read_on_its_own(client) -> None:
    """Every change's old side is version 1's record and its new side version 2's, each
    fetched by key from that pinned version, not from the diff."""
    _pages, changes = _all_pages(client, f"{DIFF}?limit=100")
    assert changes

    def record(version: int, key: str) -> dict:
        response = client.get(f"/v1/datasets/test-shops/versions/{version}/records/{key}")
        assert response.status_code == 200, response.text
        return response.json()

    for change in changes:
        key = change["key"]["shop_id"]
        if change["change"] == "removed":
            assert change["record"] == record(1, key)
            assert client.get(f"/v1/datasets/test-shops/versions/2/records/{key}"
                              ).status_code == 404
        elif change["change"] == "added":
            assert change["record"] == record(2, key)
        else:
            old, new = record(1, key), record(2, key)
            assert {name: {"old": old[name], "new": new[name]} for name in change["fields"]} \
                == change["fields"]
            unchanged = set(old) - set(change["fields"])
            assert all(old[name] == new[name] for name in unchanged)


def test_diff_csv(client) -> None:
    response = client.get(f"{DIFF}?f=csv&limit=100")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["change", "shop_id", "field", "old", "new"]
    renamed = [r for r in rows if r["shop_id"] == "S0006"]
    assert renamed == [{"change": "changed", "shop_id": "S0006", "field": "name",
                        "old": renamed[0]["old"], "new": "改装した店"}]
    added = [r for r in rows if r["shop_id"] == "S9001"]
    assert {r["field"] for r in added} >= {"shop_id", "name", "geometry"}
    assert all(r["old"] == "" for r in added)


def test_diff_is_immutable_and_cacheable(client) -> None:
    first = client.get(DIFF)
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    again = client.get(DIFF, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_whole_row_diff_without_key(client) -> None:
    pages, changes = _all_pages(client, "/v1/datasets/test-shops/versions/2/diff/3?limit=1")
    assert pages[0]["by"] == "whole-row" and pages[0]["summary"] == {
        "added": 1, "removed": 1, "changed": None}
    assert [c["change"] for c in changes] == ["removed", "added"]
    assert changes[0]["record"]["shop_id"] == "S0001"  # the first row was dropped
    assert changes[1]["record"]["shop_id"] == "S0003"  # its duplicate was added
    assert changes[1]["key"] == {"_row": 58, "version": 3}  # the last row of version 3


@pytest.mark.parametrize(("url", "status", "problem", "detail"), [
    ("/v1/datasets/test-shops/versions/1/diff/9", 404, "not-found",
     "dataset 'test-shops' has no version 9"),
    ("/v1/datasets/nowhere/versions/1/diff/2", 404, "not-found", "nowhere"),
    (f"{DIFF}?cursor=%%%", 400, "invalid-parameter", "cursor is not valid"),
    (f"{DIFF}?f=xml", 400, "invalid-parameter", "f must be json or csv"),
])
def test_diff_errors_are_problem_details(client, url, status, problem, detail) -> None:
    response = client.get(url)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == problem and body["status"] == status
    assert body["title"] in ("Not found", "Invalid query parameter")
    assert detail in body["detail"]

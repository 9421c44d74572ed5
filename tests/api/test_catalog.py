"""Catalogue endpoints: search, facets, dataset and version metadata, OpenAPI."""

from __future__ import annotations

import re

from tests.api.conftest import Hub


def test_dataset_search_and_facets(hub: Hub) -> None:
    body = hub.client.get("/v1/datasets").json()
    assert body["total"] == 1
    dataset = body["datasets"][0]
    assert dataset["id"] == "test-shops" and dataset["current_version"] == 2
    assert dataset["title"] == {"ja": "テスト店舗一覧", "en": "Test shops"}
    assert dataset["row_count"] == 290
    assert {"value": "店舗", "count": 1} in body["facets"]["keyword"]
    assert body["facets"]["organisation"] == [{"value": "テスト市 (Test City)", "count": 1}]
    assert hub.client.get("/v1/datasets", params={"q": "店舗"}).json()["total"] == 1
    assert hub.client.get("/v1/datasets", params={"q": "bus"}).json()["total"] == 0
    assert hub.client.get("/v1/datasets", params={"keyword": "test"}).json()["total"] == 1
    assert hub.client.get("/v1/datasets", params={"licence": "CC0"}).json()["total"] == 0


def test_versions_and_metadata(hub: Hub) -> None:
    versions = hub.client.get("/v1/datasets/test-shops/versions").json()["versions"]
    assert [v["version"] for v in versions] == [2, 1]
    v2 = hub.client.get("/v1/datasets/test-shops/versions/2").json()
    assert v2["row_count"] == 290 and v2["changes"]["removed"] == 10
    assert v2["changes"]["previous_version"] == 1
    assert v2["source"]["name"] == "v2.csv" and len(v2["content_sha256"]) == 64
    assert [f["name"] for f in v2["schema"]["fields"]][:2] == ["shop_id", "name"]
    latest = hub.client.get("/v1/datasets/test-shops/versions/latest").json()
    assert latest["version"] == 2
    enclosures = {link["href"].rsplit("/", 1)[-1]: link["type"] for link in v2["links"]
                  if link["rel"] == "enclosure"}
    assert enclosures["download.pmtiles"] == "application/vnd.pmtiles"  # it has geometry


def test_openapi_documents_the_records_parameters(hub: Hub) -> None:
    spec = hub.client.get("/openapi.json").json()
    assert "/v1/datasets/{dataset_id}/versions/{version}/records" in spec["paths"]
    records = spec["paths"]["/v1/datasets/{dataset_id}/records"]["get"]
    assert "near" in records["description"] and "bbox" in records["description"]
    documented = {p["name"]: p for p in records["parameters"]}
    assert {"q", "bbox", "near", "radius", "within", "sort", "fields", "limit", "cursor",
            "f"} <= set(documented)
    assert documented["near"]["example"] == "34.6946,135.1956"
    assert hub.client.get("/docs").status_code == 200


RECORD_PATHS = {  # each of the eight record routes: its summary and its path parameters
    "/v1/datasets/{dataset_id}/records": "Records of the latest version",
    "/v1/datasets/{dataset_id}/versions/{version}/records":
        "Records of a pinned version (cacheable forever)",
    "/v1/datasets/{dataset_id}/layers/{layer}/records":
        "Records of one layer of the latest version",
    "/v1/datasets/{dataset_id}/versions/{version}/layers/{layer}/records":
        "Records of one layer of a pinned version",
    "/v1/datasets/{dataset_id}/records/{record_key}": "One record of the latest version, by key",
    "/v1/datasets/{dataset_id}/versions/{version}/records/{record_key}":
        "One record of a pinned version, by key (cacheable forever)",
    "/v1/datasets/{dataset_id}/layers/{layer}/records/{record_key}":
        "One record of a layer of the latest version, by key",
    "/v1/datasets/{dataset_id}/versions/{version}/layers/{layer}/records/{record_key}":
        "One record of a layer of a pinned version, by key",
}


def test_openapi_lists_every_record_route_with_its_path_parameters(hub: Hub) -> None:
    paths = hub.client.get("/openapi.json").json()["paths"]
    for path, summary in RECORD_PATHS.items():
        operation = paths[path]["get"]
        assert operation["summary"] == summary
        in_path = [p["name"] for p in operation["parameters"] if p["in"] == "path"]
        assert in_path == re.findall(r"\{(\w+)\}", path)  # declared, in the path's order
        assert all(p["required"] and p["schema"].get("examples") for p in operation["parameters"]
                   if p["in"] == "path")


def test_openapi_operation_ids_are_unique(hub: Hub) -> None:
    """OpenAPI tools (client generators, schemathesis) key operations by operationId."""
    paths = hub.client.get("/openapi.json").json()["paths"]
    ids = [op["operationId"] for operations in paths.values() for op in operations.values()]
    assert sorted(i for i in set(ids) if ids.count(i) > 1) == []

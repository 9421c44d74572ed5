"""Catalogue endpoints: search, facets, dataset and version metadata, OpenAPI."""

from __future__ import annotations

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

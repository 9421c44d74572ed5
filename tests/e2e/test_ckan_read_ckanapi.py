"""The CKAN Action API (read side) against a running hub, through ckanapi.RemoteCKAN (POST
with JSON, and GET) and raw HTTP for the envelope and errors."""

from __future__ import annotations

import hashlib

import ckanapi
import httpx
import pytest

from tests.e2e.live_hub import LiveHub, running_hub

PACKAGES = {"test-shops", "yaizu-aed", "yaizu-accessible-shops"}


@pytest.fixture(scope="module")
def live(pg_cluster, tmp_path_factory) -> LiveHub:
    with running_hub(pg_cluster, tmp_path_factory.mktemp("ckan-hub")) as hub:
        yield hub


@pytest.fixture(params=[False, True], ids=["post", "get"])
def remote(live, request) -> ckanapi.RemoteCKAN:
    with ckanapi.RemoteCKAN(live.url, get_only=request.param, user_agent="hub-tests") as ckan:
        yield ckan


def test_list_and_show(remote, live):
    assert set(remote.action.package_list()) == PACKAGES
    shops = remote.action.package_show(id="test-shops")
    assert shops["name"] == "test-shops" and shops["title"] == "テスト店舗一覧"
    assert shops["version"] == "2"
    assert shops["organization"]["name"] == "test-city"
    assert shops["organization"]["title"] == "テスト市 (Test City)"
    formats = {r["format"] for r in shops["resources"]}
    assert {"CSV", "GeoJSON", "Parquet", "GeoPackage", "ZIP"} <= formats
    csv = next(r for r in shops["resources"] if r["url"].endswith("/versions/2/download.csv"))
    body = httpx.get(csv["url"], timeout=60).content
    assert csv["size"] == len(body)
    assert csv["hash"] == "sha256:" + hashlib.sha256(body).hexdigest()
    assert {t["name"] for t in shops["tags"]} == {"shops", "店舗", "test"}
    extras = {e["key"]: e["value"] for e in shops["extras"]}
    assert extras["hub_version"] == "2" and extras["title_en"] == "Test shops"
    assert remote.action.package_show(id=shops["id"])["name"] == "test-shops"  # by uuid too
    aed = remote.action.package_show(id="yaizu-aed")
    assert aed["license_id"] == "other-open"
    assert aed["license_url"].startswith("https://www.digital.go.jp/")
    with pytest.raises(ckanapi.NotFound):
        remote.action.package_show(id="no-such-dataset")


def test_search_with_fq_facets_paging_and_sort(remote):
    everything = remote.action.package_search(
        rows=2, sort="name asc", **{"facet.field": '["organization", "tags", "res_format"]'})
    assert everything["count"] == 3
    assert [p["name"] for p in everything["results"]] == ["test-shops", "yaizu-accessible-shops"]
    assert everything["facets"]["organization"] == {"yaizu-city": 2, "test-city": 1}
    assert everything["facets"]["res_format"]["CSV"] == 3
    items = everything["search_facets"]["organization"]["items"]
    assert {"name": "yaizu-city", "display_name": "焼津市 (Yaizu City)", "count": 2} in items
    second = remote.action.package_search(rows=2, start=2, sort="name asc")
    assert [p["name"] for p in second["results"]] == ["yaizu-aed"]

    yaizu = remote.action.package_search(fq="organization:yaizu-city", sort="name desc")
    assert [p["name"] for p in yaizu["results"]] == ["yaizu-aed", "yaizu-accessible-shops"]
    tagged = remote.action.package_search(fq='tags:"AED"')
    assert [p["name"] for p in tagged["results"]] == ["yaizu-aed"]
    by_format = remote.action.package_search(fq="res_format:GeoPackage organization:test-city")
    assert [p["name"] for p in by_format["results"]] == ["test-shops"]
    text = remote.action.package_search(q="車椅子")
    assert [p["name"] for p in text["results"]] == ["yaizu-accessible-shops"]
    limited = remote.action.package_search(**{"facet.field": '["tags"]', "facet.limit": 2})
    assert len(limited["facets"]["tags"]) == 2


def test_organizations_tags_and_status(remote):
    assert remote.action.organization_list() == ["test-city", "yaizu-city"]
    full = remote.action.organization_list(all_fields=True)
    counts = {o["name"]: o["package_count"] for o in full}
    assert counts == {"test-city": 1, "yaizu-city": 2}
    yaizu = remote.action.organization_show(id="yaizu-city", include_datasets=True)
    assert yaizu["title"] == "焼津市 (Yaizu City)"
    assert {p["name"] for p in yaizu["packages"]} == {"yaizu-aed", "yaizu-accessible-shops"}
    with pytest.raises(ckanapi.NotFound):
        remote.action.organization_show(id="nowhere")
    tags = remote.action.tag_list()
    assert "店舗" in tags and "AED" in tags
    assert remote.action.tag_list(query="sho") == ["shops"]
    status = remote.action.status_show()
    assert status["ckan_version"].startswith("2.10")


def test_envelope_and_errors_over_raw_http(live):
    ok = httpx.get(f"{live.url}/api/3/action/package_list").json()
    assert ok["success"] is True and ok["help"].endswith("help_show?name=package_list")
    missing = httpx.get(f"{live.url}/api/3/action/package_show", params={"id": "nope"})
    assert missing.status_code == 404
    assert missing.json()["success"] is False
    assert missing.json()["error"]["__type"] == "Not Found Error"
    bad = httpx.post(f"{live.url}/api/3/action/package_search", json={"rows": "many"})
    assert bad.status_code == 409
    assert bad.json()["error"]["__type"] == "Validation Error"
    assert "rows" in bad.json()["error"]
    unknown = httpx.get(f"{live.url}/api/3/action/package_create")
    assert unknown.status_code == 400 and unknown.json()["success"] is False
    no_id = httpx.post(f"{live.url}/api/3/action/package_show", json={})
    assert no_id.status_code == 409

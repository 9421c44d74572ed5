"""Bulk downloads over HTTP: pinned files, HEAD, ranges (resume), 416, 304, latest redirect,
layers, the listing and the whole-catalogue bundle."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from hub.api.app import create_app
from hub.api.downloads import content_disposition, parse_range
from hub.catalog import load_definition
from tests.conftest import create_test_database, drop_test_database, make_settings
from tests.exporthub import formula_shops, publish_shops, publish_two_layers

PINNED = "/v1/datasets/test-shops/versions/1/download"


@dataclass
class DownloadHub:
    client: TestClient
    artifact_dir: object


@pytest.fixture(scope="module")
def hub(pg_cluster, tmp_path_factory) -> Iterator[DownloadHub]:
    url = create_test_database(pg_cluster)
    folder = tmp_path_factory.mktemp("downloads")
    settings = make_settings(url, artifact_dir=folder / "artifacts", export_batch_rows=100)
    engine = create_engine(url)
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    shops = formula_shops(300)
    publish_shops(engine, definition, folder, shops, "v1.csv")
    publish_two_layers(engine, definition, folder, shops[:60])
    engine.dispose()
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield DownloadHub(client, settings.artifact_dir)
    drop_test_database(pg_cluster, url)


def test_pinned_csv_has_every_header(hub) -> None:
    response = hub.client.get(f"{PINNED}.csv")
    assert response.status_code == 200
    body = response.content
    sha = hashlib.sha256(body).hexdigest()
    b64 = base64.b64encode(hashlib.sha256(body).digest()).decode()
    headers = response.headers
    assert headers["etag"] == f'"{sha}"'
    assert headers["content-length"] == str(len(body))
    assert headers["accept-ranges"] == "bytes"
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert headers["repr-digest"] == f"sha-256=:{b64}:"
    assert headers["digest"] == f"sha-256={b64}"
    assert headers["content-type"].startswith("text/csv")
    assert headers["content-disposition"] == (
        "attachment; filename=\"test-shops-v1.csv\"; filename*=UTF-8''test-shops-v1.csv")
    assert body.startswith(b"shop_id,name,category,")
    assert body.count(b"\n") == 301


def test_head_gives_headers_without_body(hub) -> None:
    full = hub.client.get(f"{PINNED}.parquet")
    head = hub.client.head(f"{PINNED}.parquet")
    assert head.status_code == 200 and head.content == b""
    for name in ("etag", "content-length", "repr-digest", "content-disposition",
                 "accept-ranges", "content-type"):
        assert head.headers[name] == full.headers[name]
    assert full.headers["content-type"] == "application/vnd.apache.parquet"


def test_range_resume_gives_identical_bytes(hub) -> None:
    full = hub.client.get(f"{PINNED}.geojson")
    etag = full.headers["etag"]
    size = len(full.content)
    first = hub.client.get(f"{PINNED}.geojson", headers={"Range": "bytes=0-999"})
    assert first.status_code == 206
    assert first.headers["content-range"] == f"bytes 0-999/{size}"
    assert first.headers["content-length"] == "1000"
    rest = hub.client.get(f"{PINNED}.geojson",
                          headers={"Range": "bytes=1000-", "If-Range": etag})
    assert rest.status_code == 206
    assert rest.headers["content-range"] == f"bytes 1000-{size - 1}/{size}"
    assert first.content + rest.content == full.content
    suffix = hub.client.get(f"{PINNED}.geojson", headers={"Range": "bytes=-10"})
    assert suffix.status_code == 206 and suffix.content == full.content[-10:]
    # a stale If-Range gets the whole (current) file instead of a wrong piece
    stale = hub.client.get(f"{PINNED}.geojson",
                           headers={"Range": "bytes=1000-", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == full.content


def test_unsatisfiable_range_is_416(hub) -> None:
    size = int(hub.client.head(f"{PINNED}.csv").headers["content-length"])
    response = hub.client.get(f"{PINNED}.csv", headers={"Range": f"bytes={size}-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{size}"
    assert response.headers["content-type"] == "application/problem+json"
    # several ranges are not supported: the whole file, as RFC 9110 allows
    multi = hub.client.get(f"{PINNED}.csv", headers={"Range": "bytes=0-1,5-9"})
    assert multi.status_code == 200 and len(multi.content) == size


def test_if_none_match_is_304(hub) -> None:
    etag = hub.client.head(f"{PINNED}.gpkg").headers["etag"]
    response = hub.client.get(f"{PINNED}.gpkg", headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.content == b""


def test_latest_redirects_to_pinned(hub) -> None:
    response = hub.client.get("/v1/datasets/test-shops/download.csv?variant=excel")
    assert response.status_code == 307
    assert response.headers["location"].endswith(
        "/v1/datasets/test-shops/versions/2/download.csv?variant=excel")
    assert "immutable" not in response.headers["cache-control"]
    followed = hub.client.get(response.headers["location"])
    assert followed.status_code == 200 and followed.content.startswith(b"\xef\xbb\xbf")
    same = hub.client.get("/v1/datasets/test-shops/versions/2/download.excel.csv")
    assert same.content == followed.content
    assert same.headers["content-disposition"].startswith(
        'attachment; filename="test-shops-v2-excel.csv"')
    via_latest = hub.client.get("/v1/datasets/test-shops/versions/latest/download.zip")
    assert via_latest.status_code == 307
    assert via_latest.headers["location"].endswith("/versions/2/download.zip")


def test_layers(hub) -> None:
    visits = hub.client.get("/v1/datasets/test-shops/versions/2/layers/visits/download.csv")
    assert visits.status_code == 200
    assert visits.content.startswith(b"visit_id,shop_id,visited_at,opens,note\n")
    assert "test-shops-v2-visits.csv" in visits.headers["content-disposition"]
    main = hub.client.get("/v1/datasets/test-shops/versions/2/layers/shops/download.csv")
    assert main.content == hub.client.get("/v1/datasets/test-shops/versions/2/download.csv"
                                          ).content
    gpkg = hub.client.get("/v1/datasets/test-shops/versions/2/layers/visits/download.gpkg")
    assert gpkg.status_code == 404
    missing = hub.client.get("/v1/datasets/test-shops/versions/2/layers/nope/download.csv")
    assert missing.status_code == 404
    redirect = hub.client.get("/v1/datasets/test-shops/layers/visits/download.parquet")
    assert redirect.status_code == 307
    assert redirect.headers["location"].endswith("/versions/2/layers/visits/download.parquet")


def test_unknown_things_are_problems(hub) -> None:
    for path in (f"{PINNED}.xlsx", "/v1/datasets/nope/versions/1/download.csv",
                 "/v1/datasets/test-shops/versions/9/download.csv",
                 "/v1/datasets/nope/download.csv"):
        response = hub.client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
    assert hub.client.get(f"{PINNED}.csv?variant=odd").status_code == 400


def test_listing_and_catalogue_bundle(hub) -> None:
    listing = hub.client.get("/v1/downloads").json()
    (entry,) = listing["datasets"]
    assert entry["dataset"] == "test-shops" and entry["version"] == 2
    formats = {(f["format"], f["layer"]) for f in entry["files"]}
    assert ("csv", None) in formats and ("csv", "visits") in formats
    assert ("gpkg", None) in formats and ("zip", None) in formats
    for file in entry["files"][:3]:
        body = hub.client.get(file["url"]).content
        assert (len(body), hashlib.sha256(body).hexdigest()) == (file["bytes"], file["sha256"])
    bundle = listing["bundle"]
    response = hub.client.get("/v1/downloads/catalogue.zip")
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == bundle["sha256"]
    assert len(response.content) == bundle["bytes"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
        names = set(zf.namelist())
        assert {"catalogue.json", "SHA256SUMS", "test-shops-v2/datapackage.json",
                "test-shops-v2/data/shops.csv", "test-shops-v2/data/visits.csv"} <= names
        for line in zf.read("SHA256SUMS").decode().splitlines():
            digest, name = line.split("  ", 1)
            assert hashlib.sha256(zf.read(name)).hexdigest() == digest
        csv_file = next(f for f in entry["files"] if f["format"] == "csv" and not f["layer"])
        assert hashlib.sha256(zf.read("test-shops-v2/data/shops.csv")).hexdigest() == (
            csv_file["sha256"])


def test_content_disposition_and_range_parsing() -> None:
    header = content_disposition("神戸市-aed-v3.csv")
    assert header == ("attachment; filename=\"___-aed-v3.csv\"; "
                      "filename*=UTF-8''%E7%A5%9E%E6%88%B8%E5%B8%82-aed-v3.csv")
    assert parse_range("bytes=0-9", 100) == (0, 9)
    assert parse_range("bytes=90-200", 100) == (90, 99)
    assert parse_range("bytes=-5", 100) == (95, 99)
    assert parse_range("bytes=100-", 100) is False
    assert parse_range("bytes=-0", 100) is False
    assert parse_range("bytes=5-1", 100) is None
    assert parse_range("items=0-1", 100) is None
    assert parse_range("bytes=0-1,3-4", 100) is None

"""Usage statistics through the real app and database: the stored counts equal the
requests made, per kind, format and version, clients are counted once per day without their
address being stored, and per-day rows are for staff only."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import mercantile
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from etl.prepare import prepare
from etl.publish import publish
from hub.api.app import create_app
from hub.catalog import load_definition
from hub.people.scopes import Scope
from tests.conftest import create_test_database, drop_test_database, make_settings
from tests.people_hub import issue_key
from tests.shopdata import SHIBUYA, make_shops, write_csv


@dataclass
class Visitor:
    """One client address on the shared TestClient (one app lifespan, one event loop)."""

    client: TestClient
    address: str

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        self.client._transport.client = (self.address, 50000)  # type: ignore[attr-defined]
        return self.client.get(url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> httpx.Response:
        self.client._transport.client = (self.address, 50000)  # type: ignore[attr-defined]
        return self.client.head(url, **kwargs)


@dataclass
class StatsHub:
    app: FastAPI
    alice: Visitor
    bob: Visitor
    url: str

    def flush(self) -> None:
        self.app.state.usage_recorder.flush()


@pytest.fixture(scope="module")
def hub(pg_cluster, tmp_path_factory) -> Iterator[StatsHub]:
    url = create_test_database(pg_cluster)
    folder = tmp_path_factory.mktemp("stats")
    settings = make_settings(url, artifact_dir=folder / "artifacts", webhooks_worker=False,
                             usage_flush_s=3600)
    engine = create_engine(url)
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    publish(engine, prepare(definition, write_csv(folder / "v1.csv", make_shops(120))))
    publish(engine, prepare(definition, write_csv(folder / "v2.csv", make_shops(100))))
    engine.dispose()
    app = create_app(settings)
    with TestClient(app, follow_redirects=False) as client:
        yield StatsHub(app, Visitor(client, "198.51.100.7"), Visitor(client, "203.0.113.9"),
                       url)
    drop_test_database(pg_cluster, url)


def test_stored_counts_add_up_to_the_requests_made(hub: StatsHub) -> None:
    tile = mercantile.tile(SHIBUYA[1], SHIBUYA[0], 14)
    tile_path = f"/ogc/collections/test-shops/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"
    served_v2 = 0
    for limit in (10, 25, 100, 500):  # the last page holds every record: 100
        page = hub.alice.get("/v1/datasets/test-shops/records", params={"limit": limit})
        assert page.status_code == 200
        served_v2 += len(page.json()["records"])
    assert served_v2 == 10 + 25 + 100 + 100
    record = hub.bob.get("/v1/datasets/test-shops/versions/1/records/S0001")
    assert record.status_code == 200
    items = hub.bob.get("/ogc/collections/test-shops@v1/items", params={"limit": 7})
    assert len(items.json()["features"]) == 7
    for _ in range(3):
        tile_answer = hub.alice.get(tile_path)
        assert tile_answer.status_code == 200
    download = hub.bob.get("/v1/datasets/test-shops/versions/2/download.csv")
    assert download.status_code == 200
    assert hub.bob.head("/v1/datasets/test-shops/versions/2/download.csv").status_code == 200
    resumed = hub.bob.get("/v1/datasets/test-shops/versions/2/download.csv",
                          headers={"Range": "bytes=10-"})
    assert resumed.status_code == 206
    assert hub.alice.get("/v1/datasets/test-shops/versions/2/download.geojson").status_code == 200
    # not counted: a redirect to the pinned file, errors (found before and while producing
    # the answer), revalidations answered 304 on every route that counts
    assert hub.alice.get("/v1/datasets/test-shops/download.csv").status_code == 307
    # nor a HEAD, answered like the GET without its data (hub.api.routing.HeadAsGet)
    assert hub.bob.head("/v1/datasets/test-shops/versions/1/records/S0001").status_code == 200
    assert hub.bob.head("/ogc/collections/test-shops@v1/items",
                        params={"limit": 7}).status_code == 200
    assert hub.alice.head(tile_path).status_code == 200
    assert hub.alice.get("/v1/datasets/test-shops/records?bogus__op=1").status_code == 400
    assert hub.alice.get("/v1/datasets/test-shops/records/NO-SUCH").status_code == 404
    assert hub.alice.get("/ogc/collections/test-shops/items/NO-SUCH").status_code == 404
    for visitor, path, params, answered in (
        (hub.alice, "/v1/datasets/test-shops/records", {"limit": 500}, page),
        (hub.bob, "/v1/datasets/test-shops/versions/1/records/S0001", {}, record),
        (hub.bob, "/ogc/collections/test-shops@v1/items", {"limit": 7}, items),
        (hub.alice, tile_path, {}, tile_answer),
        (hub.bob, "/v1/datasets/test-shops/versions/2/download.csv", {}, download),
    ):
        again = visitor.get(path, params=params,
                            headers={"If-None-Match": answered.headers["etag"]})
        assert again.status_code == 304, path
    feature = hub.bob.get("/ogc/collections/test-shops@v1/items/S0001",
                          headers={"If-None-Match": "*"})
    assert feature.status_code == 304
    hub.flush()

    stats = hub.alice.get("/v1/stats", params={"dataset": "test-shops"})
    assert stats.status_code == 200
    body = stats.json()
    assert body["totals"] == {
        "api_requests": 4 + 1 + 1, "records_served": served_v2 + 1 + 7, "tile_requests": 3,
        "downloads": {"csv": 1, "geojson": 1}, "client_days": 2 + 1,
    }
    by_version = {v["version"]: v for v in body["versions"]}
    assert by_version[1]["api_requests"] == 2 and by_version[1]["records_served"] == 8
    assert by_version[1]["client_days"] == 1  # bob only
    assert by_version[2]["records_served"] == served_v2 and by_version[2]["client_days"] == 2

    # counting goes on from the stored counts: the next batch adds, it does not replace
    hub.bob.get("/v1/datasets/test-shops/records", params={"limit": 5})
    hub.flush()
    again = hub.alice.get("/v1/stats", params={"dataset": "test-shops"}).json()["totals"]
    assert again["api_requests"] == 7 and again["records_served"] == served_v2 + 8 + 5
    assert again["client_days"] == 3  # bob was already counted today for version 2


def test_client_addresses_are_never_stored(hub: StatsHub) -> None:
    hub.alice.get("/v1/datasets/test-shops/records", params={"limit": 1})
    hub.flush()
    engine = create_engine(hub.url)
    with engine.connect() as conn:
        dump = conn.execute(text(
            "SELECT string_agg(t::text, ' ') FROM (SELECT * FROM hub.usage_clients) t")).scalar()
        hashes = conn.execute(text("SELECT count(*) FROM hub.usage_clients")).scalar()
    engine.dispose()
    assert hashes >= 2
    for address in ("198.51.100.7", "203.0.113.9"):
        assert address not in dump
        assert address.encode().hex() not in dump


def bearer(app: FastAPI, *scopes: Scope, datasets: set[str] | None = None) -> dict[str, str]:
    _id, token = issue_key(app.state.people, "-".join(scopes), *scopes, datasets=datasets)
    return {"Authorization": f"Bearer {token}"}


def test_per_day_rows_and_csv_are_for_staff(hub: StatsHub) -> None:
    hub.flush()
    detail = {"dataset": "test-shops", "detail": "day"}
    refused = hub.alice.get("/v1/stats", params=detail)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    for headers in (bearer(hub.app, Scope.CONTRIBUTE),
                    bearer(hub.app, Scope.PUBLISH, datasets={"other-dataset"})):
        forbidden = hub.alice.get("/v1/stats", params=detail, headers=headers)
        assert forbidden.status_code == 403
        assert forbidden.headers["content-type"] == "application/problem+json"
    moderator = hub.alice.get("/v1/stats", params=detail, headers=bearer(hub.app,
                                                                         Scope.MODERATE))
    assert moderator.status_code == 200
    staff = bearer(hub.app, Scope.PUBLISH, datasets={"test-shops"})
    days = hub.alice.get("/v1/stats", params={"dataset": "test-shops", "detail": "day"},
                         headers=staff).json()["days"]
    totals = hub.alice.get("/v1/stats", params={"dataset": "test-shops"}).json()["totals"]
    assert sum(d["requests"] for d in days if d["kind"] == "records") == totals["api_requests"]
    assert {(d["kind"], d["format"]) for d in days} >= {("download", "csv"), ("tiles", None)}
    exported = hub.alice.get("/v1/stats", params={"dataset": "test-shops", "detail": "day",
                                                  "f": "csv"}, headers=staff)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == len(days)
    assert sum(int(r["records"]) for r in rows) == sum(d["records"] for d in days)


def test_unknown_dataset_is_404(hub: StatsHub) -> None:
    response = hub.alice.get("/v1/stats", params={"dataset": "no-such"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"

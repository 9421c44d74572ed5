"""Every cacheable GET route answers conditional requests the same way: an ETag; 304 to a
matching If-None-Match, with the same ETag and Cache-Control and before any query on the
version's table; ``immutable`` for a pinned version, ``no-cache`` for ``latest``.

The routes are listed here one by one, so a route that spells the sequence out itself (and
forgets a step) fails; :func:`test_every_versioned_route_is_listed` fails when a new route
under a version is neither listed nor declared uncacheable."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import mercantile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event

from hub.api.app import create_app
from hub.api.caching import LATEST_CACHE, LATEST_SURROGATE, PINNED_CACHE
from hub.catalog import load_definition
from hub.http_cache.tags import TAGS_HEADER
from hub.people.scopes import Scope
from tests.api.test_webhooks import staff_token
from tests.conftest import create_test_database, drop_test_database, make_settings
from tests.exporthub import formula_shops, publish_shops, publish_two_layers
from tests.shopdata import SHIBUYA

TILE = mercantile.tile(SHIBUYA[1], SHIBUYA[0], 15)
TILE_PATH = f"tiles/WebMercatorQuad/{TILE.z}/{TILE.y}/{TILE.x}"
PINNED, LATEST = True, False

# (url, pinned). test-shops: version 1 (shops) and version 2 (layers shops + visits).
CACHEABLE = [
    ("/v1/datasets/test-shops/versions/1", PINNED),
    ("/v1/datasets/test-shops/versions/latest", LATEST),
    ("/v1/datasets/test-shops/versions/1/records?limit=2", PINNED),
    ("/v1/datasets/test-shops/records?limit=2&f=geojson", LATEST),
    ("/v1/datasets/test-shops/versions/2/layers/visits/records?limit=2", PINNED),
    ("/v1/datasets/test-shops/layers/visits/records?f=csv", LATEST),
    ("/v1/datasets/test-shops/versions/1/records/S0001", PINNED),
    ("/v1/datasets/test-shops/records/S0001", LATEST),
    ("/v1/datasets/test-shops/versions/2/layers/visits/records/1", PINNED),
    ("/v1/datasets/test-shops/layers/visits/records/1?f=geojson", LATEST),
    ("/v1/datasets/test-shops/versions/1/diff/2?limit=2", PINNED),
    ("/v1/datasets/test-shops/versions/1/provenance", PINNED),
    ("/v1/datasets/test-shops/versions/latest/provenance", LATEST),
    ("/v1/datasets/test-shops/versions/1/download.csv", PINNED),
    ("/v1/datasets/test-shops/versions/2/layers/visits/download.csv", PINNED),
    ("/v1/downloads/catalogue.zip", LATEST),
    ("/ogc/collections/test-shops@v1", PINNED),
    ("/ogc/collections/test-shops", LATEST),
    ("/ogc/collections/test-shops@v1/items?limit=2", PINNED),
    ("/ogc/collections/test-shops.visits/items?limit=2", LATEST),
    ("/ogc/collections/test-shops@v1/items/S0001", PINNED),
    ("/ogc/collections/test-shops/items/S0001", LATEST),
    (f"/ogc/collections/test-shops@v1/{TILE_PATH}", PINNED),
    (f"/ogc/collections/test-shops/{TILE_PATH}", LATEST),
]
# Single records read the version's state and the record in one round trip (see
# hub.data.records_by_key), on the async pool: the statements this test watches are the
# SQLAlchemy engine's.
BY_KEY = ("/records/S0001", "/records/1", "/items/S0001")


@dataclass
class CacheHub:
    client: TestClient
    statements: list[str]


@pytest.fixture(scope="module")
def hub(pg_cluster, tmp_path_factory) -> Iterator[CacheHub]:
    url = create_test_database(pg_cluster)
    folder = tmp_path_factory.mktemp("conditional")
    settings = make_settings(url, artifact_dir=folder / "artifacts")
    engine = create_engine(url)
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    shops = formula_shops(300)
    publish_shops(engine, definition, folder, shops, "v1.csv")
    publish_two_layers(engine, definition, folder, shops[:60])
    engine.dispose()
    statements: list[str] = []
    app = create_app(settings)
    with TestClient(app, follow_redirects=False) as client:
        event.listen(app.state.data.engine, "before_cursor_execute",
                     lambda _c, _cur, sql, *_rest: statements.append(sql))
        yield CacheHub(client, statements)
    drop_test_database(pg_cluster, url)


@pytest.mark.parametrize(("url", "pinned"), CACHEABLE)
def test_conditional_request_sequence(hub: CacheHub, url: str, pinned: bool) -> None:
    first = hub.client.get(url)
    assert first.status_code == 200, first.text
    etag = first.headers["etag"]
    cache_control = PINNED_CACHE if pinned else LATEST_CACHE
    assert first.headers["cache-control"] == cache_control
    assert etag.startswith('"') and etag.endswith('"')

    hub.statements.clear()
    again = hub.client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == cache_control
    if not url.endswith(BY_KEY):
        table_reads = [s for s in hub.statements if "test_shops__v" in s]
        assert table_reads == [], "the 304 read the version's table"

    other = hub.client.get(url, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.headers["etag"] == etag


# Routes that parse a records query check it before deciding the 304, so a matching
# If-None-Match (``*`` matches any ETag) never turns a bad query into a 304.
QUERIED = [
    "/v1/datasets/test-shops/versions/1/records?colour=red",
    "/v1/datasets/test-shops/records?colour=red",
    "/ogc/collections/test-shops@v1/items?colour=red",
    f"/ogc/collections/test-shops@v1/{TILE_PATH}?colour=red",
]


@pytest.mark.parametrize("url", QUERIED)
def test_an_invalid_query_is_refused_even_when_the_etag_matches(hub: CacheHub,
                                                                url: str) -> None:
    response = hub.client.get(url, headers={"If-None-Match": "*"})
    assert response.status_code == 400, response.text
    assert response.json()["parameter"] == "colour"


# GET routes under a version or collection that answer without ETag, and why.
UNCACHED = {
    "/v1/datasets/{dataset_id}/download.{ext}": "redirects to the pinned file",
    "/v1/datasets/{dataset_id}/layers/{layer}/download.{ext}": "redirects to the pinned file",
    "/v1/datasets/{dataset_id}/versions/{version}/download.{ext}": "latest redirects",
    "/ogc/collections/{collection_id}/queryables": "schema of the collection, small",
    "/ogc/collections/{collection_id}/tiles": "tileset list, small",
    "/ogc/collections/{collection_id}/tiles/WebMercatorQuad": "tileset metadata, small",
    "/ogc/collections/{collection_id}/tiles/WebMercatorQuad/tilejson.json": "small",
}
COVERED_ELSEWHERE = {  # transit datasets are not in this hub; tests/api/test_transit*.py
    "/v1/datasets/{dataset_id}/routes/{route_id}/stops",
    "/v1/datasets/{dataset_id}/versions/{version}/routes/{route_id}/stops",
    "/v1/datasets/{dataset_id}/ridership/stops",
    "/v1/datasets/{dataset_id}/versions/{version}/ridership/stops",
}


def _template_regex(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")


def test_every_versioned_route_is_listed(hub: CacheHub) -> None:
    """Each GET operation that names a version, a layer, a record or a collection is in
    CACHEABLE (by its path template), or declared uncached or covered elsewhere."""
    paths = [path for path, operations in hub.client.get("/openapi.json").json()["paths"].items()
             if "get" in operations]
    versioned = {path for path in paths
                 if any(part in path for part in ("{version}", "{layer}", "/records",
                                                  "{collection_id}"))}
    listed = {path for path in versioned
              if any(_template_regex(path).match(url.split("?")[0]) for url, _ in CACHEABLE)}
    assert versioned - listed - set(UNCACHED) - COVERED_ELSEWHERE == set()


def _expected_tags(url: str, pinned: bool) -> str:
    """The versions a CACHEABLE url shows, as cache tags (hub.http_cache.tags)."""
    if "/diff/" in url:
        return "test-shops@1 test-shops@2"
    if not pinned:
        return "test-shops@latest"
    return "test-shops@" + re.search(r"(?:versions/|@v)(\d+)", url).group(1)


@pytest.mark.parametrize(("url", "pinned"), [c for c in CACHEABLE if "catalogue.zip" not in c[0]])
def test_cache_tags_name_the_versions_shown(hub: CacheHub, url: str, pinned: bool) -> None:
    """What a publish or withdrawal bans from a shared cache; ``latest`` answers may be kept
    by it (Surrogate-Control) only because those bans reach it."""
    response = hub.client.get(url)
    assert response.headers[TAGS_HEADER] == _expected_tags(url, pinned)
    if pinned:
        assert "surrogate-control" not in response.headers
    else:
        assert response.headers["surrogate-control"] == LATEST_SURROGATE


def test_the_catalogue_bundle_is_untagged_so_no_shared_cache_keeps_it(hub: CacheHub) -> None:
    """It changes with every publish of any dataset, and no ban names it."""
    response = hub.client.get("/v1/downloads/catalogue.zip")
    assert TAGS_HEADER not in response.headers and "surrogate-control" not in response.headers


@pytest.mark.parametrize("url", ["/v1/datasets/test-shops/versions/1/records?limit=2",
                                 "/v1/datasets/test-shops/records?limit=2",
                                 "/v1/datasets"])
def test_an_answer_to_a_keyed_request_is_private(hub: CacheHub, url: str) -> None:
    token = staff_token(hub.client.app, Scope.CONTRIBUTE)
    anonymous = hub.client.get(url)
    keyed = hub.client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert keyed.status_code == 200, keyed.text
    assert keyed.content == anonymous.content
    control = keyed.headers["cache-control"]
    assert control.startswith("private") and "public" not in control
    assert "Authorization" in keyed.headers["vary"]
    assert TAGS_HEADER not in keyed.headers and "surrogate-control" not in keyed.headers
    if "versions/1" in url:  # the client itself may still keep it forever
        assert control == "private, max-age=31536000, immutable"
    assert "private" not in anonymous.headers.get("cache-control", "")

"""PMTiles per version: a publish over HTTP builds the version's archive after answering;
tiles are then read from it (range reads, no PostGIS) and equal the live tiles byte for
byte; ``download.pmtiles`` is a valid archive that the ``pmtiles`` reader reads back, listed
with the other files (size, SHA-256)."""

from __future__ import annotations

import hashlib

import mercantile
import pytest
from fastapi.testclient import TestClient
from pmtiles.reader import MemorySource, Reader, all_tiles
from sqlalchemy import event

from hub.people.scopes import Scope
from hub.query.model import FeatureQuery
from hub.query.tiles import CLUSTER_COUNT
from tests.api.test_tiles import decode
from tests.conftest import make_settings
from tests.people_hub import People, ServeHub, bearer
from tests.shopdata import SHIBUYA, make_shops, write_csv

CAP_KB = 16
PINNED = "/v1/datasets/test-shops/versions/1"
TILES = "/ogc/collections/test-shops@v1/tiles/WebMercatorQuad"


@pytest.fixture
def published(db_url: str, tmp_path, serve_hub: ServeHub) -> People:
    """2,000 shops published over HTTP, with a 16 KiB cap (so low zooms are thinned) and no
    tile cache (every live tile is computed)."""
    people = serve_hub(make_settings(db_url, tile_max_kb=CAP_KB, tile_cache_mb=0,
                                     pmtiles_max_zoom=16))
    _id, token = people.issue("uploads", Scope.PUBLISH, datasets={"test-shops"})
    csv = write_csv(tmp_path / "shops.csv", make_shops(2000, seed=3), messy=False)
    response = people.client.post("/v1/datasets/test-shops/versions", headers=bearer(token),
                                  files={"file": ("shops.csv", csv.read_bytes(), "text/csv")})
    assert response.status_code == 201, response.text
    # The test client returns once the response's background task (the build) is done.
    return people


def archive_bytes(client: TestClient) -> bytes:
    response = client.get(f"{PINNED}/download.pmtiles")
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/vnd.pmtiles"
    return response.content


def test_download_pmtiles_is_a_valid_archive_listed_with_the_other_files(published):
    client = published.client
    body = archive_bytes(client)
    reader = Reader(MemorySource(body))
    header = reader.header()
    assert header["min_zoom"] == 0 and 10 <= header["max_zoom"] <= 16
    assert reader.metadata()["vector_layers"][0]["id"] == "test-shops"
    tiles = dict(all_tiles(MemorySource(body)))
    assert (0, 0, 0) in tiles
    # z0 holds a thinned tile whose counts cover every shop; the deepest zoom none thinned.
    z0 = decode(tiles[(0, 0, 0)])
    assert sum(f["properties"][CLUSTER_COUNT] for f in z0) == 2000
    deepest = [t for (z, _x, _y), t in tiles.items() if z == header["max_zoom"]]
    assert all(CLUSTER_COUNT not in f["properties"] for t in deepest for f in decode(t))
    listed = client.get("/v1/downloads").json()["datasets"]
    entry = next(f for d in listed if d["dataset"] == "test-shops" for f in d["files"]
                 if f["format"] == "pmtiles")
    assert entry["bytes"] == len(body)
    assert entry["sha256"] == hashlib.sha256(body).hexdigest()


def test_tiles_come_from_the_archive_and_equal_the_live_tiles(published):
    client = published.client
    app = client.app
    version = app.state.data.version("test-shops", 1)
    body = archive_bytes(client)
    archived = dict(all_tiles(MemorySource(body)))
    max_zoom = Reader(MemorySource(body)).header()["max_zoom"]
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        if "ST_AsMVT" in statement or "num_nonnulls" in statement:
            statements.append(statement)

    engine = app.state.data.engine
    checked = 0
    for z in sorted({0, 5, 12, max_zoom}):
        tile = mercantile.tile(SHIBUYA[1], SHIBUYA[0], z)
        event.listen(engine, "before_cursor_execute", record)
        try:
            served = client.get(f"{TILES}/{tile.z}/{tile.y}/{tile.x}")
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert statements == [], "an archived tile should not reach PostGIS"
        live = app.state.tiles.render(version, FeatureQuery(), "test-shops", tile.z, tile.x,
                                      tile.y).body
        assert served.content == live == archived[(tile.z, tile.x, tile.y)]
        checked += 1
    assert checked == 4 or max_zoom == 12
    # Past the archive's zooms, tiles are computed.
    deeper = mercantile.tile(SHIBUYA[1], SHIBUYA[0], max_zoom + 1)
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(f"{TILES}/{deeper.z}/{deeper.y}/{deeper.x}").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert statements, "a tile deeper than the archive is computed live"

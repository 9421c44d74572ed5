"""Vector tiles: decode the MVT and compare with the shops expected in the tile, computed with
mercantile/pyproj (not by the SQL under test)."""

from __future__ import annotations

import mapbox_vector_tile
import mercantile
import pytest
from pyproj import Transformer

from tests.shopdata import CATEGORIES, SHIBUYA

BASE = "/ogc/collections/test-shops/tiles/WebMercatorQuad"
TO_MERCATOR = Transformer.from_crs("OGC:CRS84", "EPSG:3857", always_xy=True)
EXTENT, BUFFER = 4096, 64


def expected_in_tile(shops, tile: mercantile.Tile) -> dict[str, tuple[float, float]]:
    """Shop id -> pixel position (origin top-left) for shops inside the buffered tile."""
    bounds = mercantile.xy_bounds(tile)
    size = bounds.right - bounds.left
    margin = size * BUFFER / EXTENT
    found = {}
    for shop in shops:
        x, y = TO_MERCATOR.transform(shop.lon, shop.lat)
        if (bounds.left - margin <= x <= bounds.right + margin
                and bounds.bottom - margin <= y <= bounds.top + margin):
            found[shop.shop_id] = ((x - bounds.left) / size * EXTENT,
                                   (bounds.top - y) / size * EXTENT)
    return found


def decode(body: bytes) -> list[dict]:
    layers = mapbox_vector_tile.decode(body, default_options={"y_coord_down": True})
    assert list(layers) == ["test-shops"]
    return layers["test-shops"]["features"]


def test_tile_holds_exactly_the_shops_expected(hub):
    tile = mercantile.tile(SHIBUYA[1], SHIBUYA[0], 15)
    expected = expected_in_tile(hub.shops_v2, tile)
    assert len(expected) > 5
    response = hub.client.get(f"{BASE}/{tile.z}/{tile.y}/{tile.x}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    features = decode(response.content)
    got = {f["properties"]["shop_id"]: f for f in features}
    assert set(got) == set(expected)
    for shop_id, (px, py) in expected.items():
        x, y = got[shop_id]["geometry"]["coordinates"]
        assert (x, y) == pytest.approx((px, py), abs=1.0)
    sample = next(s for s in hub.shops_v2 if s.shop_id in got and s.opened and s.floors)
    props = got[sample.shop_id]["properties"]
    assert props["name"] == sample.name and props["floors"] == sample.floors
    assert props["opened"] == sample.opened  # dates travel as ISO text


def test_tiles_take_the_same_filters_as_items(hub):
    tile = mercantile.tile(SHIBUYA[1], SHIBUYA[0], 14)
    cafes = [s for s in hub.shops_v2 if s.category == CATEGORIES[0]]
    expected = expected_in_tile(cafes, tile)
    response = hub.client.get(f"{BASE}/{tile.z}/{tile.y}/{tile.x}",
                              params={"filter": f"category = '{CATEGORIES[0]}'"})
    got = {f["properties"]["shop_id"] for f in decode(response.content)}
    assert got == set(expected)


def test_empty_tiles_are_204_and_bad_tiles_are_400(hub):
    assert hub.client.get(f"{BASE}/15/0/0").status_code == 204
    for z, x, y, parameter in [(25, 0, 0, "z"), (3, -1, 0, "x"), (3, 0, 2**24, "y")]:
        response = hub.client.get(f"{BASE}/{z}/{y}/{x}")
        assert response.status_code == 400, (z, x, y)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["parameter"] == parameter


def test_a_tile_past_the_edge_of_its_zoom_is_404(hub):
    """Inside the documented ranges, but not a tile at that zoom: there is nothing to find."""
    for z, x, y in [(3, 8, 0), (3, 0, 8)]:
        response = hub.client.get(f"{BASE}/{z}/{y}/{x}")
        assert response.status_code == 404, (z, x, y)
        assert response.headers["content-type"] == "application/problem+json"


def test_pinned_tiles_are_immutable_and_revalidate(hub):
    tile = mercantile.tile(SHIBUYA[1], SHIBUYA[0], 15)
    url = f"/ogc/collections/test-shops@v1/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"
    first = hub.client.get(url)
    assert first.status_code == 200
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert set(f["properties"]["shop_id"] for f in decode(first.content)) == set(
        expected_in_tile(hub.shops_v1, tile))
    again = hub.client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    latest = hub.client.get(f"{BASE}/{tile.z}/{tile.y}/{tile.x}")
    assert latest.headers["cache-control"] == "public, no-cache"


def test_tileset_metadata_and_tilejson(hub):
    tileset = hub.client.get(BASE).json()
    templated = next(link for link in tileset["links"] if link["rel"] == "item")
    assert templated["href"].endswith("/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}")
    tilejson = hub.client.get(f"{BASE}/tilejson.json").json()
    assert tilejson["tiles"][0].endswith("/tiles/WebMercatorQuad/{z}/{y}/{x}")
    assert tilejson["vector_layers"][0]["id"] == "test-shops"
    assert len(tilejson["bounds"]) == 4
    listed = hub.client.get("/ogc/collections/test-shops/tiles").json()
    assert listed["tilesets"][0]["dataType"] == "vector"


def test_tileset_limits_are_the_tiles_that_can_hold_a_shop(hub):
    """tileMatrixSetLimits: for each zoom the tileset lists, the tiles over the shops' extent
    (from mercantile) and one more on every side, where a shop can show in the buffer."""
    tileset = hub.client.get(BASE).json()
    west, south = tileset["boundingBox"]["lowerLeft"]
    east, north = tileset["boundingBox"]["upperRight"]
    (layer,) = tileset["layers"]
    zooms = range(int(layer["minTileMatrix"]), int(layer["maxTileMatrix"]) + 1)
    limits = {limit.pop("tileMatrix"): limit for limit in tileset["tileMatrixSetLimits"]}
    assert list(limits) == [str(z) for z in zooms]
    for z in zooms:
        tiles = list(mercantile.tiles(west, south, east, north, z))
        last = 2 ** z - 1
        assert limits[str(z)] == {
            "minTileCol": max(min(t.x for t in tiles) - 1, 0),
            "maxTileCol": min(max(t.x for t in tiles) + 1, last),
            "minTileRow": max(min(t.y for t in tiles) - 1, 0),
            "maxTileRow": min(max(t.y for t in tiles) + 1, last)}, z
    for shop in hub.shops_v2:
        tile = mercantile.tile(shop.lon, shop.lat, 15)
        assert limits["15"]["minTileCol"] < tile.x < limits["15"]["maxTileCol"]
        assert limits["15"]["minTileRow"] < tile.y < limits["15"]["maxTileRow"]


def test_each_tile_row_is_clipped_once(hub):
    """The row subquery is fenced: were it inlined, PostgreSQL would run ST_AsMVTGeom (and
    the transform under it) twice per row, once for the NULL filter and once for ST_AsMVT."""
    from sqlalchemy import text

    from hub.query.model import FeatureQuery
    from hub.query.tiles import tile_parameters, tile_statements

    data = hub.client.app.state.data
    version = data.version("test-shops", None)
    tile = mercantile.tile(SHIBUYA[1], SHIBUYA[0], 15)
    statement = tile_statements(version.table(), version.schema, FeatureQuery(),
                                "test-shops").full
    compiled = statement.params(tile_parameters(tile.z, tile.x, tile.y)).compile(
        data.engine, compile_kwargs={"literal_binds": True})
    with data.engine.connect() as conn:
        plan = "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN VERBOSE {compiled}")))
    assert plan.lower().count("st_asmvtgeom") == 1, plan


def test_a_counted_tile_is_built_only_when_worth_trying(hub):
    """``TileStatements.counted`` gives the count and, for 1..worth_trying features, the
    full tile in one round trip; past that PostgreSQL never runs the tile's subquery (a
    dense tile costs its count alone)."""
    from sqlalchemy import text

    from hub.query.model import FeatureQuery
    from hub.query.tiles import tile_parameters, tile_statements

    data = hub.client.app.state.data
    version = data.version("test-shops", None)
    tile = mercantile.tile(SHIBUYA[1], SHIBUYA[0], 15)
    statements = tile_statements(version.table(), version.schema, FeatureQuery(),
                                 "test-shops")
    parameters = tile_parameters(tile.z, tile.x, tile.y)
    with data.engine.connect() as conn:
        full = conn.execute(statements.full, parameters).scalar()
        features, whole = conn.execute(statements.counted,
                                       {**parameters, "worth_trying": 10_000}).one()
        assert features >= len(expected_in_tile(hub.shops_v2, tile)) > 5
        assert whole == full
        assert conn.execute(statements.counted,
                            {**parameters, "worth_trying": features - 1}).one() == (
            features, None)
        compiled = statements.counted.params(
            {**parameters, "worth_trying": features - 1}).compile(
            data.engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN ANALYZE {compiled}")))
    lines = plan.splitlines()
    tile_plan = lines[next(i for i, line in enumerate(lines) if "InitPlan" in line) + 1]
    assert "never executed" in tile_plan, plan  # the tile's ST_AsMVT, skipped
    assert "never executed" not in lines[0], plan  # the count, run


@pytest.mark.parametrize("path", ["tiles/WebMercatorQuad/15/{y}/{x}", "items"])
def test_an_ogc_request_checks_out_one_connection(hub, path):
    """Collection lookup, dataset row, data query and count share the request's connection
    (each extra checkout was a pool round trip and, under load, a wait for a free one).
    The app's own background threads (usage flushes, webhook polls: named ``hub-...``) use
    the same pool on their own schedule; a checkout of theirs during the request is not the
    request's."""
    import threading

    from sqlalchemy import event

    engine = hub.client.app.state.data.engine
    checkouts: list[str] = []

    def count(*_args):
        thread = threading.current_thread().name
        if not thread.startswith("hub-"):
            checkouts.append(thread)

    tile = mercantile.tile(SHIBUYA[1], SHIBUYA[0], 15)
    url = "/ogc/collections/test-shops/" + path.format(x=tile.x, y=tile.y)
    event.listen(engine, "checkout", count)
    try:
        response = hub.client.get(url)
    finally:
        event.remove(engine, "checkout", count)
    assert response.status_code == 200, response.text[:300]
    assert len(checkouts) == 1, checkouts


def _count_tile_queries(statements: list[str]):
    def record(_conn, _cursor, statement, *_args):
        if "ST_AsMVT(" in statement:
            statements.append(statement)
    return record


def test_unfiltered_tiles_are_served_from_the_cache_and_keyed_by_version(hub):
    """A version table never changes, so an unfiltered tile is computed once per version;
    filtered tiles are always computed. The dropped shops of version 2 tell the versions'
    tiles apart."""
    from sqlalchemy import event

    engine = hub.client.app.state.data.engine
    dropped = hub.shops_v1[-1]
    tile = mercantile.tile(dropped.lon, dropped.lat, 17)
    path = f"{tile.z}/{tile.y}/{tile.x}"
    statements: list[str] = []
    listener = _count_tile_queries(statements)
    event.listen(engine, "before_cursor_execute", listener)
    try:
        first = hub.client.get(f"/ogc/collections/test-shops@v1/tiles/WebMercatorQuad/{path}")
        assert len(statements) == 1
        again = hub.client.get(f"/ogc/collections/test-shops@v1/tiles/WebMercatorQuad/{path}")
        assert len(statements) == 1, "the second request should not have reached PostGIS"
        assert again.content == first.content
        assert dropped.shop_id in {f["properties"]["shop_id"] for f in decode(first.content)}

        latest = hub.client.get(f"{BASE}/{path}")
        assert len(statements) == 2  # version 2 is another table, so another tile
        in_v2 = {f["properties"]["shop_id"] for f in decode(latest.content)} \
            if latest.status_code == 200 else set()
        assert dropped.shop_id not in in_v2

        for _ in range(2):
            hub.client.get(f"/ogc/collections/test-shops@v1/tiles/WebMercatorQuad/{path}",
                           params={"category": dropped.category})
        assert len(statements) == 4, "filtered tiles are not cached"
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def test_ogc_api_tiles_core_documents(hub):
    """The tile matrix set is served by the hub (no other host), every link a client follows
    from the landing page to a tile resolves, and the conformance classes say so."""
    conformance = hub.client.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core" in conformance
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt" in conformance
    landing = hub.client.get("/ogc").json()
    schemes = next(link["href"] for link in landing["links"]
                   if link["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes")
    (listed,) = hub.client.get(schemes).json()["tileMatrixSets"]
    assert listed["id"] == "WebMercatorQuad"
    definition = hub.client.get(listed["links"][0]["href"]).json()
    matrices = definition["tileMatrices"]
    assert [m["id"] for m in matrices] == [str(z) for z in range(25)]
    assert all(m["matrixWidth"] == m["matrixHeight"] == 2 ** int(m["id"]) for m in matrices)
    assert matrices[0]["scaleDenominator"] == pytest.approx(559082264.028717)
    tileset = hub.client.get(BASE).json()
    scheme = next(link["href"] for link in tileset["links"]
                  if link["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme")
    assert scheme == listed["links"][0]["href"]
    assert hub.client.get("/ogc/tileMatrixSets/WorldCRS84Quad").status_code == 404
    template = next(link["href"] for link in tileset["links"] if link["rel"] == "item")
    tile = mercantile.tile(SHIBUYA[1], SHIBUYA[0], 15)
    url = (template.replace("{tileMatrix}", str(tile.z)).replace("{tileRow}", str(tile.y))
           .replace("{tileCol}", str(tile.x)))
    assert hub.client.get(url.removeprefix("http://testserver")).status_code == 200

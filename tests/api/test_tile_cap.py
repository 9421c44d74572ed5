"""The tile size cap: on a dense table no tile passes ``HUB_TILE_MAX_KB``; a tile that fits
holds every feature of its area; a thinned one says so with ``count`` attributes that add up
to the features of its area, and is the same bytes every time. Expected features come from
the Python rows (mercantile/pyproj), not from the SQL under test."""

from __future__ import annotations

from collections.abc import Iterator

import mapbox_vector_tile
import mercantile
import pytest
import shapely
import shapely.geometry
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from etl.gtfs import prepare_feed
from etl.prepare import prepare
from etl.publish import publish
from hub.api.app import create_app
from hub.catalog import load_definition
from hub.query.tiles import BUFFER, CLUSTER_COUNT, EXTENT
from tests.api.test_tiles import decode, expected_in_tile
from tests.conftest import create_test_database, drop_test_database, make_settings
from tests.gtfs_feeds import DATASETS, MURORAN, SCHEMAS
from tests.shopdata import SHIBUYA, Shop, make_shops, write_csv

CAP_KB = 16
BASE = "/ogc/collections/test-shops/tiles/WebMercatorQuad"
# The shops cover about 0.05 x 0.04 degrees around Shibuya.
AREA = (SHIBUYA[1] - 0.025, SHIBUYA[0] - 0.02, SHIBUYA[1] + 0.025, SHIBUYA[0] + 0.02)


@pytest.fixture(scope="module")
def dense(pg_cluster, tmp_path_factory) -> Iterator[tuple[TestClient, list[Shop]]]:
    """6,000 shops in 4 km x 5 km, served with a 16 KiB cap and no tile cache (every
    request computes its tile)."""
    url = create_test_database(pg_cluster)
    settings = make_settings(url, tile_max_kb=CAP_KB, tile_cache_mb=0)
    engine = create_engine(url)
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    shops = make_shops(6000, seed=11)
    folder = tmp_path_factory.mktemp("dense")
    publish(engine, prepare(definition, write_csv(folder / "shops.csv", shops, messy=False)))
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        yield client, shops
    drop_test_database(pg_cluster, url)


def tile_url(tile: mercantile.Tile) -> str:
    return f"{BASE}/{tile.z}/{tile.y}/{tile.x}"


def test_no_tile_is_over_the_cap(dense):
    client, _shops = dense
    thinned = 0
    for tile in mercantile.tiles(*AREA, zooms=range(8, 17)):
        response = client.get(tile_url(tile))
        assert response.status_code in (200, 204), response.text[:200]
        assert len(response.content) <= CAP_KB * 1024, (tile, len(response.content))
        if response.content and CLUSTER_COUNT in decode(response.content)[0]["properties"]:
            thinned += 1
    assert thinned > 0, "the dense low zooms should have been thinned"


def test_counts_add_up_to_the_features_of_the_area(dense):
    client, shops = dense
    tile = mercantile.tile(SHIBUYA[1], SHIBUYA[0], 13)
    response = client.get(tile_url(tile))
    features = decode(response.content)
    expected = expected_in_tile(shops, tile)
    assert len(features) < len(expected), "the tile should be thinned"
    assert sum(f["properties"][CLUSTER_COUNT] for f in features) == len(expected)
    kept = {f["properties"]["shop_id"] for f in features}
    assert kept <= set(expected)  # each cell is shown by one of its own features


def test_a_tile_that_fits_holds_every_feature(dense):
    client, shops = dense
    tile = mercantile.tile(SHIBUYA[1], SHIBUYA[0], 17)
    expected = expected_in_tile(shops, tile)
    assert len(expected) > 5
    features = decode(client.get(tile_url(tile)).content)
    assert {f["properties"]["shop_id"] for f in features} == set(expected)
    assert all(CLUSTER_COUNT not in f["properties"] for f in features)


def test_the_same_tile_is_the_same_bytes(dense):
    client, _shops = dense
    for z in (12, 17):
        tile = mercantile.tile(SHIBUYA[1], SHIBUYA[0], z)
        first, again = client.get(tile_url(tile)), client.get(tile_url(tile))
        assert first.content and first.content == again.content


def test_low_zoom_tiles_count_every_feature(dense):
    """At zooms 0..8 the whole table sits in one tile (or near its edge): its counts add up
    to every shop. The buffered envelope of a low-zoom tile reaches past 180 degrees, where
    a transformed envelope used to wrap round and find nothing."""
    client, shops = dense
    for z in range(0, 9):
        tile = mercantile.tile(SHIBUYA[1], SHIBUYA[0], z)
        features = decode(client.get(tile_url(tile)).content)
        assert sum(f["properties"][CLUSTER_COUNT] for f in features) == len(
            expected_in_tile(shops, tile)), z


@pytest.fixture(scope="module")
def route_lines(pg_cluster) -> Iterator[TestClient]:
    """The Muroran feed's routes (lines, the main layer) served with the smallest cap
    (16 KiB), so the town's tiles are thinned."""
    url = create_test_database(pg_cluster)
    engine = create_engine(url)
    publish(engine, prepare_feed(load_definition("bus-routes-muroran", DATASETS, SCHEMAS),
                                 MURORAN))
    engine.dispose()
    settings = make_settings(url, datasets_dir=DATASETS, schemas_dir=SCHEMAS, tile_max_kb=16,
                             tile_cache_mb=0, max_limit=1000)
    with TestClient(create_app(settings)) as client:
        yield client
    drop_test_database(pg_cluster, url)


def buffered_tile_in_degrees(tile: mercantile.Tile) -> shapely.Polygon:
    """The tile with its buffer, as a lon/lat box (lines of constant longitude and latitude
    are straight in Web Mercator, so the square maps to a box)."""
    bounds = mercantile.xy_bounds(tile)
    margin = (bounds.right - bounds.left) * BUFFER / EXTENT
    west, south = mercantile.lnglat(bounds.left - margin, bounds.bottom - margin)
    east, north = mercantile.lnglat(bounds.right + margin, bounds.top + margin)
    return shapely.box(west, south, east, north)


def test_thinned_lines_count_every_line_that_crosses_the_tile(route_lines):
    """Lines are placed in cells by the centre of their bounding box, which may lie outside
    the tile; they belong to it when they cross its buffered area. Expected from the routes'
    GeoJSON (the records API) and shapely, not from the tile SQL."""
    routes = route_lines.get("/v1/datasets/bus-routes-muroran/records",
                             params={"f": "geojson", "limit": 1000}).json()["features"]
    lines = {f["properties"]["route_id"]: shapely.geometry.shape(f["geometry"])
             for f in routes if f["geometry"]}
    assert len(lines) > 10
    station = (140.9736, 42.3177)
    checked = 0
    for z in (11, 12, 13):
        tile = mercantile.tile(*station, z)
        area = buffered_tile_in_degrees(tile)
        expected = {route for route, line in lines.items() if line.intersects(area)}
        response = route_lines.get(
            f"/ogc/collections/bus-routes-muroran/tiles/WebMercatorQuad/{z}/{tile.y}/{tile.x}")
        assert response.status_code == 200 and len(response.content) <= 16 * 1024, z
        features = mapbox_vector_tile.decode(response.content)["bus-routes-muroran"]["features"]
        if all(CLUSTER_COUNT in f["properties"] for f in features):
            checked += 1
            assert sum(f["properties"][CLUSTER_COUNT] for f in features) == len(expected), z
            assert {f["properties"]["route_id"] for f in features} <= expected
    assert checked, "the 16 KiB cap should have thinned the town's tiles"

"""GDAL reading the hub's vector tiles (OGC API - Tiles, WebMercatorQuad, MVT) from a running
hub, compared with the records the items API returns for the same area.

Two GDALs are at hand: Debian's ``gdal-bin`` (ogrinfo/ogr2ogr, 3.6 on Debian 12) and the
newer one bundled in the ``pyogrio`` wheel. Their OGCAPI drivers open the collection URL,
follow its ``tilesets-vector`` link to the tileset and the tile matrix set, and offer one
layer per zoom level ("Zoom level 14"). GDAL reads the collection's CRS84 extent as if it
were in the tile matrix set's CRS, so the area is always given as ``MINX..MAXY`` open
options in EPSG:3857 metres (the driver's documented override).

GDAL 3.6.x cannot open vector tiles from any server: the vector-tile branch of its OGCAPI
driver is compiled out (docs/ogc.md, "GDAL's OGCAPI driver", gives file, condition and the
fixing GDAL change). That test is an expected failure below 3.7.1 and runs as a plain test
once ``gdal-bin`` is newer. ``gdal-bin`` 3.6 still reads the hub's tiles one by one through
its MVT driver, which is tested too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import mercantile
import pyogrio
import pytest
from pyproj import Transformer

from tests.e2e.live_hub import LiveHub, running_hub

with_gdal_bin = pytest.mark.skipif(shutil.which("ogr2ogr") is None,
                                   reason="gdal-bin is not installed (make deps installs it)")

COLLECTION = "test-shops"
TILE_MAX_KB = 16  # the smallest cap: the shops' tiles are thinned up to zoom 13, not at 14
UNTHINNED_ZOOM, THINNED_ZOOM = 14, 11
TO_MERCATOR = Transformer.from_crs("OGC:CRS84", "EPSG:3857", always_xy=True)


def gdal_bin_version() -> tuple[int, ...]:
    if shutil.which("ogrinfo") is None:
        return (0, 0, 0)
    out = subprocess.run(["ogrinfo", "--version"], capture_output=True, text=True).stdout
    found = re.search(r"GDAL (\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(part) for part in found.groups()) if found else (0, 0, 0)


# GDAL 3.6.x: frmts/ogcapi/gdalogcapidataset.cpp, OGCAPIDataset::InitWithTilesAPI(), wraps
# "if (!osVectorURL.empty() && (poOpenInfo->nOpenFlags & GDAL_OF_VECTOR) != 0)" in
# "#ifdef OGR_ENABLE_DRIVER_GML", a macro the OGCAPI target was not compiled with until
# GDAL 3.7.1 (OSGeo/gdal#7993): no layer is made and the open fails without a message.
OGCAPI_VECTOR_TILES_COMPILED_OUT = gdal_bin_version() < (3, 7, 1)
with_pyogrio_ogcapi = pytest.mark.skipif(
    not pyogrio.list_drivers().get("OGCAPI")
    or tuple(pyogrio.__gdal_version__) < (3, 7, 1),
    reason="pyogrio's GDAL has no OGCAPI driver able to read vector tiles")


@pytest.fixture(scope="module")
def live(pg_cluster, tmp_path_factory) -> LiveHub:
    with running_hub(pg_cluster, tmp_path_factory.mktemp("gdal-tiles-hub"), datasets=(),
                     tile_max_kb=TILE_MAX_KB) as hub:
        yield hub


def gdal(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GDAL_HTTP_TIMEOUT": "60", "GDAL_HTTP_MAX_RETRY": "0"}
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


# pyogrio's GDAL runs in a child process: in this one it would hold the GIL while waiting for
# the hub, whose server thread then never answers.
PYOGRIO_JOB = """
import json, sys, pyogrio
job = json.loads(sys.argv[1])
if job["target"]:
    frame = pyogrio.read_dataframe(job["source"], layer=job["layer"], **job["options"])
    pyogrio.write_dataframe(frame, job["target"], layer="shops")
else:
    try:
        pyogrio.read_info(job["source"], layer=job["layer"], **job["options"])
        print("offered")
    except pyogrio.errors.DataLayerError:
        print("absent")
"""


def pyogrio_gdal(source: str, layer: str, target: Path | None = None,
                 **options: object) -> str:
    """Copy ``layer`` of ``source`` into the GeoPackage ``target`` with the GDAL bundled in
    pyogrio, opening ``source`` with ``options``; without ``target``, say whether ``source``
    offers ``layer`` ("offered" or "absent")."""
    job = {"source": source, "layer": layer, "target": target and str(target),
           "options": options}
    result = subprocess.run([sys.executable, "-c", PYOGRIO_JOB, json.dumps(job)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()


def api_records(live: LiveHub, bbox: tuple[float, float, float, float]) -> set[str]:
    """Shop ids the items API returns for ``bbox`` (lon/lat)."""
    response = httpx.get(f"{live.url}/ogc/collections/{COLLECTION}/items",
                         params={"bbox": ",".join(map(str, bbox)), "limit": 1000}, timeout=60)
    response.raise_for_status()
    page = response.json()
    assert page["numberMatched"] == page["numberReturned"]  # one page holds them all
    return {feature["properties"]["shop_id"] for feature in page["features"]}


def collection_bbox(live: LiveHub) -> tuple[float, float, float, float]:
    document = httpx.get(f"{live.url}/ogc/collections/{COLLECTION}", timeout=60).json()
    (bbox,) = document["extent"]["spatial"]["bbox"]
    return tuple(bbox)


def area_options(bbox: tuple[float, float, float, float]) -> dict[str, float]:
    """``bbox`` (lon/lat) as the OGCAPI driver's MINX..MAXY, in EPSG:3857 metres."""
    minx, miny = TO_MERCATOR.transform(bbox[0], bbox[1])
    maxx, maxy = TO_MERCATOR.transform(bbox[2], bbox[3])
    return {"MINX": minx, "MINY": miny, "MAXX": maxx, "MAXY": maxy}


def one_tile(tile: mercantile.Tile) -> dict[str, float]:
    """MINX..MAXY of ``tile`` shrunk by a metre, so the driver visits that tile alone."""
    bounds = mercantile.xy_bounds(tile)
    return {"MINX": bounds.left + 1, "MINY": bounds.bottom + 1,
            "MAXX": bounds.right - 1, "MAXY": bounds.top - 1}


def ogcapi(live: LiveHub) -> str:
    return f"OGCAPI:{live.url}/ogc/collections/{COLLECTION}"


@with_pyogrio_ogcapi
def test_ogcapi_driver_reads_every_record_from_the_tiles_of_one_zoom(live, tmp_path: Path):
    """GDAL's OGCAPI driver (pyogrio's GDAL) walks the tiles of zoom 14 over the collection
    and finds each record once, at the place the API gives it."""
    bbox = collection_bbox(live)
    copied = tmp_path / "zoom.gpkg"
    pyogrio_gdal(ogcapi(live), f"Zoom level {UNTHINNED_ZOOM}", copied, API="TILES",
                 **area_options(bbox))
    frame = pyogrio.read_dataframe(copied, layer="shops")
    expected = api_records(live, bbox)
    assert len(expected) == len(live.shops_v2)
    assert sorted(frame["shop_id"]) == sorted(expected)  # each once: no tile repeats one
    assert "count" not in frame.columns  # no tile of this zoom is thinned
    shops = {shop.shop_id: shop for shop in live.shops_v2}
    for shop_id, point in zip(frame["shop_id"], frame.geometry, strict=True):
        lonlat = TO_MERCATOR.transform(point.x, point.y, direction="INVERSE")
        assert lonlat == pytest.approx((shops[shop_id].lon, shops[shop_id].lat), abs=1e-4)


@with_pyogrio_ogcapi
def test_ogcapi_driver_reads_one_tile_like_the_api_reads_its_area(live, tmp_path: Path):
    tile = mercantile.tile(live.shops_v2[0].lon, live.shops_v2[0].lat, 15)
    copied = tmp_path / "tile.gpkg"
    pyogrio_gdal(ogcapi(live), "Zoom level 15", copied, API="TILES", **one_tile(tile))
    frame = pyogrio.read_dataframe(copied, layer="shops")
    expected = api_records(live, tuple(mercantile.bounds(tile)))
    assert expected
    assert sorted(frame["shop_id"]) == sorted(expected)


@with_pyogrio_ogcapi
def test_ogcapi_driver_shows_the_count_of_a_thinned_tile(live, tmp_path: Path):
    """At zoom 11 the shops' tile passes the 16 KiB cap: GDAL sees fewer features, each
    with the ``count`` of the records it stands for, and the counts add up to all of them."""
    bbox = collection_bbox(live)
    (tile,) = mercantile.tiles(*bbox, THINNED_ZOOM)
    copied = tmp_path / "thinned.gpkg"
    pyogrio_gdal(ogcapi(live), f"Zoom level {THINNED_ZOOM}", copied, API="TILES",
                 **one_tile(tile))
    frame = pyogrio.read_dataframe(copied, layer="shops")
    expected = api_records(live, bbox)
    assert 0 < len(frame) < len(expected)
    assert set(frame["shop_id"]) <= expected
    assert frame["count"].min() >= 1
    assert frame["count"].sum() == len(expected)


@with_pyogrio_ogcapi
def test_ogcapi_driver_offers_the_zoom_levels_the_tileset_lists(live):
    """The tileset's ``tileMatrixSetLimits`` end at its deepest zoom: GDAL offers a layer
    per zoom up to that one, not one per tile matrix of WebMercatorQuad (0..24)."""
    tileset = httpx.get(f"{live.url}/ogc/collections/{COLLECTION}/tiles/WebMercatorQuad",
                        timeout=60).json()
    (layer,) = tileset["layers"]
    first, last = int(layer["minTileMatrix"]), int(layer["maxTileMatrix"])
    assert last < 24
    area = area_options(collection_bbox(live))
    offered = {zoom: pyogrio_gdal(ogcapi(live), f"Zoom level {zoom}", API="TILES", **area)
               for zoom in (first, last, last + 1)}
    assert offered == {first: "offered", last: "offered", last + 1: "absent"}


@with_gdal_bin
@pytest.mark.xfail(OGCAPI_VECTOR_TILES_COMPILED_OUT, strict=True, raises=AssertionError,
                   reason="GDAL 3.6.x builds its OGCAPI driver without the vector-tile branch "
                          "(#ifdef OGR_ENABLE_DRIVER_GML never set; fixed in GDAL 3.7.1, "
                          "OSGeo/gdal#7993); see docs/ogc.md")
def test_gdal_bin_ogr2ogr_copies_the_tiles_of_one_zoom(live, tmp_path: Path):
    """``ogr2ogr`` from gdal-bin, through the OGCAPI driver: the copy at zoom 14 holds the
    records of the API, and the debug log shows the tiles were what GDAL read."""
    bbox = collection_bbox(live)
    target = tmp_path / "tiles.gpkg"
    options = [arg for name, value in area_options(bbox).items()
               for arg in ("-oo", f"{name}={value}")]
    result = gdal("ogr2ogr", "--debug", "on", "-f", "GPKG", str(target), ogcapi(live),
                  f"Zoom level {UNTHINNED_ZOOM}", "-oo", "API=TILES", *options, "-nln", "shops")
    assert f"/tiles/WebMercatorQuad/{UNTHINNED_ZOOM}/" in result.stderr
    frame = pyogrio.read_dataframe(target, layer="shops")
    assert sorted(frame["shop_id"]) == sorted(api_records(live, bbox))


@with_gdal_bin
def test_gdal_bin_mvt_driver_reads_a_hub_tile(live, tmp_path: Path):
    """What gdal-bin 3.6 can do today: ``ogr2ogr`` copies one tile, opened by URL with the
    MVT driver (``X``/``Y``/``Z`` place it), with the records of the tile's area; a thinned
    tile shows its ``count``."""
    tile = mercantile.tile(live.shops_v2[0].lon, live.shops_v2[0].lat, 15)
    copied = tmp_path / "tile.gpkg"
    gdal("ogr2ogr", "-f", "GPKG", str(copied), tile_url(live, tile),
         "-oo", f"X={tile.x}", "-oo", f"Y={tile.y}", "-oo", f"Z={tile.z}", "-nln", "shops")
    frame = pyogrio.read_dataframe(copied, layer="shops")
    assert sorted(frame["shop_id"]) == sorted(api_records(live, tuple(mercantile.bounds(tile))))

    bbox = collection_bbox(live)
    (thinned,) = mercantile.tiles(*bbox, THINNED_ZOOM)
    out = gdal("ogrinfo", "-ro", "-al", tile_url(live, thinned), "-oo", f"X={thinned.x}",
               "-oo", f"Y={thinned.y}", "-oo", f"Z={thinned.z}").stdout
    counts = [int(value) for value in re.findall(r"^\s*count \(Integer\S*\) = (\d+)$", out,
                                                  flags=re.M)]
    assert counts and sum(counts) == len(api_records(live, bbox))


def tile_url(live: LiveHub, tile: mercantile.Tile) -> str:
    """The tile as a GDAL virtual file. The URL goes in ``url=`` with an option after it:
    a name ending in the tile numbers is taken by GDAL 3.6's MVT driver for a folder of
    z/x/y tiles, whose neighbours it then probes; ``use_head=no`` skips a HEAD request the
    hub refuses (405)."""
    url = (f"{live.url}/ogc/collections/{COLLECTION}/tiles/WebMercatorQuad/"
           f"{tile.z}/{tile.y}/{tile.x}")
    return f"/vsicurl?url={url}&use_head=no"

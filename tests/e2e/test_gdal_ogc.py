"""GDAL's OAPIF driver (ogrinfo, ogr2ogr from gdal-bin) against a running hub.

The GeoPackage ogr2ogr writes is read back with pyogrio and compared with the database (the
version table queried directly), and the driver's debug log proves the CQL2 filter and the
bbox were sent to the server rather than applied client-side.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pyogrio
import pytest
from sqlalchemy import create_engine, text

from tests.e2e.live_hub import LiveHub, running_hub
from tests.shopdata import CATEGORIES

pytestmark = pytest.mark.skipif(shutil.which("ogr2ogr") is None,
                                reason="gdal-bin is not installed (make deps installs it)")


@pytest.fixture(scope="module")
def live(pg_cluster, tmp_path_factory) -> LiveHub:
    with running_hub(pg_cluster, tmp_path_factory.mktemp("gdal-hub")) as hub:
        yield hub


def gdal(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GDAL_HTTP_TIMEOUT": "60", "CPL_CURL_VERBOSE": "NO",
           "GDAL_HTTP_MAX_RETRY": "0"}
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


def fetched_urls(stderr: str) -> list[str]:
    return re.findall(r"HTTP: Fetch\((\S+)\)\s*$", stderr, flags=re.M)


def test_ogrinfo_lists_the_collections(live):
    out = gdal("ogrinfo", "-ro", "-q", f"OAPIF:{live.url}/ogc").stdout
    layers = set(re.findall(r"^\d+: (\S+)", out, flags=re.M))
    assert {"test-shops", "yaizu-aed", "yaizu-accessible-shops"} <= layers
    summary = gdal("ogrinfo", "-ro", "-so", f"OAPIF:{live.url}/ogc", "test-shops").stdout
    assert "Feature Count: 290" in summary
    assert "Geometry: Point" in summary


def test_ogr2ogr_copies_with_cql2_filter_and_bbox_pushed_down(live, tmp_path: Path):
    target = tmp_path / "cafes.gpkg"
    where = f"floors >= 5 AND category = '{CATEGORIES[0]}'"
    spat = (139.69, 35.645, 139.715, 35.67)
    result = gdal("ogr2ogr", "--debug", "on", "-f", "GPKG", str(target),
                  f"OAPIF:{live.url}/ogc", "test-shops", "-where", where,
                  "-spat", *map(str, spat), "-oo", "PAGE_SIZE=50", "-nln", "cafes")
    urls = [u for u in fetched_urls(result.stderr) if "/items" in u]
    assert urls, result.stderr[-2000:]
    assert any("filter-lang=cql-text" in u and "filter=" in u and "bbox=" in u for u in urls), urls
    assert "evaluated on client side" not in result.stderr

    engine = create_engine(live.database_url)
    with engine.connect() as conn:
        expected = {row.shop_id: (row.x, row.y) for row in conn.execute(text(
            "SELECT shop_id, ST_X(geom) AS x, ST_Y(geom) AS y FROM data.test_shops__v2 "
            "WHERE floors >= 5 AND category = :category "
            "AND ST_Intersects(geom, ST_MakeEnvelope(:a, :b, :c, :d, 4326))"),
            {"category": CATEGORIES[0], "a": spat[0], "b": spat[1], "c": spat[2], "d": spat[3]})}
    engine.dispose()
    assert len(expected) >= 3

    frame = pyogrio.read_dataframe(target, layer="cafes")
    assert set(frame["shop_id"]) == set(expected)
    for shop_id, geometry, floors in zip(frame["shop_id"], frame.geometry, frame["floors"],
                                         strict=True):
        assert (geometry.x, geometry.y) == pytest.approx(expected[shop_id], abs=1e-7)
        assert floors >= 5
    assert set(frame["category"]) == {CATEGORIES[0]}


def test_ogr2ogr_copies_a_pinned_version_whole(live, tmp_path: Path):
    target = tmp_path / "v1.gpkg"
    gdal("ogr2ogr", "-f", "GPKG", str(target),
         f"OAPIF:{live.url}/ogc/collections/test-shops@v1", "-oo", "PAGE_SIZE=1000")
    info = pyogrio.read_info(target)
    assert info["features"] == 300
    frame = pyogrio.read_dataframe(target)
    assert set(frame["shop_id"]) == {s.shop_id for s in live.shops_v1}


@pytest.fixture(scope="module")
def capped_live(pg_cluster, tmp_path_factory) -> LiveHub:
    """A hub that counts a filtered page only up to 10 matches (HUB_COUNT_CAP)."""
    with running_hub(pg_cluster, tmp_path_factory.mktemp("gdal-capped-hub"), datasets=(),
                     count_cap=10) as hub:
        yield hub


def test_ogr2ogr_pages_a_filter_whose_count_is_left_out(capped_live, tmp_path: Path):
    """More matches than the cap: the pages carry no numberMatched, and GDAL follows the
    next links to the end, counting and copying every match."""
    where = f"category = '{CATEGORIES[1]}'"
    expected = {s.shop_id for s in capped_live.shops_v2 if s.category == CATEGORIES[1]}
    assert len(expected) > 3 * 10
    target = tmp_path / "filtered.gpkg"
    result = gdal("ogr2ogr", "--debug", "on", "-f", "GPKG", str(target),
                  f"OAPIF:{capped_live.url}/ogc", "test-shops", "-where", where,
                  "-oo", "PAGE_SIZE=10", "-nln", "filtered")
    pages = [u for u in fetched_urls(result.stderr) if "/items" in u and "filter=" in u]
    assert len(pages) > 3, pages
    frame = pyogrio.read_dataframe(target, layer="filtered")
    assert sorted(frame["shop_id"]) == sorted(expected)
    summary = gdal("ogrinfo", "-ro", "-so", f"OAPIF:{capped_live.url}/ogc", "test-shops",
                   "-where", where, "-oo", "PAGE_SIZE=10").stdout
    assert f"Feature Count: {len(expected)}" in summary

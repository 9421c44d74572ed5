"""The bulk GeoPackage writer (hub.export.gpkg) against GDAL's own output for the same rows.

Every layer is written twice: by the hub's writer and by GDAL's Arrow writer (pyogrio, the
path it replaced). GDAL must read both the same (values, NULLs, Japanese text, date-times,
times as text, geometries, fids), the schema and metadata must match (table DDL, triggers,
``gpkg_*`` rows, application id), and the R-tree must pass SQLite's ``rtreecheck``, hold
exactly the non-empty geometries with boxes that contain them, and answer GDAL's bbox
filters as GDAL's own index does.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, date, datetime, time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyogrio
import pytest
import shapely

from hub.export import rtree
from hub.export.gpkg_schema import rtree_name
from hub.export.writers import arrow_schema, write_gpkg_layer, write_gpkg_layer_gdal

FIELDS = [("shop_id", "string"), ("name", "string"), ("floors", "integer"),
          ("rating", "number"), ("step_free", "boolean"), ("opened", "date"),
          ("updated", "datetime"), ("opens", "time"), ("built", "year")]
# Metadata that legitimately differs between two writes: the time of the write.
VOLATILE = {"last_change"}


def _version(has_geometry: bool = True, row_count: int = 0) -> SimpleNamespace:
    fields = [SimpleNamespace(name=n, type=t) for n, t in FIELDS]
    return SimpleNamespace(schema=SimpleNamespace(fields=fields), has_geometry=has_geometry,
                           row_count=row_count)


def _rows(count: int, geometries: list[shapely.Geometry | None]) -> dict[str, list]:
    """Values of every type with NULLs in each column, Japanese text and sub-second times."""
    def maybe(i: int, value: object, every: int) -> object:
        return None if i % every == 0 else value

    return {
        "shop_id": [f"S{i:06d}" for i in range(count)],
        "name": [maybe(i, f"渋谷の店 {i} «カフェ»", 7) for i in range(count)],
        "floors": [maybe(i, i % 12, 5) for i in range(count)],
        "rating": [maybe(i, i / 7, 6) for i in range(count)],
        "step_free": [maybe(i, i % 3 == 0, 4) for i in range(count)],
        "opened": [maybe(i, date(1990, 1, 1).fromordinal(726000 + i % 9000), 8)
                   for i in range(count)],
        "updated": [maybe(i, datetime(2024, 5, 1, i % 24, i % 60, i % 60,
                                      (i % 3) * 250_000, tzinfo=UTC), 9)
                    for i in range(count)],
        "opens": [maybe(i, time(i % 24, i % 60), 10) for i in range(count)],
        "built": [maybe(i, 1950 + i % 70, 11) for i in range(count)],
        "geometry": [None if g is None else shapely.to_wkb(g) for g in geometries],
    }


def _batches(rows: dict[str, list], version: SimpleNamespace,
             size: int) -> list[pa.RecordBatch]:
    schema = arrow_schema(version)
    table = pa.table({f.name: pa.array(rows[f.name], f.type) for f in schema}, schema=schema)
    return table.to_batches(max_chunksize=size)


def _points(count: int) -> list[shapely.Geometry | None]:
    """Points along streets (a lattice, the way places cluster), some NULL, a few empty."""
    rng = np.random.default_rng(7)
    x = 139.6 + rng.integers(0, 300, count) * 1e-4 + rng.normal(0, 1e-5, count)
    y = 35.6 + rng.integers(0, 300, count) * 1e-4 + rng.normal(0, 1e-5, count)
    geoms: list[shapely.Geometry | None] = list(shapely.points(x, y))
    for i in range(0, count, 13):
        geoms[i] = None
    for i in range(5, count, 101):
        geoms[i] = shapely.Point()
    return geoms


def _polygons(count: int) -> list[shapely.Geometry | None]:
    geoms: list[shapely.Geometry | None] = []
    for i in range(count):
        x, y = 139.6 + (i % 40) * 1e-3, 35.6 + (i // 40) * 1e-3
        geoms.append(None if i % 17 == 0 else
                     shapely.MultiPolygon([shapely.box(x, y, x + 5e-4, y + 3e-4)])
                     if i % 2 else shapely.box(x, y, x + 4e-4, y + 4e-4))
    return geoms


def _write_both(tmp_path, layers: list[tuple[str, dict[str, list], SimpleNamespace,
                                            list[tuple[str, int]]]]) -> tuple[str, str]:
    """The layers written into one file by the bulk writer and into another by GDAL."""
    paths = (str(tmp_path / "bulk.gpkg"), str(tmp_path / "gdal.gpkg"))
    for path, writer in zip(paths, (write_gpkg_layer, write_gpkg_layer_gdal), strict=True):
        for index, (layer, rows, version, types) in enumerate(layers):
            writer(iter(_batches(rows, version, 700)), path, version, layer=layer,
                   geometry_types=types, append=index > 0)
    return paths


def _schema_sql(path: str) -> dict[str, str]:
    with closing(sqlite3.connect(path)) as con:
        return dict(con.execute(
            "SELECT name, sql FROM sqlite_master WHERE name NOT LIKE 'gpkg_tile_matrix%' "
            "AND name NOT LIKE 'sqlite_autoindex_gpkg_tile%'"))


def _table(path: str, table: str) -> list[dict[str, object]]:
    with closing(sqlite3.connect(path)) as con:
        con.row_factory = sqlite3.Row
        return [{k: row[k] for k in row.keys() if k not in VOLATILE}  # noqa: SIM118
                for row in con.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    points = _rows(3000, _points(3000))
    polygons = _rows(400, _polygons(400))
    visits = _rows(120, [None] * 120)
    layers = [("shops", points, _version(), [("POINT", 2)]),
              ("parcels", polygons, _version(), [("MULTIPOLYGON", 2), ("POLYGON", 2)]),
              ("visits", visits, _version(has_geometry=False), [])]
    with pytest.MonkeyPatch.context() as patch:
        # leaves written in chunks of 4 leaves (204 boxes) while the rows stream, not 2048
        patch.setattr(rtree, "CHUNK_LEAVES", 4)
        bulk, gdal = _write_both(tmp_path_factory.mktemp("gpkg"), layers)
    return bulk, gdal, {name: rows for name, rows, _v, _t in layers}


def test_gdal_reads_the_same_rows_from_both(written) -> None:
    bulk, gdal, _rows_by_layer = written
    assert pyogrio.list_layers(bulk).tolist() == pyogrio.list_layers(gdal).tolist()
    for layer in ("shops", "parcels", "visits"):
        _meta, ours = pyogrio.read_arrow(bulk, layer=layer, return_fids=True)
        _meta, theirs = pyogrio.read_arrow(gdal, layer=layer, return_fids=True)
        assert ours.schema == theirs.schema
        assert ours.equals(theirs), layer
        info = pyogrio.read_info(bulk, layer=layer)
        assert info["features"] == pyogrio.read_info(gdal, layer=layer)["features"]
        assert info["crs"] == pyogrio.read_info(gdal, layer=layer)["crs"]
        assert info["geometry_type"] == pyogrio.read_info(gdal, layer=layer)["geometry_type"]


def test_values_nulls_and_geometries_are_the_source_rows(written) -> None:
    bulk, _gdal, rows_by_layer = written
    rows = rows_by_layer["shops"]
    frame = pyogrio.read_dataframe(bulk, layer="shops", fid_as_index=True)
    assert frame.index.tolist() == list(range(1, 3001))
    assert frame["shop_id"].tolist() == rows["shop_id"]
    assert [None if v is None or v != v else v for v in frame["name"]] == rows["name"]
    assert frame["name"].iloc[1] == "渋谷の店 1 «カフェ»"
    assert [None if g is None else g.wkb for g in frame.geometry] == rows["geometry"]
    with closing(sqlite3.connect(bulk)) as con:
        stored = con.execute("SELECT updated, opens, opened, step_free, built FROM shops "
                             "WHERE fid IN (2, 3, 10) ORDER BY fid").fetchall()
    # GDAL's text forms: UTC date-times with milliseconds only when there are some
    assert stored == [
        ("2024-05-01T01:01:01.250Z", "01:01:00.000000", rows["opened"][1].isoformat(), 0,
         1951),
        ("2024-05-01T02:02:02.500Z", "02:02:00.000000", rows["opened"][2].isoformat(), 0,
         1952),
        (None, "09:09:00.000000",
         rows["opened"][9].isoformat(), 1, 1959)]


def test_schema_and_metadata_are_gdals(written) -> None:
    bulk, gdal, _rows = written
    ours, theirs = _schema_sql(bulk), _schema_sql(gdal)
    assert ours == theirs
    for table in ("gpkg_geometry_columns", "gpkg_spatial_ref_sys", "gpkg_extensions",
                  "gpkg_ogr_contents", "sqlite_sequence"):
        assert _table(bulk, table) == _table(gdal, table), table
    # the same contents; the extent is the geometries' exact one, GDAL's is rounded
    extent = ("min_x", "min_y", "max_x", "max_y")
    ours_contents, theirs_contents = _table(bulk, "gpkg_contents"), _table(gdal, "gpkg_contents")
    for mine, gdals in zip(ours_contents, theirs_contents, strict=True):
        assert {k: v for k, v in mine.items() if k not in extent} == {
            k: v for k, v in gdals.items() if k not in extent}
        if gdals["min_x"] is None:
            assert [mine[k] for k in extent] == [None] * 4
        else:
            assert [mine[k] for k in extent] == pytest.approx([gdals[k] for k in extent],
                                                              rel=0, abs=1e-12)
    with closing(sqlite3.connect(bulk)) as con:
        assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
        assert con.execute("PRAGMA user_version").fetchone()[0] == 10400
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        extensions = con.execute("SELECT table_name, column_name, extension_name, scope "
                                 "FROM gpkg_extensions ORDER BY 1").fetchall()
    assert extensions == [("parcels", "geom", "gpkg_rtree_index", "write-only"),
                          ("shops", "geom", "gpkg_rtree_index", "write-only")]


@pytest.mark.parametrize("layer", ["shops", "parcels"])
def test_rtree_holds_every_non_empty_geometry_in_its_box(written, layer) -> None:
    bulk, gdal, _rows = written
    name = rtree_name(layer)
    frame = pyogrio.read_dataframe(bulk, layer=layer, fid_as_index=True)
    geoms = frame.geometry.to_numpy()
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    with closing(sqlite3.connect(bulk)) as con:
        assert con.execute(f"SELECT rtreecheck('{name}')").fetchone()[0] == "ok"
        boxes = con.execute(f"SELECT id, minx, maxx, miny, maxy FROM {name} ORDER BY id"
                            ).fetchall()
        rowids = con.execute(f"SELECT count(*) FROM {name}_rowid").fetchone()[0]
    assert [b[0] for b in boxes] == frame.index[present].tolist()
    assert rowids == len(boxes) == int(present.sum())
    bounds = shapely.bounds(geoms[present])
    stored = np.array([b[1:] for b in boxes])
    assert np.all(stored[:, 0] <= bounds[:, 0]) and np.all(stored[:, 1] >= bounds[:, 2])
    assert np.all(stored[:, 2] <= bounds[:, 1]) and np.all(stored[:, 3] >= bounds[:, 3])
    # the same rows as in GDAL's index (whose float32 rounding is a little looser)
    with closing(sqlite3.connect(gdal)) as con:
        assert [b[0] for b in boxes] == [row[0] for row in con.execute(
            f"SELECT id FROM {name} ORDER BY id")]


def test_gdal_bbox_filters_answer_as_with_its_own_index(written) -> None:
    bulk, gdal, _rows = written
    for bbox in [(139.61, 35.61, 139.615, 35.62), (139.6, 35.6, 139.7, 35.7),
                 (140.0, 36.0, 140.1, 36.1)]:
        for layer in ("shops", "parcels"):
            ours = pyogrio.read_dataframe(bulk, layer=layer, bbox=bbox, fid_as_index=True)
            theirs = pyogrio.read_dataframe(gdal, layer=layer, bbox=bbox, fid_as_index=True)
            assert sorted(ours.index) == sorted(theirs.index)  # index order differs


def test_a_deep_tree_is_valid_and_used(tmp_path) -> None:
    """140,000 points: a full chunk of leaves written while streaming, the rest at the end,
    two levels of inner nodes and the root (51 cells a node)."""
    count = 140_000
    rng = np.random.default_rng(1)
    x, y = 139.0 + rng.random(count), 35.0 + rng.random(count)
    version = SimpleNamespace(schema=SimpleNamespace(fields=[
        SimpleNamespace(name="shop_id", type="string")]), has_geometry=True, row_count=count)
    ids = pa.array([f"S{i}" for i in range(count)])
    wkb = pa.array(shapely.to_wkb(shapely.points(x, y)), pa.binary())
    batches = pa.table({"shop_id": ids, "geometry": wkb}).to_batches(max_chunksize=50_000)
    path = str(tmp_path / "deep.gpkg")
    write_gpkg_layer(iter(batches), path, version, layer="shops",
                     geometry_types=[("POINT", 2)], append=False)
    name = rtree_name("shops")
    with closing(sqlite3.connect(path)) as con:
        assert con.execute(f"SELECT rtreecheck('{name}')").fetchone()[0] == "ok"
        depth = int.from_bytes(con.execute(
            f"SELECT substr(data, 1, 2) FROM {name}_node WHERE nodeno = 1").fetchone()[0], "big")
        assert depth == 3
        assert con.execute("PRAGMA page_size").fetchone()[0] == 65536  # a large layer
        inside = con.execute(f"SELECT count(*) FROM {name} WHERE minx >= 139.2 AND "
                             "maxx <= 139.3 AND miny >= 35.4 AND maxy <= 35.5").fetchone()[0]
    expected = int(np.sum((x >= 139.2) & (x <= 139.3) & (y >= 35.4) & (y <= 35.5)))
    assert abs(inside - expected) <= 2  # boxes are float32, rounded outwards
    frame = pyogrio.read_dataframe(path, bbox=(139.2, 35.4, 139.3, 35.5))
    assert abs(len(frame) - expected) <= 2
    info = pyogrio.read_info(path)
    assert info["features"] == count
    assert info["total_bounds"] == pytest.approx((x.min(), y.min(), x.max(), y.max()))


def test_gdal_can_keep_editing_the_file(written, tmp_path) -> None:
    """A feature appended by GDAL gets the next fid (AUTOINCREMENT and sqlite_sequence are
    in place) and reaches the R-tree and the feature count through the triggers."""
    bulk, _gdal, _layers = written
    path = str(tmp_path / "edited.gpkg")
    with closing(sqlite3.connect(bulk)) as source, closing(sqlite3.connect(path)) as target:
        source.backup(target)
    version = _version()
    extra = _batches(_rows(1, [shapely.Point(150.0, 40.0)]), version, 10)[0]
    write_gpkg_layer_gdal(iter([extra]), path, version, layer="shops",
                          geometry_types=[("POINT", 2)], append=True)
    name = rtree_name("shops")
    with closing(sqlite3.connect(path)) as con:
        assert con.execute("SELECT max(fid) FROM shops").fetchone()[0] == 3001
        assert con.execute("SELECT seq FROM sqlite_sequence WHERE name = 'shops'"
                           ).fetchone()[0] == 3001
        assert con.execute(f"SELECT id FROM {name} WHERE minx >= 149.9").fetchall() == [(3001,)]
        assert con.execute(f"SELECT rtreecheck('{name}')").fetchone()[0] == "ok"
        assert con.execute("SELECT feature_count FROM gpkg_ogr_contents "
                           "WHERE table_name = 'shops'").fetchone()[0] == 3001
    frame = pyogrio.read_dataframe(path, layer="shops", bbox=(149.9, 39.9, 150.1, 40.1),
                                   fid_as_index=True)
    assert frame.index.tolist() == [3001]


@pytest.mark.parametrize("count", [0, 1, 51, 52])
def test_small_layers_have_a_valid_tree(tmp_path, count) -> None:
    """No row, a root that is the only leaf (up to 51 boxes), a root over two leaves."""
    version = _version()
    rows = _rows(count, [shapely.Point(139.6 + i * 1e-3, 35.6) for i in range(count)])
    path = str(tmp_path / "small.gpkg")
    write_gpkg_layer(iter(_batches(rows, version, 20)), path, version, layer="shops",
                     geometry_types=[("POINT", 2)], append=False)
    name = rtree_name("shops")
    with closing(sqlite3.connect(path)) as con:
        assert con.execute(f"SELECT rtreecheck('{name}')").fetchone()[0] == "ok"
        assert con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] == count
        depth = int.from_bytes(con.execute(
            f"SELECT substr(data, 1, 2) FROM {name}_node WHERE nodeno = 1").fetchone()[0], "big")
    assert depth == (1 if count > 51 else 0)
    frame = pyogrio.read_dataframe(path, bbox=(139.6005, 35.5, 139.6015, 35.7))
    assert frame["shop_id"].tolist() == rows["shop_id"][1:2]


def test_the_writer_does_not_load_pandas(tmp_path) -> None:
    """pyarrow imports pandas on many Python conversions (~0.4 s and ~40 MB per export
    process); the GeoPackage writer, points or polygons, with NULLs and empties, avoids
    them. The rows reach a fresh interpreter as an Arrow IPC file."""
    layers = {"points": [shapely.Point(1, 2), None, shapely.Point()],
              "polygons": [shapely.box(0, 0, 1, 1), None, shapely.Polygon()]}
    for name, geoms in layers.items():
        rows = _rows(3, geoms)
        with pa.ipc.new_file(tmp_path / f"{name}.arrow", arrow_schema(_version())) as out:
            for batch in _batches(rows, _version(), 2):
                out.write_batch(batch)
    script = f"""
import sys
from types import SimpleNamespace
import pyarrow.ipc
from hub.export.writers import write_gpkg_layer
fields = [SimpleNamespace(name=n, type=t) for n, t in {FIELDS!r}]
version = SimpleNamespace(schema=SimpleNamespace(fields=fields), has_geometry=True, row_count=3)
for n, (name, kind) in enumerate([("points", "POINT"), ("polygons", "POLYGON")]):
    batches = pyarrow.ipc.open_file("{tmp_path}/" + name + ".arrow").read_all().to_batches()
    assert "pandas" not in sys.modules
    write_gpkg_layer(iter(batches), "{tmp_path}/p.gpkg", version, layer=name,
                     geometry_types=[(kind, 2)], append=n > 0)
print("pandas" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=False, cwd=str(Path(__file__).resolve().parents[2]))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    for name, geoms in layers.items():
        frame = pyogrio.read_dataframe(str(tmp_path / "p.gpkg"), layer=name)
        assert [None if g is None else g.wkb for g in frame.geometry] == [
            None if g is None else g.wkb for g in geoms]

"""Bulk files read back with independent readers and compared with the database.

pandas reads the CSVs, GDAL (pyogrio) the GeoJSON and GeoPackage, pyarrow / geopandas /
DuckDB the GeoParquet (and its ``geo`` metadata), frictionless the Data Package; checksums
and sizes are recomputed from the bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import zipfile
from pathlib import Path

import duckdb
import geopandas
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely
from sqlalchemy import create_engine, text

from hub.catalog import load_definition
from hub.data import Data
from hub.data.exports import ExportSource
from hub.export import VersionExporter
from hub.export.formats import version_group
from hub.storage import LocalArtifactStore
from tests.conftest import create_test_database, drop_test_database, make_settings
from tests.exporthub import FORMULA_NAMES, formula_shops, publish_shops, publish_two_layers


@pytest.fixture(scope="module")
def exported(pg_cluster, tmp_path_factory):
    url = create_test_database(pg_cluster)
    settings = make_settings(url)
    engine = create_engine(url)
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    folder = tmp_path_factory.mktemp("export")
    shops = formula_shops(300)
    publish_shops(engine, definition, folder, shops, "v1.csv")
    publish_two_layers(engine, definition, folder, shops[:50])
    store = LocalArtifactStore(folder / "artifacts")
    data = Data(engine)
    # tiny batches so every writer goes through many batches
    exporter = VersionExporter(ExportSource(engine, batch_rows=64), store)
    dataset = data.dataset("test-shops")
    manifests = {n: exporter.ensure(dataset, data.version("test-shops", n)) for n in (1, 2)}
    yield engine, store, exporter, manifests, data
    engine.dispose()
    drop_test_database(pg_cluster, url)


def _path(store: LocalArtifactStore, version: int, name: str) -> Path:
    return store.root / version_group("test-shops", version) / name


def _db_rows(engine, table: str = "test_shops__v1") -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(
            f"SELECT shop_id, name, category, floors, step_free, opened, latitude, longitude, "
            f"ST_AsBinary(geom) AS wkb FROM data.{table} ORDER BY _fid"), conn)


def test_manifest_sizes_and_checksums_match_the_bytes(exported) -> None:
    _engine, store, _exporter, manifests, _data = exported
    names = {a.name for a in manifests[1].artifacts}
    assert names == {"download.csv", "download.excel.csv", "download.geojson",
                     "download.parquet", "download.gpkg", "download.zip"}
    for version, manifest in manifests.items():
        for artifact in manifest.artifacts:
            data = _path(store, version, artifact.name).read_bytes()
            assert artifact.bytes == len(data)
            assert artifact.sha256 == hashlib.sha256(data).hexdigest()
    assert {a.name for a in manifests[2].artifacts} >= {
        "layers/visits/download.csv", "layers/visits/download.parquet",
        "layers/visits/download.geojson", "layers/visits/download.excel.csv"}
    assert not (store.root / ".staging").exists() or not any((store.root / ".staging").iterdir())


def test_csv_equals_the_database(exported) -> None:
    engine, store, *_ = exported
    frame = pd.read_csv(_path(store, 1, "download.csv"), dtype={"shop_id": str},
                        keep_default_na=False, na_values=[""])
    db = _db_rows(engine)
    assert list(frame.columns) == ["shop_id", "name", "category", "floors", "step_free",
                                   "opened", "latitude", "longitude", "geometry"]
    assert len(frame) == len(db) == 300
    assert frame["shop_id"].tolist() == db["shop_id"].tolist()
    assert frame["name"].tolist() == db["name"].tolist()
    assert frame["floors"].astype("Int64").tolist() == db["floors"].astype("Int64").tolist()
    assert [None if pd.isna(v) else bool(v) for v in frame["step_free"]] == [
        None if pd.isna(v) else bool(v) for v in db["step_free"]]
    raw = _path(store, 1, "download.csv").read_text(encoding="utf-8")
    assert ",true," in raw and ",false," in raw  # booleans spelled out, not t/f
    assert frame["opened"].fillna("").tolist() == [
        "" if v is None else v.isoformat() for v in db["opened"]]
    geoms = shapely.from_wkt(frame["geometry"].tolist())
    assert all(shapely.equals_exact(shapely.from_wkb(w), g, tolerance=1e-12)
               for w, g in zip(db["wkb"], geoms, strict=True))
    # the plain CSV is not neutralised
    assert frame["name"].iloc[0] == FORMULA_NAMES[0]


def test_excel_csv_has_bom_and_neutralised_formulas(exported) -> None:
    _engine, store, *_ = exported
    raw = _path(store, 1, "download.excel.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    excel = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    plain = pd.read_csv(_path(store, 1, "download.csv"), dtype=str, keep_default_na=False)
    for index, name in FORMULA_NAMES.items():
        assert excel["name"].iloc[index] == "'" + name
    unchanged = [i for i in range(len(plain)) if i not in FORMULA_NAMES]
    assert excel.iloc[unchanged].equals(plain.iloc[unchanged])
    # numbers stay numbers (a negative longitude would not get an apostrophe)
    assert excel["latitude"].tolist() == plain["latitude"].tolist()


def test_geojson_read_by_gdal(exported) -> None:
    engine, store, *_ = exported
    path = _path(store, 1, "download.geojson")
    frame = pyogrio.read_dataframe(path)
    db = _db_rows(engine)
    assert len(frame) == 300 and frame.crs.to_epsg() == 4326
    assert frame["shop_id"].tolist() == db["shop_id"].tolist()
    assert all(shapely.equals_exact(shapely.from_wkb(w), g, tolerance=1e-9)
               for w, g in zip(db["wkb"], frame.geometry, strict=True))
    document = json.loads(path.read_bytes())
    assert document["type"] == "FeatureCollection"
    assert document["features"][0]["id"] == "S0001"
    assert document["features"][0]["properties"]["name"] == FORMULA_NAMES[0]


def test_geoparquet_metadata_and_values(exported) -> None:
    engine, store, _exporter, _manifests, data = exported
    path = _path(store, 1, "download.parquet")
    parquet = pq.ParquetFile(path)
    geo = json.loads(parquet.schema_arrow.metadata[b"geo"])
    assert geo["version"].startswith("1.") and geo["primary_column"] == "geometry"
    column = geo["columns"]["geometry"]
    assert column["encoding"] == "WKB" and column["geometry_types"] == ["Point"]
    assert column["bbox"] == pytest.approx(list(data.version("test-shops", 1).bbox))
    assert parquet.metadata.num_row_groups > 1  # streamed in batches
    frame = geopandas.read_parquet(path)
    db = _db_rows(engine)
    assert frame.crs.equals("OGC:CRS84") or frame.crs.to_epsg() in (4326, None)
    assert frame["shop_id"].tolist() == db["shop_id"].tolist()
    assert frame["floors"].astype("Int64").tolist() == db["floors"].astype("Int64").tolist()
    assert frame["opened"].tolist() == db["opened"].tolist()
    assert [g.wkb for g in frame.geometry] == [bytes(w) for w in db["wkb"]]
    with duckdb.connect() as con:
        count, names = con.execute(
            f"SELECT count(*), count(DISTINCT name) FROM read_parquet('{path}')").fetchall()[0]
    assert (count, names) == (300, len(set(db["name"])))


def test_geopackage_read_by_gdal(exported) -> None:
    engine, store, *_ = exported
    path = _path(store, 2, "download.gpkg")
    layers = {name for name, _kind in pyogrio.list_layers(path)}
    assert layers == {"shops", "visits"}
    shops = pyogrio.read_dataframe(path, layer="shops")
    db = _db_rows(engine, "test_shops__v2")
    assert len(shops) == 50 and shops.crs.to_epsg() == 4326
    assert shops["shop_id"].tolist() == db["shop_id"].tolist()
    assert [g.wkb for g in shops.geometry] == [bytes(w) for w in db["wkb"]]
    visits = pyogrio.read_dataframe(path, layer="visits", read_geometry=False)
    assert len(visits) == 40
    with sqlite3.connect(path) as gpkg:
        kinds = dict(gpkg.execute("SELECT table_name, data_type FROM gpkg_contents"))
    assert kinds == {"shops": "features", "visits": "attributes"}


def test_second_layer_files(exported) -> None:
    engine, store, *_ = exported
    frame = pd.read_csv(_path(store, 2, "layers/visits/download.csv"), keep_default_na=False,
                        na_values=[""])
    with engine.connect() as conn:
        db = conn.execute(text(
            "SELECT visit_id, visited_at, opens, note FROM data.test_shops__v2__visits "
            "ORDER BY _fid")).all()
    assert frame["visit_id"].tolist() == [r.visit_id for r in db]
    assert pd.to_datetime(frame["visited_at"]).tolist() == [pd.Timestamp(r.visited_at)
                                                            for r in db]
    assert frame["note"].fillna("").tolist() == [r.note or "" for r in db]
    table = pq.read_table(_path(store, 2, "layers/visits/download.parquet"))
    assert b"geo" not in (table.schema.metadata or {})
    assert table.column("opens").to_pylist() == [r.opens for r in db]


def test_datapackage_is_valid_with_hashes_and_sizes(exported, tmp_path) -> None:
    from frictionless import Package

    _engine, store, _exporter, manifests, _data = exported
    with zipfile.ZipFile(_path(store, 2, "download.zip")) as zf:
        zf.extractall(tmp_path)
        names = sorted(zf.namelist())
    assert names == ["data/shops.csv", "data/visits.csv", "datapackage.json"]
    descriptor = json.loads((tmp_path / "datapackage.json").read_text(encoding="utf-8"))
    assert descriptor["licenses"] == [{
        "name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/",
        "title": "クリエイティブ・コモンズ 表示 4.0 国際 "
                 "(Creative Commons Attribution 4.0 International)"}]
    assert descriptor["version"] == "2" and descriptor["sources"]
    for resource in descriptor["resources"]:
        data = (tmp_path / resource["path"]).read_bytes()
        assert resource["bytes"] == len(data)
        assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
    csv_artifact = manifests[2].find("csv")
    assert descriptor["resources"][0]["hash"] == f"sha256:{csv_artifact.sha256}"
    report = Package(str(tmp_path / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]


def test_a_failing_build_leaves_nothing(exported, monkeypatch) -> None:
    _engine, store, exporter, _manifests, data = exported
    from hub.export import writers

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    store.delete_group(version_group("test-shops", 1))
    monkeypatch.setattr(writers, "write_parquet", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        exporter.ensure(data.dataset("test-shops"), data.version("test-shops", 1))
    assert not (store.root / "test-shops" / "v1").exists()
    assert not any((store.root / ".staging").iterdir())
    monkeypatch.undo()
    again = exporter.ensure(data.dataset("test-shops"), data.version("test-shops", 1))
    assert again.find("parquet") is not None

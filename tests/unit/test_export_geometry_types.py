"""Geometry types collected from the WKB the writers stream (GeoParquet ``geometry_types``,
the GeoPackage layer type), checked against shapely's WKB and against GDAL reading the files."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely

from hub.export.wkb import kind_and_dims, wkb_types
from hub.export.writers import write_gpkg_layer, write_parquet

POINT = shapely.Point(139.7, 35.6)
POLYGON = shapely.box(139.0, 35.0, 139.1, 35.1)


def _wkb(geoms: list[shapely.Geometry | None], **kwargs: object) -> pa.Array:
    return pa.array([None if g is None else shapely.to_wkb(g, **kwargs) for g in geoms],
                    pa.binary())


@pytest.mark.parametrize(("code", "expected"), [
    (1, ("POINT", 2)), (1001, ("POINT", 3)), (2001, ("POINTM", 3)), (3001, ("POINT", 4)),
    (6, ("MULTIPOLYGON", 2)), (0x80000000 | 3, ("POLYGON", 3)),
    (0x20000000 | 1, ("POINT", 2)), (17, ("UNKNOWN", 2)),
])
def test_codes_as_postgis_names_them(code: int, expected: tuple[str, int]) -> None:
    assert kind_and_dims(code) == expected


def test_types_of_a_column_with_nulls_both_byte_orders_and_an_offset() -> None:
    geoms = [None, POINT, shapely.Point(1, 2, 3), POLYGON, None]
    little = _wkb(geoms, flavor="iso")
    big = _wkb(geoms, flavor="iso", byte_order=0)
    expected = {("POINT", 2), ("POINT", 3), ("POLYGON", 2)}
    assert wkb_types(little) == wkb_types(big) == expected
    assert wkb_types(little.slice(2, 2)) == {("POINT", 3), ("POLYGON", 2)}
    assert wkb_types(_wkb([None, None])) == set()


def _version() -> SimpleNamespace:
    fields = [SimpleNamespace(name="shop_id", type="string")]
    return SimpleNamespace(schema=SimpleNamespace(fields=fields), has_geometry=True,
                           bbox=(139.0, 35.0, 139.7, 35.6), row_count=3)


def _batches(*parts: list[shapely.Geometry]) -> list[pa.RecordBatch]:
    return [pa.record_batch({"shop_id": [f"S{i}" for i in range(len(geoms))],
                             "geometry": _wkb(geoms)}) for geoms in parts]


def test_geoparquet_lists_the_types_of_every_batch(tmp_path) -> None:
    path = tmp_path / "mixed.parquet"
    with path.open("wb") as out:
        write_parquet(_batches([POINT, POINT], [POLYGON]), out, _version())
    geo = json.loads(pq.ParquetFile(path).schema_arrow.metadata[b"geo"])
    assert geo["columns"]["geometry"]["geometry_types"] == ["Point", "Polygon"]


@pytest.mark.parametrize(("parts", "type_name"), [
    ([[POINT, POINT], [POINT]], "POINT"),
    ([[POINT], [POLYGON]], "GEOMETRY"),
])
def test_geopackage_layer_type_is_what_the_parquet_pass_found(tmp_path, parts,
                                                              type_name) -> None:
    with (tmp_path / "layer.parquet").open("wb") as out:
        types = write_parquet(_batches(*parts), out, _version())
    path = str(tmp_path / "layer.gpkg")
    write_gpkg_layer(_batches(*parts), path, _version(), layer="shops",
                     geometry_types=types, append=False)
    with closing(sqlite3.connect(path)) as gpkg:
        declared = gpkg.execute("SELECT geometry_type_name FROM gpkg_geometry_columns "
                                "WHERE table_name = 'shops'").fetchone()[0]
    assert declared == type_name
    frame = pyogrio.read_dataframe(path, layer="shops")
    expected = [g for part in parts for g in part]
    assert [g.wkb for g in frame.geometry] == [g.wkb for g in expected]

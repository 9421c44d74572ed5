"""Writers: turn the row streams of :class:`hub.data.exports.ExportSource` into files.

Each writer consumes an iterator and writes to an open binary file (or a path, for GDAL),
holding at most one batch in memory. They know nothing about the database or the store.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from hub.catalog import PublishedVersion
from hub.export import gpkg
from hub.export.wkb import TypesSeen

UTF8_BOM = b"\xef\xbb\xbf"

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us", tz="UTC"),
    "time": pa.time64("us"),
    "year": pa.int32(),
}
GEOMETRY_TYPES = {
    "POINT": "Point", "LINESTRING": "LineString", "POLYGON": "Polygon",
    "MULTIPOINT": "MultiPoint", "MULTILINESTRING": "MultiLineString",
    "MULTIPOLYGON": "MultiPolygon", "GEOMETRYCOLLECTION": "GeometryCollection",
}
GEOPARQUET_VERSION = "1.1.0"


def write_csv(chunks: Iterable[bytes], out: Any, *, bom: bool = False) -> None:
    """CSV as PostgreSQL's COPY wrote it; ``bom``: prefix a UTF-8 BOM (for Excel)."""
    if bom:
        out.write(UTF8_BOM)
    for chunk in chunks:
        out.write(chunk)


def write_geojson(lines: Iterable[bytes], out: Any, *, name: str) -> None:
    """A FeatureCollection, one Feature per line (easy to split with standard tools).

    ``lines``: Feature texts each ending in ``\\n``, in chunks of any size; every line end
    but the last becomes ``,\\n`` (a Feature's JSON holds no raw line break), so the bytes
    pass through without being split into rows."""
    out.write(b'{"type":"FeatureCollection","name":' + _json_string(name)
              + b',"features":[\n')
    pending = b""
    for chunk in lines:
        if not chunk:
            continue
        out.write(pending)
        pending = chunk.replace(b"\n", b",\n")
    out.write(pending.removesuffix(b",\n"))
    out.write(b"\n]}\n")


def _json_string(value: str) -> bytes:
    import orjson

    return orjson.dumps(value)


def arrow_schema(version: PublishedVersion) -> pa.Schema:
    fields = [pa.field(f.name, ARROW_TYPES[f.type]) for f in version.schema.fields]
    if version.has_geometry:
        fields.append(pa.field("geometry", pa.binary()))
    return pa.schema(fields)


def geoparquet_types(types: list[tuple[str, int]]) -> list[str]:
    """PostGIS (type, dims) pairs as GeoParquet ``geometry_types`` (``Point``, ``Point Z``)."""
    found = set()
    for kind, dims in types:
        base = GEOMETRY_TYPES.get(kind.upper().rstrip("M"))
        if base is None:
            return []  # unknown kind: an empty list means "any type"
        found.add(base + (" Z" if dims >= 3 and not kind.upper().endswith("M") else ""))
    return sorted(found)


def geo_metadata(version: PublishedVersion, types: list[tuple[str, int]]) -> dict[str, Any]:
    """GeoParquet 1.1 file metadata: WKB ``geometry`` column in OGC:CRS84 (lon/lat)."""
    from pyproj import CRS

    column: dict[str, Any] = {
        "encoding": "WKB",
        "geometry_types": geoparquet_types(types),
        "crs": CRS.from_user_input("OGC:CRS84").to_json_dict(),
    }
    if version.bbox:
        column["bbox"] = list(version.bbox)
    return {"version": GEOPARQUET_VERSION, "primary_column": "geometry",
            "columns": {"geometry": column}}


def conform(batches: Iterable[pa.RecordBatch], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """Record batches with the driver's column types -> the file's ``schema`` (same column
    order; e.g. PostgreSQL ``integer`` int32 -> the schema's type), one batch at a time."""
    for batch in batches:
        if batch.num_rows == 0:
            continue
        arrays = [column.cast(field.type) if column.type != field.type else column
                  for column, field in zip(batch.columns, schema, strict=True)]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def write_parquet(
    batches: Iterable[pa.RecordBatch], out: Any, version: PublishedVersion,
) -> list[tuple[str, int]]:
    """(Geo)Parquet, zstd-compressed, one row group per batch. Non-spatial layers are plain
    Parquet (no ``geo`` metadata). Dictionary encoding only for the columns that repeat
    values (:func:`dictionary_columns`).

    The ``geo`` metadata names the geometry types found in the rows (:mod:`hub.export.wkb`),
    so it is added to the footer once they are all written. The Arrow schema is therefore
    not embedded (``store_schema=False``): its copy of the metadata would be the stale
    one, and every column type here maps to a Parquet type that reads back the same.
    Returns the geometry types (for the GeoPackage, written next)."""
    import orjson

    schema = arrow_schema(version)
    seen = TypesSeen()
    writer: pq.ParquetWriter | None = None
    try:
        for batch in conform(batches, schema):
            if writer is None:
                writer = _parquet_writer(out, schema, dictionary_columns(batch))
            if version.has_geometry:
                seen.add(batch)
            writer.write_batch(batch)
        if writer is None:  # no rows: still a valid file with the schema
            writer = _parquet_writer(out, schema, True)
        if version.has_geometry:
            geo = orjson.dumps(geo_metadata(version, seen.sorted()))
            writer.add_key_value_metadata({"geo": geo.decode()})
    finally:
        if writer is not None:
            writer.close()
    return seen.sorted()


def _parquet_writer(out: Any, schema: pa.Schema,
                    dictionary: bool | list[str]) -> pq.ParquetWriter:
    return pq.ParquetWriter(out, schema, compression="zstd", use_dictionary=dictionary,
                            store_schema=False)


# A column gets a dictionary when its first batch has at most this share of distinct values.
DICTIONARY_MAX_DISTINCT = 0.5


def dictionary_columns(batch: pa.RecordBatch) -> list[str]:
    """Columns worth dictionary-encoding, judged on the first batch: those with repeated
    values (categories, flags, small integers). A dictionary of unique values (ids, names,
    the geometry's WKB) is pure overhead: at 1M rows it made the file twice as large
    (8.9 vs 4.2 MiB) and the write slower, since zstd compresses the plain values anyway."""
    import pyarrow.compute as pc

    limit = max(1, int(batch.num_rows * DICTIONARY_MAX_DISTINCT))
    return [name for name, column in zip(batch.schema.names, batch.columns, strict=True)
            if not pa.types.is_binary(column.type)
            and pc.count_distinct(column, mode="all").as_py() <= limit]


def _gpkg_schema(schema: pa.Schema) -> pa.Schema:
    # GeoPackage has no time-of-day type: times travel as ISO text (HH:MM:SS).
    return pa.schema([pa.field(f.name, pa.string()) if pa.types.is_time(f.type) else f
                      for f in schema])


def _gpkg_batches(batches: Iterator[pa.RecordBatch], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        columns = [
            col.cast(pa.string()) if pa.types.is_time(col.type) else col
            for col in batch.columns
        ]
        yield pa.RecordBatch.from_arrays(columns, schema=schema)


def write_gpkg_layer(
    batches: Iterable[pa.RecordBatch], path: str, version: PublishedVersion,
    *, layer: str, geometry_types: list[tuple[str, int]], append: bool,
) -> None:
    """One table of the GeoPackage: GDAL creates it, the rows are bulk-inserted
    (:mod:`hub.export.gpkg`; layers with curves go through GDAL's feature writer).

    The layer's geometry type is declared (table column and ``gpkg_geometry_columns``)
    before the first row, so ``geometry_types`` must be known: the build has them from the
    Parquet file it wrote just before (:func:`write_parquet`)."""
    if version.has_geometry and not gpkg.supports(geometry_types):
        write_gpkg_layer_gdal(batches, path, version, layer=layer,
                              geometry_types=geometry_types, append=append)
        return
    schema = arrow_schema(version)
    rows = conform(batches, schema)
    first = next(rows, None)  # starts the driver's thread before the tables are made
    gpkg.write_layer(
        rows if first is None else itertools.chain([first], rows), path, layer=layer,
        schema=_gpkg_schema(schema), append=append, expected_rows=version.row_count,
        geometry_type=(gpkg.geometry_type_name(gpkg_geometry_type(geometry_types))
                       if version.has_geometry else None),
    )


def write_gpkg_layer_gdal(
    batches: Iterable[pa.RecordBatch], path: str, version: PublishedVersion,
    *, layer: str, geometry_types: list[tuple[str, int]], append: bool,
) -> None:
    """One table of the GeoPackage streamed to GDAL's Arrow writer (pyogrio), which inserts
    feature by feature (~2x slower than :func:`write_gpkg_layer` at 1M rows): for the
    geometry kinds the bulk path leaves to GDAL."""
    schema = arrow_schema(version)
    gpkg_schema = _gpkg_schema(schema)
    rows = conform(batches, schema)
    first = next(rows, None)  # starts the driver's thread while pyogrio is imported
    # pyogrio pulls in pandas and geopandas (~0.45 s): imported once the query runs.
    import pyogrio

    reader = pa.RecordBatchReader.from_batches(
        gpkg_schema,
        _gpkg_batches(rows if first is None else itertools.chain([first], rows), gpkg_schema),
    )
    options: dict[str, Any] = {}
    if version.has_geometry:
        options = {"geometry_name": "geometry", "geometry_type": gpkg_geometry_type(geometry_types),
                   "crs": "EPSG:4326"}
    pyogrio.write_arrow(
        reader, path, layer=layer, driver="GPKG", append=append,
        layer_options={"GEOMETRY_NAME": "geom"} if version.has_geometry else None,
        **options,
    )


def gpkg_geometry_type(types: list[tuple[str, int]]) -> str:
    """The layer type GDAL is given: the one kind of the layer (``Point``), or ``Unknown``
    (GeoPackage ``GEOMETRY``) for mixed, unknown or no geometries."""
    kinds = {kind.split()[0] for kind in geoparquet_types(types)}
    return kinds.pop() if len(kinds) == 1 else "Unknown"

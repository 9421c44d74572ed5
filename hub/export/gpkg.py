"""GeoPackage layers written in bulk: the standard's tables by SQL, the rows in one go.

GDAL's Arrow writer (``pyogrio.write_arrow``) turns every row into an OGR feature, re-encodes
its geometry and inserts it with its own statement: at 1M points that was ~4 s of a ~9 s
GeoPackage export (2.4x the binary COPY of the same rows), and importing pyogrio brought
pandas and geopandas (~0.45 s, ~75 MiB) into the export process. Here:

1. the GeoPackage's tables, the layer's table and the R-tree extension's virtual table are
   created with the standard's own SQL, as GDAL words it (:mod:`hub.export.gpkg_schema`);
2. the rows go in through the ADBC SQLite driver's bulk ingest (Arrow arrays bound in C, one
   prepared statement, one transaction), values in GDAL's text forms (:func:`sqlite_column`),
   the geometry as GeoPackage blobs built from the WKB by Arrow kernels
   (:func:`gpkg_geometry`), the boxes of the geometries collected on the way;
3. the R-tree is bulk-loaded from those boxes, its leaves written as they fill, in the same
   transaction (:mod:`hub.export.rtree`; inserting through the virtual table took 13-15 s
   at 1M rows);
4. extent and feature count are written, then the triggers that keep the R-tree and the
   count in step with later edits (a plain SQLite connection could not run the R-tree ones:
   they call ``ST_IsEmpty``/``ST_MinX``, which GDAL, QGIS and SpatiaLite provide).

GDAL reads the file as one it wrote (tests/integration/test_gpkg_bulk.py compares schema,
metadata, values, NULLs and geometries with GDAL's own output for the same rows, checks the
R-tree with SQLite's ``rtreecheck`` and against every row's box, and that GDAL uses it for a
bbox filter). Layers with curves are left to GDAL
(:func:`hub.export.writers.write_gpkg_layer_gdal`), which registers their extensions.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterable, Iterator
from contextlib import closing

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hub.data.exports import read_ahead
from hub.export import gpkg_schema, rtree
from hub.export.arrow_values import bool_array, scalar
from hub.export.gpkg_schema import GEOMETRY_COLUMN, SRS_ID, quote, rtree_name
from hub.export.wkb import KINDS

# No fsync at each commit: the artifact store fsyncs every file of a version once, before
# the version's files become visible (hub.storage.local), as for the other formats. With it,
# the 1M-row commit waited ~0.45 s for the disk.
NO_SYNC = "PRAGMA synchronous = OFF"
INGEST_APPEND = "adbc.ingest.mode.append"  # ADBC's value for "insert into the existing table"
# GeoPackage binary header (spec 2.1.3): magic "GP", version 0, flags, srs_id (int32). Flags
# 0x01: little-endian header, no envelope (optional for every type); 0x11: also "empty".
_HEADER = b"GP\x00\x01" + struct.pack("<i", SRS_ID)
_HEADER_EMPTY = b"GP\x00\x11" + struct.pack("<i", SRS_ID)


def supports(geometry_types: list[tuple[str, int]]) -> bool:
    """Whether the bulk path can write these geometry kinds (the simple-feature types: no
    curves, which GDAL registers as GeoPackage extensions of their own)."""
    simple = set(KINDS.values())
    return all(kind.upper().rstrip("M") in simple for kind, _dims in geometry_types)


def geometry_type_name(kind: str) -> str:
    """GDAL's layer type name (``Point``, ``MultiPolygon``, ``Unknown``) as a GeoPackage
    geometry type (``POINT``, ``MULTIPOLYGON``, ``GEOMETRY``)."""
    return "GEOMETRY" if kind == "Unknown" else kind.upper()


def write_layer(
    batches: Iterator[pa.RecordBatch], path: str, *, layer: str, schema: pa.Schema,
    geometry_type: str | None, append: bool, expected_rows: int = 0,
) -> int:
    """Write ``batches`` (``schema``'s columns; WKB ``geometry`` last when ``geometry_type``,
    a GeoPackage type name such as ``POINT``, is given) as table ``layer`` of the GeoPackage
    at ``path`` (a new file unless ``append``; ``expected_rows`` chooses its page size);
    returns the row count."""
    spatial = geometry_type is not None
    fields = [f for f in schema if not (spatial and f.name == "geometry")]
    with closing(_connect(path)) as con:
        con.execute("BEGIN")
        if not append:
            large = expected_rows >= gpkg_schema.LARGE_PAGE_ROWS
            gpkg_schema.create_base(
                con, gpkg_schema.LARGE_PAGE if large else gpkg_schema.SMALL_PAGE)
        gpkg_schema.create_layer(con, layer, fields, geometry_type)
        suspended = _suspend_autoincrement(con, layer)
        tree = rtree.StreamingRTree(_take_empty_root(con, layer)) if spatial else None
        con.execute("COMMIT")
    # Rows, blobs, boxes and R-tree leaves are made in a worker thread while SQLite writes
    # the previous batch.
    counts = bulk_append(path, read_ahead(_writes(batches, layer, tree), 1))
    count = counts.get(layer, 0)
    with closing(_connect(path)) as con:
        con.execute("BEGIN")
        if tree is not None:
            _write_extent(con, layer, tree.extent.get())
        con.execute("UPDATE gpkg_ogr_contents SET feature_count = ? WHERE table_name = ?",
                    (count, layer))
        if suspended:
            gpkg_schema.set_autoincrement(con, layer, True, last_fid=count)
        for statement in gpkg_schema.layer_triggers(layer, spatial):
            con.execute(statement)
        con.execute("COMMIT")
    return count


def _connect(path: str) -> sqlite3.Connection:
    """A connection for explicit transactions, without fsync at commit (:data:`NO_SYNC`)."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute(NO_SYNC)
    return con


def _suspend_autoincrement(con: sqlite3.Connection, layer: str) -> bool:
    """Take AUTOINCREMENT off for the insert (:func:`gpkg_schema.set_autoincrement`); an
    SQLite built in "defensive" mode refuses schema edits, and then the rows go in with it
    on (slower, the same file)."""
    try:
        gpkg_schema.set_autoincrement(con, layer, False)
    except sqlite3.DatabaseError:
        return False
    return True


def _take_empty_root(con: sqlite3.Connection, layer: str) -> int:
    """Delete the empty root node SQLite made with the R-tree (the bulk load writes its
    own) and return its size, which SQLite fixed for every node of this tree."""
    table = quote(f"{rtree_name(layer)}_node")
    size = int(con.execute(f"SELECT length(data) FROM {table} WHERE nodeno = 1").fetchone()[0])
    con.execute(f"DELETE FROM {table} WHERE nodeno = 1")
    return size


def _writes(batches: Iterable[pa.RecordBatch], layer: str,
            tree: rtree.StreamingRTree | None) -> Iterator[tuple[str, pa.RecordBatch]]:
    """(table, batch) pairs to append, in order: the layer's rows as SQLite stores them
    (values in GDAL's text forms, :func:`sqlite_column`; the geometry as a GeoPackage
    blob) and, for a spatial layer, the R-tree's rows as its leaves fill up. Boxes are
    keyed by the fids SQLite assigns, 1..n in row order (the table is new; passing the fids
    explicitly made SQLite seek for each row, ~10% of the insert)."""
    next_fid = 1
    name = rtree_name(layer)
    for batch in batches:
        if batch.num_rows == 0:
            continue
        names, columns = [], []
        leaves: list[tuple[str, pa.RecordBatch]] = []
        for field, column in zip(batch.schema, batch.columns, strict=True):
            if tree is not None and field.name == "geometry":
                bounds = rtree.wkb_bounds(column)
                leaves = tree.add(np.arange(next_fid, next_fid + batch.num_rows), bounds)
                names.append(GEOMETRY_COLUMN)
                columns.append(gpkg_geometry(column, bounds.empty))
            else:
                names.append(field.name)
                columns.append(sqlite_column(column))
        next_fid += batch.num_rows
        yield layer, pa.RecordBatch.from_arrays(columns, names=names)
        for suffix, rows in leaves:
            yield name + suffix, rows
    if tree is not None:
        for suffix, rows in tree.finish():
            yield name + suffix, rows


def sqlite_column(column: pa.Array) -> pa.Array:
    """A column in the form GDAL writes to a GeoPackage: dates ``YYYY-MM-DD``, date-times
    in UTC as ``YYYY-MM-DDTHH:MM:SSZ`` (``SS.sss`` when there are milliseconds), times as
    ISO text (GeoPackage has no time type); numbers, booleans (0/1) and text as they are."""
    kind = column.type
    if pa.types.is_date(kind) or pa.types.is_time(kind):
        return column.cast(pa.string())
    if pa.types.is_timestamp(kind):
        return _gdal_datetime_text(column)
    return column


def _gdal_datetime_text(column: pa.Array) -> pa.Array:
    # Arrow keeps UTC instants: dropping the zone leaves UTC wall-clock values.
    utc = column.cast(pa.timestamp(column.type.unit))
    millis = pc.round_temporal(utc, unit="millisecond").cast(pa.timestamp("ms"))
    seconds = millis.cast(pa.timestamp("s"), safe=False)
    whole = pc.equal(seconds.cast(pa.timestamp("ms")), millis)
    text = pc.if_else(whole, seconds.cast(pa.string()), millis.cast(pa.string()))
    return pc.binary_join_element_wise(
        pc.replace_substring(text, " ", "T", max_replacements=1), scalar(b"Z", pa.string()),
        scalar(b"", pa.string()))


def gpkg_geometry(wkb: pa.Array, empty: np.ndarray) -> pa.Array:
    """WKB -> GeoPackage geometry blobs: the 8-byte header (flags, SRS id) + the same WKB;
    NULL stays NULL. ``empty`` marks empty geometries, whose header says so."""
    header: pa.Array | pa.Scalar = scalar(_HEADER)
    if empty.any():
        header = pc.if_else(bool_array(empty), scalar(_HEADER_EMPTY), header)
    return pc.binary_join_element_wise(header, wkb.cast(pa.binary()), scalar(b""))


def bulk_append(path: str, writes: Iterable[tuple[str, pa.RecordBatch]]) -> dict[str, int]:
    """Append each (table, batch) to its existing SQLite table (columns by name), in C: the
    ADBC SQLite driver binds the Arrow arrays to one prepared INSERT per batch, all in one
    transaction. Returns the rows appended per table."""
    import adbc_driver_manager
    import adbc_driver_sqlite

    counts: dict[str, int] = {}
    options = adbc_driver_manager.StatementOptions
    with (adbc_driver_sqlite.connect(path) as database,
          adbc_driver_manager.AdbcConnection(database) as conn):
        with adbc_driver_manager.AdbcStatement(conn) as statement:
            statement.set_sql_query(NO_SYNC)
            statement.execute_update()
        conn.set_autocommit(False)
        for table, batch in writes:
            with adbc_driver_manager.AdbcStatement(conn) as statement:
                statement.set_options(**{options.INGEST_TARGET_TABLE.value: table,
                                         options.INGEST_MODE.value: INGEST_APPEND})
                statement.bind_stream(pa.RecordBatchReader.from_batches(batch.schema, [batch]))
                counts[table] = counts.get(table, 0) + int(statement.execute_update())
        conn.commit()
    return counts


def _write_extent(con: sqlite3.Connection, layer: str,
                  extent: tuple[float, float, float, float] | None) -> None:
    if extent is None:
        return
    con.execute("UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ? "
                "WHERE table_name = ?", (*extent, layer))

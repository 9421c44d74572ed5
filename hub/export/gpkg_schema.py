"""The SQL that makes an SQLite file a GeoPackage (OGC 12-128r19, GeoPackage 1.4), as GDAL
writes it.

Every statement is the standard's own table definition (Annex C), its R-tree extension
(Annex F.3: the virtual table, its seven triggers and the ``gpkg_extensions`` row), or GDAL's
``gpkg_ogr_contents`` (the feature count GDAL keeps for fast counts, with its two triggers);
the text is GDAL 3.12's, so a file written here has the same schema as one ``ogr2ogr`` or
pyogrio writes (tests/integration/test_gpkg_bulk.py compares them). The declared column
types follow GDAL's mapping of the Arrow types the hub exports (:data:`DECLARED_TYPES`).
"""

from __future__ import annotations

import sqlite3

import pyarrow as pa

APPLICATION_ID = 0x47504B47  # "GPKG"
USER_VERSION = 10400  # GeoPackage 1.4.0, what GDAL 3.12 writes
SRS_ID = 4326
FID = "fid"
GEOMETRY_COLUMN = "geom"
RTREE_EXTENSION = "http://www.geopackage.org/spec120/#extension_rtree"
# SQLite page sizes: GDAL's 4 KiB, and 64 KiB for large layers, where it cut the insert's
# system time by a third (16x fewer writes); every table and index takes at least one page,
# so a small file would grow to ~1 MiB. R-tree nodes are 51 cells either way.
SMALL_PAGE, LARGE_PAGE = 4096, 65536
LARGE_PAGE_ROWS = 100_000

BASE_TABLES = (
    "CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL,srs_id INTEGER NOT NULL "
    "PRIMARY KEY,organization TEXT NOT NULL,organization_coordsys_id INTEGER NOT NULL,"
    "definition  TEXT NOT NULL,description TEXT)",
    "CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY,data_type TEXT NOT "
    "NULL,identifier TEXT UNIQUE,description TEXT DEFAULT '',last_change DATETIME NOT NULL "
    "DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),min_x DOUBLE, min_y DOUBLE,max_x DOUBLE, "
    "max_y DOUBLE,srs_id INTEGER,CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES "
    "gpkg_spatial_ref_sys(srs_id))",
    "CREATE TABLE gpkg_ogr_contents(table_name TEXT NOT NULL PRIMARY KEY,feature_count "
    "INTEGER DEFAULT NULL)",
    "CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL,column_name TEXT NOT NULL,"
    "geometry_type_name TEXT NOT NULL,srs_id INTEGER NOT NULL,z TINYINT NOT NULL,m TINYINT "
    "NOT NULL,CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),CONSTRAINT "
    "uk_gc_table_name UNIQUE (table_name),CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) "
    "REFERENCES gpkg_contents(table_name),CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) "
    "REFERENCES gpkg_spatial_ref_sys (srs_id))",
)
EXTENSIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT,column_name TEXT,"
    "extension_name TEXT NOT NULL,definition TEXT NOT NULL,scope TEXT NOT NULL,CONSTRAINT "
    "ge_tce UNIQUE (table_name, column_name, extension_name))")
# The three rows the standard requires (Req. 11), with GDAL's WKT for EPSG:4326.
SPATIAL_REF_SYS = (
    ("Undefined Cartesian SRS", -1, "NONE", -1, "undefined",
     "undefined Cartesian coordinate reference system"),
    ("Undefined geographic SRS", 0, "NONE", 0, "undefined",
     "undefined geographic coordinate reference system"),
    ("WGS 84 geodetic", 4326, "EPSG", 4326,
     'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
     'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
     'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
     'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]',
     "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid"),
)


# OGR field types as GDAL declares them: Integer -> MEDIUMINT, Integer64 -> INTEGER, Real ->
# REAL, Date, DateTime; first match wins (int64 before the other integers).
_DECLARED_TYPES = (
    (pa.types.is_boolean, "BOOLEAN"),
    (pa.types.is_int64, "INTEGER"),
    (pa.types.is_integer, "MEDIUMINT"),
    (pa.types.is_floating, "REAL"),
    (pa.types.is_date, "DATE"),
    (pa.types.is_timestamp, "DATETIME"),
)


def declared_type(kind: pa.DataType) -> str:
    """The column type GDAL declares for an Arrow type; strings and times (GeoPackage has no
    time type) are TEXT."""
    return next((name for matches, name in _DECLARED_TYPES if matches(kind)), "TEXT")


def quote(name: str) -> str:
    """An SQL identifier in double quotes."""
    return '"' + name.replace('"', '""') + '"'


def create_base(con: sqlite3.Connection, page_size: int = SMALL_PAGE) -> None:
    """The tables every GeoPackage has, in a new file with pages of ``page_size`` bytes."""
    con.execute(f"PRAGMA page_size = {int(page_size)}")
    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    con.execute(f"PRAGMA user_version = {USER_VERSION}")
    for statement in BASE_TABLES:
        con.execute(statement)
    con.executemany("INSERT INTO gpkg_spatial_ref_sys (srs_name, srs_id, organization, "
                    "organization_coordsys_id, definition, description) "
                    "VALUES (?, ?, ?, ?, ?, ?)", SPATIAL_REF_SYS)


def create_layer(con: sqlite3.Connection, layer: str, fields: list[pa.Field],
                 geometry_type: str | None) -> None:
    """The layer's table, its ``gpkg_contents`` row and, when it has a geometry column, its
    ``gpkg_geometry_columns`` row and the R-tree extension's empty virtual table. The
    triggers come last (:func:`layer_triggers`), once the rows are in."""
    columns = [f"{quote(FID)} INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL"]
    if geometry_type is not None:
        columns.append(f"{quote(GEOMETRY_COLUMN)} {geometry_type}")
    columns += [f"{quote(f.name)} {declared_type(f.type)}" for f in fields]
    con.execute(f"CREATE TABLE {quote(layer)} ( {', '.join(columns)})")
    data_type, srs_id = ("features", SRS_ID) if geometry_type is not None else ("attributes", 0)
    con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
                "VALUES (?, ?, ?, ?)", (layer, data_type, layer, srs_id))
    con.execute("INSERT INTO gpkg_ogr_contents (table_name, feature_count) VALUES (?, 0)",
                (layer,))
    if geometry_type is None:
        return
    con.execute("INSERT INTO gpkg_geometry_columns (table_name, column_name, "
                "geometry_type_name, srs_id, z, m) VALUES (?, ?, ?, ?, 0, 0)",
                (layer, GEOMETRY_COLUMN, geometry_type, SRS_ID))
    con.execute(EXTENSIONS_TABLE)
    con.execute("INSERT INTO gpkg_extensions (table_name, column_name, extension_name, "
                "definition, scope) VALUES (?, ?, 'gpkg_rtree_index', ?, 'write-only')",
                (layer, GEOMETRY_COLUMN, RTREE_EXTENSION))
    con.execute(f"CREATE VIRTUAL TABLE {quote(rtree_name(layer))} "
                "USING rtree(id, minx, maxx, miny, maxy)")


def set_autoincrement(con: sqlite3.Connection, layer: str, on: bool,
                      last_fid: int = 0) -> None:
    """Take ``AUTOINCREMENT`` off the layer's fid for the bulk insert, or put it back.

    With it, every INSERT statement reads and rewrites the table's ``sqlite_sequence`` row:
    once per row for a bulk insert, ~35% of SQLite's CPU time at 1M rows. The keyword
    changes nothing in the table's storage (a rowid table either way), only the schema text
    and the ``sqlite_sequence`` row that records the largest fid handed out, so the table
    is created with it (``sqlite_sequence`` is made then), the text is switched through
    ``PRAGMA writable_schema`` with a ``schema_version`` bump, the procedure SQLite documents
    for schema changes that leave stored content alone (sqlite.org/lang_altertable.html,
    "Making Other Kinds Of Table Schema Changes"), and ``last_fid`` is recorded when it comes
    back. Run inside the caller's transaction."""
    with_keyword = f"{quote(FID)} INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL"
    without = f"{quote(FID)} INTEGER PRIMARY KEY NOT NULL"
    sql = con.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                      (layer,)).fetchone()[0]
    changed = sql.replace(without, with_keyword, 1) if on else sql.replace(with_keyword,
                                                                            without, 1)
    if changed == sql:
        raise RuntimeError(f"unexpected schema for GeoPackage table {layer!r}: {sql}")
    version = int(con.execute("PRAGMA schema_version").fetchone()[0])
    con.execute("PRAGMA writable_schema = ON")
    try:
        con.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
                    (changed, layer))
        con.execute(f"PRAGMA schema_version = {version + 1}")
    finally:
        con.execute("PRAGMA writable_schema = OFF")
    if on and last_fid:
        con.execute("DELETE FROM sqlite_sequence WHERE name = ?", (layer,))
        con.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (layer, last_fid))


def rtree_name(layer: str) -> str:
    """The R-tree extension's table for the layer's geometry column."""
    return f"rtree_{layer}_{GEOMETRY_COLUMN}"


def layer_triggers(layer: str, spatial: bool) -> list[str]:
    """GDAL's feature-count triggers and, for a spatial layer, the R-tree extension's
    seven (GeoPackage 1.4, F.3), which keep the index in step with later edits."""
    t, g, i = quote(layer), quote(GEOMETRY_COLUMN), quote(FID)
    literal = "'" + layer.replace("'", "''") + "'"
    statements = [
        f'CREATE TRIGGER {quote("trigger_insert_feature_count_" + layer)} AFTER INSERT ON {t} '
        f"BEGIN UPDATE gpkg_ogr_contents SET feature_count = feature_count + 1 "
        f"WHERE lower(table_name) = lower({literal}); END",
        f'CREATE TRIGGER {quote("trigger_delete_feature_count_" + layer)} AFTER DELETE ON {t} '
        f"BEGIN UPDATE gpkg_ogr_contents SET feature_count = feature_count - 1 "
        f"WHERE lower(table_name) = lower({literal}); END",
    ]
    if not spatial:
        return statements
    name = rtree_name(layer)
    r = quote(name)
    new_box = (f"NEW.{i},ST_MinX(NEW.{g}), ST_MaxX(NEW.{g}),ST_MinY(NEW.{g}), "
               f"ST_MaxY(NEW.{g})")
    new_set = f"NEW.{g} NOTNULL AND NOT ST_IsEmpty(NEW.{g})"
    new_unset = f"NEW.{g} ISNULL OR ST_IsEmpty(NEW.{g})"

    def trigger(suffix: str, event: str, body: str) -> str:
        return f"CREATE TRIGGER {quote(name + '_' + suffix)} {event} ON {t} {body}"

    return [
        trigger("insert", "AFTER INSERT",
                f"WHEN (new.{g} NOT NULL AND NOT ST_IsEmpty(NEW.{g})) BEGIN INSERT OR REPLACE "
                f"INTO {r} VALUES ({new_box}); END"),
        trigger("update6", f"AFTER UPDATE OF {g}",
                f"WHEN OLD.{i} = NEW.{i} AND ({new_set}) AND (OLD.{g} NOTNULL AND NOT "
                f"ST_IsEmpty(OLD.{g})) BEGIN UPDATE {r} SET minx = ST_MinX(NEW.{g}), "
                f"maxx = ST_MaxX(NEW.{g}),miny = ST_MinY(NEW.{g}), maxy = ST_MaxY(NEW.{g}) "
                f"WHERE id = NEW.{i};END"),
        trigger("update7", f"AFTER UPDATE OF {g}",
                f"WHEN OLD.{i} = NEW.{i} AND ({new_set}) AND (OLD.{g} ISNULL OR "
                f"ST_IsEmpty(OLD.{g})) BEGIN INSERT INTO {r} VALUES ({new_box}); END"),
        trigger("update2", f"AFTER UPDATE OF {g}",
                f"WHEN OLD.{i} = NEW.{i} AND ({new_unset}) BEGIN DELETE FROM {r} "
                f"WHERE id = OLD.{i}; END"),
        trigger("update5", "AFTER UPDATE",
                f"WHEN OLD.{i} != NEW.{i} AND ({new_set}) BEGIN DELETE FROM {r} WHERE id = "
                f"OLD.{i}; INSERT OR REPLACE INTO {r} VALUES ({new_box}); END"),
        trigger("update4", "AFTER UPDATE",
                f"WHEN OLD.{i} != NEW.{i} AND ({new_unset}) BEGIN DELETE FROM {r} "
                f"WHERE id IN (OLD.{i}, NEW.{i}); END"),
        trigger("delete", "AFTER DELETE",
                f"WHEN old.{g} NOT NULL BEGIN DELETE FROM {r} WHERE id = OLD.{i}; END"),
        *statements,
    ]

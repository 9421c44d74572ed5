"""Statements that read a whole version (layer) for bulk files (statements only).

Every statement reads the rows in ``_fid`` order (source order), so bulk files list records
in the order the city published them and two exports of a version are byte-identical.
Values are formatted by PostgreSQL (COPY, ``ST_AsGeoJSON``, ``ST_AsBinary``); Python only
moves the bytes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, Table, Text, case, cast, func, literal, select
from sqlalchemy.dialects import postgresql

from hub.catalog import PublishedVersion
from hub.query.records import _row_json, feature_id_expression

# Characters that make Excel (and LibreOffice) read a cell as a formula: = + - @, plus TAB and
# CR which some spreadsheet importers strip before looking. OWASP "CSV injection".
FORMULA_START = "^[=+@\t\r-]"
GEOJSON_DIGITS = 9  # what ST_AsGeoJSON writes by default; sub-millimetre, nothing is lost
DATETIME_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'  # ISO 8601 in UTC, as Table Schema expects

# Session settings every export runs under, on either driver (psycopg COPY, ADBC Arrow): a
# read-only transaction, bytes that do not depend on the server's configuration (DateStyle,
# TimeZone), and no timeout half-way through a big file.
EXPORT_SESSION = (
    "SET TRANSACTION READ ONLY",
    "SET LOCAL statement_timeout = 0",
    "SET LOCAL DateStyle = 'ISO, YMD'",
    "SET LOCAL TimeZone = 'UTC'",
    "SET LOCAL extra_float_digits = 1",
)


def _csv_value(version: PublishedVersion, table: Table, name: str, *,
               excel: bool) -> ColumnElement[Any]:
    """One field as CSV text: booleans as true/false, datetimes ISO 8601 UTC; for the Excel
    variant, text that would start a formula gets a leading apostrophe."""
    column = table.c[name]
    kind = version.schema.field(name).type
    if kind == "boolean":
        return cast(column, Text()).label(name)
    if kind == "datetime":
        return func.to_char(func.timezone("UTC", column), DATETIME_FORMAT).label(name)
    if kind == "string" and excel:
        return case(
            (column.regexp_match(FORMULA_START), literal("'", Text()) + column),
            else_=column,
        ).label(name)
    return column.label(name)


def csv_select(version: PublishedVersion, *, excel: bool = False) -> Select[Any]:
    """Every row as CSV columns: the schema's fields, then ``geometry`` as WKT (EPSG:4326)."""
    table = version.table()
    columns = [_csv_value(version, table, n, excel=excel) for n in version.schema.field_names]
    if version.has_geometry:
        columns.append(func.ST_AsText(table.c.geom).label("geometry"))
    return select(*columns).order_by(table.c._fid)


def copy_csv_sql(version: PublishedVersion, *, excel: bool = False) -> str:
    """``COPY (SELECT ...) TO STDOUT`` in CSV with a header. COPY takes no bind parameters;
    the statement holds only schema-checked identifiers and constants, rendered literally."""
    inner = compile_literal(csv_select(version, excel=excel))
    return f"COPY ({inner}) TO STDOUT WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')"


def copy_geojson_sql(version: PublishedVersion) -> str:
    """``COPY (<geojson_select>) TO STDOUT``: one Feature text per line, byte for byte.

    Text-format COPY would double every backslash of the JSON escapes, and CSV would quote
    any value holding its delimiter or quote character. So CSV is used with the delimiter
    and quote set to the control characters U+0002 and U+0001, which JSON text never holds
    raw (PostgreSQL escapes them as ``\\u0001``); nor does it hold a raw line break. COPY
    therefore never quotes or escapes anything and every line is exactly one Feature."""
    inner = compile_literal(geojson_select(version))
    return (f"COPY ({inner}) TO STDOUT WITH (FORMAT csv, DELIMITER E'\\x02', "
            "QUOTE E'\\x01', ENCODING 'UTF8')")


def copy_binary_sql(version: PublishedVersion) -> str:
    """``COPY (<typed_select>) TO STDOUT (FORMAT binary)``: the typed rows as PostgreSQL
    sends them at its fastest (the benchmark's reference for Parquet and GeoPackage)."""
    return f"COPY ({compile_literal(typed_select(version))}) TO STDOUT WITH (FORMAT binary)"


def geojson_select(version: PublishedVersion) -> Select[Any]:
    """Every row as one GeoJSON Feature text, written by PostGIS.

    The Feature is text spliced around the JSON PostgreSQL writes for each part (the same
    bytes ``json_build_object`` would give: ``{"type" : "Feature", "id" : ...}``): building
    it as a ``json`` value made PostgreSQL parse every geometry's GeoJSON text back in (about
    a quarter of the export's server time in bench/export_bench.py)."""
    table = version.table()
    properties = [table.c[n] for n in version.schema.field_names]
    geometry: ColumnElement[Any] = (
        func.coalesce(func.ST_AsGeoJSON(table.c.geom, GEOJSON_DIGITS), _text("null"))
        if version.has_geometry else _text("null")
    )
    feature_id = func.coalesce(
        func.to_json(feature_id_expression(table, version.schema)).cast(Text()), _text("null"))
    feature = (
        _text('{"type" : "Feature", "id" : ') + feature_id
        + _text(', "geometry" : ') + geometry
        + _text(', "properties" : ') + _row_json(properties).cast(Text()) + _text("}")
    )
    return select(feature.label("feature")).order_by(table.c._fid)


def _text(value: str) -> ColumnElement[str]:
    return literal(value, Text())


def typed_select(version: PublishedVersion) -> Select[Any]:
    """Every row with typed values and the geometry as WKB (for Parquet and GeoPackage)."""
    table = version.table()
    columns: list[ColumnElement[Any]] = [table.c[n] for n in version.schema.field_names]
    if version.has_geometry:
        columns.append(func.ST_AsBinary(table.c.geom).label("geometry"))
    return select(*columns).order_by(table.c._fid)


def geometry_types_select(version: PublishedVersion) -> Select[Any]:
    """Distinct geometry types and dimensions (GeoParquet's ``geometry_types``)."""
    table = version.table()
    kind = func.GeometryType(table.c.geom)
    dims = func.ST_NDims(table.c.geom)
    return (
        select(kind.label("kind"), dims.label("dims"))
        .where(table.c.geom.is_not(None))
        .group_by(kind, dims)
        .order_by(kind, dims)
    )


def compile_literal(statement: Select[Any]) -> str:
    return str(statement.compile(dialect=postgresql.dialect(),
                                 compile_kwargs={"literal_binds": True}))

"""Load a prepared table into a new version table with COPY, then index and measure it.

Everything here runs inside the caller's transaction: the table is created, filled, indexed
and analysed in the same transaction that publishes it, so a failure anywhere (bad data, a
killed process, a dropped connection, a full disk) rolls all of it back and PostgreSQL leaves
no trace. That is why there is no separate staging name to clean up.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Connection, text
from sqlalchemy.schema import CreateTable

from hub.catalog import DatasetDefinition, version_table
from hub.db.tables import DATA_SCHEMA

COPY_CHUNK_ROWS = 50_000


@dataclass(frozen=True)
class LoadResult:
    """What the loader measured about the table it wrote."""

    table_name: str
    row_count: int
    bbox: list[float] | None
    content_sha256: str


def create_version_table(conn: Connection, definition: DatasetDefinition, table_name: str) -> None:
    """CREATE TABLE for one version from the schema (the only DDL for data tables)."""
    table = version_table(table_name, definition.schema, has_geometry=definition.has_geometry)
    conn.execute(CreateTable(table))


def copy_rows(
    conn: Connection,
    definition: DatasetDefinition,
    table_name: str,
    frame: pd.DataFrame,
    geometry_wkt: pd.Series | None,
    search_text: pd.Series,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """COPY the rows in source order, in chunks; return SHA-256 of the normalised content.

    The hash covers exactly the bytes sent to COPY (fields, geometry, in order), so two
    publishes of the same data yield the same checksum whatever the source encoding was.
    """
    fields = list(definition.schema.field_names)
    columns = ["_fid", *fields]
    if definition.has_geometry:
        columns.append("geom")
    columns.append("_search")
    column_sql = ", ".join(f'"{c}"' for c in columns)
    digest = hashlib.sha256()
    total = len(frame)
    raw_conn: Any = conn.connection.driver_connection
    with raw_conn.cursor() as cur:
        copy_sql = f'COPY {DATA_SCHEMA}."{table_name}" ({column_sql}) FROM STDIN WITH (FORMAT csv)'
        with cur.copy(copy_sql) as copy:
            for start in range(0, total, COPY_CHUNK_ROWS):
                stop = min(start + COPY_CHUNK_ROWS, total)
                chunk = frame.iloc[start:stop][fields].copy()
                chunk.insert(0, "_fid", range(start + 1, stop + 1))
                if definition.has_geometry:
                    assert geometry_wkt is not None
                    geoms = geometry_wkt.iloc[start:stop]
                    chunk["geom"] = ("SRID=4326;" + geoms.astype("string")).astype(object).where(
                        geoms.notna(), None
                    ).to_numpy()
                chunk["_search"] = search_text.iloc[start:stop].to_numpy()
                buffer = io.StringIO()
                chunk.to_csv(buffer, header=False, index=False, lineterminator="\n")
                data = buffer.getvalue().encode("utf-8")
                digest.update(data)
                copy.write(data)
                if progress:
                    progress(stop, total)
    return digest.hexdigest()


def index_and_analyse(conn: Connection, definition: DatasetDefinition, table_name: str) -> None:
    """Indexes every query path needs, then ANALYZE so the planner knows the new table.

    GiST on ``geom`` serves bbox/within/tiles; GiST on ``geom::geography`` serves radius
    searches in metres and KNN ordering; trigram GIN on ``_search`` serves ``q`` (Japanese
    text has no word boundaries, so trigrams beat tsvector here); B-tree on the primary key.
    """
    qualified = f'{DATA_SCHEMA}."{table_name}"'
    stem = table_name[:40]
    statements = []
    if definition.has_geometry:
        statements += [
            f'CREATE INDEX "{stem}_geom" ON {qualified} USING gist (geom)',
            f'CREATE INDEX "{stem}_geog" ON {qualified} USING gist ((geom::geography))',
        ]
    statements.append(f'CREATE INDEX "{stem}_search" ON {qualified} USING gin (_search gin_trgm_ops)')
    if definition.primary_key:
        pk = ", ".join(f'"{c}"' for c in definition.primary_key)
        statements.append(f'CREATE UNIQUE INDEX "{stem}_pk" ON {qualified} ({pk})')
    for statement in statements:
        conn.execute(text(statement))
    conn.execute(text(f"ANALYZE {qualified}"))


def measure(conn: Connection, definition: DatasetDefinition, table_name: str) -> tuple[int, list[float] | None]:
    """Row count and bbox [minlon, minlat, maxlon, maxlat] of the loaded table."""
    qualified = f'{DATA_SCHEMA}."{table_name}"'
    count = conn.execute(text(f"SELECT count(*) FROM {qualified}")).scalar_one()
    if not definition.has_geometry:
        return count, None
    row = conn.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            f"FROM (SELECT ST_Extent(geom) AS e FROM {qualified}) s"
        )
    ).one()
    bbox = None if row[0] is None else [float(v) for v in row]
    return count, bbox

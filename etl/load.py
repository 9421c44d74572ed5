"""Load prepared layers into staging tables with COPY, then index and measure them.

A publish builds each table under a staging name no catalogue row points at
(:mod:`hub.db.staging`), so it is never visible half-built: the rows are COPYed and committed
on one connection, then the indexes are built on :data:`INDEX_CONNECTIONS` connections at
once (PostgreSQL builds one index per backend, and ``CREATE INDEX`` takes a lock that other
index builds on the same table share), the table analysed among them, and then measured.
:func:`rename_layer_table` gives a table and its indexes their version names inside the
publish's final transaction.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Engine, column, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable

from etl.arrow_memory import kept_threads, reusing_freed_memory
from etl.copy_text import column_cells, csv_lines, text_cells
from etl.normalise import SearchFolding
from etl.report import Report
from etl.spatial_order import spatial_order
from hub.catalog import (
    DatasetDefinition,
    TableSchema,
    bucket_bounds,
    bucket_predicates,
    version_table,
)
from hub.db.tables import DATA_SCHEMA

COPY_CHUNK_ROWS = 25_000  # ~10 MB of COPY text; a few chunks are alive at a time
T = TypeVar("T")


@dataclass(frozen=True)
class LayerData:
    """One table's worth of normalised rows: typed frame (schema fields, in order), EPSG:4326
    WKT geometry per row (or None), and the fields whose folded text is each row's search
    text (``_search``, :func:`etl.normalise.search_text`). The search text is derived from
    the frame, so only each field's distinct values are folded, and each chunk's rows are
    joined as they are COPYed (:func:`copy_chunks`): the text is never held whole."""

    schema: TableSchema
    frame: pd.DataFrame
    geometry_wkt: pd.Series | None
    search_fields: tuple[str, ...]

    @property
    def has_geometry(self) -> bool:
        return self.geometry_wkt is not None


@dataclass(frozen=True)
class Publishable:
    """Everything a publish needs: the main layer, optional extra layers, provenance, report."""

    definition: DatasetDefinition
    source_name: str
    source_sha256: str
    report: Report
    main: LayerData
    main_layer: str = "records"
    extra_layers: dict[str, LayerData] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadedLayer:
    table_name: str
    row_count: int
    bbox: list[float] | None
    content_sha256: str


def create_layer_table(conn: Connection, table_name: str, layer: LayerData) -> None:
    """CREATE TABLE for one layer from its schema (the only DDL for data tables), without
    ``_fid``'s primary key: a B-tree kept up row by row through COPY cost a third of the
    load's server time at 1M rows (6.4 -> 4.6 s), against about 0.3 s built afterwards
    (:func:`index_jobs`, :func:`attach_row_key`)."""
    conn.execute(CreateTable(version_table(table_name, layer.schema,
                                           has_geometry=layer.has_geometry, keyed=False)))


def copy_rows(
    conn: Connection,
    table_name: str,
    layer: LayerData,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """COPY the rows in spatial order, in chunks; return SHA-256 of the normalised content.

    The hash covers exactly the bytes sent to COPY (``_fid``, fields, geometry, search text,
    in the deterministic order of :func:`etl.spatial_order.spatial_order`), so two publishes
    of the same data yield the same checksum whatever the source encoding was. Each chunk
    is made by :func:`copy_chunks` on a thread of its own while the one before is sent, so
    the server parses and inserts (its own process, the other core) while the client folds
    and formats.
    """
    columns = ["_fid", *layer.schema.field_names]
    if layer.has_geometry:
        columns.append("geom")
    columns.append("_search")
    column_sql = ", ".join(f'"{c}"' for c in columns)
    digest = hashlib.sha256()
    total = len(layer.frame)
    raw_conn: Any = conn.connection.driver_connection
    copy_sql = f'COPY {DATA_SCHEMA}."{table_name}" ({column_sql}) FROM STDIN WITH (FORMAT csv)'
    # The search fields' distinct values are folded on a kept thread while the rows are
    # ordered here: the server has nothing to do until the first chunk.
    folding = kept_threads().submit(SearchFolding, layer.frame, layer.search_fields)
    # Rows go to disk in spatial order (etl.spatial_order); _fid stays the file position.
    order = (spatial_order(layer.geometry_wkt) if layer.geometry_wkt is not None
             else np.arange(total))
    # The write releases the GIL inside libpq; psycopg's queued writer would buffer up to
    # 128 MB, so chunks are written from here, at most a few alive at a time.
    with (raw_conn.cursor() as cur, cur.copy(copy_sql) as copy, reusing_freed_memory()):
        for stop, data in made_ahead(copy_chunks(layer, order, folding.result())):
            digest.update(data)
            copy.write(data)
            if progress:
                progress(stop, total)
    return digest.hexdigest()


def made_ahead(items: Iterator[T]) -> Iterator[T]:
    """The items of ``items``, each made in a thread of its own while the caller uses the one
    before, holding at most one item ahead (items are never None, which ends them).

    When the caller stops early, the item being made is finished before this returns; then
    nothing holds ``items`` and an inner stage, closed as it is dropped, stops its thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(next, items, None)
        while (item := pending.result()) is not None:
            pending = pool.submit(next, items, None)
            yield item


def searched_chunks(
    layer: LayerData, order: np.ndarray, folding: SearchFolding | None = None,
    chunk_rows: int = COPY_CHUNK_ROWS,
) -> Iterator[tuple[np.ndarray, pa.Array]]:
    """The rows at ``order``'s positions, ``chunk_rows`` at a time, with their search text
    (:class:`etl.normalise.SearchFolding` of the layer, made here unless given: each
    field's distinct values are folded once, before the first chunk, and each chunk's rows
    joined from them by Arrow)."""
    if folding is None:
        folding = SearchFolding(layer.frame, layer.search_fields)
    for start in range(0, len(order), chunk_rows):
        positions = order[start : start + chunk_rows]
        yield positions, folding.rows(positions)


def copy_chunks(
    layer: LayerData, order: np.ndarray, folding: SearchFolding | None = None,
    chunk_rows: int = COPY_CHUNK_ROWS,
) -> Iterator[tuple[int, memoryview]]:
    """COPY CSV text of the rows at ``order``'s positions, ``chunk_rows`` at a time, with the
    number of rows done so far: ``_fid`` (file position, 1-based), the fields, EWKT, search.

    Each chunk's search text is joined just before the chunk is formatted, from the
    distinct values folded before the first chunk (:func:`searched_chunks`). Folding a chunk
    at a time on a thread of its own, a chunk ahead of the formatting, measured no faster
    at 1M rows: the fold holds the GIL, which the formatting's Arrow calls then wait for."""
    fields = list(layer.schema.field_names)
    done = 0
    for positions, search in searched_chunks(layer, order, folding, chunk_rows):
        cells = [column_cells(positions + 1)]
        cells += [column_cells(layer.frame[name].take(positions)) for name in fields]
        if layer.geometry_wkt is not None:
            wkt = pa.array(layer.geometry_wkt.take(positions).to_numpy(dtype=object),
                           type=pa.string(), from_pandas=True)
            cells.append(text_cells(pc.binary_join_element_wise("SRID=4326;", wkt, "")))
        cells.append(text_cells(search))
        data = csv_lines(cells)
        del cells, search  # only the lines stay alive while the caller writes them
        done += len(positions)
        yield done, data


def index_stem(table_name: str) -> str:
    """Prefix of a table's index names, unique per table. Index names share the schema's
    namespace and PostgreSQL cuts identifiers at 63 bytes, so long names keep 31 characters
    plus a hash of the whole name: ``x__v1__stop_times`` and ``x__v1__stops`` of a long
    dataset id must not collide."""
    if len(table_name) <= 40:
        return table_name
    return f"{table_name[:31]}_{hashlib.sha256(table_name.encode()).hexdigest()[:8]}"


INDEX_CONNECTIONS = 2
# The trigram index is built as this many partial indexes, one per range of ``_fid``
# (hub.search_buckets): PostgreSQL builds a GIN index on one core, and whole it was the one
# build the two connections could not share. Four, not one per connection: each connection
# takes two parts, then one of the short builds (geom GiST, key B-tree), and the two finish
# close together. Three balanced best while a geography GiST was one of the long jobs;
# without it, four parts took the index step 10.1-10.3 -> 9.4-9.7 s at 1M rows, at the same
# CPU (bench/README.md).
SEARCH_INDEX_BUCKETS = 4
# Per index-building session. Measured at 1M rows, the trigram build took as long with
# 64 MB as with 2 GB (bench/README.md); 256 MB is what it has always had.
INDEX_BUILD_MEMORY = "256MB"

IndexJob = tuple[str, ...]  # statements one connection runs in order


def search_bounds(layer: LayerData) -> tuple[int, ...]:
    """Where this layer's trigram index is cut (hub.search_buckets), from its row count:
    ``_fid`` runs 1..N over the rows."""
    return bucket_bounds(len(layer.frame), SEARCH_INDEX_BUCKETS)


def index_jobs(table_name: str, layer: LayerData, bounds: Sequence[int]) -> list[IndexJob]:
    """The indexes every query path needs, and ANALYZE, as jobs for :func:`build_indexes`.

    Trigram GIN on ``_search`` serves ``q`` (Japanese text has no word boundaries, so trigrams
    beat tsvector here), one partial index per bucket of ``bounds``; GiST on ``geom`` serves
    bbox/within/tiles, KNN, and the boxes that prefilter radius searches in metres
    (hub.query.geodesic: no index on ``geography(geom)``, whose GiST PostGIS builds without
    sorting at about four times the CPU); B-tree on the primary key. Longest first, so that
    connections taking the jobs in turn finish close together: the trigram parts, then the
    short ones. ANALYZE comes last: it takes a lock that ``CREATE INDEX``'s conflicts with,
    so wherever it stands it runs alone; last, it waits only for the final build, and no
    build waits behind it. No index is on an expression, so no statistics wait for one."""
    qualified = f'{DATA_SCHEMA}."{table_name}"'
    stem = index_stem(table_name)
    jobs: list[IndexJob] = []
    predicates = bucket_predicates(column("_fid"), bounds)
    if not predicates:
        jobs.append((f'CREATE INDEX "{stem}_search" ON {qualified} '
                     "USING gin (_search gin_trgm_ops)",))
    for number, predicate in enumerate(predicates):
        where = predicate.compile(dialect=postgresql.dialect())
        jobs.append((f'CREATE INDEX "{stem}_search_{number}" ON {qualified} '
                     f"USING gin (_search gin_trgm_ops) WHERE ({where})",))
    if layer.has_geometry:
        jobs.append((f'CREATE INDEX "{stem}_geom" ON {qualified} USING gist (geom)',))
    if layer.schema.primary_key:
        pk = ", ".join(f'"{c}"' for c in layer.schema.primary_key)
        jobs.append((f'CREATE UNIQUE INDEX "{stem}_pk" ON {qualified} ({pk})',))
    jobs.append((f'CREATE UNIQUE INDEX "{row_key_index(table_name)}" ON {qualified} (_fid)',))
    jobs.append((f"ANALYZE {qualified}",))
    return jobs


def row_key_index(table_name: str) -> str:
    """The name of the unique index on ``_fid`` that becomes the table's primary key:
    ``<table>_pkey``, as PostgreSQL names a key declared with the table, with the table's
    part cut as :func:`index_stem` cuts every index name of it (so a rename renames it)."""
    return f"{index_stem(table_name)}_pkey"


def attach_row_key(conn: Connection, table_name: str) -> None:
    """Make the unique ``_fid`` index built by :func:`index_jobs` the table's primary key.
    Only the catalogue changes (``_fid`` is NOT NULL and the index unique), under a lock
    nobody else wants: the table is not registered yet."""
    name = row_key_index(table_name)
    conn.execute(text(f'ALTER TABLE {DATA_SCHEMA}."{table_name}" '
                      f'ADD CONSTRAINT "{name}" PRIMARY KEY USING INDEX "{name}"'))


def build_indexes(engine: Engine, jobs: list[IndexJob],
                  connections: int = INDEX_CONNECTIONS) -> None:
    """Run the jobs on ``connections`` connections at once, each statement committing.

    Each connection takes the next job when its last one finishes. The tables are staging
    tables, invisible to readers, so nothing waits for these commits; the first failure (a
    duplicate key in a unique index) is raised once every build has stopped."""
    pending = iter(list(jobs))
    lock = threading.Lock()

    def next_job() -> IndexJob | None:
        with lock:
            return next(pending, None)

    def worker() -> None:
        with engine.connect() as conn:
            while (job := next_job()) is not None:
                for statement in job:
                    # SET LOCAL: the pooled connection goes back with the server's default.
                    conn.execute(
                        text(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'"))
                    conn.execute(text(statement))
                    conn.commit()

    with ThreadPoolExecutor(max_workers=connections) as pool:
        futures = [pool.submit(worker) for _ in range(max(1, min(connections, len(jobs))))]
    for future in futures:
        future.result()


def rename_layer_table(conn: Connection, staged: str, final: str) -> None:
    """Give a staging table its version name, and its indexes the names they would have had
    had they been built under it (:func:`index_stem` of the final name); the caller's
    transaction makes it visible together with the catalogue rows."""
    conn.execute(text(f'ALTER TABLE {DATA_SCHEMA}."{staged}" RENAME TO "{final}"'))
    old_stem, new_stem = index_stem(staged), index_stem(final)
    names = conn.execute(
        text("SELECT indexname FROM pg_indexes WHERE schemaname = :s AND tablename = :t"),
        {"s": DATA_SCHEMA, "t": final},
    ).scalars().all()
    for name in names:
        if name.startswith(old_stem):
            renamed = new_stem + name[len(old_stem):]
            conn.execute(text(f'ALTER INDEX {DATA_SCHEMA}."{name}" RENAME TO "{renamed}"'))


def measure(
    conn: Connection, table_name: str, has_geometry: bool
) -> tuple[int, list[float] | None]:
    """Row count and bbox [minlon, minlat, maxlon, maxlat] of a loaded table."""
    qualified = f'{DATA_SCHEMA}."{table_name}"'
    count = conn.execute(text(f"SELECT count(*) FROM {qualified}")).scalar_one()
    if not has_geometry:
        return count, None
    row = conn.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            f"FROM (SELECT ST_Extent(geom) AS e FROM {qualified}) s"
        )
    ).one()
    bbox = None if row[0] is None else [float(v) for v in row]
    return count, bbox


def stage_layer(
    conn: Connection,
    table_name: str,
    layer: LayerData,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """Create one staging table and COPY its rows in the caller's transaction; return the
    content's SHA-256. Indexes come after the commit (:func:`build_indexes`)."""
    create_layer_table(conn, table_name, layer)
    return copy_rows(conn, table_name, layer, progress)

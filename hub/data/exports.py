"""Stream whole versions out of PostgreSQL for bulk files (executed here, built in
:mod:`hub.query.exports`).

Everything streams with bounded memory whatever the table size: CSV and GeoJSON are
PostgreSQL's own ``COPY ... TO STDOUT`` passed through as bytes (Python never looks at a
row); typed rows (Parquet, GeoPackage) are PostgreSQL's binary COPY decoded into Arrow
record batches by the ADBC PostgreSQL driver (C++, columnar), ``batch_rows`` at most each.
Each stream runs in its own read-only transaction with the session settings of
:data:`hub.query.exports.EXPORT_SESSION` (no statement timeout: an export is as long as
its table, and it is bounded in memory, not in time).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pyarrow as pa
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from hub.catalog import PublishedVersion
from hub.data.read_routing import ReadRouting
from hub.query import exports as exports_q

T = TypeVar("T")

DEFAULT_BATCH_ROWS = 50_000
COPY_BLOCK_BYTES = 1 << 20
# Bytes per Arrow batch the ADBC driver aims at (its default is 16 MiB): at 4 MiB a 1M-row
# GeoPackage peaked at 273 MiB instead of 310 for ~10% more time (bench/export_bench.py).
ARROW_BATCH_BYTES = 4 << 20
# Batches the driver may decode ahead of the writer: one is enough to keep both busy, and
# each costs ARROW_BATCH_BYTES of memory.
READ_AHEAD_BATCHES = 1


def libpq_uri(engine: Engine) -> str:
    """The engine's database as a libpq URI (SQLAlchemy's without the driver name)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class ExportSource:
    """Row streams of one version layer, for the writers in :mod:`hub.export`.

    ``reads`` (default: the primary only) picks the database each stream reads from: a
    replica that has replayed the version when there is one (hub.data.read_routing). A
    replica that cannot be reached when a stream starts is replaced by the primary; one that
    dies in the middle of a stream fails that build, which the next request starts again."""

    def __init__(self, engine: Engine, batch_rows: int = DEFAULT_BATCH_ROWS,
                 reads: ReadRouting | None = None) -> None:
        self.engine = engine
        self.batch_rows = batch_rows
        self.reads = reads or ReadRouting(engine)

    def _connect(self, version: PublishedVersion) -> Connection:
        """A connection in a transaction (the session settings are ``SET LOCAL``), on the
        database the routing picks for the version (replica engines default to autocommit)."""
        engine = self.reads.engine_for(version.published_lsn)
        try:
            conn = engine.connect()
        except DBAPIError as exc:
            if not self.reads.replica_failed(engine, exc):
                raise
            conn = self.reads.primary.connect()
        return conn.execution_options(isolation_level="READ COMMITTED")

    @contextmanager
    def _session(self, version: PublishedVersion) -> Iterator[Any]:
        """A raw psycopg connection inside a read-only transaction with export settings."""
        with self._connect(version) as conn:
            for statement in exports_q.EXPORT_SESSION:
                conn.execute(text(statement))
            yield conn.connection.driver_connection
            conn.rollback()

    def csv_chunks(self, version: PublishedVersion, *, excel: bool = False) -> Iterator[bytes]:
        """The CSV file (header + rows, UTF-8, ``\\n`` line ends) as COPY sends it."""
        yield from self._copy(version, exports_q.copy_csv_sql(version, excel=excel))

    def geojson_lines(self, version: PublishedVersion) -> Iterator[bytes]:
        """GeoJSON Feature texts, each followed by ``\\n``, as COPY sends them (chunks
        need not end at a line end)."""
        yield from self._copy(version, exports_q.copy_geojson_sql(version))

    def _copy(self, version: PublishedVersion, sql: str) -> Iterator[bytes]:
        """COPY TO STDOUT output in blocks of about :data:`COPY_BLOCK_BYTES` (the server
        sends one message per row; joining them saves a write and a yield per row)."""
        block = bytearray()
        with self._session(version) as raw, raw.cursor() as cur, cur.copy(sql) as copy:
            for chunk in copy:
                block += chunk
                if len(block) >= COPY_BLOCK_BYTES:
                    yield bytes(block)
                    block.clear()
        if block:
            yield bytes(block)

    def arrow_batches(self, version: PublishedVersion) -> Iterator[pa.RecordBatch]:
        """Typed rows (fields..., WKB ``geometry``) as Arrow record batches of at most
        ``batch_rows`` rows, typed as PostgreSQL's columns (writers cast to their schema).

        The ADBC driver reads ``COPY (...) TO STDOUT (FORMAT binary)`` into Arrow arrays in
        C++: no Python object per value, which made rows -> tuples -> Arrow the cost of
        Parquet and GeoPackage. It needs its own connection (libpq, same URL); the
        driver's batches are bounded in bytes (:data:`ARROW_BATCH_BYTES`). The driver runs
        in a worker thread one batch ahead of the writer (:func:`read_ahead`), so decoding
        the next batch overlaps with encoding this one (both release the GIL)."""
        return read_ahead(self._adbc_batches(version), READ_AHEAD_BATCHES)

    def _adbc_batches(self, version: PublishedVersion) -> Iterator[pa.RecordBatch]:
        # The low-level driver manager API, not adbc_driver_manager.dbapi: importing the
        # DB-API module imports pyarrow.dataset and pandas (~0.4 s and ~50 MB per export
        # process) for nothing this needs.
        import adbc_driver_manager
        import adbc_driver_postgresql

        sql = exports_q.compile_literal(exports_q.typed_select(version))
        hint = adbc_driver_postgresql.StatementOptions.BATCH_SIZE_HINT_BYTES.value
        with (adbc_driver_postgresql.connect(
                libpq_uri(self.reads.engine_for(version.published_lsn))) as database,
              adbc_driver_manager.AdbcConnection(database) as conn):
            conn.set_autocommit(False)
            with adbc_driver_manager.AdbcStatement(conn) as statement:
                for setting in exports_q.EXPORT_SESSION:
                    statement.set_sql_query(setting)
                    statement.execute_update()
                statement.set_options(**{hint: str(ARROW_BATCH_BYTES)})
                statement.set_sql_query(sql)
                stream, _rows = statement.execute_query()
                with pa.RecordBatchReader.from_stream(stream) as reader:
                    for batch in reader:
                        for start in range(0, batch.num_rows, self.batch_rows):
                            yield batch.slice(start, self.batch_rows)
            conn.rollback()

    def geometry_types(self, version: PublishedVersion) -> list[tuple[str, int]]:
        """Distinct (PostGIS geometry type, dimensions) pairs of the layer: a scan of the
        table (~0.9 s at 1M rows). The build does not need it (the Parquet writer collects
        the types from the rows); the benchmark gives them to its GeoPackage-only run."""
        if not version.has_geometry:
            return []
        with self._connect(version) as conn:
            conn.execute(text("SET LOCAL statement_timeout = 0"))
            rows = conn.execute(exports_q.geometry_types_select(version)).all()
        return [(str(r.kind), int(r.dims)) for r in rows]


_END = object()


def read_ahead(items: Iterator[T], depth: int) -> Iterator[T]:
    """``items``, produced in a worker thread at most ``depth`` items ahead of the consumer.

    The producer runs (and is closed) entirely in the worker, so a database connection it
    opens lives in one thread. Its exceptions reach the consumer; if the consumer stops
    early, the worker closes the producer after its current item."""
    ahead: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    break
            else:
                put((_END, None))
        except BaseException as exc:  # the consumer re-raises it
            put((_END, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="export-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item, error = ahead.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item
    finally:
        stop.set()
        worker.join()

"""Stream whole versions out of PostgreSQL for bulk files (executed here, built in
:mod:`hub.query.exports`).

Everything streams with bounded memory whatever the table size: CSV and GeoJSON are
PostgreSQL's own ``COPY ... TO STDOUT`` passed through as bytes (Python never looks at a
row); typed rows come from a server-side (named) cursor, ``batch_rows`` at a time. Each stream
runs in its own read-only transaction with the session settings of
:data:`hub.query.exports.EXPORT_SESSION` (no statement timeout: an export is as long as
its table, and it is bounded in memory, not in time).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, text

from hub.catalog import PublishedVersion
from hub.query import exports as exports_q

DEFAULT_BATCH_ROWS = 50_000
COPY_BLOCK_BYTES = 1 << 20


class ExportSource:
    """Row streams of one version layer, for the writers in :mod:`hub.export`."""

    def __init__(self, engine: Engine, batch_rows: int = DEFAULT_BATCH_ROWS) -> None:
        self.engine = engine
        self.batch_rows = batch_rows

    @contextmanager
    def _session(self) -> Iterator[Any]:
        """A raw psycopg connection inside a read-only transaction with export settings."""
        with self.engine.connect() as conn:
            conn.execute(text("SET TRANSACTION READ ONLY"))
            for statement in exports_q.EXPORT_SESSION:
                conn.execute(text(statement))
            yield conn.connection.driver_connection
            conn.rollback()

    def csv_chunks(self, version: PublishedVersion, *, excel: bool = False) -> Iterator[bytes]:
        """The CSV file (header + rows, UTF-8, ``\\n`` line ends) as COPY sends it."""
        yield from self._copy(exports_q.copy_csv_sql(version, excel=excel))

    def geojson_lines(self, version: PublishedVersion) -> Iterator[bytes]:
        """GeoJSON Feature texts, each followed by ``\\n``, as COPY sends them (chunks
        need not end at a line end)."""
        yield from self._copy(exports_q.copy_geojson_sql(version))

    def _copy(self, sql: str) -> Iterator[bytes]:
        """COPY TO STDOUT output in blocks of about :data:`COPY_BLOCK_BYTES` (the server
        sends one message per row; joining them saves a write and a yield per row)."""
        block = bytearray()
        with self._session() as raw, raw.cursor() as cur, cur.copy(sql) as copy:
            for chunk in copy:
                block += chunk
                if len(block) >= COPY_BLOCK_BYTES:
                    yield bytes(block)
                    block.clear()
        if block:
            yield bytes(block)

    def typed_batches(self, version: PublishedVersion) -> Iterator[list[tuple[Any, ...]]]:
        """Typed row tuples (fields..., WKB geometry), ``batch_rows`` per list."""
        sql = exports_q.compile_literal(exports_q.typed_select(version))
        yield from self._batches(sql, lambda rows: rows)

    def _batches(self, sql: str, shape: Any) -> Iterator[Any]:
        with self._session() as raw, raw.cursor(name="hub_export") as cur:
            cur.itersize = self.batch_rows
            cur.execute(sql)
            while True:
                rows = cur.fetchmany(self.batch_rows)
                if not rows:
                    break
                yield shape(rows)

    def geometry_types(self, version: PublishedVersion) -> list[tuple[str, int]]:
        """Distinct (PostGIS geometry type, dimensions) pairs of the layer."""
        if not version.has_geometry:
            return []
        with self.engine.connect() as conn:
            conn.execute(text("SET LOCAL statement_timeout = 0"))
            rows = conn.execute(exports_q.geometry_types_select(version)).all()
        return [(str(r.kind), int(r.dims)) for r in rows]

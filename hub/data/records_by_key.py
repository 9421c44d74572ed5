"""One record by its key, served on the event loop: the hub's most frequent read (bench/README.md).

Why this is not the SQLAlchemy path every other read takes: a lookup by key does almost no
database work (one index probe), so its cost is all per-request overhead: a thread-pool hop,
SQLAlchemy's execution machinery, and two round trips (the version's state, then the record).
Measured with py-spy and /proc on the bench's 1M-row table: 2.7 ms of server CPU per lookup
that way; this way about a third of it.

What makes it cheap, without changing any answer a client sees:

- The statements still come from the builders in :mod:`hub.query`. Each shape (table, format,
  CRS) is compiled once to SQL text and then run as a server-side prepared statement on an
  async psycopg pool: no thread, no per-call compile.
- The version a reference (dataset, version or latest, layer) resolved to last time is
  assumed: its state query and the record query go out in one pipeline, so one round trip.
  If the state shows another version (a publish or a withdrawal happened since), the guess is
  dropped and the lookup resolved again through :meth:`Data.layer`, which also raises
  :class:`NotFound` / :class:`Gone`. Answers are therefore exact; only SQL text and the last
  resolution are remembered, never an answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import Select
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

from hub.catalog import PublishedVersion
from hub.data.core import Data
from hub.query import catalog as catalog_q
from hub.query.model import OutputCrs
from hub.query.params import record_key
from hub.query.records import Output, record_by_key_statement

_DIALECT = PGDialect_psycopg()
_MAX_REMEMBERED = 4096


@dataclass(frozen=True)
class CompiledStatement:
    """SQL text in psycopg's ``%(name)s`` style and the values of its fixed parameters."""

    sql: str
    params: dict[str, Any]

    @classmethod
    def of(cls, statement: Select[Any]) -> CompiledStatement:
        compiled = statement.compile(dialect=_DIALECT)
        return cls(str(compiled), dict(compiled.params))

    def with_values(self, **values: Any) -> dict[str, Any]:
        return {**self.params, **values}


@dataclass(frozen=True)
class FoundRecord:
    """The version the reference resolved to, and the record's row (``None``: no such key).

    For json and geojson the row is one column of JSON text made by PostGIS; for csv it
    holds the CSV columns (``csv_columns``)."""

    published: PublishedVersion
    row: tuple[Any, ...] | None
    csv_columns: tuple[str, ...]


class RecordsByKey:
    """Look up single records by key on an async pool (see the module docstring for why)."""

    def __init__(self, pool: AsyncConnectionPool, data: Data) -> None:
        self.pool = pool
        self.data = data
        self._states: dict[bool, CompiledStatement] = {}
        self._statements: dict[tuple[Any, ...], tuple[CompiledStatement, tuple[str, ...]]] = {}
        self._resolved: dict[tuple[str, int | None, str | None], PublishedVersion] = {}

    async def open(self) -> None:
        await self.pool.open()

    async def close(self) -> None:
        await self.pool.close()

    async def record(
        self, dataset_id: str, number: int | None, layer: str | None, raw_key: str,
        output: Output, output_crs: OutputCrs | None = None,
    ) -> FoundRecord:
        """The record named ``raw_key`` in a dataset's version (``None``: latest) and layer.

        Raises :class:`NotFound` / :class:`Gone` for the version like every other read; a
        key no record can have (a value of the wrong type) is simply not found (``row`` None).
        """
        reference = (dataset_id, number, layer)
        guess = self._resolved.get(reference)
        if guess is not None:
            try:
                column, value = record_key(guess.schema, raw_key)
            except LookupError:
                guess = None  # resolve the version first, so a withdrawal still answers 410
        if guess is not None:
            found = await self._speculate(guess, dataset_id, number, column, value, output,
                                          output_crs)
            if found is not None:
                return found
            self._resolved.pop(reference, None)
        published = await anyio.to_thread.run_sync(self.data.layer, dataset_id, number, layer)
        if len(self._resolved) > _MAX_REMEMBERED:
            self._resolved.clear()
        self._resolved[reference] = published
        try:
            column, value = record_key(published.schema, raw_key)
        except LookupError:
            return FoundRecord(published, None, ())
        statement, csv_columns = self._record_statement(published, column, output, output_crs)
        (row,) = await self._fetch([(statement.sql, statement.with_values(key=value))])
        return FoundRecord(published, row, csv_columns)

    async def _speculate(
        self, guess: PublishedVersion, dataset_id: str, number: int | None, column: str,
        value: Any, output: Output, output_crs: OutputCrs | None,
    ) -> FoundRecord | None:
        """State and record in one round trip, assuming the version resolved last time;
        ``None`` when the state shows that guess is no longer the answer."""
        state_statement = self._state_statement(dataset_id, number)
        statement, csv_columns = self._record_statement(guess, column, output, output_crs)
        try:
            state, row = await self._fetch([
                (state_statement.sql,
                 state_statement.with_values(dataset_id=dataset_id, version=number)),
                (statement.sql, statement.with_values(key=value)),
            ])
        except psycopg.errors.UndefinedTable:
            return None  # the guessed version's table is gone: resolve again
        if state is None or not _same_version(state, guess):
            return None
        return FoundRecord(guess, row, csv_columns)

    async def _fetch(
        self, statements: list[tuple[str, dict[str, Any]]],
    ) -> list[tuple[Any, ...] | None]:
        """The first row of each statement, all sent in one pipeline (one round trip).

        These are single read-only statements, so a connection found broken (a database
        restart kills idle connections) is retried once after the pool has checked its idle
        connections and dropped the dead ones; a cut query or an exhausted pool is not
        retried (hub.api.errors answers both with 503)."""
        for attempt in (1, 2):
            try:
                async with self.pool.connection() as conn:
                    async with conn.pipeline():
                        cursors = [await conn.execute(sql, params, prepare=True)
                                   for sql, params in statements]
                    return [await cursor.fetchone() for cursor in cursors]
            except (psycopg.errors.QueryCanceled, PoolTimeout):
                raise
            except psycopg.OperationalError:
                if attempt == 2:
                    raise
                await self.pool.check()
        raise AssertionError("unreachable")

    def _state_statement(self, dataset_id: str, number: int | None) -> CompiledStatement:
        latest = number is None
        compiled = self._states.get(latest)
        if compiled is None:
            compiled = CompiledStatement.of(catalog_q.version_state(dataset_id, number))
            self._states[latest] = compiled
        return compiled

    def _record_statement(
        self, published: PublishedVersion, column: str, output: Output,
        output_crs: OutputCrs | None,
    ) -> tuple[CompiledStatement, tuple[str, ...]]:
        shape = ("record", published.table_name, column, output, output_crs)
        cached = self._statements.get(shape)
        if cached is None:
            statement, csv_columns = record_by_key_statement(
                published.table(), published.schema, column, output=output,
                output_crs=output_crs, has_geometry=published.has_geometry)
            cached = (CompiledStatement.of(statement), csv_columns)
            if len(self._statements) > _MAX_REMEMBERED:
                self._statements.clear()
            self._statements[shape] = cached
        return cached


def _same_version(state: tuple[Any, ...], guess: PublishedVersion) -> bool:
    """The state row (hub.query.catalog.version_state's columns) names the guessed version,
    unchanged and not withdrawn."""
    _dataset, version, status, _reason, _withdrawn_at, content_sha256, _lsn = state
    return (int(version) == guess.version and content_sha256 == guess.content_sha256
            and status == guess.status and status != "withdrawn")

"""Catalogue and records queries (executed here, built in hub.query).

Builders in :mod:`hub.query` return statements; this module runs them and hands plain
values (JSON text produced by PostGIS, tuples for CSV) to the serialisers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from hub.catalog import PublishedVersion
from hub.data.read_routing import ReadRouting
from hub.db.tables import datasets
from hub.query import catalog as catalog_q
from hub.query.model import FeatureQuery
from hub.query.records import Output, count_statement, records_statement


class NotFound(LookupError):
    """A dataset or version does not exist; the message is the problem detail."""


class Gone(LookupError):
    """A version was withdrawn; ``reason`` is shown to the client."""

    def __init__(self, message: str, reason: str | None) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class RecordsPage:
    """One page of records: ``rows`` are payload strings (json/geojson) or tuples (csv)."""

    rows: list[Any]
    next_values: tuple[tuple[Any, ...], int] | None  # (sort values, _fid) of the last row
    csv_columns: tuple[str, ...]


class Data:
    """Read access to the catalogue and version tables: ``engine`` is the primary, and
    ``reads`` decides which reads a replica may serve (hub.data.read_routing)."""

    def __init__(self, engine: Engine, reads: ReadRouting | None = None,
                 count_cap: int = 1000) -> None:
        self.engine = engine
        self.reads = reads or ReadRouting(engine)
        self.count_cap = count_cap  # HUB_COUNT_CAP: see number_matched
        # (dataset, version, content sha256) -> parsed version; immutable, so never stale
        self._versions: dict[tuple[str, int, str, int | None], PublishedVersion] = {}

    @property
    def read_engine(self) -> Engine:
        """What a read on the primary connects with: the engine's pool in autocommit
        (:func:`hub.db.engine.reads_in_autocommit`), for the read helpers built on a bare
        engine (change feed, diffs, transit); writes use :attr:`engine`."""
        return self.reads.primary_reads

    @contextmanager
    def connection(self, conn: Connection | None = None) -> Iterator[Connection]:
        """Use ``conn`` when the caller holds one (one pooled connection per request), else
        check one out for this call only."""
        if conn is not None:
            yield conn
            return
        with self.read_engine.connect() as fresh:
            yield fresh

    # -- catalogue ---------------------------------------------------------------------------

    def search_datasets(
        self, search: catalog_q.DatasetSearch
    ) -> tuple[list[dict[str, Any]], int, dict[str, list[dict[str, Any]]]]:
        def run(conn: Connection) -> tuple[list[dict[str, Any]], int,
                                           dict[str, list[dict[str, Any]]]]:
            rows = [dict(r) for r in conn.execute(catalog_q.dataset_page(search)).mappings()]
            total = conn.execute(catalog_q.dataset_count(search)).scalar_one()
            facets: dict[str, list[dict[str, Any]]] = {}
            for facet in catalog_q.FACETS:
                facets[facet] = [
                    {"value": r.value, "count": r.count}
                    for r in conn.execute(catalog_q.facet_counts(search, facet))
                ]
            return rows, total, facets

        return self.reads.catalogue_read(run)

    def dataset(self, dataset_id: str, conn: Connection | None = None) -> dict[str, Any]:
        with self.connection(conn) as c:
            row = c.execute(catalog_q.dataset_by_id(dataset_id)).mappings().first()
            has_versions = row is not None and (
                row["current_version"] is not None
                or c.execute(catalog_q.versions_of(dataset_id).limit(1)).first() is not None
            )
        if row is None or not has_versions:
            raise NotFound(f"dataset '{dataset_id}' does not exist")
        return dict(row)

    def versions(self, dataset_id: str) -> list[dict[str, Any]]:
        self.dataset(dataset_id)
        return self.reads.catalogue_read(lambda conn: [
            dict(r) for r in conn.execute(catalog_q.versions_of(dataset_id)).mappings()])

    def layer(self, dataset_id: str, number: int | None, layer: str | None,
              conn: Connection | None = None) -> PublishedVersion:
        """A version seen through one of its layers (``None``: the main layer)."""
        return _layer_of(self.version(dataset_id, number, conn), layer)

    def dataset_and_layer(self, dataset_id: str, number: int | None, layer: str | None,
                          conn: Connection | None = None
                          ) -> tuple[dict[str, Any], PublishedVersion]:
        """The dataset's row and :meth:`layer`, read in one round trip (an OGC collection
        is both); the same errors as :meth:`layer`."""
        dataset, version = self._resolve(dataset_id, number, conn, with_dataset=True)
        return dataset, _layer_of(version, layer)

    def version(self, dataset_id: str, number: int | None,
                conn: Connection | None = None) -> PublishedVersion:
        """A pinned version, or the current one when ``number`` is None (``latest``).

        One light query reads what may change (the current pointer, the status); the rest of
        a version never changes, so it is parsed once per process and cached by content hash.
        Raises :class:`NotFound` or, for a withdrawn pinned version, :class:`Gone`.
        """
        return self._resolve(dataset_id, number, conn, with_dataset=False)[1]

    def _resolve(self, dataset_id: str, number: int | None, conn: Connection | None,
                 with_dataset: bool) -> tuple[dict[str, Any], PublishedVersion]:
        """:meth:`version`, and the dataset's row when ``with_dataset`` (else ``{}``)."""
        with self.connection(conn) as c:
            state = c.execute(
                catalog_q.version_state(dataset_id, number, with_dataset)).mappings().first()
            if state is None:
                self.dataset(dataset_id, c)  # raises NotFound for an unknown dataset
                if number is None:
                    raise NotFound(f"dataset '{dataset_id}' has no published version")
                raise NotFound(f"dataset '{dataset_id}' has no version {number}")
            if state["status"] == "withdrawn":
                raise Gone(
                    f"version {state['version']} of dataset '{dataset_id}' was withdrawn",
                    state["withdrawn_reason"],
                )
            # the stamp is written just after the publish commits: a version first read
            # unstamped is parsed again once stamped, so replicas can serve it from then on
            key = (dataset_id, int(state["version"]), state["content_sha256"],
                   state["published_lsn"])
            version = self._versions.get(key)
            if version is None:
                row = c.execute(
                    catalog_q.version_by_number(dataset_id, key[1])).mappings().one()
                version = PublishedVersion.from_row(row)
                if len(self._versions) > 4096:
                    self._versions.clear()
                self._versions[key] = version
        dataset = ({column.name: state[column.name] for column in datasets.c}
                   if with_dataset else {})
        return dataset, version

    # -- records -----------------------------------------------------------------------------

    def records(
        self, version: PublishedVersion, query: FeatureQuery, output: Output,
        conn: Connection | None = None,
    ) -> RecordsPage:
        built = records_statement(
            version.query_table(),
            version.schema,
            query,
            has_geometry=version.has_geometry,
            output=output,
        )
        result = self.reads.version_read(
            version.published_lsn, lambda c: c.execute(built.statement).all(), conn)
        more = len(result) > query.limit
        result = result[: query.limit]
        n_keys = len(built.sort_keys)
        if output == "csv":
            rows: list[Any] = [tuple(r[1 + n_keys :]) for r in result]
        else:
            rows = [r[1 + n_keys] for r in result]
        next_values = None
        if more and result:
            last = result[-1]
            next_values = (tuple(last[1 : 1 + n_keys]), int(last[0]))
        return RecordsPage(rows, next_values, built.csv_columns)

    def number_matched(self, version: PublishedVersion, query: FeatureQuery, page: RecordsPage,
                       conn: Connection | None = None) -> int | None:
        """``numberMatched`` of a records page, or None to leave it out: the one counting rule
        of ``/v1`` records and ``/ogc`` items.

        Exact or absent, never estimated. Free when it can be: the stored row count when the
        query filters nothing; the page's own length when it is a first page that holds every
        match. Otherwise a count that stops reading at :attr:`count_cap` + 1 matches: exact up
        to the cap, left out above it (OGC API Features makes ``numberMatched`` optional, and
        clients page by the ``next`` link). A count of every match on every page cost more
        than the page itself (a broad filter at 1M rows: ~300 ms against ~10 ms)."""
        if query.is_unfiltered:
            return version.row_count
        if query.cursor is None and page.next_values is None:
            return len(page.rows)
        if self.count_cap <= 0:
            return None
        statement = count_statement(version.query_table(), query, self.count_cap)
        matched = int(self.reads.version_read(
            version.published_lsn, lambda c: c.execute(statement).scalar_one(), conn))
        return matched if matched <= self.count_cap else None


def _layer_of(version: PublishedVersion, layer: str | None) -> PublishedVersion:
    """``version`` seen through ``layer`` (``None``: the main layer), or :class:`NotFound`
    naming the layers it has."""
    if layer is None:
        return version
    try:
        return version.layer(layer)
    except KeyError:
        raise NotFound(
            f"dataset '{version.dataset_id}' has no layer '{layer}'; layers are: "
            f"{', '.join(version.layer_names)}"
        ) from None

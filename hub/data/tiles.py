"""Vector tiles: run the statement of :mod:`hub.query.tiles` and hand back the bytes."""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from hub.catalog import PublishedVersion
from hub.data.read_routing import ReadRouting
from hub.data.tile_cache import TileCache
from hub.db.engine import BINARY_RESULTS
from hub.query.model import FeatureQuery
from hub.query.tiles import tile_statement


class Tiles:
    """Tile reads on the primary or a replica, as ``reads`` decides (the same routing as
    :class:`hub.data.Data`), with an optional :class:`TileCache` for unfiltered tiles (a
    version table never changes), which also computes each of them once when many ask for
    it at the same time."""

    def __init__(self, engine: Engine, cache: TileCache | None = None,
                 reads: ReadRouting | None = None) -> None:
        self.engine = engine
        self.cache = cache
        self.reads = reads or ReadRouting(engine)

    def tile(self, version: PublishedVersion, query: FeatureQuery, layer: str,
             z: int, x: int, y: int, conn: Connection | None = None) -> bytes:
        """The MVT bytes PostGIS wrote; empty when no feature touches the tile. Fetched in
        binary format (see :data:`hub.db.engine.BINARY_RESULTS`): tiles run to megabytes.
        ``conn``: the request's connection, when it holds one."""
        cache = self.cache if query.is_unfiltered else None
        if cache is None:
            return self._compute(version, query, layer, z, x, y, conn)
        return cache.get_or_compute((version.table_name, layer, z, x, y),
                                    lambda: self._compute(version, query, layer, z, x, y, conn))

    def _compute(self, version: PublishedVersion, query: FeatureQuery, layer: str,
                 z: int, x: int, y: int, conn: Connection | None) -> bytes:
        statement = tile_statement(version.table(), version.schema, query, layer, z, x, y)
        value = self.reads.version_read(
            version.published_lsn,
            lambda c: c.execute(statement, execution_options={BINARY_RESULTS: True}).scalar(),
            conn)
        return bytes(value) if value else b""

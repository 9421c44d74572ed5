"""Vector tiles: run the statement of :mod:`hub.query.tiles` and hand back the bytes."""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from hub.catalog import PublishedVersion
from hub.db.engine import BINARY_RESULTS
from hub.query.model import FeatureQuery
from hub.query.tiles import tile_statement


class Tiles:
    """Tile reads through one engine (the same engine as :class:`hub.data.Data`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def tile(self, version: PublishedVersion, query: FeatureQuery, layer: str,
             z: int, x: int, y: int, conn: Connection | None = None) -> bytes:
        """The MVT bytes PostGIS wrote; empty when no feature touches the tile. Fetched in
        binary format (see :data:`hub.db.engine.BINARY_RESULTS`): tiles run to megabytes.
        ``conn``: the request's connection, when it holds one."""
        statement = tile_statement(version.table(), version.schema, query, layer, z, x, y)
        if conn is None:
            with self.engine.connect() as fresh:
                return self.tile(version, query, layer, z, x, y, fresh)
        value = conn.execute(statement, execution_options={BINARY_RESULTS: True}).scalar()
        return bytes(value) if value else b""

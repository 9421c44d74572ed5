"""Vector tiles: run the statement of :mod:`hub.query.tiles` and hand back the bytes."""

from __future__ import annotations

from sqlalchemy import Engine

from hub.catalog import PublishedVersion
from hub.db.engine import BINARY_RESULTS
from hub.query.model import FeatureQuery
from hub.query.tiles import tile_statement


class Tiles:
    """Tile reads through one engine (the same engine as :class:`hub.data.Data`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def tile(self, version: PublishedVersion, query: FeatureQuery, layer: str,
             z: int, x: int, y: int) -> bytes:
        """The MVT bytes PostGIS wrote; empty when no feature touches the tile. Fetched in
        binary format (see :data:`hub.db.engine.BINARY_RESULTS`): tiles run to megabytes."""
        statement = tile_statement(version.table(), version.schema, query, layer, z, x, y)
        with self.engine.connect() as conn:
            value = conn.execution_options(**{BINARY_RESULTS: True}).execute(statement).scalar()
        return bytes(value) if value else b""

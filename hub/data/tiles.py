"""Vector tiles: run the statements of :mod:`hub.query.tiles` and hand back the bytes.

Every tile is at most ``max_bytes`` (``HUB_TILE_MAX_KB``). The rule, decided here only: a
tile holds every feature of its area when that encoding fits, else it is thinned (one
feature per cell, with ``count``; :func:`hub.query.tiles.thinned_tile_statement`) with the
first cell of :func:`thinning_cells` whose tile fits (the sequence depends only on the cap
and the probe, both fixed for a tile of a version). The probe's lower bound skips encoding a
full tile that cannot fit; it changes what a tile costs, never what it holds, so the same
tile is the same bytes whichever way it was reached.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from hub.catalog import PublishedVersion
from hub.data.read_routing import ReadRouting
from hub.data.tile_cache import TileCache
from hub.db.engine import BINARY_RESULTS
from hub.query.model import FeatureQuery
from hub.query.tiles import (
    BUFFER,
    EXTENT,
    thinned_tile_statement,
    tile_probe_statement,
    tile_statement,
)

DEFAULT_MAX_BYTES = 500 * 1024
# A thinned tile's first cell is sized for the cap at this estimate of a feature's bytes:
# the probe's lower bound counts 2 bytes per attribute, where a typical encoded value (a key
# and a value index, the value itself spread over the layer's value table) costs about 10,
# which makes 5x the bound (measured on the bench's 16-field places: ~190 bytes a feature).
FEATURE_BYTES_PER_MIN_BYTE = 5
MIN_ESTIMATED_FEATURE_BYTES = 64


@dataclass(frozen=True)
class RenderedTile:
    """A tile's bytes, and whether it was thinned (its features carry ``count``)."""

    body: bytes
    thinned: bool


class Tiles:
    """Tile reads on the primary or a replica, as ``reads`` decides (the same routing as
    :class:`hub.data.Data`), with an optional :class:`TileCache` for unfiltered tiles (a
    version table never changes), which also computes each of them once when many ask for
    it at the same time."""

    def __init__(self, engine: Engine, cache: TileCache | None = None,
                 reads: ReadRouting | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.engine = engine
        self.cache = cache
        self.reads = reads or ReadRouting(engine)
        self.max_bytes = max_bytes

    def tile(self, version: PublishedVersion, query: FeatureQuery, layer: str,
             z: int, x: int, y: int, conn: Connection | None = None) -> bytes:
        """The MVT bytes PostGIS wrote; empty when no feature touches the tile. Fetched in
        binary format (see :data:`hub.db.engine.BINARY_RESULTS`): tiles run to megabytes.
        ``conn``: the request's connection, when it holds one."""
        cache = self.cache if query.is_unfiltered else None
        if cache is None:
            return self.render(version, query, layer, z, x, y, conn).body
        return cache.get_or_compute(
            (version.table_name, layer, z, x, y),
            lambda: self.render(version, query, layer, z, x, y, conn).body)

    def render(self, version: PublishedVersion, query: FeatureQuery, layer: str,
               z: int, x: int, y: int, conn: Connection | None = None) -> RenderedTile:
        """Compute the tile (never from the cache), by the rule of the module doc, where the
        read routing sends it: a replica that has replayed the version, else the primary
        (``conn``: the request's primary connection, when it holds one)."""
        return self.reads.version_read(
            version.published_lsn,
            lambda c: self._render_on(c, version, query, layer, z, x, y), conn)

    def _render_on(self, conn: Connection, version: PublishedVersion, query: FeatureQuery,
                   layer: str, z: int, x: int, y: int) -> RenderedTile:
        table, schema = version.table(), version.schema
        features, min_bytes = conn.execute(
            tile_probe_statement(table, schema, query, z, x, y)).one()
        if not features:
            return RenderedTile(b"", thinned=False)
        if min_bytes <= self.max_bytes:
            full = self._run(conn, tile_statement(table, schema, query, layer, z, x, y))
            if len(full) <= self.max_bytes:
                return RenderedTile(full, thinned=False)
        for cell in thinning_cells(self.max_bytes, min_bytes / features):
            body = self._run(conn, thinned_tile_statement(table, schema, query, layer,
                                                          z, x, y, cell))
            if len(body) <= self.max_bytes:
                break
        # else: one feature per cell of the whole tile, nothing thinner to give
        return RenderedTile(body, thinned=True)

    @staticmethod
    def _run(conn: Connection, statement: Any) -> bytes:
        value = conn.execute(statement, execution_options={BINARY_RESULTS: True}).scalar()
        return bytes(value) if value else b""


def thinning_cells(max_bytes: int, min_feature_bytes: float) -> list[int]:
    """Cell sizes (pixels) a thinned tile tries, finest first: the first gives a cap's worth
    of features were every cell (buffer included) full, at an estimated
    :data:`FEATURE_BYTES_PER_MIN_BYTE` times the probe's lower bound per feature (at least
    :data:`MIN_ESTIMATED_FEATURE_BYTES`); each next one is twice as wide, the last the whole
    tile. Derived from the cap and the probe only, so the same tile walks the same sizes."""
    estimate = max(MIN_ESTIMATED_FEATURE_BYTES, FEATURE_BYTES_PER_MIN_BYTE * min_feature_bytes)
    fitting = max(int(max_bytes // estimate), 1)
    cell = max(math.ceil((EXTENT + 2 * BUFFER) / math.sqrt(fitting)), 2)
    cells = []
    while cell < EXTENT:
        cells.append(cell)
        cell *= 2
    return [*cells, EXTENT]

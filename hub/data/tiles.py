"""Vector tiles: run the statements of :mod:`hub.query.tiles` and hand back the bytes.

Every tile is at most ``max_bytes`` (``HUB_TILE_MAX_KB``). The rule, decided here only:

- a tile whose features would take at most :data:`FULL_ATTEMPT_FACTOR` times the cap, at
  the version's bytes per feature, is encoded whole, and served whole when it fits (that
  many features is ``worth_trying``, computed here; ``TileStatements.counted`` counts the
  tile's features and encodes it whole within that bound in the same round trip);
- any other tile is thinned (one feature per cell, with ``count``;
  ``TileStatements.thinned`` of :mod:`hub.query.tiles`) with the first cell of
  :func:`thinning_cells` whose tile fits.

The bytes per feature are measured once per version on a fixed sample of its rows (a version
never changes), and the count is the tile's own, so the same tile always takes the same path
and is the same bytes. Estimating first is what keeps a dense tile cheap: encoding a 20,000
feature tile whole only to find it is four times the cap cost more than the thinned tile
itself (bench/README.md, "Tiles at scale"). The factor leaves room for a tile whose features
are somewhat smaller than the sample's (empty attributes, repeated values): such a tile is
still tried whole. One whose features average under 80% of the sample's size and would
just fit may be thinned: the price of never encoding hopeless tiles.
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
    TileStatements,
    feature_bytes_sample_statement,
    tile_parameters,
    tile_statements,
)

DEFAULT_MAX_BYTES = 500 * 1024
# A full encoding is tried up to this many times the cap at the sampled bytes per feature: a
# tile's own features came to 0.85-0.97 of the sample's size on the bench's places (values
# repeated within a tile are stored once), so a tile estimated past 1.25 caps does not fit.
FULL_ATTEMPT_FACTOR = 1.25
# The least a feature is taken to cost (an id, a point, a few small attributes), so that a
# sample of short rows does not size cells for more features than a tile can carry.
MIN_ESTIMATED_FEATURE_BYTES = 16
# Unfiltered layers whose statements are kept built (a few KB each); past it, all are dropped.
KEPT_STATEMENT_SETS = 256


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
        self._feature_bytes: dict[str, float] = {}  # version table -> bytes per feature
        self._statements: dict[tuple[str, str], TileStatements] = {}  # unfiltered layers

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
        tile = tile_parameters(z, x, y)
        statements = self.statements(version, query, layer)
        return self.reads.version_read(
            version.published_lsn,
            lambda c: self._render_on(c, version, statements, layer, tile), conn)

    def statements(self, version: PublishedVersion, query: FeatureQuery,
                   layer: str) -> TileStatements:
        """The layer's tile statements: built once per unfiltered version layer and kept (a
        version never changes), built afresh for a filter."""
        if not query.is_unfiltered:
            return tile_statements(version.table(), version.schema, query, layer)
        key = (version.table_name, layer)
        known = self._statements.get(key)
        if known is None:
            if len(self._statements) >= KEPT_STATEMENT_SETS:
                self._statements.clear()
            known = self._statements[key] = tile_statements(
                version.table(), version.schema, query, layer)
        return known

    def _render_on(self, conn: Connection, version: PublishedVersion,
                   statements: TileStatements, layer: str,
                   tile: dict[str, Any]) -> RenderedTile:
        per_feature = self.feature_bytes(conn, version, layer)
        worth_trying = int(FULL_ATTEMPT_FACTOR * self.max_bytes // per_feature)
        # the count and, when it is at most worth_trying, the full tile: one round trip
        features, full = conn.execute(statements.counted, {**tile, "worth_trying": worth_trying},
                                      execution_options={BINARY_RESULTS: True}).one()
        if not features:
            return RenderedTile(b"", thinned=False)
        if full is not None and len(full) <= self.max_bytes:
            return RenderedTile(bytes(full), thinned=False)
        body = b""
        for cell in thinning_cells(self.max_bytes, per_feature):
            body = self._run(conn, statements.thinned, {**tile, "cell": float(cell)})
            if len(body) <= self.max_bytes:
                break
        # else: one feature per cell of the whole tile, nothing thinner to give
        return RenderedTile(body, thinned=True)

    def feature_bytes(self, conn: Connection, version: PublishedVersion, layer: str) -> float:
        """What a feature of ``version`` costs in a tile: a fixed sample of its rows encoded
        (:func:`hub.query.tiles.feature_bytes_sample_statement`), measured once per version
        table by this process, at least :data:`MIN_ESTIMATED_FEATURE_BYTES`."""
        known = self._feature_bytes.get(version.table_name)
        if known is None:
            size, rows = conn.execute(
                feature_bytes_sample_statement(version.table(), version.schema, layer)).one()
            known = max(MIN_ESTIMATED_FEATURE_BYTES, size / rows if rows else 0.0)
            self._feature_bytes[version.table_name] = known
        return known

    @staticmethod
    def _run(conn: Connection, statement: Any, parameters: dict[str, Any]) -> bytes:
        value = conn.execute(statement, parameters,
                             execution_options={BINARY_RESULTS: True}).scalar()
        return bytes(value) if value else b""


def thinning_cells(max_bytes: int, feature_bytes: float) -> list[int]:
    """Cell sizes (pixels) a thinned tile tries, finest first: the first gives a cap's worth
    of features were every cell (buffer included) full, at ``feature_bytes`` per feature;
    each next one is twice as wide, the last the whole tile. Derived from the cap and the
    version's bytes per feature only, so the same tile walks the same sizes."""
    fitting = max(int(max_bytes // max(feature_bytes, MIN_ESTIMATED_FEATURE_BYTES)), 1)
    cell = max(math.ceil((EXTENT + 2 * BUFFER) / math.sqrt(fitting)), 2)
    cells = []
    while cell < EXTENT:
        cells.append(cell)
        cell *= 2
    return [*cells, EXTENT]

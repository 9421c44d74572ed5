"""Finished vector tiles kept in memory, keyed by version table: correct forever, by design.

A version table never changes after its publish commits (a new version is a new table), so
a tile computed from it can be served again for as long as anyone asks, with no invalidation
at all. That is what a tile server over live tables (tipg, pg_tileserv) cannot do safely,
and it matters: a dense z14 tile of the bench's 1M places (~33,000 features, 6 MB) costs
PostGIS most of a CPU-second, nearly all of it encoding attributes in ``ST_AsMVT``
(bench/README.md).

Only unfiltered tiles are kept (a filtered tile's key would be the whole query, and such
tiles are rarely asked twice). The cache is bounded by bytes (``HUB_TILE_CACHE_MB``; 0 turns
it off), least recently used first out, via ``cachetools`` (docs/libraries.md). It is per
process; each server worker has its own.
"""

from __future__ import annotations

import threading

from cachetools import LRUCache

TileKey = tuple[str, str, int, int, int]  # table, layer name, z, x, y


class TileCache:
    """A thread-safe, byte-bounded LRU of tile bodies (sync routes run on many threads)."""

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = capacity_bytes
        # One tile may take at most a quarter of the cache, so a few huge tiles cannot
        # flush everything else.
        self.largest_entry = capacity_bytes // 4
        self._entries: LRUCache[TileKey, bytes] | None = (
            LRUCache(maxsize=capacity_bytes, getsizeof=lambda body: max(len(body), 1))
            if capacity_bytes > 0 else None
        )
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: TileKey) -> bytes | None:
        if self._entries is None:
            return None
        with self._lock:
            body = self._entries.get(key)
            if body is None:
                self.misses += 1
            else:
                self.hits += 1
            return body

    def put(self, key: TileKey, body: bytes) -> None:
        if self._entries is None or len(body) > self.largest_entry:
            return
        with self._lock:
            self._entries[key] = body

    @property
    def size_bytes(self) -> int:
        if self._entries is None:
            return 0
        with self._lock:
            return int(self._entries.currsize)

"""Finished vector tiles kept in memory, keyed by version table: correct forever, by design.

A version table never changes after its publish commits (a new version is a new table), so
a tile computed from it can be served again for as long as anyone asks, with no invalidation
at all. That is what a tile server over live tables (tipg, pg_tileserv) cannot do safely,
and it matters: a dense z14 tile of the bench's 1M places (~33,000 features, 6 MB) costs
PostGIS most of a CPU-second, nearly all of it encoding attributes in ``ST_AsMVT``
(bench/README.md).

Only unfiltered tiles are kept (a filtered tile's key would be the whole query, and such
tiles are rarely asked twice). The cache is bounded by bytes (``HUB_TILE_CACHE_MB``; 0 turns
it off). It is per process; each server worker has its own.

Which tiles stay is decided as in TinyLFU (Einziger, Friedman & Manes, "TinyLFU: A Highly
Efficient Cache Admission Policy", 2017): eviction takes the least recently used tile, but a
new tile only gets in if it has been asked for more often, lately, per byte, than the tiles
it would push out. Plain LRU keeps nothing when the tiles being asked for cycle through more bytes
than the cache holds: each tile leaves just before it is asked for again. That is what a map
of a dense city does at 5M points, where a single z14 tile is ~21 MB (bench/README.md);
with admission the often-asked tiles stay and the rest are computed, instead of every tile
being computed. Request counts are halved every so often, and a cached tile that nobody has
asked for during the last 10 x entries requests no longer defends its place at all: when
the map moves on (the bench asks for z16 tiles after z14 ones), the new tiles get in at
once instead of waiting for old counts to decay. A cache of 12 large tiles learned that
the hard way: its z14 tiles kept every z16 tile out for a whole run. cachetools' caches
cannot refuse an entry, hence the small ordered dict here (docs/libraries.md).

A tile that is being computed is computed once: requests for it that arrive meanwhile wait
for that result instead of running the same ``ST_AsMVT`` again (:meth:`TileCache.get_or_compute`).
A map opened by many people at once asks for the same few tiles at the same moment.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from concurrent.futures import Future

TileKey = tuple[str, str, int, int, int]  # table, layer name, z, x, y

AGEING_MIN_REQUESTS = 1000  # request counts are halved after max(this, 10 x entries) requests
STALE_AFTER_PER_ENTRY = 10  # a tile not asked for in 10 x entries requests defends no place


class TileCache:
    """A thread-safe, byte-bounded tile store (sync routes run on many threads): least
    recently used out first, newcomers admitted only when they serve more requests per byte
    than what they would replace."""

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = max(capacity_bytes, 0)
        # One tile may take at most a quarter of the cache, so a few huge tiles cannot
        # flush everything else.
        self.largest_entry = self.capacity_bytes // 4
        self._entries: OrderedDict[TileKey, bytes] = OrderedDict()  # least recent first
        self._size = 0
        self._asked: Counter[TileKey] = Counter()  # requests per tile since the last ageing
        self._asked_since_ageing = 0
        self._requests = 0
        self._last_asked: dict[TileKey, int] = {}  # cached tiles: request number of the last ask
        self._computing: dict[TileKey, Future[bytes]] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.shared = 0  # requests that waited for a computation already under way

    def get_or_compute(self, key: TileKey, compute: Callable[[], bytes]) -> bytes:
        """The cached tile, or the result of a computation of it already under way, or
        ``compute()`` (kept if admitted). With the cache off, always ``compute()``: the
        cache-off figures in bench/ are what a fresh tile costs."""
        if not self.capacity_bytes:
            return compute()
        with self._lock:
            body = self._lookup(key)
            if body is not None:
                return body
            under_way = self._computing.get(key)
            if under_way is None:
                self.misses += 1
                mine: Future[bytes] = Future()
                self._computing[key] = mine
            else:
                self.shared += 1
        if under_way is not None:
            return under_way.result()  # the computing request's error is raised here too
        try:
            body = compute()
        except BaseException as error:
            mine.set_exception(error)
            raise
        else:
            self.put(key, body)
            mine.set_result(body)
            return body
        finally:
            with self._lock:
                del self._computing[key]

    def get(self, key: TileKey) -> bytes | None:
        """The cached tile or None; the request counts towards admission either way."""
        if not self.capacity_bytes:
            return None
        with self._lock:
            body = self._lookup(key)
            if body is None:
                self.misses += 1
            return body

    def put(self, key: TileKey, body: bytes) -> None:
        """Keep ``body`` if the admission policy lets it in (see the module doc)."""
        size = _size_of(body)
        if not self.capacity_bytes or size > self.largest_entry:
            return
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return
            victims = self._victims_for(key, size)
            if victims is None:
                return
            for victim in victims:
                self._size -= _size_of(self._entries.pop(victim))
                self._last_asked.pop(victim, None)
            self._entries[key] = body
            self._last_asked[key] = self._requests
            self._size += size

    @property
    def size_bytes(self) -> int:
        with self._lock:
            return self._size

    def _lookup(self, key: TileKey) -> bytes | None:
        """Count the request; the cached tile, now the most recently used, or None."""
        self._count_request(key)
        body = self._entries.get(key)
        if body is None:
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return body

    def _victims_for(self, key: TileKey, size: int) -> list[TileKey] | None:
        """The least recently used tiles that must leave to make room for ``size`` bytes,
        or None when they serve more requests per byte than ``key`` would.

        Per byte, because tiles differ in size a hundredfold: one dense z14 tile (21 MB at
        5M points) asked for five times serves fewer requests per byte than a 2.7 MB z16
        tile asked for once. Tiles nobody asked for lately (see the module doc) count as
        serving none."""
        needed = self._size + size - self.capacity_bytes
        victims: list[TileKey] = []
        victims_bytes = victims_requests = 0
        stale_before = self._requests - STALE_AFTER_PER_ENTRY * len(self._entries)
        for old in self._entries:  # least recently used first
            if needed <= 0:
                break
            victims.append(old)
            old_size = _size_of(self._entries[old])
            victims_bytes += old_size
            needed -= old_size
            if self._last_asked.get(old, 0) > stale_before:
                victims_requests += self._asked[old]
        if victims and victims_requests * size >= self._asked[key] * victims_bytes:
            return None
        return victims

    def _count_request(self, key: TileKey) -> None:
        self._requests += 1
        if key in self._entries:
            self._last_asked[key] = self._requests
        self._asked[key] += 1
        self._asked_since_ageing += 1
        if self._asked_since_ageing >= max(AGEING_MIN_REQUESTS, 10 * len(self._entries)):
            self._asked = Counter({k: n // 2 for k, n in self._asked.items() if n > 1})
            self._asked_since_ageing = 0


def _size_of(body: bytes) -> int:
    """Bytes a tile counts for; an empty tile (no features) still takes a slot."""
    return max(len(body), 1)

"""The tile cache: bounded by bytes; least recently used out first; a newcomer gets in only
when asked for more often than what it would push out; request counts age; off at 0.

Every test drives the cache as ``Tiles.tile`` does: ``get`` (a miss counts the request),
then ``put`` of the computed tile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from hub.data import tile_cache
from hub.data.tile_cache import TileCache


def key(n: int) -> tuple[str, str, int, int, int]:
    return ("data.t__v1", "t", 14, n, n)


def ask(cache: TileCache, n: int, size: int = 200) -> bool:
    """One request for tile ``n``, computing it on a miss; True on a hit."""
    if cache.get(key(n)) is not None:
        return True
    cache.put(key(n), bytes(size))
    return False


def test_bounded_by_bytes_least_recently_used_out_first() -> None:
    cache = TileCache(1000)
    for n in range(5):
        ask(cache, n)
    assert ask(cache, 0)  # 0 is now the most recently used
    ask(cache, 5)
    ask(cache, 5)  # asked twice: more than 1, the least recent, which leaves
    assert cache.get(key(1)) is None
    assert cache.get(key(0)) is not None and cache.get(key(5)) is not None
    assert cache.size_bytes <= 1000


def test_a_tile_asked_once_does_not_push_out_one_asked_as_often() -> None:
    cache = TileCache(1000)
    for n in range(5):
        ask(cache, n)
    assert not ask(cache, 7)
    assert cache.get(key(7)) is None, "admitted over a tile asked for as often"
    assert all(cache.get(key(n)) is not None for n in range(5))


def test_cycling_through_more_tiles_than_fit_still_hits() -> None:
    """A map panned over 20 tiles again and again, with room for 5: plain LRU would
    evict every tile just before it is asked for again and never hit."""
    cache = TileCache(1000)
    for _ in range(5):
        hits = sum(ask(cache, n) for n in range(20))
    assert hits == 5
    assert cache.size_bytes == 1000


def test_often_asked_tiles_win_their_place() -> None:
    cache = TileCache(1000)
    for n in range(5):
        ask(cache, n)
    for _ in range(3):
        ask(cache, 42)
    assert ask(cache, 42), "a tile asked for three times was not admitted"
    assert cache.get(key(0)) is None  # the least recently used one made room


def test_request_counts_age(monkeypatch) -> None:
    monkeypatch.setattr(tile_cache, "AGEING_MIN_REQUESTS", 40)  # 10 x 5 entries = 50 rule
    monkeypatch.setattr(tile_cache, "STALE_AFTER_PER_ENTRY", 10_000)  # counts alone here
    cache = TileCache(1000)
    for _ in range(4):
        ask(cache, 1)  # popular once: 4 requests
    for n in range(2, 6):
        ask(cache, n)  # full; 1 is the least recently used
    for n in range(1000, 1100):  # 100 one-off requests: two ageings, 4 -> 2 -> 1
        assert not ask(cache, n)
    for _ in range(2):
        ask(cache, 50)
    assert cache.get(key(50)) is not None, "an old count kept a tile's place"
    assert cache.get(key(1)) is None


def test_when_the_map_moves_on_new_tiles_get_in_once_the_old_go_unasked() -> None:
    """Five tiles asked for again and again, then never: once nobody has asked for them
    during 10 x 5 entries requests, tiles of the new area take their places, although the
    old ones' request counts are still higher."""
    cache = TileCache(1000)
    for _ in range(20):
        for n in range(5):
            ask(cache, n)
    for _ in range(3):  # the new area, cycled: not yet, the old tiles were asked lately
        for n in range(100, 110):
            ask(cache, n)
    assert all(cache.get(key(n)) is None for n in range(100, 110))
    for _ in range(5):
        for n in range(100, 105):
            ask(cache, n)
    assert all(ask(cache, n) for n in range(100, 105))


def test_requests_are_weighed_per_byte() -> None:
    """Four 250-byte tiles asked for three times each fill the cache. A newcomer of the same
    size asked for once stays out; a 50-byte one asked for once serves more requests per
    byte than the 250-byte tile it pushes out, and gets in."""
    cache = TileCache(1000)
    for _ in range(3):
        for n in range(4):
            ask(cache, n, size=250)
    ask(cache, 10, size=250)
    assert cache.get(key(10)) is None
    ask(cache, 11, size=50)
    assert cache.get(key(11)) == bytes(50)
    assert cache.get(key(0)) is None  # the least recently used made room


def test_one_tile_may_take_at_most_a_quarter() -> None:
    cache = TileCache(1000)
    ask(cache, 1, size=251)
    assert cache.get(key(1)) is None
    ask(cache, 2, size=250)
    assert cache.get(key(2)) == bytes(250)


def test_empty_tiles_are_kept_and_zero_turns_it_off() -> None:
    cache = TileCache(1000)
    ask(cache, 1, size=0)
    assert cache.get(key(1)) == b""
    off = TileCache(0)
    ask(off, 1, size=1)
    assert off.get(key(1)) is None and off.size_bytes == 0


def _ask_together(cache: TileCache, compute: Callable[[], bytes],
                  callers: int = 8) -> tuple[list[threading.Thread], list[object]]:
    """``callers`` threads ask for tile 1 while its first computation is held open."""
    results: list[object] = [None] * callers

    def call(i: int) -> None:
        try:
            results[i] = cache.get_or_compute(key(1), compute)
        except Exception as error:
            results[i] = error

    threads = [threading.Thread(target=call, args=(i,)) for i in range(callers)]
    for thread in threads:
        thread.start()
    return threads, results


def test_a_tile_asked_for_while_it_is_computed_is_computed_once() -> None:
    release, calls = threading.Event(), []

    def compute() -> bytes:
        calls.append(1)
        release.wait(5)
        return b"tile"

    cache = TileCache(1000)
    threads, results = _ask_together(cache, compute)
    while cache.shared + cache.misses < 8:  # every caller is in: one computes, 7 wait
        threading.Event().wait(0.01)
    release.set()
    for thread in threads:
        thread.join(5)
    assert results == [b"tile"] * 8
    assert len(calls) == 1 and cache.shared == 7
    assert cache.get_or_compute(key(1), compute) == b"tile" and len(calls) == 1


def test_waiters_get_the_computing_requests_error_and_the_next_ask_retries() -> None:
    release, calls = threading.Event(), []

    def failing() -> bytes:
        calls.append(1)
        release.wait(5)
        raise RuntimeError("database went away")

    cache = TileCache(1000)
    threads, results = _ask_together(cache, failing, callers=4)
    while cache.shared + cache.misses < 4:
        threading.Event().wait(0.01)
    release.set()
    for thread in threads:
        thread.join(5)
    assert all(isinstance(r, RuntimeError) for r in results) and len(calls) == 1
    assert cache.get_or_compute(key(1), lambda: b"fresh") == b"fresh"


def test_with_the_cache_off_every_request_computes() -> None:
    calls = []
    off = TileCache(0)
    for _ in range(3):
        off.get_or_compute(key(1), lambda: calls.append(1) or b"t")
    assert len(calls) == 3

"""The tile cache's bounds: bytes, not entries; least recently used out first; off at 0."""

from __future__ import annotations

from hub.data.tile_cache import TileCache


def key(n: int) -> tuple[str, str, int, int, int]:
    return ("data.t__v1", "t", 14, n, n)


def test_bounded_by_bytes_least_recently_used_out_first() -> None:
    cache = TileCache(1000)
    for n in range(4):
        cache.put(key(n), bytes(200))
    assert cache.get(key(0)) == bytes(200)  # 0 is now the most recently used
    cache.put(key(4), bytes(200))
    cache.put(key(5), bytes(200))  # 1200 bytes asked for: the least recent (1) leaves
    assert cache.get(key(1)) is None
    assert cache.get(key(0)) is not None and cache.get(key(5)) is not None
    assert cache.size_bytes <= 1000


def test_one_tile_may_take_at_most_a_quarter() -> None:
    cache = TileCache(1000)
    cache.put(key(1), bytes(251))
    assert cache.get(key(1)) is None
    cache.put(key(2), bytes(250))
    assert cache.get(key(2)) == bytes(250)


def test_empty_tiles_are_kept_and_zero_turns_it_off() -> None:
    cache = TileCache(1000)
    cache.put(key(1), b"")
    assert cache.get(key(1)) == b""
    off = TileCache(0)
    off.put(key(1), b"x")
    assert off.get(key(1)) is None and off.size_bytes == 0

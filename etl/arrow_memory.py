"""Arrow's allocator for the ETL: freed memory goes back to the operating system at once,
except while a loop reuses it.

A publish allocates and frees Arrow buffers of hundreds of MB in turn (the file's cells, then
typed columns, search text, COPY chunks). pyarrow's default allocator (mimalloc) keeps freed
pages for reuse, which only Arrow can reuse: on the 1M-row bench file ~370 MB of the raw
cells stayed resident after they were freed, while the Python objects of the next step took
fresh memory. jemalloc with a decay time of 0 returns them (measured: 548 -> 264 MB
resident after reading and freeing the file; the cost is a few madvise calls per free).

The COPY loop is the other case: every chunk allocates and frees buffers of about the same
sizes, and with a decay of 0 each chunk's pages went back to the system and were faulted in
again for the next (1M rows: 620k page faults, 1.6 s of system time). Kept a little while
(:func:`reusing_freed_memory`), they are reused instead: 220k faults and 0.5 s.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pyarrow as pa

# How long freed pages stay for reuse inside a loop (jemalloc's decay: purged gradually over
# this time). Measured at 1M rows: 1 s saved another 70k faults but raised the publish's
# peak RSS to 942 MB (the COPY then held the peak; before, ~850 MB); 250 ms: 885 MB.
REUSE_DECAY_MS = 250
# Threads for the ETL's side work (columns prepared two at a time, the search text folded
# while the rows are ordered). Two: a publish is sized for two cores.
KEPT_THREADS = 2
_kept_pool: ThreadPoolExecutor | None = None


def return_freed_memory() -> None:
    """Use jemalloc with immediate decay as Arrow's default pool (when pyarrow has it).

    Process-wide and idempotent; buffers allocated before stay with their own pool."""
    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:  # a pyarrow built without jemalloc: keep its default
        return
    pa.jemalloc_set_decay_ms(0)
    pa.set_memory_pool(pool)


@contextmanager
def reusing_freed_memory() -> Iterator[None]:
    """Inside: freed pages are kept :data:`REUSE_DECAY_MS` for reuse, for a loop that
    allocates and frees buffers of similar sizes; after: returned at once again. Only when
    Arrow allocates from jemalloc (:func:`return_freed_memory`)."""
    if pa.default_memory_pool().backend_name != "jemalloc":
        yield
        return
    pa.jemalloc_set_decay_ms(REUSE_DECAY_MS)
    try:
        yield
    finally:
        pa.jemalloc_set_decay_ms(0)


def kept_threads() -> ThreadPoolExecutor:
    """Threads for Arrow work beside the main thread, made once and kept for the process.

    Kept, not made per use: jemalloc gives each thread an arena, whose decay is the one set
    when the arena was made, and a thread that exits leaves its arena to the next thread
    that starts. The COPY loop's thread must get an arena of its own, made inside
    :func:`reusing_freed_memory`; handed the arena of a thread that had prepared columns
    (made while freed pages went back at once) it faulted its pages in anew for every
    chunk (1M rows: 185k -> 636k faults, +1.4 s)."""
    global _kept_pool
    if _kept_pool is None:
        _kept_pool = ThreadPoolExecutor(max_workers=KEPT_THREADS, thread_name_prefix="etl")
    return _kept_pool

"""Arrow's allocator for the ETL: freed memory goes back to the operating system at once.

A publish allocates and frees Arrow buffers of hundreds of MB in turn (the file's cells, then
typed columns, search text, COPY chunks). pyarrow's default allocator (mimalloc) keeps freed
pages for reuse, which only Arrow can reuse: on the 1M-row bench file ~370 MB of the raw
cells stayed resident after they were freed, while the Python objects of the next step took
fresh memory. jemalloc with a decay time of 0 returns them (measured: 548 -> 264 MB
resident after reading and freeing the file; the cost is a few madvise calls per free).
"""

from __future__ import annotations

import pyarrow as pa


def return_freed_memory() -> None:
    """Use jemalloc with immediate decay as Arrow's default pool (when pyarrow has it).

    Process-wide and idempotent; buffers allocated before stay with their own pool."""
    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:  # a pyarrow built without jemalloc: keep its default
        return
    pa.jemalloc_set_decay_ms(0)
    pa.set_memory_pool(pool)

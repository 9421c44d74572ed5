"""How a version's trigram index on ``_search`` is split, and the clause that reaches every part.

PostgreSQL 15 builds a GIN index on one core, and the trigram index is the slowest build of a
large publish. So a publish may build it as several partial GIN indexes, one per range of
``_fid`` (a bucket), on several connections at once (``etl.load``). A query reaches a partial
index only through a clause that implies the index's predicate, so the one search clause
(``hub.query.records.where_clause``) ANDs ``q``'s terms with the OR of the buckets. The
planner answers that with a BitmapOr of one index scan per bucket. The buckets cover every
``_fid`` (the first has no lower bound, the last no upper), so the clause matches exactly the
rows the terms match, whatever bounds a version was built with.

Ranges, not ``_fid % n = k``: PostgreSQL has statistics on ``_fid`` and estimates a range's
share of the rows, while it guesses 0.5% for ``_fid % n = k``. With that guess it took common
terms for rare ones and read every match through the index instead of walking the key order
for a first page (bench/README.md). The bounds are written into the SQL as literals, because a
bound parameter in a generic plan proves no partial index's predicate.

The bounds a version's index was built with are stored with its schema (:data:`BOUNDS_KEY`);
a version stored without them has one index over every row, and its clause has no buckets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, and_, literal_column

# Key of the stored schema (``hub.versions.schema``) holding the bucket bounds.
BOUNDS_KEY = "x-search-bounds"


def bucket_bounds(row_count: int, buckets: int) -> tuple[int, ...]:
    """The last ``_fid`` of every bucket but the last, cutting ``_fid`` 1..``row_count`` into
    ``buckets`` ranges of nearly equal size; empty when there is only one bucket to make."""
    if buckets < 2 or row_count < buckets:
        return ()
    return tuple(-(-row_count * k // buckets) for k in range(1, buckets))


def bucket_predicates(fid: ColumnElement[Any],
                      bounds: Sequence[int]) -> list[ColumnElement[bool]]:
    """One predicate per bucket (none when ``bounds`` is empty): ``fid <= b1``, ``fid > b1
    AND fid <= b2``, ..., ``fid > bn``. The partial indexes' WHERE and the query's clause are
    both written by this function, so the planner can match them."""
    if not bounds:
        return []
    values = [literal_column(str(int(b)), BigInteger) for b in bounds]
    predicates: list[ColumnElement[bool]] = [fid <= values[0]]
    predicates += [and_(fid > low, fid <= high) for low, high in pairwise(values)]
    predicates.append(fid > values[-1])
    return predicates


def stored_bounds(stored_schema: Mapping[str, Any]) -> tuple[int, ...]:
    """The bounds a version's search index was built with, from its stored schema."""
    return tuple(int(b) for b in stored_schema.get(BOUNDS_KEY) or ())

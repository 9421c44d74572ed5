"""read_ahead runs an export's batch producer in a worker thread: same items in the same
order, the producer's errors reach the consumer, and a consumer that stops early closes the
producer (its database connection) in the worker."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from hub.data.exports import read_ahead


def test_items_in_order_and_produced_in_another_thread() -> None:
    threads: set[str] = set()

    def produce() -> Iterator[int]:
        for i in range(100):
            threads.add(threading.current_thread().name)
            yield i

    assert list(read_ahead(produce(), 1)) == list(range(100))
    assert threading.current_thread().name not in threads


def test_producer_errors_reach_the_consumer() -> None:
    def produce() -> Iterator[int]:
        yield 1
        raise RuntimeError("connection lost")

    consumed = []
    with pytest.raises(RuntimeError, match="connection lost"):
        for item in read_ahead(produce(), 1):
            consumed.append(item)
    assert consumed == [1]


def test_stopping_early_closes_the_producer_in_the_worker() -> None:
    closed_in: list[str] = []
    produced = []

    def produce() -> Iterator[int]:
        try:
            for i in range(1000):
                produced.append(i)
                yield i
        finally:
            closed_in.append(threading.current_thread().name)

    items = read_ahead(produce(), 1)
    assert next(items) == 0
    items.close()  # what a writer that fails half-way does to its input
    assert closed_in and closed_in[0] != threading.current_thread().name
    assert len(produced) < 10  # at most a few items ahead, not the whole stream

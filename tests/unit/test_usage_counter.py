"""The in-memory usage counter: adds, hands out batches, keeps no address."""

from __future__ import annotations

from hub.usage.counter import DOWNLOAD, RECORDS, UsageCounter, day_number


def test_counts_and_distinct_clients_per_day_dataset_version() -> None:
    counter = UsageCounter()
    today = day_number()
    counter.use_salts({today: b"s" * 16})
    counter.add("198.51.100.7", "shops", 2, RECORDS, 10)
    counter.add("198.51.100.7", "shops", 2, RECORDS, 5)
    counter.add("203.0.113.9", "shops", 2, DOWNLOAD, fmt="csv")
    batch = counter.take()
    assert batch.counts == {(today, "shops", 2, RECORDS, ""): [2, 15],
                            (today, "shops", 2, DOWNLOAD, "csv"): [1, 0]}
    assert len(batch.clients) == 2
    assert all(b"198.51" not in c[3] and len(c[3]) == 16 for c in batch.clients)
    assert not counter.take()  # taken means gone


def test_the_salt_decides_the_hash() -> None:
    today = day_number()
    one, two = UsageCounter(), UsageCounter()
    one.use_salts({today: b"a" * 16})
    two.use_salts({today: b"b" * 16})
    one.add("198.51.100.7", "shops", 1, RECORDS)
    two.add("198.51.100.7", "shops", 1, RECORDS)
    assert one.take().clients != two.take().clients


def test_put_back_keeps_counts_for_the_next_write() -> None:
    counter = UsageCounter()
    counter.add(None, "shops", 1, RECORDS, 3)
    failed = counter.take()
    counter.add(None, "shops", 1, RECORDS, 4)
    counter.put_back(failed)
    assert list(counter.take().counts.values()) == [[2, 7]]

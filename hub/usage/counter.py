"""The in-memory usage counter of one server process.

A request adds to a dict under a lock (about a microsecond with the client hash); nothing
touches the database on the request path. The distinct-client estimate keeps, per day,
SHA-256 hashes of the client address with that day's salt, never the address: once the
day's salt is deleted (the day after) nobody can tell which address a hash came from, and a
hash cannot be linked across days because the salt changes.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

EPOCH = date(1970, 1, 1)
SECONDS_PER_DAY = 86_400

# What is counted. Kinds are few and fixed, so a typo in a route fails its test.
RECORDS = "records"  # API record requests (pages and single records); records served
TILES = "tiles"  # vector tile requests
DOWNLOAD = "download"  # bulk file downloads, by format
KINDS = (RECORDS, TILES, DOWNLOAD)

CountKey = tuple[int, str, int, str, str]  # (day number, dataset, version, kind, format)
ClientKey = tuple[int, str, int, bytes]  # (day number, dataset, version, client hash)


def day_number(now: float | None = None) -> int:
    """Days since 1970-01-01 in UTC: cheaper on the request path than a ``date``."""
    return int((time.time() if now is None else now) // SECONDS_PER_DAY)


def day_of(number: int) -> date:
    return EPOCH + timedelta(days=number)


@dataclass
class Batch:
    """Counts taken out of the counter, to be added to the database in one go."""

    counts: dict[CountKey, list[int]] = field(default_factory=dict)  # -> [requests, records]
    clients: set[ClientKey] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.counts or self.clients)


class UsageCounter:
    """Counts of one process since the last :meth:`take`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batch = Batch()
        self._salts: dict[int, bytes] = {}

    def use_salts(self, salts: dict[int, bytes]) -> None:
        """Salts shared by every server process (``hub.data.usage`` keeps them a day), so a
        client seen by two processes is one client."""
        self._salts = {**self._salts, **salts}
        today = day_number()
        for day in [d for d in self._salts if d < today - 1]:
            del self._salts[day]

    def add(self, client: str | None, dataset: str, version: int, kind: str,
            records: int = 0, fmt: str = "") -> None:
        """Count one request that served ``records`` records of ``dataset`` version
        ``version``; ``client`` is the address, hashed here and never kept."""
        day = day_number()
        key = (day, dataset, version, kind, fmt)
        client_key = None
        if client:
            salt = self._salts.get(day) or self._local_salt(day)
            client_key = (day, dataset, version,
                          hashlib.sha256(salt + client.encode()).digest()[:16])
        with self._lock:
            counts = self._batch.counts.get(key)
            if counts is None:
                self._batch.counts[key] = [1, records]
            else:
                counts[0] += 1
                counts[1] += records
            if client_key is not None:
                self._batch.clients.add(client_key)

    def take(self) -> Batch:
        """Everything counted so far; the counter starts again from zero."""
        with self._lock:
            batch, self._batch = self._batch, Batch()
        return batch

    def put_back(self, batch: Batch) -> None:
        """Return counts a failed write could not store, so the next write retries them."""
        with self._lock:
            for key, (requests, records) in batch.counts.items():
                counts = self._batch.counts.setdefault(key, [0, 0])
                counts[0] += requests
                counts[1] += records
            self._batch.clients |= batch.clients

    def _local_salt(self, day: int) -> bytes:
        """A salt of this process alone, used only if the shared one for ``day`` is not
        loaded yet (the recorder loads today's and tomorrow's): clients may then be counted
        once per process that day."""
        return self._salts.setdefault(day, os.urandom(16))

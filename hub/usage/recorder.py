"""Writes a process's usage counts to the database every few seconds and at shutdown."""

from __future__ import annotations

import logging
import threading

from hub.data.usage import UsageStore
from hub.usage.counter import UsageCounter, day_number

log = logging.getLogger("hub.usage")


class UsageRecorder:
    """Owns the counter of one process and the thread that flushes it.

    A failed write (database restart) puts the batch back, so it is retried with the next
    one; counts are lost only if the process dies before a write succeeds.
    """

    def __init__(self, store: UsageStore, interval_s: float) -> None:
        self.store = store
        self.counter = UsageCounter()
        self.interval_s = interval_s
        self._salt_day: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Load the shared salts, then flush in the background until :meth:`stop`. A database
        that is down does not stop the server from starting: the thread retries."""
        try:
            self._refresh_salts()
        except Exception:
            log.exception("usage salts could not be loaded; retrying with the next write")
        self._thread = threading.Thread(target=self._run, name="hub-usage", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and write what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self.flush()
        except Exception:
            log.exception("the last usage counts could not be written and are lost")

    def flush(self) -> None:
        """Write everything counted so far (tests call this to read exact counts)."""
        batch = self.counter.take()
        try:
            self.store.add(batch)
        except Exception:
            self.counter.put_back(batch)
            raise

    def _refresh_salts(self) -> None:
        today = day_number()
        if self._salt_day != today:
            self.counter.use_salts(self.store.shared_salts(today))
            self._salt_day = today

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self._refresh_salts()
                self.flush()
            except Exception:
                log.exception("usage counts could not be written; retrying with the next batch")

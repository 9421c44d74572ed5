"""The purger: tells every shared HTTP cache (``HUB_HTTP_CACHE_PURGE_URLS``) what a publish
or withdrawal changed, as soon as it commits.

Every publish and withdrawal, whichever door it came through (``hub publish``, the HTTP
upload, a contribution, ``hub withdraw``), writes ``hub.changes`` in its transaction; a
trigger queues a purge and ``NOTIFY``s at commit (migration ``http_cache_purges``). One
purger runs in each server process: it ``LISTEN``s, so a ban reaches the cache within
milliseconds of the commit, and it also looks for due purges every ``poll_s``, so a purge
queued while no server ran, or one a cache did not accept, is sent later. A failed purge is
logged and retried with growing delays (never dropped: a withdrawn version's pinned
responses are cached for a year); it never fails the publish, which has committed already.

A purge is one ``BAN`` request per cache, with the stale tags in ``Hub-Cache-Ban``
(:mod:`hub.http_cache.tags`); deploy/varnish/hub.vcl turns it into a ban on the objects
whose ``Hub-Cache-Tags`` hold one of them.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Engine

from hub.data.http_cache import Purge, PurgeQueue
from hub.http_cache.tags import BAN_HEADER, tags_to_ban

log = logging.getLogger("hub.http_cache")

CHANNEL = "hub_http_cache"
MAX_DELAY_S = 300


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 ... seconds after each failure, at most five minutes."""
    return timedelta(seconds=min(2 ** (attempts - 1), MAX_DELAY_S))


class CachePurger:
    """Sends queued purges to ``urls``; :meth:`run_once` for one pass, :meth:`start` for the
    background thread of a server process."""

    def __init__(self, engine: Engine, urls: list[str], *, poll_s: float = 2.0,
                 timeout_s: float = 3.0) -> None:
        self.engine = engine
        self.queue = PurgeQueue(engine)
        self.urls = urls
        self.poll_s = poll_s
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False,
                                    headers={"user-agent": "co-creation-hub-purger"})
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def send(self, purge: Purge) -> str | None:
        """Ban the purge's tags in every cache; None when all accepted, else what failed."""
        tags = " ".join(tags_to_ban(purge.kind, purge.dataset_id, purge.version))
        errors = []
        for url in self.urls:
            try:
                answer = self._client.request("BAN", url, headers={BAN_HEADER: tags})
                if answer.status_code >= 300:
                    errors.append(f"{url}: HTTP {answer.status_code}")
            except httpx.HTTPError as exc:
                errors.append(f"{url}: {exc.__class__.__name__}: {exc}")
        if errors:
            log.warning("HTTP cache purge of %s (change %d, attempt %d) failed, will retry: %s",
                        tags, purge.change_id, purge.attempts + 1, "; ".join(errors))
            return "; ".join(errors)
        log.info("HTTP caches banned %s", tags)
        return None

    def run_once(self, now: datetime | None = None) -> int:
        """Send every purge due at ``now``; returns how many were attempted."""
        return self.queue.process(now or datetime.now(UTC), self.send, backoff)

    # -- the background thread --------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hub-http-cache-purger",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.poll_s + 10)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except Exception:
                log.exception("HTTP cache purger lost its database connection; reconnecting")
                self._stop.wait(self.poll_s)

    def _listen(self) -> None:
        """Wait for commits announcing a change (or ``poll_s``), then send what is due."""
        raw = self.engine.raw_connection()
        try:
            connection = raw.driver_connection
            connection.autocommit = True  # type: ignore[union-attr]
            connection.execute(f"LISTEN {CHANNEL}")  # type: ignore[union-attr]
            while not self._stop.is_set():
                self._send_due()
                for _note in connection.notifies(  # type: ignore[union-attr]
                        timeout=self.poll_s, stop_after=1):
                    pass
        finally:
            raw.invalidate()  # a LISTENing autocommit connection must not go back to the pool

    def _send_due(self) -> None:
        try:
            while self.run_once() and not self._stop.is_set():
                pass
        except Exception:
            log.exception("HTTP cache purge pass failed; trying again")

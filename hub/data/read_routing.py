"""Which database serves a read: the one place that decides between the primary and a replica.

The rule, for every caller in :mod:`hub.data`:

- Reads of a published version's rows (record pages, counts, tiles, bulk-file builds) and
  catalogue searches may go to a read replica, through :meth:`ReadRouting.version_read` and
  :meth:`ReadRouting.catalogue_read`.
- Everything else runs on the primary: writes (publish, withdraw, co-creation, keys,
  usage), the light reads that must see the newest write (which version ``latest`` is, a
  version's status, a key's rights), and a record looked up by key (hub.data.records_by_key:
  one index probe whose cost is all round trips; its version state must come from the
  primary anyway, so splitting it over two servers would add a round trip, not save one).

Read-your-writes: a version row carries the WAL position just past its publish
(``published_lsn``, hub.db.commit_lsn). The version's state is read on the primary, so the
caller knows that position exactly; a replica serves the read only when its replayed
position is at or past it, else the primary does. A catalogue read depends on the newest
publish or withdrawal (one aggregate over ``hub.versions`` on the primary). So no read is
ever answered from a replica that has not replayed what it reads.

Replay positions are cached per replica for ``HUB_REPLICA_LSN_CACHE_S`` instead of asked on
every read. The trade-off: right after a publish, reads of the new version go to the primary
until the cache expires (never stale, only not offloaded for that long).

Health: a replica whose check fails, or that lags more than ``HUB_REPLICA_MAX_LAG_S``, is out
of rotation until its next check, ``HUB_REPLICA_RETRY_S`` later, doubling with each failed
check up to a minute. Checks run on demand, by the read that finds one due; there is no
background thread to start or stop. A read that fails on a replica because the connection
failed (the replica stopped, restarted, or cancelled the query for a recovery conflict) is
run again on the primary, and the replica is taken out of rotation: the client never sees it.
A statement timeout is not retried: the primary would time out as well.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import psycopg.errors
from sqlalchemy import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError

from hub.db.engine import make_engine, reads_in_autocommit
from hub.query.replication import catalogue_lsn, replay_state
from hub.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_RETRY_S = 60.0


@dataclass(frozen=True)
class ReplicaTiming:
    """The health and caching knobs of :class:`Replica` (from settings)."""

    max_lag_s: float
    lsn_cache_s: float
    retry_s: float


@dataclass
class _Seen:
    """What the last check of a replica found."""

    replayed_lsn: int = -1
    healthy: bool = False
    checked_at: float = float("-inf")
    failures: int = 0
    retry_at: float = float("-inf")


class Replica:
    """One read replica: its engine and what its last check found."""

    def __init__(self, name: str, engine: Engine, timing: ReplicaTiming,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.engine = engine
        self.timing = timing
        self._clock = clock
        self._seen = _Seen()
        self._checking = threading.Lock()

    def has_replayed(self, lsn: int) -> bool:
        """Is this replica in rotation and past ``lsn``? Asks the replica only when what it
        said last is older than the cache allows (and, when out of rotation, once its retry is
        due); concurrent reads meanwhile use the last answer."""
        seen = self._seen
        now = self._clock()
        due = (now >= seen.retry_at if not seen.healthy
               else now - seen.checked_at >= self.timing.lsn_cache_s)
        if due and self._checking.acquire(blocking=False):
            try:
                self.check()
            finally:
                self._checking.release()
        seen = self._seen
        return seen.healthy and seen.replayed_lsn >= lsn

    def check(self) -> None:
        """Ask the replica where its replay stands; out of rotation if that fails or lags."""
        try:
            with self.engine.connect() as conn:
                in_recovery, replayed, lag_s = conn.execute(replay_state()).one()
        except DBAPIError as exc:
            self.failed(f"check failed: {exc.orig or exc}")
            return
        if not in_recovery or replayed is None:
            self.failed("is not a streaming replica (not in recovery)")
        elif float(lag_s) > self.timing.max_lag_s:
            self.failed(f"lags {float(lag_s):.1f} s behind the primary")
        else:
            if not self._seen.healthy and self._seen.failures:
                log.warning("replica %s is back in rotation", self.name)
            self._seen = _Seen(replayed_lsn=int(replayed), healthy=True,
                               checked_at=self._clock())

    def failed(self, why: str) -> None:
        """Take the replica out of rotation until a later check, with a doubling wait."""
        failures = self._seen.failures + 1
        wait = min(self.timing.retry_s * 2 ** (failures - 1), MAX_RETRY_S)
        if self._seen.healthy or failures == 1:
            log.warning("replica %s out of rotation (%s); next check in %.1f s",
                        self.name, why, wait)
        now = self._clock()
        self._seen = _Seen(failures=failures, checked_at=now, retry_at=now + wait)

    @property
    def in_rotation(self) -> bool:
        return self._seen.healthy

    @property
    def next_check_at(self) -> float:
        """When a replica out of rotation is asked again (on the clock given at creation)."""
        return self._seen.retry_at


class ReadRouting:
    """Runs reads on the primary or on a replica, by the rule in the module docstring."""

    @classmethod
    def from_settings(cls, settings: Settings, primary: Engine) -> ReadRouting:
        """The primary and one engine per ``HUB_DATABASE_REPLICA_URLS`` entry, each with the
        API's session settings (statement timeout, parallel workers)."""
        timing = ReplicaTiming(settings.replica_max_lag_s, settings.replica_lsn_cache_s,
                               settings.replica_retry_s)
        replicas = [
            Replica(_display_name(url), make_engine(
                settings, statement_timeout_ms=settings.statement_timeout_ms,
                parallel_workers=settings.api_parallel_workers, replica_url=url), timing)
            for url in settings.database_replica_urls
        ]
        return cls(primary, replicas)

    def __init__(self, primary: Engine, replicas: Sequence[Replica] = ()) -> None:
        self.primary = primary
        self.primary_reads = reads_in_autocommit(primary)
        self.replicas = tuple(replicas)
        self._turn = itertools.count()

    def version_read(self, published_lsn: int | None, work: Callable[[Connection], T],
                     primary_conn: Connection | None = None) -> T:
        """Run ``work`` for a read of a version published at ``published_lsn`` (None: not
        stamped, primary only). ``primary_conn``: the request's primary connection, used
        when the primary serves the read."""
        replica = self._replica_past(published_lsn)
        if replica is not None:
            done, value = self._try_on(replica, work)
            if done:
                return value  # type: ignore[return-value]
        return self._on_primary(work, primary_conn)

    def catalogue_read(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` for a catalogue read, on a replica that has replayed the newest publish
        and withdrawal (asked of the primary only when some replica is in use)."""
        if not self.replicas:
            return self._on_primary(work, None)
        with self.primary_reads.connect() as conn:
            newest = conn.execute(catalogue_lsn()).scalar()
        return self.version_read(None if newest is None else int(newest), work)

    def engine_for(self, published_lsn: int | None) -> Engine:
        """The engine a long read of a version should use (a bulk-file build streams on its
        own connections); callers that can should prefer :meth:`version_read`, which also
        fails over."""
        replica = self._replica_past(published_lsn)
        return replica.engine if replica is not None else self.primary

    def replica_failed(self, engine: Engine, error: BaseException) -> bool:
        """Whether ``error`` from a read on ``engine`` is a replica's connection failure (the
        caller then retries on the primary); also takes that replica out of rotation."""
        for replica in self.replicas:
            if replica.engine is engine and _is_replica_failure(error):
                replica.failed(f"read failed: {error}")
                return True
        return False

    def dispose(self) -> None:
        for replica in self.replicas:
            replica.engine.dispose()

    def _replica_past(self, lsn: int | None) -> Replica | None:
        if lsn is None or not self.replicas:
            return None
        start = next(self._turn)
        for i in range(len(self.replicas)):
            replica = self.replicas[(start + i) % len(self.replicas)]
            if replica.has_replayed(lsn):
                return replica
        return None

    def _try_on(self, replica: Replica, work: Callable[[Connection], T]) -> tuple[bool, T | None]:
        try:
            with replica.engine.connect() as conn:
                return True, work(conn)
        except DBAPIError as exc:
            if not self.replica_failed(replica.engine, exc):
                raise
            return False, None

    def _on_primary(self, work: Callable[[Connection], T], conn: Connection | None) -> T:
        if conn is not None:
            return work(conn)
        with self.primary_reads.connect() as fresh:
            return work(fresh)


def _display_name(url: str) -> str:
    """host:port/database of a replica URL, for logs (never the password)."""
    parsed = make_url(url)
    return f"{parsed.host}:{parsed.port}/{parsed.database}"


def _is_replica_failure(error: BaseException) -> bool:
    """A failure the primary would not have: the replica's connection broke or could not be
    made, or the replica cancelled the query to replay WAL (a recovery conflict)."""
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        error = error.orig if error.orig is not None else error
    if isinstance(error, psycopg.errors.QueryCanceled):
        return False  # a statement timeout: the primary would time out too
    return isinstance(error, psycopg.OperationalError | psycopg.errors.SerializationFailure
                      | psycopg.InterfaceError)


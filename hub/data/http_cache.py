"""The HTTP cache purge outbox: claim what is due, mark it sent or due again later."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from hub.query import http_cache as q


@dataclass(frozen=True)
class Purge:
    """One change the shared caches must hear about."""

    change_id: int
    attempts: int  # failed attempts so far
    kind: str  # publish | withdraw
    dataset_id: str
    version: int


class PurgeQueue:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def process(self, now: datetime, send: Callable[[Purge], str | None],
                backoff: Callable[[int], timedelta], limit: int = 50) -> int:
        """Send every due purge with ``send`` (None: done; else the error) inside one
        transaction that holds the rows, so no other process sends them meanwhile. Sent
        purges are deleted; failed ones are due again after ``backoff(attempts)``. Returns
        how many were attempted."""
        with self.engine.begin() as conn:
            rows = conn.execute(q.claim_due(now, limit)).mappings().all()
            for row in rows:
                purge = Purge(**row)
                error = send(purge)
                if error is None:
                    conn.execute(q.sent(purge.change_id))
                else:
                    attempts = purge.attempts + 1
                    conn.execute(q.retry_later(purge.change_id, attempts,
                                               now + backoff(attempts), error))
        return len(rows)

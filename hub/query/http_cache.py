"""Statements over the HTTP cache purge outbox (run by hub.data.http_cache)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Delete, Select, Update, delete, select, update

from hub.db.tables import changes, http_cache_purges


def claim_due(now: datetime, limit: int) -> Select:
    """Up to ``limit`` due purges with the change each one announces, locked for this
    transaction; ``SKIP LOCKED`` lets every server process run a purger without two of them
    sending the same purge at once."""
    return (select(http_cache_purges.c.change_id, http_cache_purges.c.attempts,
                   changes.c.kind, changes.c.dataset_id, changes.c.version)
            .join(changes, changes.c.id == http_cache_purges.c.change_id)
            .where(http_cache_purges.c.next_attempt_at <= now)
            .order_by(http_cache_purges.c.change_id)
            .limit(limit)
            .with_for_update(of=http_cache_purges, skip_locked=True))


def sent(change_id: int) -> Delete:
    return delete(http_cache_purges).where(http_cache_purges.c.change_id == change_id)


def retry_later(change_id: int, attempts: int, next_attempt_at: datetime, error: str) -> Update:
    return (update(http_cache_purges).where(http_cache_purges.c.change_id == change_id)
            .values(attempts=attempts, next_attempt_at=next_attempt_at, last_error=error))

"""Usage statistics: writes batches of counts and reads them (statements in hub.query.usage)."""

from __future__ import annotations

import os
from datetime import date
from typing import Any

from sqlalchemy import Engine

from hub.query import usage as usage_q
from hub.usage.counter import Batch, day_number, day_of


class UsageStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def shared_salts(self, today: int | None = None) -> dict[int, bytes]:
        """Today's and tomorrow's salts (made by whichever process asks first), by day number;
        salts of days before today are deleted here."""
        today = day_number() if today is None else today
        days = [day_of(today), day_of(today + 1)]
        with self.engine.begin() as conn:
            conn.execute(usage_q.ensure_salts(days, [os.urandom(16) for _ in days]))
            conn.execute(usage_q.forget_salts_before(days[0]))
            rows = conn.execute(usage_q.salts_for(days)).all()
        return {(row.day - day_of(0)).days: bytes(row.salt) for row in rows}

    def add(self, batch: Batch) -> None:
        """Add a batch to the stored counts in one transaction."""
        if not batch:
            return
        with self.engine.begin() as conn:
            if batch.counts:
                keys = list(batch.counts)
                values = list(batch.counts.values())
                conn.execute(usage_q.add_counts(), {
                    "days": [day_of(k[0]) for k in keys], "datasets": [k[1] for k in keys],
                    "versions": [k[2] for k in keys], "kinds": [k[3] for k in keys],
                    "formats": [k[4] for k in keys], "requests": [v[0] for v in values],
                    "records": [v[1] for v in values],
                })
            if batch.clients:
                clients = sorted(batch.clients)
                conn.execute(usage_q.add_clients(), {
                    "days": [day_of(c[0]) for c in clients],
                    "datasets": [c[1] for c in clients], "versions": [c[2] for c in clients],
                    "hashes": [c[3] for c in clients],
                })
                # yesterday's hashes stay for processes that flush late after midnight
                oldest = min(c[0] for c in clients) - 1
                conn.execute(usage_q.forget_client_hashes_before(day_of(oldest)))

    def totals(self, dataset_id: str) -> tuple[list[dict[str, Any]], dict[int, int]]:
        """(rows per version/kind/format, client-days per version) of one dataset."""
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(usage_q.totals(dataset_id)).mappings()]
            clients = {r.version: int(r.clients)
                       for r in conn.execute(usage_q.client_days(dataset_id))}
        return rows, clients

    def daily(self, dataset_id: str | None, since: date | None = None) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(usage_q.daily_rows(dataset_id, since))
                    .mappings()]

"""Webhook endpoints, deliveries and the worker's queue (statements in hub.query.webhooks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from hub.data.core import NotFound
from hub.data.people import record_audit
from hub.people.audit import AuditEntry
from hub.query import webhooks as webhooks_q

Row = dict[str, Any]
Audit = Callable[[Row], AuditEntry]


@dataclass(frozen=True)
class Attempt:
    """The outcome of one delivery attempt, as the worker saw it."""

    delivered: bool
    status_code: int | None
    error: str
    response: str
    retry_at: datetime | None  # when not delivered: next attempt, None if final
    disable_reason: str | None = None  # the endpoint asked to stop (410)


class WebhookStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, url: str, events: list[str], secret: str, created_by: str,
               audit: Audit) -> Row:
        """Store the endpoint and its audit entry (``audit(row)``) in one transaction."""
        with self.engine.begin() as conn:
            row = dict(conn.execute(
                webhooks_q.create_endpoint(url, events, secret, created_by)).mappings().one())
            record_audit(conn, audit(row))
        return row

    def endpoints(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(webhooks_q.endpoints()).mappings()]

    def endpoint(self, endpoint_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(webhooks_q.endpoint(endpoint_id)).mappings().first()
        if row is None:
            raise NotFound(f"no webhook {endpoint_id}")
        return dict(row)

    def delete(self, endpoint_id: int, audit: Audit) -> None:
        with self.engine.begin() as conn:
            row = conn.execute(webhooks_q.delete_endpoint(endpoint_id)).mappings().first()
            if row is None:
                raise NotFound(f"no webhook {endpoint_id}")
            record_audit(conn, audit(dict(row)))

    def deliveries(self, endpoint_id: int, before_id: int | None, limit: int
                   ) -> list[dict[str, Any]]:
        self.endpoint(endpoint_id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(webhooks_q.deliveries(
                endpoint_id, before_id=before_id, limit=limit)).mappings()]

    def delivery(self, endpoint_id: int, delivery_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(webhooks_q.delivery(endpoint_id, delivery_id)).mappings().first()
        if row is None:
            raise NotFound(f"webhook {endpoint_id} has no delivery {delivery_id}")
        return dict(row)

    def replay(self, endpoint_id: int, delivery_id: int, audit: Audit) -> Row:
        with self.engine.begin() as conn:
            new_id = conn.execute(webhooks_q.replay(endpoint_id, delivery_id)).scalar()
            if new_id is None:
                raise NotFound(f"webhook {endpoint_id} has no delivery {delivery_id}")
            record_audit(conn, audit({"id": new_id}))
        return self.delivery(endpoint_id, new_id)

    def claim_due(self, now: datetime, lease_until: datetime, limit: int
                  ) -> list[dict[str, Any]]:
        with self.engine.begin() as conn:
            return [dict(r) for r in conn.execute(
                webhooks_q.claim_due(now, lease_until, limit)).mappings()]

    def record(self, delivery_id: int, endpoint_id: int, now: datetime, attempt: Attempt
               ) -> None:
        with self.engine.begin() as conn:
            if attempt.delivered:
                conn.execute(webhooks_q.record_delivered(
                    delivery_id, now, attempt.status_code or 0, attempt.response))
                conn.execute(webhooks_q.endpoint_succeeded(endpoint_id))
                return
            conn.execute(webhooks_q.record_failed(
                delivery_id, status_code=attempt.status_code, error=attempt.error,
                response=attempt.response, retry_at=attempt.retry_at))
            conn.execute(webhooks_q.endpoint_failed(endpoint_id))
            if attempt.disable_reason is not None:
                conn.execute(webhooks_q.disable_endpoint(endpoint_id, attempt.disable_reason))

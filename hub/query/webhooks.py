"""Webhooks: statements over endpoints, the event outbox and deliveries (run by hub.data)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Delete,
    Insert,
    Select,
    TextClause,
    Update,
    delete,
    insert,
    select,
    text,
    update,
)

from hub.db.tables import webhook_deliveries, webhook_endpoints, webhook_events

ENDPOINT_COLUMNS = (webhook_endpoints.c.id, webhook_endpoints.c.url, webhook_endpoints.c.events,
                    webhook_endpoints.c.active, webhook_endpoints.c.disabled_reason,
                    webhook_endpoints.c.failure_count, webhook_endpoints.c.created_at,
                    webhook_endpoints.c.created_by)


def create_endpoint(url: str, events: list[str], secret: str, created_by: str) -> Insert:
    return insert(webhook_endpoints).values(
        url=url, events=events, secret=secret, created_by=created_by,
    ).returning(*ENDPOINT_COLUMNS)


def endpoints() -> Select[Any]:
    return select(*ENDPOINT_COLUMNS).order_by(webhook_endpoints.c.id)


def endpoint(endpoint_id: int) -> Select[Any]:
    return select(*ENDPOINT_COLUMNS).where(webhook_endpoints.c.id == endpoint_id)


def delete_endpoint(endpoint_id: int) -> Delete:
    return delete(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id) \
        .returning(webhook_endpoints.c.id, webhook_endpoints.c.url)


DELIVERY_COLUMNS = (
    webhook_deliveries.c.id, webhook_deliveries.c.endpoint_id, webhook_deliveries.c.event_id,
    webhook_events.c.type.label("event_type"), webhook_events.c.payload,
    webhook_deliveries.c.status, webhook_deliveries.c.attempts,
    webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.last_attempt_at,
    webhook_deliveries.c.last_status_code, webhook_deliveries.c.last_error,
    webhook_deliveries.c.last_response, webhook_deliveries.c.delivered_at,
    webhook_deliveries.c.created_at,
)


def deliveries(endpoint_id: int, *, before_id: int | None, limit: int) -> Select[Any]:
    """Newest first; ``before_id`` is the keyset cursor."""
    statement = (
        select(*DELIVERY_COLUMNS)
        .join(webhook_events, webhook_events.c.id == webhook_deliveries.c.event_id)
        .where(webhook_deliveries.c.endpoint_id == endpoint_id)
        .order_by(webhook_deliveries.c.id.desc()).limit(limit)
    )
    if before_id is not None:
        statement = statement.where(webhook_deliveries.c.id < before_id)
    return statement


def delivery(endpoint_id: int, delivery_id: int) -> Select[Any]:
    return (select(*DELIVERY_COLUMNS)
            .join(webhook_events, webhook_events.c.id == webhook_deliveries.c.event_id)
            .where(webhook_deliveries.c.endpoint_id == endpoint_id,
                   webhook_deliveries.c.id == delivery_id))


def replay(endpoint_id: int, delivery_id: int) -> TextClause:
    """A new pending delivery of the same event to the same endpoint, due now. It keeps the
    event id, so a receiver that already handled the message can recognise it."""
    return text("""
        INSERT INTO hub.webhook_deliveries (endpoint_id, event_id)
        SELECT endpoint_id, event_id FROM hub.webhook_deliveries
        WHERE endpoint_id = :endpoint_id AND id = :delivery_id
        RETURNING id
    """).bindparams(endpoint_id=endpoint_id, delivery_id=delivery_id)


def claim_due(now: datetime, lease_until: datetime, limit: int) -> TextClause:
    """Take up to ``limit`` due deliveries of active endpoints. ``SKIP LOCKED`` lets several
    workers (one per server process) claim different rows; moving ``next_attempt_at`` to the
    end of the lease commits the claim, so the HTTP call happens outside any transaction and a
    worker that dies mid-send leaves the delivery to be retried when the lease ends."""
    return text("""
        WITH due AS (
            SELECT d.id FROM hub.webhook_deliveries d
            JOIN hub.webhook_endpoints e ON e.id = d.endpoint_id
            WHERE d.status = 'pending' AND d.next_attempt_at <= :now AND e.active
            ORDER BY d.next_attempt_at, d.id
            LIMIT :limit
            FOR UPDATE OF d SKIP LOCKED
        )
        UPDATE hub.webhook_deliveries d
        SET next_attempt_at = :lease_until, attempts = d.attempts + 1, last_attempt_at = :now
        FROM due, hub.webhook_endpoints e, hub.webhook_events ev
        WHERE d.id = due.id AND e.id = d.endpoint_id AND ev.id = d.event_id
        RETURNING d.id, d.attempts, d.endpoint_id, e.url, e.secret, ev.id AS event_id,
                  ev.type AS event_type, ev.payload, ev.created_at AS event_created_at
    """).bindparams(now=now, lease_until=lease_until, limit=limit)


def record_delivered(delivery_id: int, now: datetime, status_code: int,
                     response: str) -> Update:
    return update(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id).values(
        status="delivered", delivered_at=now, last_status_code=status_code,
        last_error=None, last_response=response)


def record_failed(delivery_id: int, *, status_code: int | None, error: str, response: str,
                  retry_at: datetime | None) -> Update:
    """A failed attempt: retried at ``retry_at``, or final when it is None."""
    values: dict[str, Any] = {"last_status_code": status_code, "last_error": error,
                              "last_response": response}
    if retry_at is None:
        values["status"] = "failed"
    else:
        values["next_attempt_at"] = retry_at
    return update(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id) \
        .values(**values)


def endpoint_succeeded(endpoint_id: int) -> Update:
    return update(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id) \
        .values(failure_count=0)


def endpoint_failed(endpoint_id: int) -> Update:
    return update(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id) \
        .values(failure_count=webhook_endpoints.c.failure_count + 1)


def disable_endpoint(endpoint_id: int, reason: str) -> Update:
    """An endpoint that answered 410 Gone wants no more: it is disabled, its pending
    deliveries stay in the log as they are."""
    return update(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id) \
        .values(active=False, disabled_reason=reason)

"""Usage statistics: statements that add batches of counts and read them back.

Counts are added with ``INSERT ... ON CONFLICT DO UPDATE`` so any number of server
processes can write the same (day, dataset, version, kind, format) row. A client hash is
counted in ``usage_client_counts`` only the first time it is inserted for its (day,
dataset, version): one statement, so two processes never count one client twice.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, TextClause, bindparam, delete, func, literal, select, text
from sqlalchemy.dialects.postgresql import ARRAY, BYTEA, DATE, INTEGER, TEXT, insert

from hub.db.tables import usage_client_counts, usage_clients, usage_daily, usage_salts

_ADD_COUNTS = text("""
    INSERT INTO hub.usage_daily AS u (day, dataset_id, version, kind, format, requests, records)
    SELECT * FROM unnest(:days, :datasets, :versions, :kinds, :formats, :requests, :records)
    ON CONFLICT (day, dataset_id, version, kind, format) DO UPDATE
    SET requests = u.requests + excluded.requests, records = u.records + excluded.records
""").bindparams(
    bindparam("days", type_=ARRAY(DATE)), bindparam("datasets", type_=ARRAY(TEXT)),
    bindparam("versions", type_=ARRAY(INTEGER)), bindparam("kinds", type_=ARRAY(TEXT)),
    bindparam("formats", type_=ARRAY(TEXT)), bindparam("requests", type_=ARRAY(INTEGER)),
    bindparam("records", type_=ARRAY(INTEGER)),
)

_ADD_CLIENTS = text("""
    WITH first_seen AS (
        INSERT INTO hub.usage_clients (day, dataset_id, version, client_hash)
        SELECT * FROM unnest(:days, :datasets, :versions, :hashes)
        ON CONFLICT DO NOTHING
        RETURNING day, dataset_id, version
    )
    INSERT INTO hub.usage_client_counts AS c (day, dataset_id, version, clients)
    SELECT day, dataset_id, version, count(*) FROM first_seen GROUP BY 1, 2, 3
    ON CONFLICT (day, dataset_id, version) DO UPDATE SET clients = c.clients + excluded.clients
""").bindparams(
    bindparam("days", type_=ARRAY(DATE)), bindparam("datasets", type_=ARRAY(TEXT)),
    bindparam("versions", type_=ARRAY(INTEGER)), bindparam("hashes", type_=ARRAY(BYTEA)),
)


def add_counts() -> TextClause:
    return _ADD_COUNTS


def add_clients() -> TextClause:
    return _ADD_CLIENTS


def ensure_salts(days: list[date], salts: list[bytes]) -> Any:
    """Give each day a salt unless one exists (the first process to ask wins)."""
    statement = insert(usage_salts).values(
        [{"day": d, "salt": s} for d, s in zip(days, salts, strict=True)])
    return statement.on_conflict_do_nothing(index_elements=[usage_salts.c.day])


def salts_for(days: list[date]) -> Select[Any]:
    return select(usage_salts.c.day, usage_salts.c.salt).where(usage_salts.c.day.in_(days))


def forget_salts_before(day: date) -> Any:
    """A day's salt is deleted once the day is over: its hashes can no longer be linked to an
    address, by the hub or by anyone who reads the database."""
    return delete(usage_salts).where(usage_salts.c.day < day)


def forget_client_hashes_before(day: date) -> Any:
    """The distinct counts are kept in usage_client_counts; old hashes serve no purpose."""
    return delete(usage_clients).where(usage_clients.c.day < day)


def totals(dataset_id: str) -> Select[Any]:
    """Per (version, kind, format): requests and records over all days."""
    return (
        select(usage_daily.c.version, usage_daily.c.kind, usage_daily.c.format,
               func.sum(usage_daily.c.requests).label("requests"),
               func.sum(usage_daily.c.records).label("records"))
        .where(usage_daily.c.dataset_id == dataset_id)
        .group_by(usage_daily.c.version, usage_daily.c.kind, usage_daily.c.format)
        .order_by(usage_daily.c.version, usage_daily.c.kind, usage_daily.c.format)
    )


def client_days(dataset_id: str) -> Select[Any]:
    """Per version: the sum over days of that day's distinct clients."""
    return (
        select(usage_client_counts.c.version,
               func.sum(usage_client_counts.c.clients).label("clients"))
        .where(usage_client_counts.c.dataset_id == dataset_id)
        .group_by(usage_client_counts.c.version)
    )


def daily_rows(dataset_id: str | None, since: date | None = None) -> Select[Any]:
    """One row per (day, dataset, version, kind, format) with that day's distinct clients of
    the (day, dataset, version)."""
    clients = usage_client_counts
    statement = (
        select(usage_daily.c.day, usage_daily.c.dataset_id, usage_daily.c.version,
               usage_daily.c.kind, usage_daily.c.format, usage_daily.c.requests,
               usage_daily.c.records,
               func.coalesce(clients.c.clients, literal(0)).label("clients"))
        .outerjoin(clients, (clients.c.day == usage_daily.c.day)
                   & (clients.c.dataset_id == usage_daily.c.dataset_id)
                   & (clients.c.version == usage_daily.c.version))
        .order_by(usage_daily.c.day, usage_daily.c.dataset_id, usage_daily.c.version,
                  usage_daily.c.kind, usage_daily.c.format)
    )
    if dataset_id is not None:
        statement = statement.where(usage_daily.c.dataset_id == dataset_id)
    if since is not None:
        statement = statement.where(usage_daily.c.day >= since)
    return statement

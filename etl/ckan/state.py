"""``hub.ckan_sync``: the last push attempt and outcome per (CKAN site, dataset).

A record for people (``hub ckan status``) and for the push-after-publish hook, which must never
make a publish fail: it records a failure here and the next push retries. Retrying needs no
queue: every push re-plans from CKAN's real state, so whatever failed is simply still pending.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, Table, Text, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from hub.db.tables import CATALOG_SCHEMA

ckan_sync = Table(
    "ckan_sync",
    MetaData(schema=CATALOG_SCHEMA),
    Column("ckan_url", Text, primary_key=True),
    Column("dataset_id", Text, primary_key=True),
    Column("package_name", Text, nullable=False),
    Column("version", Integer),
    Column("action", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("last_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_success_at", DateTime(timezone=True)),
)

SUCCESS = frozenset({"ok", "unchanged"})


def record(engine: Engine, ckan_url: str, results: Iterable[Any]) -> int:
    """Store the outcome of each package result (:class:`etl.ckan.apply.ItemResult`) of a
    push that is not a dry run; returns how many rows were written."""
    now = datetime.now(UTC)
    rows = [
        {
            "ckan_url": ckan_url.rstrip("/"),
            "dataset_id": item.dataset_id or f"(ckan:{item.name})",
            "package_name": item.name,
            "version": item.version,
            "action": item.action,
            "status": item.status,
            "message": item.message[:2000],
            "last_attempt_at": now,
            "last_success_at": now if item.status in SUCCESS else None,
        }
        for item in results
        if item.kind == "package"
    ]
    if not rows:
        return 0
    statement = pg_insert(ckan_sync).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[ckan_sync.c.ckan_url, ckan_sync.c.dataset_id],
        set_={
            "package_name": statement.excluded.package_name,
            "version": statement.excluded.version,
            "action": statement.excluded.action,
            "status": statement.excluded.status,
            "message": statement.excluded.message,
            "last_attempt_at": statement.excluded.last_attempt_at,
            # keep the previous success time when this attempt failed
            "last_success_at": func.coalesce(statement.excluded.last_success_at,
                                             ckan_sync.c.last_success_at),
        },
    )
    with engine.begin() as conn:
        conn.execute(statement)
    return len(rows)


def failed(engine: Engine, ckan_url: str) -> list[dict[str, Any]]:
    """Datasets whose last push to ``ckan_url`` did not succeed (retried by the next push)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(ckan_sync).where(ckan_sync.c.ckan_url == ckan_url.rstrip("/"),
                                    ckan_sync.c.status.not_in(list(SUCCESS)))
            .order_by(ckan_sync.c.dataset_id)
        ).mappings().all()
    return [dict(r) for r in rows]


def all_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(ckan_sync).order_by(ckan_sync.c.ckan_url,
                                                       ckan_sync.c.dataset_id)).mappings().all()
    return [dict(r) for r in rows]

"""The change feed (publish and withdraw events across the catalogue): statements only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from hub.db.tables import changes, datasets


def changes_page(*, after_id: int | None = None, since: datetime | None = None,
                 dataset_id: str | None = None, limit: int = 100,
                 newest_first: bool = False) -> Select[Any]:
    """limit + 1 events after change id ``after_id`` / at or after ``since``, by id."""
    statement = (
        select(changes, datasets.c.title_ja, datasets.c.title_en, datasets.c.organisation)
        .join(datasets, datasets.c.id == changes.c.dataset_id)
        .order_by(changes.c.id.desc() if newest_first else changes.c.id)
        .limit(limit + 1)
    )
    if after_id is not None:
        statement = statement.where(
            changes.c.id < after_id if newest_first else changes.c.id > after_id)
    if since is not None:
        statement = statement.where(changes.c.at >= since)
    if dataset_id is not None:
        statement = statement.where(changes.c.dataset_id == dataset_id)
    return statement

"""The change feed (executed here, built in :mod:`hub.query.changes`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from hub.query import changes as changes_q


class ChangeFeed:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def page(self, *, after_id: int | None, since: datetime | None, dataset_id: str | None,
             limit: int, newest_first: bool = False) -> tuple[list[dict[str, Any]], bool]:
        """Events (dicts) and whether more follow."""
        statement = changes_q.changes_page(after_id=after_id, since=since,
                                           dataset_id=dataset_id, limit=limit,
                                           newest_first=newest_first)
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(statement).mappings()]
        return rows[:limit], len(rows) > limit

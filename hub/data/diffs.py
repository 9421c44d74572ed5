"""Row-level diffs between two versions (executed here, built in :mod:`hub.query.diff`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Engine

from hub.catalog import PublishedVersion
from hub.catalog_comparison import VersionComparison
from hub.query import diff as diff_q


@dataclass(frozen=True)
class DiffPage:
    """One page of changes; ``next_after`` is the keyset position of the next page."""

    plan: VersionComparison
    changes: list[dict[str, Any]]
    next_after: list[Any] | None
    summary: dict[str, Any] | None = field(default=None)


def _item(plan: VersionComparison, row: Any, key: dict[str, Any]) -> dict[str, Any]:
    old = orjson.loads(row.old_record) if row.old_record is not None else None
    new = orjson.loads(row.new_record) if row.new_record is not None else None
    item: dict[str, Any] = {"change": row.change, "key": key}
    if row.change == "changed":
        assert old is not None and new is not None
        item["fields"] = {name: {"old": old.get(name), "new": new.get(name)}
                          for name in (row.changed or [])}
    elif row.change == "added":
        item["record"] = new
    else:
        item["record"] = old
    return item


def _json_key(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


class Diffs:
    """Diff pages and counts between two versions through one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def page(self, old: PublishedVersion, new: PublishedVersion, *, after: list[Any] | None,
             limit: int, with_summary: bool) -> DiffPage:
        plan = diff_q.diff_plan(old, new)
        with self.engine.connect() as conn:
            if plan.by == "primary-key":
                statement = diff_q.key_diff_page(old, new, plan,
                                                 tuple(after) if after else None, limit)
            else:
                statement = diff_q.row_diff_page(old, new, plan,
                                                 (int(after[0]), int(after[1])) if after
                                                 else None, limit)
            rows = conn.execute(statement).all()
            summary = None
            if with_summary:
                counts = conn.execute(diff_q.diff_counts(old, new, plan)).one()
                summary = {"added": counts.added, "removed": counts.removed,
                           "changed": counts.changed}
        more = len(rows) > limit
        rows = rows[:limit]
        changes = []
        for row in rows:
            if plan.by == "primary-key":
                key = {k: _json_key(row._mapping[f"_k{i}"]) for i, k in enumerate(plan.key)}
            else:
                key = {"_row": row._fid, "version": old.version if row.change == "removed"
                       else new.version}
            changes.append(_item(plan, row, key))
        next_after = None
        if more and rows:
            last = rows[-1]
            next_after = ([_json_key(last._mapping[f"_k{i}"]) for i in range(len(plan.key))]
                          if plan.by == "primary-key" else [last._phase, last._fid])
        return DiffPage(plan, changes, next_after, summary)

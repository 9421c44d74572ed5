"""Community contributions: the statements of hub.query.contributions, executed.

A contribution and its audit entry are written in one transaction; a decision, its audit
entry and its ``contribution.decided`` event too (the event exists if and only if the
decision committed). Marking contributions published runs inside the publish transaction
(:meth:`Contributions.mark_published`, handed to ``hub.cocreation.contribution_publishing``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, select

from hub.catalog import PublishedVersion
from hub.cocreation.errors import Conflict, TooManyPending
from hub.data.core import NotFound
from hub.data.people import record_audit
from hub.db.events import emit
from hub.db.tables import api_keys
from hub.people.audit import AuditEntry
from hub.query import contributions as contributions_q

Row = dict[str, Any]


class Contributions:
    """Submit, list, decide and publish contributions, through one engine."""

    def __init__(self, engine: Engine, pending_per_key: int) -> None:
        self.engine = engine
        self.pending_per_key = pending_per_key

    def submit(self, values: Row, geometry_wkt: str | None,
               audit: Callable[[Row], AuditEntry]) -> Row:
        """Store a checked contribution with its audit entry. A key with
        ``pending_per_key`` contributions waiting is refused (429); the key's row is locked
        while counting, so parallel requests of one key cannot overshoot."""
        with self.engine.begin() as conn:
            key_id = values.get("key_id")
            if key_id is not None:
                conn.execute(select(api_keys.c.id).where(api_keys.c.id == key_id)
                             .with_for_update())
                waiting = conn.execute(contributions_q.pending_count(key_id)).scalar_one()
                if waiting >= self.pending_per_key:
                    raise TooManyPending(
                        f"this key has {waiting} contributions waiting for a moderator; at "
                        f"most {self.pending_per_key} may wait at once")
            row = dict(conn.execute(contributions_q.insert_contribution(
                values, geometry_wkt)).mappings().one())
            record_audit(conn, audit(row))
        return row

    def get(self, contribution_id: int) -> Row:
        with self.engine.connect() as conn:
            row = conn.execute(contributions_q.contribution_by_id(contribution_id)) \
                .mappings().first()
        if row is None:
            raise NotFound(f"no contribution with id {contribution_id}")
        return dict(row)

    def page(self, *, status: str | None = None, dataset: str | None = None,
             key_id: int | None = None, before_id: int | None = None,
             limit: int = 100) -> list[Row]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(contributions_q.contribution_page(
                status=status, dataset=dataset, key_id=key_id, before_id=before_id,
                limit=limit)).mappings()]

    def decide(self, contribution_id: int, status: str, reason: str, by: str,
               audit: Callable[[Row], AuditEntry]) -> Row:
        """Record a moderator's decision, its audit entry and its event in one transaction;
        409 when the contribution was decided meanwhile."""
        with self.engine.begin() as conn:
            row = conn.execute(contributions_q.decide(contribution_id, status, reason, by)) \
                .mappings().first()
            if row is None:
                current = conn.execute(contributions_q.contribution_by_id(contribution_id)) \
                    .mappings().first()
                if current is None:
                    raise NotFound(f"no contribution with id {contribution_id}")
                raise Conflict(f"contribution {contribution_id} is already "
                               f"{current['status']}; only pending ones are decided")
            row = dict(row)
            record_audit(conn, audit(row))
            emit(conn, "contribution.decided", {
                "contribution": row["id"], "dataset": row["dataset_id"],
                "decision": row["status"], "reason": reason, "key": row["record_key"],
                "kind": row["kind"]})
        return row

    def accepted(self, dataset_id: str) -> list[Row]:
        with self.engine.connect() as conn:
            return [dict(r) for r in
                    conn.execute(contributions_q.accepted_of(dataset_id)).mappings()]

    def record_cells(self, version: PublishedVersion, key: str) -> dict[str, str] | None:
        """One record of ``version`` as text cells, or None when it has no such key."""
        with self.engine.connect() as conn:
            row = conn.execute(contributions_q.record_cells(version, key)).mappings().first()
        return None if row is None else {k: v for k, v in row.items() if k != "_key"}

    def rows(self, version: PublishedVersion) -> dict[str, dict[str, str]]:
        """Every record of ``version`` as text cells, keyed by record key, in version order."""
        with self.engine.connect() as conn:
            return {r["_key"]: {k: v for k, v in r.items() if k != "_key"}
                    for r in conn.execute(contributions_q.record_cells(version)).mappings()}

    def community_rows(self, version: PublishedVersion
                       ) -> tuple[dict[str, dict[str, str]], dict[str, Any]] | None:
        """The community rows of ``version`` as text cells, with its provenance; None when
        it has none (what a city file published over it decides about)."""
        provenance = dict(version.meta.get("provenance") or {})
        keys = provenance.get("records") or {}
        if not keys or len(version.schema.primary_key) != 1:
            return None
        rows = self.rows(version)
        return {k: rows[k] for k in keys if k in rows}, provenance

    def near_duplicates(self, version: PublishedVersion, dataset_id: str, wkt: str,
                        name: str | None) -> list[Row]:
        """Records and pending new records near ``wkt`` with a similar name."""
        with self.engine.connect() as conn:
            found = [dict(r) for r in conn.execute(
                contributions_q.near_records(version, wkt, name)).mappings()]
            found += [dict(r) for r in conn.execute(
                contributions_q.near_pending(dataset_id, wkt, name)).mappings()]
        return [{**r, "metres": round(float(r["metres"]), 1),
                 **({"similarity": round(float(r["similarity"]), 2)}
                    if r.get("similarity") is not None else {})} for r in found]

    @staticmethod
    def mark_published(conn: Connection, number: int, base_version: int,
                       ids: list[int]) -> None:
        """Inside a publish transaction: mark ``ids`` published with version ``number``.
        Raises (rolling the publish back) when another version came after ``base_version``
        or any contribution is no longer accepted."""
        dataset_row = conn.execute(contributions_q.contribution_by_id(ids[0])).mappings().one()
        latest = conn.execute(contributions_q.version_before(
            dataset_row["dataset_id"], number)).scalar_one()
        if latest != base_version:
            raise Conflict(f"version {latest} was published after the contributions were "
                           f"applied to version {base_version}; publish them again")
        marked = {r for (r,) in conn.execute(contributions_q.mark_published(ids, number))}
        if marked != set(ids):
            missing = ", ".join(str(i) for i in sorted(set(ids) - marked))
            raise Conflict(f"contribution(s) {missing} are no longer accepted")

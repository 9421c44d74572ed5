"""Keys and the audit log: the statements of hub.query.people, executed.

Every write here records its audit entry in the same transaction as the write itself, so a
key never exists without the entry that says who issued it. :func:`record_audit` is the one
function every write path of the hub calls (HTTP routes, the CLI's publish and withdraw,
co-creation actions).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from hub.data.core import NotFound
from hub.people.audit import AuditEntry, AuditFilter
from hub.people.keys import NewKey
from hub.people.principal import Key, Unauthenticated, key_from_row
from hub.people.scopes import KeyKind
from hub.people.tokens import display_prefix, looks_like_token, new_token, token_hash
from hub.query import people as people_q

Row = dict[str, Any]


def record_audit(conn: Connection, entry: AuditEntry) -> int:
    """Append ``entry`` to the audit log within the caller's transaction; returns its id."""
    return conn.execute(people_q.insert_audit(entry)).scalar_one()


class People:
    """Keys (issue, resolve, list, revoke) and the audit log, through one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # key id -> monotonic time of this process's last last_used_at write
        self._touched: dict[int, float] = {}

    def issue(self, key: NewKey, audit: Callable[[Row], AuditEntry]) -> tuple[Row, str]:
        """Store ``key`` and its audit entry (``audit(row)``) in one transaction; returns the
        stored row and the secret token, which exists nowhere else from then on."""
        token = new_token()
        with self.engine.begin() as conn:
            row = dict(conn.execute(people_q.insert_key(
                key, token_hash(token), display_prefix(token))).mappings().one())
            record_audit(conn, audit(row))
        return row, token

    def resolve(self, token: str) -> Key | Unauthenticated:
        """The key a presented token stands for, or the 401 saying why it cannot be used.
        Marks the key used at most once a minute per process (and the statement itself skips
        rows another process marked within the minute), never a write per request."""
        if not looks_like_token(token):
            return Unauthenticated("the token is not a hub key (they start with 'hub_')",
                                   "invalid_token")
        with self.engine.connect() as conn:
            row = conn.execute(people_q.key_by_hash(token_hash(token))).mappings().first()
            key = key_from_row(row, datetime.now(UTC))
            if isinstance(key, Key) and self._due_for_touch(key.id):
                conn.execute(people_q.touch_key(key.id))
                conn.commit()
        return key

    def _due_for_touch(self, key_id: int) -> bool:
        now = time.monotonic()
        last = self._touched.get(key_id)
        if last is not None and now - last < people_q.LAST_USED_RESOLUTION_S:
            return False
        self._touched[key_id] = now
        return True

    def key(self, key_id: int) -> Row:
        with self.engine.connect() as conn:
            row = conn.execute(people_q.key_by_id(key_id)).mappings().first()
        if row is None:
            raise NotFound(f"no key with id {key_id}")
        return dict(row)

    def keys(self, kind: KeyKind | None = None, include_revoked: bool = True) -> list[Row]:
        with self.engine.connect() as conn:
            return [dict(r) for r in
                    conn.execute(people_q.key_list(kind, include_revoked)).mappings()]

    def revoke(self, key_id: int, by: str, reason: str | None,
               check: Callable[[Row], None], audit: Callable[[Row, str], AuditEntry]) -> Row:
        """Revoke key ``key_id`` after ``check(row)`` (which raises to refuse); the audit entry
        ``audit(row, result)`` says ``ok`` or ``unchanged`` (it was revoked already)."""
        with self.engine.begin() as conn:
            current = conn.execute(
                people_q.key_by_id(key_id).with_for_update()).mappings().first()
            if current is None:
                raise NotFound(f"no key with id {key_id}")
            check(dict(current))
            revoked = conn.execute(people_q.revoke_key(key_id, by, reason)).mappings().first()
            row = dict(revoked if revoked is not None else current)
            record_audit(conn, audit(row, "ok" if revoked is not None else "unchanged"))
        return row

    def record(self, entry: AuditEntry) -> int:
        """Record an entry in a transaction of its own (for writes done elsewhere, e.g. a
        publish that has already committed or failed)."""
        with self.engine.begin() as conn:
            return record_audit(conn, entry)

    def audit(self, which: AuditFilter) -> list[Row]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(people_q.audit_page(which)).mappings()]


"""Signed-in portal sessions: the statements of hub.query.portal_sessions, executed.

Opening and ending a session record their audit entry in the same transaction, as every
write of the hub does (``hub.data.people.record_audit``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from hub.data.people import record_audit
from hub.people.audit import AuditEntry
from hub.people.principal import Key, Unauthenticated, key_from_row
from hub.people.sessions import new_csrf_token, new_session_id, session_hash
from hub.query import portal_sessions as sessions_q


@dataclass(frozen=True)
class OpenedSession:
    """A new session: the cookie's value (exists nowhere else) and its CSRF token."""

    session_id: str
    csrf_token: str


@dataclass(frozen=True)
class SessionState:
    """A stored, unexpired session: its key as of now (or why the key no longer works)."""

    key: Key | Unauthenticated
    csrf_token: str


class PortalSessions:
    """Open, resolve and end the portal's sessions through one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open(self, key: Key, lifetime_s: int, audit: AuditEntry) -> OpenedSession:
        """A session for ``key`` (already checked usable), with its audit entry; expired
        sessions are cleared on the way, so the table holds live ones only."""
        opened = OpenedSession(new_session_id(), new_csrf_token())
        with self.engine.begin() as conn:
            conn.execute(sessions_q.delete_expired())
            conn.execute(sessions_q.insert_session(session_hash(opened.session_id), key.id,
                                                   opened.csrf_token, lifetime_s))
            record_audit(conn, audit)
        return opened

    def resolve(self, session_id: str) -> SessionState | None:
        """The session of a cookie's value; None when there is none (never was, ended or
        expired). Its key is judged now, so a revoked or expired key ends it at once."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sessions_q.session_with_key(session_hash(session_id))).mappings().first()
        if row is None:
            return None
        return SessionState(key_from_row(row, datetime.now(UTC)), row["csrf_token"])

    def end(self, session_id: str, audit: AuditEntry | None) -> None:
        """Forget the session (sign-out); ``audit`` is None when there was no key to name."""
        with self.engine.begin() as conn:
            conn.execute(sessions_q.delete_session(session_hash(session_id)))
            if audit is not None:
                record_audit(conn, audit)

"""Statements for signed-in portal sessions (built here, executed in hub.data.portal_sessions)."""

from __future__ import annotations

from sqlalchemy import Delete, Insert, Select, delete, func, insert, select

from hub.db.tables import api_keys, portal_sessions
from hub.query.people import KEY_COLUMNS


def insert_session(id_sha256: bytes, key_id: int, csrf_token: str, lifetime_s: int) -> Insert:
    expires = func.now() + func.make_interval(0, 0, 0, 0, 0, 0, lifetime_s)
    return insert(portal_sessions).values(id_sha256=id_sha256, key_id=key_id,
                                          csrf_token=csrf_token, created_at=func.now(),
                                          expires_at=expires)


def session_with_key(id_sha256: bytes) -> Select:
    """The unexpired session and, in the same row, its key as the key lookup reads it, so
    the key's revocation and expiry are judged on every request by ``key_from_row``."""
    return (select(portal_sessions.c.csrf_token, *KEY_COLUMNS)
            .join(api_keys, api_keys.c.id == portal_sessions.c.key_id)
            .where(portal_sessions.c.id_sha256 == id_sha256,
                   portal_sessions.c.expires_at > func.now()))


def delete_session(id_sha256: bytes) -> Delete:
    return delete(portal_sessions).where(portal_sessions.c.id_sha256 == id_sha256)


def delete_expired() -> Delete:
    return delete(portal_sessions).where(portal_sessions.c.expires_at <= func.now())

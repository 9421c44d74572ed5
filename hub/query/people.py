"""Statements for keys and the audit log (built here, executed in hub.data.people)."""

from __future__ import annotations

from sqlalchemy import Insert, Select, Update, func, insert, or_, select, update

from hub.db.tables import api_keys, audit_log
from hub.people.audit import AuditEntry, AuditFilter
from hub.people.keys import NewKey
from hub.people.scopes import KeyKind

# Columns safe to show: everything but the hash.
KEY_COLUMNS = tuple(c for c in api_keys.c if c.name != "token_sha256")
LAST_USED_RESOLUTION_S = 60  # last_used_at is written at most this often per key


def insert_key(key: NewKey, token_sha256: bytes, token_prefix: str) -> Insert:
    return insert(api_keys).values(
        name=key.name, kind=key.kind.value, scopes=sorted(s.value for s in key.scopes),
        datasets=sorted(key.datasets) if key.datasets is not None else None,
        token_sha256=token_sha256, token_prefix=token_prefix, rate_limit=key.rate_limit,
        created_at=func.now(), created_by=key.created_by, expires_at=key.expires_at,
    ).returning(*KEY_COLUMNS)


def key_by_hash(token_sha256: bytes) -> Select:
    return select(*KEY_COLUMNS).where(api_keys.c.token_sha256 == token_sha256)


def key_by_id(key_id: int) -> Select:
    return select(*KEY_COLUMNS).where(api_keys.c.id == key_id)


def key_list(kind: KeyKind | None = None, include_revoked: bool = True) -> Select:
    statement = select(*KEY_COLUMNS).order_by(api_keys.c.id)
    if kind is not None:
        statement = statement.where(api_keys.c.kind == kind.value)
    if not include_revoked:
        statement = statement.where(api_keys.c.revoked_at.is_(None))
    return statement


def revoke_key(key_id: int, by: str, reason: str | None) -> Update:
    """Revoke once: a second revocation matches no row, so the first one's who/when/why stay."""
    return (update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=func.now(), revoked_by=by, revoked_reason=reason)
            .returning(*KEY_COLUMNS))


def touch_key(key_id: int) -> Update:
    """Mark a key used, unless another process already did within the resolution."""
    stale = func.now() - func.make_interval(0, 0, 0, 0, 0, 0, LAST_USED_RESOLUTION_S)
    return (update(api_keys)
            .where(api_keys.c.id == key_id,
                   or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at < stale))
            .values(last_used_at=func.now()))


def insert_audit(entry: AuditEntry) -> Insert:
    return insert(audit_log).values(
        at=func.clock_timestamp(), actor=entry.actor, key_id=entry.key_id,
        key_name=entry.key_name, action=entry.action, object_type=entry.object_type,
        object_id=entry.object_id, client_address=entry.client_address,
        result=entry.result, detail=entry.detail,
    ).returning(audit_log.c.id)


def audit_page(which: AuditFilter) -> Select:
    """Newest first, keyset-paged on ``id`` (ids grow with time: one identity column)."""
    c = audit_log.c
    statement = select(audit_log).order_by(c.id.desc()).limit(which.limit)
    conditions = [
        (which.action, lambda v: c.action == v),
        (which.key_id, lambda v: c.key_id == v),
        (which.object_type, lambda v: c.object_type == v),
        (which.object_id, lambda v: c.object_id == v),
        (which.since, lambda v: c.at >= v),
        (which.until, lambda v: c.at < v),
        (which.before_id, lambda v: c.id < v),
    ]
    for value, condition in conditions:
        if value is not None:
            statement = statement.where(condition(value))
    return statement

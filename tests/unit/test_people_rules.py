"""The pure rules of hub.people: tokens, scopes, durations, new keys, 401 versus 403, and the
rate-limit arithmetic and headers."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql

from hub.api.ratelimit import CHEAP_COST, FULL_COST, Policy, response_cost, whole_requests
from hub.people.audit import AuditFilter
from hub.people.durations import parse_duration
from hub.people.keys import InvalidKeyRequest, NewKey, check_may_revoke, visible_kind
from hub.people.principal import Forbidden, Key, Principal, Unauthenticated, key_from_row
from hub.people.scopes import KeyKind, Scope, grants, parse_scopes
from hub.people.tokens import display_prefix, looks_like_token, new_token, token_hash
from hub.query.people import audit_page, touch_key

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _key(*scopes: Scope, datasets: set[str] | None = None, kind: KeyKind = KeyKind.STAFF) -> Key:
    return Key(id=7, name="k", kind=kind, scopes=frozenset(scopes),
               datasets=frozenset(datasets) if datasets is not None else None,
               rate_limit=None, expires_at=None)


def _row(**overrides: Any) -> dict[str, Any]:
    row = {"id": 1, "name": "k", "kind": "staff", "scopes": ["publish"], "datasets": None,
           "rate_limit": None, "expires_at": None, "revoked_at": None, "revoked_reason": None}
    row.update(overrides)
    return row


def test_tokens_are_prefixed_random_and_hashed() -> None:
    a, b = new_token(), new_token()
    assert a != b and a.startswith("hub_") and len(a) == 4 + 43
    assert token_hash(a) == hashlib.sha256(a.encode()).digest()
    assert display_prefix(a) == a[:12]
    assert looks_like_token(a) and not looks_like_token("Bearer") \
        and not looks_like_token("ghp_" + a[4:])


def test_durations() -> None:
    assert parse_duration("90d") == timedelta(days=90)
    assert parse_duration("12h") == timedelta(hours=12)
    assert parse_duration("2w") == timedelta(weeks=2)
    for bad in ("90", "0d", "-1d", "1y", "soon"):
        with pytest.raises(ValueError, match="invalid duration"):
            parse_duration(bad)


def test_scopes_parse_and_admin_implies_all() -> None:
    assert parse_scopes("contribute, publish") == {Scope.CONTRIBUTE, Scope.PUBLISH}
    with pytest.raises(ValueError, match="unknown scope 'root'"):
        parse_scopes("publish,root")
    with pytest.raises(ValueError, match="at least one"):
        parse_scopes(" , ")
    assert all(grants(frozenset({Scope.ADMIN}), s) for s in Scope)
    assert not grants(frozenset({Scope.PUBLISH}), Scope.MODERATE)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"kind": KeyKind.SELF, "scopes": frozenset({Scope.PUBLISH})}, "contribute"),
    ({"scopes": frozenset({Scope.ADMIN}), "datasets": frozenset({"a"})}, "cannot be limited"),
    ({"datasets": frozenset()}, "empty dataset list"),
    ({"name": "  "}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"rate_limit": -1}, "rate_limit"),
])
def test_new_key_refusals(overrides: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {"name": "k", "kind": KeyKind.STAFF,
                              "scopes": frozenset({Scope.PUBLISH}), "created_by": "t"}
    values.update(overrides)
    with pytest.raises(InvalidKeyRequest, match=message):
        NewKey(**values)


def test_require_decides_401_then_403() -> None:
    with pytest.raises(Unauthenticated, match="needs a key") as missing:
        Principal("1.2.3.4").require(Scope.CONTRIBUTE)
    assert missing.value.error is None
    revoked = Unauthenticated("revoked", "invalid_token")
    with pytest.raises(Unauthenticated) as raised:
        Principal("1.2.3.4", credential_problem=revoked).require(Scope.CONTRIBUTE)
    assert raised.value is revoked
    parks = Principal(None, key=_key(Scope.PUBLISH, datasets={"parks"}))
    assert parks.require(Scope.PUBLISH, "parks").id == 7
    assert parks.require(Scope.PUBLISH).id == 7  # not about one dataset
    with pytest.raises(Forbidden, match="only on datasets"):
        parks.require(Scope.PUBLISH, "aed")
    with pytest.raises(Forbidden, match="needs 'moderate'"):
        parks.require(Scope.MODERATE, "parks")
    assert Principal(None, key=_key(Scope.ADMIN)).require(Scope.PUBLISH, "any").id == 7


def test_key_from_row_says_why_a_key_cannot_be_used() -> None:
    assert isinstance(key_from_row(None, NOW), Unauthenticated)
    revoked = key_from_row(_row(revoked_at=NOW, revoked_reason="leaked"), NOW)
    assert isinstance(revoked, Unauthenticated) and "revoked" in revoked.detail \
        and "leaked" in revoked.detail
    expired = key_from_row(_row(expires_at=NOW), NOW)
    assert isinstance(expired, Unauthenticated) and "expired" in expired.detail
    valid = key_from_row(_row(expires_at=NOW + timedelta(seconds=1), datasets=["a"]), NOW)
    assert isinstance(valid, Key) and valid.scopes == {Scope.PUBLISH} \
        and valid.datasets == {"a"}


def test_who_may_revoke_and_list() -> None:
    check_may_revoke(_key(Scope.ADMIN), KeyKind.STAFF)
    check_may_revoke(_key(Scope.MODERATE), KeyKind.SELF)
    with pytest.raises(Forbidden):
        check_may_revoke(_key(Scope.MODERATE), KeyKind.STAFF)
    with pytest.raises(Forbidden):
        check_may_revoke(_key(Scope.PUBLISH), KeyKind.SELF)
    assert visible_kind(_key(Scope.ADMIN)) is None
    assert visible_kind(_key(Scope.MODERATE)) is KeyKind.SELF


def test_ratelimit_headers_and_costs() -> None:
    policy = Policy("key", 100, 60)
    assert policy.policy_header() == '"key";q=100;w=60'
    assert policy.item.amount == 100 * FULL_COST
    assert policy.state_header(995, 0).startswith('"key";r=100;t=')
    assert whole_requests(1) == 1 and whole_requests(0) == 0 and whole_requests(-5) == 0
    assert response_cost({"status": 304, "headers": []}) == CHEAP_COST
    assert response_cost({"status": 200, "headers": [
        (b"cache-control", b"public, max-age=31536000, immutable")]}) == CHEAP_COST
    assert response_cost({"status": 200, "headers": [
        (b"cache-control", b"public, no-cache")]}) == FULL_COST


def test_audit_page_binds_every_filter() -> None:
    statement = audit_page(AuditFilter(action="key.create", key_id=3, object_type="key",
                                       object_id="9", since=NOW, until=NOW, before_id=50,
                                       limit=10))
    compiled = statement.compile(dialect=postgresql.dialect())
    sql = str(compiled)
    for column in ("action", "key_id", "object_type", "object_id", "at", "id <"):
        assert column in sql
    assert "key.create" not in sql  # values are bound, never inlined
    assert "ORDER BY hub.audit_log.id DESC" in sql
    touch = str(touch_key(3).compile(dialect=postgresql.dialect()))
    assert "last_used_at IS NULL OR" in touch

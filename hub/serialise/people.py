"""Keys and audit entries as JSON values (pure; never the token or its hash)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

KEY_FIELDS = ("id", "name", "kind", "scopes", "datasets", "token_prefix", "rate_limit",
              "created_at", "created_by", "expires_at", "revoked_at", "revoked_by",
              "revoked_reason", "last_used_at")
AUDIT_FIELDS = ("id", "at", "actor", "key_id", "key_name", "action", "object_type",
                "object_id", "client_address", "result", "detail")


def _value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def key_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _value(row[name]) for name in KEY_FIELDS}


def audit_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _value(row[name]) for name in AUDIT_FIELDS}

"""Audit entries: who did what to which object, from where, and how it ended.

Actions are dotted names, ``<object>.<verb>``: ``key.create``, ``key.create_self``,
``key.revoke``, ``version.publish``, ``version.withdraw``; co-creation adds its own the same
way. Results: ``ok``, ``failed`` (the write was attempted and did not happen), ``unchanged``;
a publish may also be ``dry-run`` or ``refused`` (hub.cocreation.publishing names them).
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.people.principal import Principal


def operator_actor() -> str:
    """How the audit log names someone acting from a shell on the server."""
    return f"cli:{getpass.getuser()}"


@dataclass(frozen=True)
class AuditEntry:
    actor: str  # "key:<id>", "cli:<os user>", "anonymous"
    action: str
    object_type: str
    object_id: str
    result: str = "ok"
    key_id: int | None = None
    key_name: str | None = None
    client_address: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def by(cls, principal: Principal, action: str, object_type: str, object_id: str,
           result: str = "ok", **detail: Any) -> AuditEntry:
        """An entry for an HTTP caller."""
        key = principal.key
        return cls(actor=principal.actor, action=action, object_type=object_type,
                   object_id=object_id, result=result, key_id=key.id if key else None,
                   key_name=key.name if key else None,
                   client_address=principal.client_address, detail=detail)

    @classmethod
    def by_operator(cls, action: str, object_type: str, object_id: str, result: str = "ok",
                    **detail: Any) -> AuditEntry:
        """An entry for someone with a shell on the server (the CLI): no key, the OS user."""
        return cls(actor=operator_actor(), action=action, object_type=object_type,
                   object_id=object_id, result=result, detail=detail)


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to read, newest first; ``before_id`` is the keyset cursor."""

    action: str | None = None
    key_id: int | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    limit: int = 100

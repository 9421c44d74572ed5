"""Who is acting, and whether they may: the one place that decides 401 versus 403.

A :class:`Principal` is resolved once per request (``hub.api.auth``) from the
``Authorization: Bearer`` header: anonymous, or a valid key. A token that was presented but
is unknown, revoked or expired leaves the principal anonymous with a ``credential_problem``,
so reads still work (public data needs no key) while every write answers 401 saying which.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.people.scopes import KeyKind, Scope, grants


class Unauthenticated(Exception):
    """401: no usable key. ``error`` is the RFC 6750 code for ``WWW-Authenticate`` (None when
    no token was sent at all, as the RFC asks)."""

    def __init__(self, detail: str, error: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.error = error


class Forbidden(Exception):
    """403: a valid key without the scope, or outside its datasets."""

    def __init__(self, detail: str, scope: Scope) -> None:
        super().__init__(detail)
        self.detail = detail
        self.scope = scope


@dataclass(frozen=True)
class Key:
    """A valid (known, unrevoked, unexpired) key as the request sees it."""

    id: int
    name: str
    kind: KeyKind
    scopes: frozenset[Scope]
    datasets: frozenset[str] | None  # None: every dataset
    rate_limit: int | None  # requests per window; None: the settings' default
    expires_at: datetime | None


@dataclass(frozen=True)
class Principal:
    """The caller of one request."""

    client_address: str | None
    key: Key | None = None
    credential_problem: Unauthenticated | None = None

    @property
    def actor(self) -> str:
        """How the audit log names the caller."""
        return f"key:{self.key.id}" if self.key else "anonymous"

    def require(self, scope: Scope, dataset: str | None = None) -> Key:
        """The key, if it may act with ``scope`` (on ``dataset`` when given); else raise
        :class:`Unauthenticated` (no usable key) or :class:`Forbidden`."""
        if self.key is None:
            raise self.credential_problem or Unauthenticated(
                "this request needs a key: send 'Authorization: Bearer <token>' (see "
                "docs/people.md for how to get one)")
        if not grants(self.key.scopes, scope):
            held = ", ".join(sorted(self.key.scopes))
            raise Forbidden(f"key {self.key.name!r} has scopes [{held}]; this request needs "
                            f"{scope.value!r}", scope)
        if dataset is not None and self.key.datasets is not None \
                and dataset not in self.key.datasets:
            allowed = ", ".join(sorted(self.key.datasets))
            raise Forbidden(f"key {self.key.name!r} may act only on datasets [{allowed}], "
                            f"not {dataset!r}", scope)
        return self.key


def key_from_row(row: Mapping[str, Any] | None, now: datetime) -> Key | Unauthenticated:
    """Turn the stored row of a presented token into a usable :class:`Key`, or the 401 that
    says why it is not (unknown, revoked, expired)."""
    if row is None:
        return Unauthenticated("the key is not known to this hub", "invalid_token")
    if row["revoked_at"] is not None:
        why = f": {row['revoked_reason']}" if row["revoked_reason"] else ""
        return Unauthenticated(
            f"the key {row['name']!r} was revoked at {row['revoked_at'].isoformat()}{why}",
            "invalid_token")
    if row["expires_at"] is not None and row["expires_at"] <= now:
        return Unauthenticated(
            f"the key {row['name']!r} expired at {row['expires_at'].isoformat()}",
            "invalid_token")
    return Key(
        id=row["id"], name=row["name"], kind=KeyKind(row["kind"]),
        scopes=frozenset(Scope(s) for s in row["scopes"]),
        datasets=frozenset(row["datasets"]) if row["datasets"] is not None else None,
        rate_limit=row["rate_limit"], expires_at=row["expires_at"],
    )

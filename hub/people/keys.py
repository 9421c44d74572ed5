"""What a new key is: the checks every door (CLI, HTTP, self-service) applies alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.people.durations import parse_duration
from hub.people.principal import Forbidden, Key
from hub.people.scopes import KeyKind, Scope, grants, parse_scopes

MAX_NAME_LENGTH = 100


class InvalidKeyRequest(ValueError):
    """A key cannot be issued as asked; the message says why (a 400 over HTTP)."""


def scopes_from(text: str | list[str]) -> frozenset[Scope]:
    try:
        return parse_scopes(text)
    except ValueError as exc:
        raise InvalidKeyRequest(str(exc)) from None


def expiry_from(text: str | None, now: datetime) -> datetime | None:
    """``"90d"`` -> the moment ``now`` + 90 days; None: never expires."""
    if text is None:
        return None
    try:
        return now + parse_duration(text)
    except ValueError as exc:
        raise InvalidKeyRequest(str(exc)) from None


@dataclass(frozen=True)
class NewKey:
    """A key about to be issued. ``datasets`` None: every dataset. ``rate_limit`` None: the
    settings' default; 0: unlimited."""

    name: str
    kind: KeyKind
    scopes: frozenset[Scope]
    created_by: str
    datasets: frozenset[str] | None = None
    expires_at: datetime | None = None
    rate_limit: int | None = None

    def __post_init__(self) -> None:
        name = self.name.strip()
        if not name or len(name) > MAX_NAME_LENGTH:
            raise InvalidKeyRequest(f"a key's name must be 1 to {MAX_NAME_LENGTH} characters")
        if "\x00" in name:  # PostgreSQL text cannot hold one
            raise InvalidKeyRequest("a key's name cannot hold a NUL character")
        object.__setattr__(self, "name", name)
        if not self.scopes:
            raise InvalidKeyRequest("a key needs at least one scope")
        if self.kind is KeyKind.SELF and self.scopes != {Scope.CONTRIBUTE}:
            raise InvalidKeyRequest("a self-service key has the 'contribute' scope only")
        if self.datasets is not None:
            if not self.datasets:
                raise InvalidKeyRequest("an empty dataset list would allow nothing; leave "
                                        "it out for every dataset")
            if Scope.ADMIN in self.scopes:
                raise InvalidKeyRequest("an 'admin' key acts on the whole hub and cannot "
                                        "be limited to datasets")
        if self.rate_limit is not None and self.rate_limit < 0:
            raise InvalidKeyRequest("rate_limit must be 0 (unlimited) or more requests per "
                                    "window")


def check_may_revoke(actor: Key, target_kind: KeyKind) -> None:
    """``admin`` revokes any key; ``moderate`` revokes self-service keys only (residents'
    keys are moderation's business, staff keys are the admins')."""
    if grants(actor.scopes, Scope.ADMIN):
        return
    if grants(actor.scopes, Scope.MODERATE) and target_kind is KeyKind.SELF:
        return
    raise Forbidden(f"key {actor.name!r} may revoke self-service keys only; revoking a staff "
                    "key needs 'admin'", Scope.ADMIN)


def visible_kind(actor: Key) -> KeyKind | None:
    """Which keys ``actor`` may list: every key for ``admin`` (None), self-service keys for
    ``moderate`` (the ones it may revoke)."""
    return None if grants(actor.scopes, Scope.ADMIN) else KeyKind.SELF

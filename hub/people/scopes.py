"""What a key may do. One enum; every check goes through :func:`grants`."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    """The four scopes of a key.

    ``contribute``: propose records, vote, comment (what residents do).
    ``publish``: publish and withdraw versions of datasets.
    ``moderate``: decide contributions, revoke self-service keys.
    ``admin``: everything, including issuing and revoking keys and reading the audit log.
    """

    CONTRIBUTE = "contribute"
    PUBLISH = "publish"
    MODERATE = "moderate"
    ADMIN = "admin"


class KeyKind(StrEnum):
    """``staff`` keys are issued by an admin; ``self`` keys are taken by anyone over HTTP."""

    STAFF = "staff"
    SELF = "self"


def parse_scopes(text: str | list[str]) -> frozenset[Scope]:
    """``"contribute,publish"`` (or a list) -> scopes; ValueError naming the unknown one."""
    names = text.split(",") if isinstance(text, str) else text
    scopes: set[Scope] = set()
    for name in (n.strip() for n in names):
        if not name:
            continue
        try:
            scopes.add(Scope(name))
        except ValueError:
            known = ", ".join(s.value for s in Scope)
            raise ValueError(f"unknown scope {name!r} (known: {known})") from None
    if not scopes:
        raise ValueError("a key needs at least one scope")
    return frozenset(scopes)


def grants(held: frozenset[Scope], wanted: Scope) -> bool:
    """Whether a key holding ``held`` may act with ``wanted``: ``admin`` implies every scope,
    the others imply only themselves (a publisher is not a moderator)."""
    return wanted in held or Scope.ADMIN in held

"""PLACEHOLDER until the people branch (scoped API keys) is merged: DO NOT SHIP.

Accepts any ``Authorization: Bearer`` token as a staff key with every scope; answers 401
without one. It mirrors the shape of ``hub.api.auth.require(scope)`` so the swap is an import.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request


@dataclass(frozen=True)
class PlaceholderKey:
    id: int
    name: str


def placeholder_require(scope: str) -> Callable[[Request], Awaitable[PlaceholderKey]]:
    async def dependency(request: Request) -> PlaceholderKey:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer ") or not header[7:].strip():
            raise HTTPException(401, f"this request needs a key with scope {scope!r}")
        return PlaceholderKey(0, "placeholder")

    return dependency

"""Registering one endpoint under several HTTP methods, one route per method.

FastAPI gives a route one operationId whatever its methods, so a ``GET``+``HEAD`` route
publishes two operations with the same id (and which method's name it carries depends on
set order, so it changes between runs). OpenAPI tools (client generators, schemathesis) key
operations by that id, so each method gets its own route and so its own id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fastapi import APIRouter

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def route_per_method(router: APIRouter, path: str, methods: Sequence[str],
                     **options: Any) -> Callable[[Endpoint], Endpoint]:
    """Like ``router.api_route(path, methods=...)``, with one route per method."""
    def register(endpoint: Endpoint) -> Endpoint:
        for method in methods:
            router.add_api_route(path, endpoint, methods=[method], **options)
        return endpoint
    return register

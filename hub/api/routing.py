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
from starlette.datastructures import MutableHeaders
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def route_per_method(router: APIRouter, path: str, methods: Sequence[str],
                     **options: Any) -> Callable[[Endpoint], Endpoint]:
    """Like ``router.api_route(path, methods=...)``, with one route per method."""
    def register(endpoint: Endpoint) -> Endpoint:
        for method in methods:
            router.add_api_route(path, endpoint, methods=[method], **options)
        return endpoint
    return register


class AllowEveryMethod:
    """A 405's ``Allow`` lists every method the path answers (RFC 9110 15.5.6).

    Starlette answers 405 from the first route whose path matches, so with one route per
    method (above) or separate ``@router.get`` and ``@router.post`` on one path, ``Allow``
    named only that route's method. This middleware asks every route of the app instead."""

    def __init__(self, app: ASGIApp, routes: Callable[[], Sequence[BaseRoute]]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allowed = sorted({method for route in self.routes()
                                  if route.matches(scope)[0] != Match.NONE
                                  for method in getattr(route, "methods", None) or ()})
                if allowed:
                    MutableHeaders(scope=message)["Allow"] = ", ".join(allowed)
            await send(message)

        await self.app(scope, receive, send_with_allow)

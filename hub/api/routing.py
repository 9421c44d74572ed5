"""Registering one endpoint under several HTTP methods, one route per method.

FastAPI gives a route one operationId whatever its methods, so a ``GET``+``HEAD`` route
publishes two operations with the same id (and which method's name it carries depends on
set order, so it changes between runs). OpenAPI tools (client generators, schemathesis) key
operations by that id, so each method gets its own route and so its own id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
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


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def api_routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    """Every API route of ``app`` with its full path, through included routers (which newer
    FastAPI keeps as nested entries of ``app.routes``)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before nested included routers: app.routes is flat
        for route in app.routes:
            if isinstance(route, APIRoute):
                yield route.path_format, route
        return
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            yield context.path_format or route.path_format, route


class AllowEveryMethod:
    """A 405's ``Allow`` lists every method the path answers (RFC 9110 15.5.6).

    Starlette answers 405 from the first route whose path matches, so with one route per
    method (above) or separate ``@router.get`` and ``@router.post`` on one path, ``Allow``
    named only that route's method. This middleware asks the app's routes, method by
    method, which would answer the path."""

    def __init__(self, app: ASGIApp, routes: Callable[[], Sequence[BaseRoute]]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allowed = [method for method in METHODS
                           if any(route.matches({**scope, "method": method})[0] == Match.FULL
                                  for route in self.routes())]
                if allowed:
                    MutableHeaders(scope=message)["Allow"] = ", ".join(allowed)
            await send(message)

        await self.app(scope, receive, send_with_allow)

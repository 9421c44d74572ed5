"""Which route answers which method: one route per method, HEAD wherever GET is answered,
and a 405's ``Allow`` that lists every method of the path.

FastAPI gives a route one operationId whatever its methods, so a ``GET``+``HEAD`` route
publishes two operations with the same id (and which method's name it carries depends on
set order, so it changes between runs). OpenAPI tools (client generators, schemathesis) key
operations by that id, so each method gets its own route and so its own id
(:func:`route_per_method`). HEAD on every other GET route is answered by :class:`HeadAsGet`,
once for the app, so the document does not repeat each GET operation as a HEAD one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI, Request
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


# Where :class:`HeadAsGet` keeps the method the client sent, when the route sees GET.
_ASKED_METHOD = "hub.asked_method"


def asked_method(request: Request) -> str:
    """The method the client sent: HEAD for a HEAD a GET route answers."""
    return str(request.scope.get(_ASKED_METHOD, request.method))


def answers(routes: Sequence[BaseRoute], scope: Scope, method: str) -> bool:
    """Whether some route answers ``method`` on the path of ``scope``; HEAD wherever GET is
    (:class:`HeadAsGet`)."""
    def declared(asked: str) -> bool:
        return any(route.matches({**scope, "method": asked})[0] == Match.FULL
                   for route in routes)
    return declared(method) or (method == "HEAD" and declared("GET"))


class HeadAsGet:
    """HEAD is answered as GET is, without the body (RFC 9110 9.3.2).

    Starlette's own ``Route`` adds HEAD to a GET route; FastAPI's ``APIRoute`` does not, and
    answers it 405. Here a HEAD that no route declares goes to the path's GET route: status
    and headers (Content-Type, Content-Length, ETag, Cache-Control, a 304 for
    ``If-None-Match``) are GET's by construction. A route that declares HEAD itself (a
    download: its size and checksums without reading the file) gets it as it is. No HEAD
    answer carries a body. Innermost of the middleware, so everything outside (rate limits,
    CORS, caching headers) sees the HEAD, and it is one request, limited once; the route
    can still tell it from a GET (:func:`asked_method`).
    """

    def __init__(self, app: ASGIApp, routes: Callable[[], Sequence[BaseRoute]]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        routes = self.routes()
        declared = any(route.matches(scope)[0] == Match.FULL for route in routes)
        # A copy: the server keeps its own scope, which still says HEAD.
        inner = scope if declared else {**scope, "method": "GET", _ASKED_METHOD: "HEAD"}
        ended = False

        async def send_without_body(message: Message) -> None:
            nonlocal ended
            if message["type"] == "http.response.start":
                await send(message)
            elif not ended:  # the first body message ends the answer; the rest are dropped
                ended = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app(inner, receive, send_without_body)


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
                routes = self.routes()
                allowed = [method for method in METHODS if answers(routes, scope, method)]
                if allowed:
                    MutableHeaders(scope=message)["Allow"] = ", ".join(allowed)
            await send(message)

        await self.app(scope, receive, send_with_allow)

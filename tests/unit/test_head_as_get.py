"""HeadAsGet on a small FastAPI app, at the ASGI messages themselves: what a server is handed
for a HEAD carries no body bytes (HTTP clients, the test client among them, drop a HEAD's body
on their side, so only the messages show it), the route answering it sees GET unless it
declares HEAD, and a streamed answer is ended at its first chunk."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import StreamingResponse

from hub.api.routing import HeadAsGet, asked_method, route_per_method


def small_app() -> FastAPI:
    app = FastAPI()

    @app.get("/page")
    def page(request: Request) -> Response:
        return Response(request.method, media_type="text/plain", headers={"ETag": '"v1"'})

    @app.get("/stream")
    def stream() -> StreamingResponse:
        def chunks() -> Iterator[bytes]:
            yield from (b"chunk" for _ in range(3))
        return StreamingResponse(chunks(), media_type="text/csv")

    @route_per_method(app.router, "/file", ("GET", "HEAD"))
    def file(request: Request) -> Response:
        return Response(request.method, media_type="text/plain")

    return app


def call(app: Any, method: str, path: str) -> list[dict[str, Any]]:
    """The messages ``app`` sends the server for one request."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"},
             "http_version": "1.1", "method": method, "scheme": "http", "path": path,
             "raw_path": path.encode(), "root_path": "", "query_string": b"", "headers": [],
             "client": ("127.0.0.1", 1), "server": ("testserver", 80)}
    asyncio.run(app(scope, receive, send))
    return sent


def body(messages: list[dict[str, Any]]) -> bytes:
    return b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")


def headers(messages: list[dict[str, Any]]) -> dict[bytes, bytes]:
    return dict(messages[0]["headers"])


def guarded(app: FastAPI) -> HeadAsGet:
    return HeadAsGet(app, routes=lambda: app.router.routes)


def test_head_is_answered_by_the_get_route_with_its_headers_and_no_body() -> None:
    app = small_app()
    get = call(guarded(app), "GET", "/page")
    head = call(guarded(app), "HEAD", "/page")
    assert body(get) == b"GET"
    assert head[0]["status"] == get[0]["status"] == 200
    assert headers(head) == headers(get)  # Content-Length of GET's body, ETag, type
    assert body(head) == b""
    assert [m["type"] for m in head] == ["http.response.start", "http.response.body"]


def test_the_route_can_tell_a_head_from_a_get() -> None:
    """Counting uses, for one, is for answers that serve data (hub.api.usage.count_use)."""
    app = small_app()

    @app.get("/method")
    def method(request: Request) -> Response:
        return Response(asked_method(request), headers={"X-Asked": asked_method(request)})

    assert headers(call(guarded(app), "HEAD", "/method"))[b"x-asked"] == b"HEAD"
    assert headers(call(guarded(app), "GET", "/method"))[b"x-asked"] == b"GET"


def test_a_streamed_answer_ends_at_its_first_chunk() -> None:
    head = call(guarded(small_app()), "HEAD", "/stream")
    assert head[0]["status"] == 200 and body(head) == b""
    assert head[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert len(head) == 2


def test_a_route_that_declares_head_gets_it() -> None:
    app = small_app()
    head = call(guarded(app), "HEAD", "/file")
    assert head[0]["status"] == 200
    assert headers(head)[b"content-length"] == b"4"  # "HEAD": the route saw its own method
    assert body(head) == b""


def test_without_the_middleware_fastapi_refuses_head() -> None:
    """What HeadAsGet is for: an APIRoute answers only the methods it names."""
    assert call(small_app(), "HEAD", "/page")[0]["status"] == 405

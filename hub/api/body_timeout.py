"""A request body that stops arriving is cut off: 408, and the route writes nothing.

uvicorn waits for a body for as long as the client keeps the connection open, so a client
that sends headers and then a byte a minute (a "slow body") holds a worker's request, an
upload folder and a database session for hours. This middleware gives every ``http.request``
message of a body that is not complete yet ``idle_s`` seconds to arrive. On a longer gap it
answers 408 problem+json itself and tells the route the client has gone
(``http.disconnect``), so whatever was reading the body (a form parser, a JSON body, the
upload stream) stops, and anything the route tries to send after that is dropped. The answer
is given here, not by an exception handler, because FastAPI turns any failure while reading
a JSON body into its own 400.

Once the body is complete, ``receive`` is passed through untouched: a streaming response
waits on it for the client's disconnect for as long as a download lasts.
"""

from __future__ import annotations

from typing import Any

import anyio
import orjson

Message = dict[str, Any]


def timeout_problem(idle_s: float) -> bytes:
    return orjson.dumps({
        "type": "body-timeout", "title": "Request timeout", "status": 408,
        "detail": f"the request body stopped arriving for {idle_s:g} s "
                  "(HUB_BODY_IDLE_TIMEOUT_S); nothing was stored, send it again"})


class BodyIdleTimeout:
    """ASGI middleware; ``idle_s`` <= 0 turns it off."""

    def __init__(self, app: Any, idle_s: float) -> None:
        self.app = app
        self.idle_s = idle_s

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.idle_s <= 0:
            await self.app(scope, receive, send)
            return
        body_done = response_started = answered = False

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if answered:
                return
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        async def timed_receive() -> Message:
            nonlocal body_done, answered
            if body_done:
                return await receive()
            try:
                with anyio.fail_after(self.idle_s):
                    message: Message = await receive()
            except TimeoutError:
                body_done = True
                if not response_started:
                    await _answer_408(send, self.idle_s)
                    answered = True
                return {"type": "http.disconnect"}
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        await self.app(scope, timed_receive, guarded_send)


async def _answer_408(send: Any, idle_s: float) -> None:
    body = timeout_problem(idle_s)
    await send({"type": "http.response.start", "status": 408, "headers": [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})

"""A request body that stops arriving is cut off: 408, and the route writes nothing.

uvicorn waits for a body for as long as the client keeps the connection open, so a client
that sends headers and then a byte a minute (a "slow body") holds a worker's request, an
upload folder and a database session for hours. This middleware gives every ``http.request``
message of a body that is not complete yet ``idle_s`` seconds to arrive; a gap longer than
that raises :class:`BodyTimedOut` inside whatever is reading the body (a form parser, a JSON
body, the upload stream), which the problem handlers turn into 408. Once the body is
complete, ``receive`` is passed through untouched: a streaming response waits on it for the
client's disconnect for as long as a download lasts.
"""

from __future__ import annotations

from typing import Any

import anyio

Message = dict[str, Any]


class BodyTimedOut(Exception):
    """The client stopped sending its request body (408)."""

    def __init__(self, idle_s: float) -> None:
        super().__init__(f"the request body stopped arriving for {idle_s:g} s "
                         "(HUB_BODY_IDLE_TIMEOUT_S); nothing was stored, send it again")
        self.idle_s = idle_s


class BodyIdleTimeout:
    """ASGI middleware; ``idle_s`` <= 0 turns it off."""

    def __init__(self, app: Any, idle_s: float) -> None:
        self.app = app
        self.idle_s = idle_s

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.idle_s <= 0:
            await self.app(scope, receive, send)
            return
        body_done = False

        async def timed_receive() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()
            try:
                with anyio.fail_after(self.idle_s):
                    message: Message = await receive()
            except TimeoutError as exc:
                raise BodyTimedOut(self.idle_s) from exc
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        await self.app(scope, timed_receive, send)

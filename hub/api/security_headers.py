"""Security headers on every response, and CORS split between reading and writing.

Every answer says ``nosniff`` (a browser must not guess a CSV or a GeoJSON is HTML or a
script), a referrer policy, and a Content-Security-Policy chosen by its media type: HTML pages
of the portal may load only what the hub itself serves (plus what MapLibre needs: its worker
from a ``blob:`` URL, images from ``data:`` and ``blob:``); everything else (JSON, problem
documents, files, tiles) is never a document that should run anything, so it gets
``default-src 'none'``. Both forbid framing (``frame-ancestors 'none'``). A route that knows
better (the Swagger UI page, with its one inline script) sets its own policy, which is kept.

CORS: reading public data is open to every origin by default (``HUB_CORS_ORIGINS``); writes
answer other origins only when ``HUB_CORS_WRITE_ORIGINS`` names them. Credentials are never
allowed cross-origin: keys travel in an ``Authorization`` header the calling script adds
itself, and the portal's session cookie must never ride along on another site's request.
Starlette's ``CORSMiddleware`` does the protocol; this module only chooses which of the two
configurations answers a request, by the method it uses (or, for a preflight, announces).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.settings import Settings

PAGE_POLICY = ("default-src 'self'; img-src 'self' data: blob:; worker-src 'self' blob:; "
               "object-src 'none'; base-uri 'self'; form-action 'self'; "
               "frame-ancestors 'none'")
DOCUMENT_POLICY = "default-src 'none'; frame-ancestors 'none'"
REFERRER_POLICY = "strict-origin-when-cross-origin"

READ_METHODS = ("GET", "HEAD")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Request headers a cross-origin script may send: content negotiation, conditional and range
# requests, and a key for its own quota or for writes.
ALLOWED_HEADERS = ("Accept", "Accept-Language", "Authorization", "Content-Type",
                   "If-None-Match", "If-Modified-Since", "Range")
# Response headers a cross-origin script may read besides the CORS-safelisted ones.
EXPOSED_HEADERS = ("ETag", "Link", "Location", "Content-Disposition", "Content-Range",
                   "Accept-Ranges", "Digest", "Retry-After", "RateLimit", "RateLimit-Policy")
PREFLIGHT_MAX_AGE_S = 600
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def page_policy_with_inline_scripts(html: str) -> str:
    """The page policy, allowing exactly the inline scripts of ``html`` by their SHA-256 (for
    a page whose markup a library writes, such as Swagger UI's, and that cannot move its
    start-up script into a file)."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html))
    return PAGE_POLICY.replace("default-src 'self';",
                               f"default-src 'self'; script-src 'self' {hashes};")


def content_security_policy(content_type: str) -> str:
    """The policy for a response of ``content_type``: pages may load the hub's own assets,
    every other answer nothing at all."""
    return PAGE_POLICY if content_type.split(";")[0].strip().lower() == "text/html" \
        else DOCUMENT_POLICY


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response that has not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", REFERRER_POLICY)
                headers.setdefault("Content-Security-Policy",
                                   content_security_policy(headers.get("content-type", "")))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _origins(setting: str) -> list[str]:
    return [origin.strip() for origin in setting.split(",") if origin.strip()]


def _cors(app: ASGIApp, origins: Iterable[str], methods: Iterable[str]) -> CORSMiddleware:
    return CORSMiddleware(app, allow_origins=list(origins), allow_methods=list(methods),
                          allow_headers=list(ALLOWED_HEADERS),
                          expose_headers=list(EXPOSED_HEADERS), allow_credentials=False,
                          max_age=PREFLIGHT_MAX_AGE_S)


class ReadWriteCORSMiddleware:
    """Starlette's CORS, configured once for reads and once for writes; a request (or a
    preflight, by its ``Access-Control-Request-Method``) is answered by the one its method
    belongs to. An origin the configuration does not name gets no CORS headers, so the
    browser keeps the answer from the calling script."""

    def __init__(self, app: ASGIApp, read_origins: str, write_origins: str) -> None:
        self.app = app
        self.read = _cors(app, _origins(read_origins), (*READ_METHODS, "OPTIONS"))
        self.write = _cors(app, _origins(write_origins), (*WRITE_METHODS, "OPTIONS"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "OPTIONS":
            for name, value in scope["headers"]:
                if name == b"access-control-request-method":
                    method = value.decode("latin-1").strip().upper()
                    break
        chosen = self.write if method in WRITE_METHODS else self.read
        await chosen(scope, receive, send)


def add_security_middleware(app: FastAPI, settings: Settings) -> None:
    """Outermost layers of the app: the headers reach every answer, the rate limiter's 429s
    and CORS preflights included."""
    app.add_middleware(ReadWriteCORSMiddleware, read_origins=settings.cors_origins,
                       write_origins=settings.cors_write_origins)
    app.add_middleware(SecurityHeadersMiddleware)

"""HTTP caching for immutable versions: ETags from content hashes, 304s before any query.

A pinned version never changes, so its responses are cacheable forever
(``immutable``); ``latest`` responses carry the same kind of ETag but must be revalidated,
since ``latest`` moves when a new version is published.

Every cacheable route answers through :func:`conditional`, which owns the whole
conditional-request sequence: the validator (ETag and cacheability) is known first, a
matching ``If-None-Match`` is answered 304 before the body is produced (so before any data
query runs), and every other answer gets the same ``ETag`` and ``Cache-Control``. No route
spells the sequence out, so no route can forget a step of it.

Shared caches (Varnish, deploy/varnish/hub.vcl; docs/scaling.md) get two more things from
here. Every cacheable response names the dataset versions it shows in ``Hub-Cache-Tags``
(:mod:`hub.http_cache.tags`), so a publish or withdrawal bans exactly what changed; and a
``latest`` response says ``Surrogate-Control: max-age=300``: the shared cache, which hears
of every publish, may keep it for five minutes between bans, while clients still revalidate
it every time. A response to a request that carries a key is the caller's own
(:class:`PrivateWhenCredentialed`): ``private``, never stored by a shared cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.http_cache.tags import TAGS_HEADER, cache_tag
from hub.people.sessions import SESSION_COOKIE
from hub.query.model import NearSet

PINNED_CACHE = "public, max-age=31536000, immutable"
LATEST_CACHE = "public, no-cache"  # stored, but revalidated each time (ETag -> 304)
# How long a shared cache that receives the hub's bans may keep a tagged ``latest`` answer:
# a ban makes it change at once; this bounds how stale it gets if a ban is lost.
LATEST_SURROGATE = "max-age=300"


@dataclass(frozen=True)
class Validator:
    """What a cache needs to know about one response: its strong ETag and whether it can ever
    change (``pinned``). ``negotiated``: the representation was chosen by ``Accept`` too, so
    caches must key on it (``Vary: Accept``)."""

    etag: str
    pinned: bool
    tags: tuple[str, ...] = ()
    negotiated: bool = True

    def headers(self) -> dict[str, str]:
        headers = {"ETag": self.etag,
                   "Cache-Control": PINNED_CACHE if self.pinned else LATEST_CACHE}
        if self.tags:
            headers[TAGS_HEADER] = " ".join(dict.fromkeys(self.tags))
            if not self.pinned:
                headers["Surrogate-Control"] = LATEST_SURROGATE
        if self.negotiated:
            headers["Vary"] = "Accept"
        return headers


def version_tags(dataset_id: str, version: int, *, pinned: bool,
                 near: NearSet | None = None) -> tuple[str, ...]:
    """The cache tags of an answer built from ``version`` of ``dataset_id`` (asked for by its
    pinned URL or through ``latest``) and, for a ``near_route``/``near_stop`` query, from the
    referenced feed's version too: a publish of either must ban it."""
    own = cache_tag(dataset_id, version, pinned=pinned)
    if near is None:
        return (own,)
    return (own, cache_tag(near.dataset_id, near.version, pinned=near.pinned))


def representation(content_sha256: str, request: Request, variant: str, *,
                   pinned: bool, tags: tuple[str, ...]) -> Validator:
    """The validator of one representation of versioned content: the content hash plus a
    digest of the exact representation asked for (``variant``: format or sub-resource, and
    the query string), since one version has many representations. ``tags``: the cache tags
    of every dataset version the answer is built from (:func:`version_tags`)."""
    canonical = "&".join(sorted(f"{k}={v}" for k, v in request.query_params.multi_items()))
    digest = hashlib.sha256(f"{variant}?{canonical}".encode()).hexdigest()[:16]
    return Validator(f'"{content_sha256[:32]}-{digest}"', pinned, tags)


def stored_file(sha256: str, *, pinned: bool, tags: tuple[str, ...] = ()) -> Validator:
    """The validator of a stored file: its own SHA-256 is its ETag (the same hash the
    ``Repr-Digest`` header carries), whatever the query string."""
    return Validator(f'"{sha256}"', pinned, tags, negotiated=False)


def if_none_match(request: Request, etag: str) -> bool:
    """Whether the request's ``If-None-Match`` names ``etag`` (weak comparison, RFC 9110)."""
    header = request.headers.get("if-none-match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    candidates = {c.strip().removeprefix("W/") for c in header.split(",")}
    return etag in candidates


def conditional(request: Request, validator: Validator, produce: Callable[[], Response], *,
                headers: Mapping[str, str] | None = None) -> Response:
    """304 when ``If-None-Match`` matches, else ``produce()``; either way with the
    validator's ``ETag``, ``Cache-Control`` (and ``Vary``) plus ``headers``, which every
    answer of this resource carries, 304 included.

    ``produce`` runs only when a body is needed: everything that queries data belongs in it.
    """
    response = Response(status_code=304) if if_none_match(request, validator.etag) else produce()
    response.headers.update({**(headers or {}), **validator.headers()})
    return response


def private_cache_control(value: str | None) -> str:
    """``value`` for one caller only: ``public`` (and a shared cache's ``s-maxage``) become
    ``private``; what the client may do itself (``max-age``, ``no-cache``, ``immutable``)
    stays."""
    kept = [d.strip() for d in (value or "").split(",")
            if d.strip() and d.strip().split("=")[0].lower() not in ("public", "private",
                                                                     "s-maxage")]
    return ", ".join(["private", *kept])


def carries_credentials(headers: list[tuple[bytes, bytes]] | tuple[Any, ...]) -> bool:
    """A key (``Authorization``) or a signed-in portal session (its cookie) comes with the
    request: whatever is answered may be that person's own."""
    session = SESSION_COOKIE.encode() + b"="
    for name, value in headers:
        if name == b"authorization":
            return True
        if name == b"cookie" and any(part.strip().startswith(session)
                                     for part in value.split(b";")):
            return True
    return False


class PrivateWhenCredentialed:
    """Marks every answer to a request with ``Authorization`` or a session cookie as the
    caller's own
    (``Cache-Control: private``, ``Vary: Authorization``) and drops ``Surrogate-Control``
    and the cache tags, so no shared cache stores it even if it would not have passed the
    request on by itself: a keyed answer carries that key's quota, its pending items, its
    own views."""

    PERSONAL_HEADERS = (b"cache-control", b"surrogate-control", TAGS_HEADER.lower().encode())

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not carries_credentials(scope.get("headers", ())):
            await self.app(scope, receive, send)
            return

        async def send_private(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                control = next((v.decode("latin-1") for n, v in headers
                                if n.lower() == b"cache-control"), None)
                vary = [v.decode("latin-1") for n, v in headers if n.lower() == b"vary"]
                headers = [(n, v) for n, v in headers
                           if n.lower() not in (*self.PERSONAL_HEADERS, b"vary")]
                headers.append((b"cache-control", private_cache_control(control).encode()))
                headers.append((b"vary", ", ".join([*vary, "Authorization"]).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_private)

"""HTTP caching for immutable versions: ETags from content hashes, 304s before any query.

A pinned version never changes, so its responses are cacheable forever
(``immutable``); ``latest`` responses carry the same kind of ETag but must be revalidated,
since ``latest`` moves when a new version is published.

Every cacheable route answers through :func:`conditional`, which owns the whole
conditional-request sequence: the validator (ETag and cacheability) is known first, a
matching ``If-None-Match`` is answered 304 before the body is produced (so before any data
query runs), and every other answer gets the same ``ETag`` and ``Cache-Control``. No route
spells the sequence out, so no route can forget a step of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fastapi import Request, Response

PINNED_CACHE = "public, max-age=31536000, immutable"
LATEST_CACHE = "public, no-cache"  # stored, but revalidated each time (ETag -> 304)


@dataclass(frozen=True)
class Validator:
    """What a cache needs to know about one response: its strong ETag and whether it can ever
    change (``pinned``). ``negotiated``: the representation was chosen by ``Accept`` too, so
    caches must key on it (``Vary: Accept``)."""

    etag: str
    pinned: bool
    negotiated: bool = True

    def headers(self) -> dict[str, str]:
        headers = {"ETag": self.etag,
                   "Cache-Control": PINNED_CACHE if self.pinned else LATEST_CACHE}
        if self.negotiated:
            headers["Vary"] = "Accept"
        return headers


def representation(content_sha256: str, request: Request, variant: str, *,
                   pinned: bool) -> Validator:
    """The validator of one representation of versioned content: the content hash plus a
    digest of the exact representation asked for (``variant``: format or sub-resource, and
    the query string), since one version has many representations."""
    canonical = "&".join(sorted(f"{k}={v}" for k, v in request.query_params.multi_items()))
    digest = hashlib.sha256(f"{variant}?{canonical}".encode()).hexdigest()[:16]
    return Validator(f'"{content_sha256[:32]}-{digest}"', pinned)


def stored_file(sha256: str, *, pinned: bool) -> Validator:
    """The validator of a stored file: its own SHA-256 is its ETag (the same hash the
    ``Repr-Digest`` header carries), whatever the query string."""
    return Validator(f'"{sha256}"', pinned, negotiated=False)


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

"""HTTP caching for immutable versions: ETags from content hashes, 304s before any query.

A pinned version never changes, so its responses are cacheable forever
(``immutable``); ``latest`` responses carry the same kind of ETag but must be revalidated,
since ``latest`` moves when a new version is published.
"""

from __future__ import annotations

import hashlib

from fastapi import Request, Response

PINNED_CACHE = "public, max-age=31536000, immutable"
LATEST_CACHE = "public, no-cache"


def representation_etag(content_sha256: str, request: Request, variant: str) -> str:
    """Strong ETag: the version's content hash plus a digest of the exact representation asked
    for (query string and format), since one version has many representations."""
    canonical = "&".join(sorted(f"{k}={v}" for k, v in request.query_params.multi_items()))
    digest = hashlib.sha256(f"{variant}?{canonical}".encode()).hexdigest()[:16]
    return f'"{content_sha256[:32]}-{digest}"'


def not_modified(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    candidates = {c.strip().removeprefix("W/") for c in header.split(",")}
    return etag in candidates


def apply_cache_headers(response: Response, etag: str, *, pinned: bool) -> None:
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = PINNED_CACHE if pinned else LATEST_CACHE
    response.headers["Vary"] = "Accept"


def not_modified_response(etag: str, *, pinned: bool) -> Response:
    """The 304 answer to a matching ``If-None-Match``, with the same cache headers as a 200."""
    response = Response(status_code=304)
    apply_cache_headers(response, etag, pinned=pinned)
    return response

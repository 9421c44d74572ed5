"""Send one signed message: POST, following redirects by hand so each hop is checked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from hub.webhooks.targets import Network, RefusedTarget, check_target

REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
EXCERPT_CHARS = 500


@dataclass(frozen=True)
class Response:
    """What came back (or why nothing did)."""

    status_code: int | None
    retry_after: str | None
    excerpt: str
    error: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def send(client: httpx.Client, url: str, content: bytes, headers: Mapping[str, str],
         allowed: Sequence[Network]) -> Response:
    """POST ``content`` to ``url``. Every hop's address is checked before the request (DNS
    can change after the subscription was checked); a redirect is followed with the same
    POST and body, so the signature still holds."""
    for _ in range(MAX_REDIRECTS + 1):
        try:
            check_target(url, allowed)
            answer = client.post(url, content=content, headers=dict(headers))
        except RefusedTarget as exc:
            return Response(None, None, "", f"refused: {exc}")
        except httpx.HTTPError as exc:
            return Response(None, None, "", f"{type(exc).__name__}: {exc}"[:EXCERPT_CHARS])
        location = answer.headers.get("location")
        if answer.status_code in REDIRECTS and location:
            url = urljoin(url, location)
            continue
        error = "" if 200 <= answer.status_code < 300 else f"HTTP {answer.status_code}"
        return Response(answer.status_code, answer.headers.get("retry-after"),
                        answer.text[:EXCERPT_CHARS], error)
    return Response(None, None, "", f"more than {MAX_REDIRECTS} redirects")

"""Schemathesis hooks for the fuzz test (loaded through ``SCHEMATHESIS_HOOKS``).

A paging cursor (``cursor`` on records, diffs and the request board) is a token the hub
mints in a ``next`` link; no client makes one up, and a made-up one is rightly refused with
400. OpenAPI has no way to say "a value from our own answer" for a query parameter, so the
fuzzer leaves ``cursor`` out of the requests it invents instead of reporting every forged
cursor as a schema-valid request rejected. Cursors are tested through real ``next`` links
in tests/api (paging, forged and foreign cursors)."""

from __future__ import annotations

from typing import Any

import schemathesis

MINTED_BY_THE_HUB = ("cursor",)


@schemathesis.hook
def map_query(_context: Any, query: dict[str, Any] | None) -> dict[str, Any] | None:
    if not query:
        return query
    return {name: value for name, value in query.items() if name not in MINTED_BY_THE_HUB}

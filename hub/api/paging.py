"""The ``next`` link of keyset-paged answers (/v1 records, OGC items, version diffs).

A next page is the same request with only the cursor replaced: every other parameter is kept
in its order, so the next page has the same filters, sort, format and page size, and the
cursor (which binds the sort it was made for) is the one thing that moves.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode

from fastapi import Request

from hub.data import RecordsPage
from hub.query.model import FeatureQuery
from hub.query.params import encode_cursor

CURSOR = "cursor"


def next_page_url(url: str, params: Iterable[tuple[str, str]], cursor: str) -> str:
    """``url`` with the request's ``params`` and the cursor of the next page."""
    kept = [(k, v) for k, v in params if k != CURSOR]
    kept.append((CURSOR, cursor))
    return f"{url}?{urlencode(kept)}"


def records_next_url(request: Request, url: str, page: RecordsPage,
                     query: FeatureQuery) -> str | None:
    """The next page of a records answer, or None on the last page. ``url``: the page's own
    address without its query string."""
    if page.next_values is None:
        return None
    values, fid = page.next_values
    return next_page_url(url, request.query_params.multi_items(), encode_cursor(values, fid, query))


def next_link_header(next_url: str) -> str:
    """The RFC 8288 ``Link`` header naming the next page, for clients that page by headers."""
    return f'<{next_url}>; rel="next"'

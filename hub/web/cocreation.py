"""The co-creation pages: the requests board, one request's page and the showcases gallery.

Thin like :mod:`hub.web.pages`: each page calls the same :class:`hub.data.cocreation.CoCreation`
functions as ``/v1/requests`` and ``/v1/showcases`` (the board's search, sorts, facets and
keyset cursor are ``RequestSearch`` and its cursor, as on the API), so a page is a view of an
API answer. The forms that file a request, vote and submit a showcase are
:mod:`hub.web.participation`; the pages also show the API calls that do the same from code.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from hub.api.cocreation import StoreDep
from hub.api.deps import BaseUrlDep
from hub.cocreation.requests import SORTS, RequestStatus
from hub.cocreation.showcases import ShowcaseKind, ShowcaseStatus
from hub.data import NotFound
from hub.data.cocreation import CoCreation
from hub.query.model import QueryError
from hub.query.requests import RequestSearch, cursor_after, decode_after
from hub.web.rendering import PortalDep, problem_page, with_params

router = APIRouter(tags=["portal"], include_in_schema=False)

BOARD_PAGE_SIZE = 20
REQUESTS_ON_DATASET_PAGE = 20


def _board_search(status: str | None, sort: str, q: str | None, cursor: str | None
                  ) -> RequestSearch:
    """The board's parameters as the API's ``RequestSearch``; a bad one is a QueryError
    with the reason, shown on the page."""
    if sort not in SORTS:
        raise QueryError(f"parameter 'sort' must be one of {', '.join(SORTS)}", "sort")
    try:
        wanted = RequestStatus(status) if status else None
    except ValueError:
        raise QueryError("parameter 'status' must be one of "
                         + ", ".join(s.value for s in RequestStatus), "status") from None
    return RequestSearch(status=wanted, q=q or None, sort=sort, limit=BOARD_PAGE_SIZE,
                         after=decode_after(sort, cursor) if cursor else None)


def api_calls(base: str, request_id: int | None = None) -> dict[str, str]:
    """The curl commands that file a request and vote, for a key holder (``contribute``
    scope, docs/people.md)."""
    calls = {"file": (
        f"curl -X POST {base}/v1/requests \\\n"
        '  -H "Authorization: Bearer $HUB_KEY" -H "Content-Type: application/json" \\\n'
        """  -d '{"title": "…", "description": "…", "purpose": "…"}'""")}
    target = request_id if request_id is not None else "{id}"
    calls["vote"] = (f"curl -X POST {base}/v1/requests/{target}/votes \\\n"
                     '  -H "Authorization: Bearer $HUB_KEY"')
    return calls


@router.get("/requests", summary="Data requests board (HTML)", response_class=HTMLResponse)
def requests_board(
    request: Request, store: StoreDep, portal: PortalDep, base: BaseUrlDep,
    status: Annotated[str | None, Query(description="As on /v1/requests.")] = None,
    sort: Annotated[str, Query(description="votes (default), newest or updated")] = "votes",
    q: Annotated[str | None, Query(description="Words, as `q` of /v1/requests.")] = None,
    cursor: Annotated[str | None, Query(description="From the next-page link.")] = None,
) -> HTMLResponse:
    """Requests sorted by votes (or newest, recently updated), filtered by status."""
    try:
        search = _board_search(status, sort, q, cursor)
    except QueryError as error:
        return problem_page(portal, request, 400, error.detail)
    rows, facets, total = store.requests(search)
    next_url = None
    if len(rows) > BOARD_PAGE_SIZE:
        rows = rows[:BOARD_PAGE_SIZE]
        next_url = with_params(request, cursor=cursor_after(sort, rows[-1]))
    counts = facets["status"]
    return portal.render(request, "requests.html", {
        "section": "requests",
        "requests": rows,
        "total": total,
        "q": q or "",
        "sort": sort,
        "status": search.status.value if search.status else None,
        "sort_links": [(s, with_params(request, sort=s, cursor=None)) for s in SORTS],
        "status_links": [(None, sum(counts.values()),
                          with_params(request, status=None, cursor=None))]
        + [(s.value, counts.get(s.value, 0), with_params(request, status=s.value, cursor=None))
           for s in RequestStatus],
        "next_url": next_url,
        "calls": api_calls(base),
        "form": {"values": {}, "errors": {}, "general": []},
    })


@router.get("/requests/{request_id}", summary="One data request (HTML)",
            response_class=HTMLResponse)
def request_page(request_id: int, request: Request, store: StoreDep, portal: PortalDep,
                 base: BaseUrlDep, filed: bool = False, voted: bool = False) -> HTMLResponse:
    """What was asked, the status timeline (who answered, when, why), votes, comments, and
    the datasets and showcases that answer it."""
    try:
        row = store.request(request_id)
    except NotFound as error:
        return problem_page(portal, request, 404, str(error))
    answered = [(e["dataset_id"], e["version"]) for e in row["timeline"] if e["dataset_id"]]
    return portal.render(request, "request.html", {
        "section": "requests",
        "item": row,
        "answered": list(dict.fromkeys(answered)),
        "calls": api_calls(base, request_id),
        "filed": filed, "voted": voted,
    })


@router.get("/showcases", summary="Showcases gallery (HTML)", response_class=HTMLResponse)
def showcases_gallery(request: Request, store: StoreDep, portal: PortalDep,
                      submitted: int | None = None) -> HTMLResponse:
    """Approved showcases with their image, kind and the dataset versions they use."""
    return portal.render(request, "showcases.html", {
        "section": "showcases",
        "submitted": submitted,
        "showcases": store.showcases(ShowcaseStatus.APPROVED),
        "kinds": [k.value for k in ShowcaseKind],
    })


def dataset_uses(store: CoCreation, dataset_id: str) -> dict[str, Any]:
    """For the dataset page: the approved showcases that use the dataset and the requests
    it answered (the same calls as /v1/datasets/{id}/showcases and /v1/requests?dataset=)."""
    answered, _facets, _total = store.requests(
        RequestSearch(dataset=dataset_id, limit=REQUESTS_ON_DATASET_PAGE))
    return {"showcases": store.showcases(ShowcaseStatus.APPROVED, dataset_id),
            "answered": answered[:REQUESTS_ON_DATASET_PAGE]}

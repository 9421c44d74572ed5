"""The staff console: overview, moderation queue, request triage and usage charts.

Signed-in pages (``hub.web.session``) for keys with the publish or moderate scope. Each
write calls the function the API route calls, with the session's key as the principal:
deciding a contribution is ``hub.api.contributions.decide_contribution``, moving a request
is ``hub.cocreation.requests.status_change`` and ``CoCreation.change_status``; the queue
is ``moderation_queue``; the usage charts read ``UsageStore.daily`` (``/v1/stats``'s rows).
Publishing a file is :mod:`hub.web.console_publish`.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.api.bounds import MAX_ID
from hub.api.cocreation import StoreDep, actor_of
from hub.api.contributions import decide_contribution, moderation_queue
from hub.api.deps import DataDep
from hub.api.usage import DETAIL_SCOPES
from hub.cocreation.errors import Refused
from hub.cocreation.requests import (
    REASON_TEXT,
    TRANSITIONS,
    ReasonCode,
    RequestStatus,
    status_change,
)
from hub.data import Gone, NotFound
from hub.data.contributions import Contributions
from hub.data.usage import UsageStore
from hub.people.principal import Forbidden, Key, Principal
from hub.people.scopes import Scope
from hub.query.catalog import DatasetSearch
from hub.query.requests import RequestSearch
from hub.serialise.contributions import changes_side_by_side
from hub.web import views
from hub.web.rendering import PortalDep, problem_page
from hub.web.session import CsrfChecked, SignedIn, signed_in_key
from hub.web.usage_chart import chart, daily_series

router = APIRouter(tags=["portal"], include_in_schema=False)

# Who may open the console: a key that publishes or moderates (admin implies both).
STAFF_SCOPES = (Scope.PUBLISH, Scope.MODERATE)
Staff = Annotated[Key, Depends(signed_in_key(*STAFF_SCOPES))]
Moderator = Annotated[Key, Depends(signed_in_key(Scope.MODERATE))]
QUEUE_SIZE = 50
TRIAGE_SIZE = 50
CATALOGUE_SIZE = 200
USAGE_DAYS = (30, 90, 365)
OPEN_STATUSES = tuple(s for s in RequestStatus if TRANSITIONS[s])


def _contributions(request: Request) -> Contributions:
    return request.app.state.contributions


def catalogue(data: Any, language: str) -> list[dict[str, Any]]:
    """The published datasets (id and title in the page's language), for the console's
    pickers."""
    rows, _total, _facets = data.search_datasets(DatasetSearch(limit=CATALOGUE_SIZE))
    return [{"id": r["id"], "title": views.localised(r, "title", language),
             "version": r.get("current_version")} for r in rows]


def may(key: Key, scope: Scope, dataset: str | None = None) -> bool:
    """Whether ``key`` may act with ``scope`` (on ``dataset``), asked of the one rule
    (``Principal.require``): what the console offers is what its routes then allow."""
    try:
        Principal(None, key=key).require(scope, dataset)
    except Forbidden:
        return False
    return True


def staff_context(key: Key) -> dict[str, Any]:
    """What every console page needs: the key, and which sections it may use (the nav)."""
    return {"section": "staff", "key": key, "moderates": may(key, Scope.MODERATE),
            "publishes": may(key, Scope.PUBLISH)}


@router.get("/staff", response_class=HTMLResponse)
def overview(request: Request, portal: PortalDep, data: DataDep, key: Staff,
             principal: SignedIn) -> HTMLResponse:
    """What this key may do: publish files of its datasets, the moderation queue, request
    triage, usage charts, and a new dataset from a file."""
    language = portal.language(request)
    datasets = catalogue(data, language)
    pending = (len(moderation_queue(_contributions(request), principal, "pending", None, None,
                                    QUEUE_SIZE)) if may(key, Scope.MODERATE) else None)
    return portal.render(request, "staff.html", {
        **staff_context(key),
        "publishable": [d for d in datasets if may(key, Scope.PUBLISH, d["id"])],
        "watched": [d for d in datasets
                    if any(may(key, s, d["id"]) for s in DETAIL_SCOPES)],
        "pending": pending, "queue_size": QUEUE_SIZE,
    })


# -- moderation ------------------------------------------------------------------------------


def _map_layers(data: Any, dataset_id: str, cache: dict[str, Any]) -> list[dict[str, Any]]:
    """The current version's tile layers (as the dataset page's map), for the context
    around a proposed point."""
    if dataset_id not in cache:
        try:
            cache[dataset_id] = views.map_layers(data.version(dataset_id, None))
        except (NotFound, Gone):
            cache[dataset_id] = []
    return cache[dataset_id]


def contribution_view(row: dict[str, Any], layers: list[dict[str, Any]]) -> dict[str, Any]:
    """One queue entry: what is proposed (a new record's fields, a correction's old beside
    new, a removal's reason) and the point's map configuration."""
    geometry = row.get("geometry")
    geometry = json.loads(geometry) if isinstance(geometry, str) else geometry
    point = (geometry["coordinates"] if geometry and geometry.get("type") == "Point"
             else None)
    return {
        "row": row,
        "record": row.get("proposed") or {} if row["kind"] == "new" else {},
        "changes": changes_side_by_side(row) if row["kind"] == "correction" else [],
        "point": point,
        "map": {"point": point, "layers": layers} if point else None,
    }


def _queue_page(request: Request, portal: PortalDep, data: DataDep, principal: Principal,
                key: Key, problem: dict[str, Any] | None = None,
                status_code: int = 200) -> HTMLResponse:
    rows = moderation_queue(_contributions(request), principal, "pending", None, None,
                            QUEUE_SIZE)
    layers: dict[str, Any] = {}
    language = portal.language(request)
    titles = {d["id"]: d["title"] for d in catalogue(data, language)}
    return portal.render(request, "staff_moderation.html", {
        **staff_context(key), "problem": problem, "titles": titles,
        "entries": [contribution_view(r, _map_layers(data, r["dataset_id"], layers))
                    for r in rows],
    }, status_code=status_code)


@router.get("/staff/moderation", response_class=HTMLResponse)
def moderation(request: Request, portal: PortalDep, data: DataDep, key: Moderator,
               principal: SignedIn) -> HTMLResponse:
    """Pending contributions, newest first, each with its map and a decision form."""
    return _queue_page(request, portal, data, principal, key)


@router.post("/staff/moderation/{contribution_id}", response_class=HTMLResponse,
             dependencies=[CsrfChecked])
def decide(request: Request, portal: PortalDep, data: DataDep, key: Moderator,
           principal: SignedIn,
           contribution_id: Annotated[int, Path(ge=1, le=MAX_ID)],
           decision: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
           ) -> Response:
    """Accept or decline with a reason: the API's decision, audited as the key."""
    try:
        decide_contribution(_contributions(request), principal, contribution_id, decision,
                            reason.strip() or None)
    except NotFound as exc:
        return problem_page(portal, request, 404, str(exc))
    except Refused as exc:
        return _queue_page(request, portal, data, principal, key,
                           {"id": contribution_id, "detail": exc.detail},
                           status_code=exc.status if exc.status != 422 else 400)
    return RedirectResponse(f"/staff/moderation?decided={contribution_id}", status_code=303)


# -- request triage --------------------------------------------------------------------------


def _triage_page(request: Request, portal: PortalDep, store: StoreDep, key: Key,
                 problem: dict[str, Any] | None = None,
                 status_code: int = 200) -> HTMLResponse:
    entries = []
    for status in OPEN_STATUSES:
        rows, _facets, _total = store.requests(RequestSearch(status=status, limit=TRIAGE_SIZE))
        entries += [{"item": r, "next": sorted(s.value for s in TRANSITIONS[status])}
                    for r in rows[:TRIAGE_SIZE]]
    return portal.render(request, "staff_requests.html", {
        **staff_context(key), "entries": entries, "problem": problem,
        "reasons": [(c.value, REASON_TEXT[c]) for c in ReasonCode],
    }, status_code=status_code)


@router.get("/staff/requests", response_class=HTMLResponse)
def triage(request: Request, portal: PortalDep, store: StoreDep,
           key: Moderator) -> HTMLResponse:
    """Open, under-review and planned requests, most votes first, each with a form that
    moves it on with a note."""
    return _triage_page(request, portal, store, key)


@router.post("/staff/requests/{request_id}", response_class=HTMLResponse,
             dependencies=[CsrfChecked])
def move_request(
    request: Request, portal: PortalDep, store: StoreDep, key: Moderator,
    principal: SignedIn, request_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    status: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "",
    reason_code: Annotated[str, Form()] = "", target_date: Annotated[str, Form()] = "",
    dataset: Annotated[str, Form()] = "", version: Annotated[str, Form()] = "",
) -> Response:
    """The API's status move (same rules, same store call, same event and audit entry);
    fields the chosen status does not use are ignored, as the form shows them all."""
    try:
        wanted = RequestStatus(status)
    except ValueError:
        wanted = None
    try:
        when = date.fromisoformat(target_date) if target_date else None
        number = int(version) if version else None
    except ValueError:
        return _triage_page(request, portal, store, key, {
            "id": request_id, "detail": "the target date is YYYY-MM-DD and the version a "
            "whole number"}, status_code=400)
    try:
        change = status_change(
            status, note or None,
            reason_code or None if wanted is RequestStatus.DECLINED else None,
            when if wanted is RequestStatus.PLANNED else None,
            dataset or None if wanted is RequestStatus.PUBLISHED else None,
            number if wanted is RequestStatus.PUBLISHED else None)
        store.change_status(request_id, change, actor_of(principal, key))
    except NotFound as exc:
        return problem_page(portal, request, 404, str(exc))
    except Refused as exc:
        return _triage_page(request, portal, store, key,
                            {"id": request_id, "detail": exc.detail},
                            status_code=exc.status if exc.status != 422 else 400)
    return RedirectResponse(f"/staff/requests?moved={request_id}", status_code=303)


# -- usage -----------------------------------------------------------------------------------


@router.get("/staff/usage", response_class=HTMLResponse)
def usage(request: Request, portal: PortalDep, data: DataDep, key: Staff,
          dataset: str | None = None,
          days: Annotated[int, Query(description="30, 90 or 365")] = 30) -> HTMLResponse:
    """Requests per day of one dataset (API records, tiles, downloads) as a chart, with the
    numbers as a table: the per-day rows of ``/v1/stats?detail=day``."""
    language = portal.language(request)
    datasets = [d for d in catalogue(data, language)
                if any(may(key, s, d["id"]) for s in DETAIL_SCOPES)]
    chosen = dataset or (datasets[0]["id"] if datasets else None)
    if days not in USAGE_DAYS:
        return problem_page(portal, request, 400, "days must be one of "
                            + ", ".join(str(d) for d in USAGE_DAYS))
    if chosen is not None and not any(may(key, s, chosen) for s in DETAIL_SCOPES):
        return problem_page(portal, request, 403, f"key {key.name!r} may not read the usage "
                            f"of {chosen!r}")
    drawn = None
    if chosen is not None:
        try:
            data.dataset(chosen)
        except NotFound as exc:
            return problem_page(portal, request, 404, str(exc))
        last = datetime.now(UTC).date()
        first = last - timedelta(days=days - 1)
        store: UsageStore = request.app.state.usage_store
        drawn = chart(daily_series(store.daily(chosen, first), first, last))
    return portal.render(request, "staff_usage.html", {
        **staff_context(key), "datasets": datasets, "chosen": chosen,
        "days": days, "day_choices": USAGE_DAYS, "chart": drawn,
        "title": next((d["title"] for d in datasets if d["id"] == chosen), chosen),
    })

"""Usage statistics: ``count_use`` for the routes that serve data, and ``GET /v1/stats``.

Routes call :func:`count_use` once they have an answer; it adds to the process's in-memory
counter (``hub.usage.counter``), never to the database. Totals are public (people can see a
dataset is used); per-day rows are for staff.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response

from hub.api.auth import PROBLEM_RESPONSES, PrincipalDep, problem_response
from hub.api.bounds import Day
from hub.api.deps import BaseUrlDep, DataDep
from hub.api.routing import asked_method
from hub.data.usage import UsageStore
from hub.people.principal import Forbidden, Key
from hub.people.scopes import Scope
from hub.serialise.usage import daily_csv, daily_json, totals_csv, totals_json
from hub.usage.counter import UsageCounter

router = APIRouter(prefix="/v1", tags=["statistics"])


def count_use(request: Request, kind: str, dataset_id: str, version: int, records: int = 0,
              fmt: str = "") -> None:
    """Count one answered request (a no-op when ``HUB_USAGE_STATS`` is off). A HEAD is
    answered like a GET but serves no data, so, like a 304, it is not counted."""
    counter: UsageCounter | None = request.app.state.usage_counter
    if counter is not None and asked_method(request) != "HEAD":
        client = request.client.host if request.client else None
        counter.add(client, dataset_id, version, kind, records, fmt)


# Who may read per-day rows: the people who publish or moderate the dataset (admin implies
# both). Totals are public.
DETAIL_SCOPES = (Scope.PUBLISH, Scope.MODERATE)


async def _staff_if_detail(request: Request, principal: PrincipalDep) -> Key | None:
    """Per-day rows need a publish or moderate key for the dataset (401/403 otherwise)."""
    if request.query_params.get("detail") != "day":
        return None
    dataset = request.query_params.get("dataset")
    refusal: Forbidden | None = None
    for scope in DETAIL_SCOPES:
        try:
            return principal.require(scope, dataset)
        except Forbidden as exc:
            refusal = refusal or exc
    assert refusal is not None
    raise refusal


STATS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/csv": {}}},
    429: PROBLEM_RESPONSES[429],
    401: problem_response("`detail=day` without a usable key"),
    403: problem_response("`detail=day` with a key that may not publish or moderate the "
                          "dataset"),
    404: problem_response("No such dataset"),
}


@router.get("/stats", summary="How much a dataset is used", responses=STATS_RESPONSES)
def stats(
    request: Request,
    data: DataDep,
    base: BaseUrlDep,
    dataset: Annotated[str, Query(description="Dataset id.", examples=["kobe-aed"])],
    _staff: Annotated[Key | None, Depends(_staff_if_detail)],
    detail: Annotated[Literal["day"] | None, Query(
        description="`day`: one row per day, version, kind and format, with that day's "
        "distinct clients (staff keys only).")] = None,
    since: Annotated[Day | None, Query(description="With detail=day: days from this "
                                        "date (YYYY-MM-DD).")] = None,
    f: Annotated[Literal["json", "csv"], Query(description="json or csv.")] = "json",
) -> Response:
    data.dataset(dataset)  # 404 for an unknown dataset
    store: UsageStore = request.app.state.usage_store
    url = f"{base}/v1/stats?"
    if detail == "day":
        rows = store.daily(dataset, since)
        if f == "csv":
            return _csv(daily_csv(rows), f"{dataset}-usage-daily.csv")
        links = [{"rel": "self", "href": url + urlencode(request.query_params),
                  "type": "application/json"},
                 {"rel": "alternate", "href": url + urlencode(
                     {**request.query_params, "f": "csv"}), "type": "text/csv"}]
        return _json(daily_json(dataset, rows, links))
    rows, clients = store.totals(dataset)
    links = [{"rel": "self", "href": url + urlencode({"dataset": dataset}),
              "type": "application/json"},
             {"rel": "alternate", "href": url + urlencode({"dataset": dataset, "f": "csv"}),
              "type": "text/csv"},
             {"rel": "describedby", "href": url + urlencode({"dataset": dataset,
                                                             "detail": "day"}),
              "type": "application/json", "title": "per day (staff keys)"}]
    totals = totals_json(dataset, rows, clients, links)
    if f == "csv":
        return _csv(totals_csv(totals), f"{dataset}-usage.csv")
    return _json(totals)


def _json(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json",
                    headers={"Cache-Control": "no-cache"})


def _csv(body: bytes, filename: str) -> Response:
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-cache"})

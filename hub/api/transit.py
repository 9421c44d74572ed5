"""Transit questions a startup asks, over GTFS feeds and ridership tables.

* ``/v1/datasets/{feed}/routes/{route_id}/stops``: the stops a route serves (the feed's
  stops layer restricted to the route), with every records parameter.
* ``/v1/datasets/{ridership}/ridership/stops``: ridership summed per stop over a period,
  with the stop's name, wheelchair access and geometry from the feed the ridership
  references (its dataset.toml ``[references] stops``), sortable: e.g. the busiest stops
  without wheelchair boarding.

Records of any dataset near the stops of a route are the ``near_route`` / ``near_stop``
parameters of the ordinary records endpoints (see :mod:`hub.api.references`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from hub.api.caching import conditional, representation, version_tags
from hub.api.deps import BaseUrlDep, DataDep, SettingsDep, page_limits
from hub.api.v1 import (
    DatasetId,
    VersionAddress,
    VersionRef,
    choose_format,
    records_response,
    version_number,
)
from hub.data import NotFound
from hub.data.transit import ridership_per_stop
from hub.query.model import QueryError
from hub.query.params import V1
from hub.query.transit import RIDERSHIP_SORTABLE, RidershipQuery, route_stop_ids
from hub.serialise.records import FORMATS, PageContext

router = APIRouter(prefix="/v1", tags=["transit"])
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
RouteId = Annotated[str, Path(description="A route_id of the feed (text, as in routes.txt).",
                              examples=["100310"])]


def _route_stops(request: Request, data: DataDep, base: str, feed: str, number: int | None,
                 route_id: str) -> Response:
    stop_times = data.layer(feed, number, "stop_times")
    served = route_stop_ids(stop_times.table(), route_id)
    return records_response(request, data, base, VersionAddress(feed, number, "stops"),
                            member_of=("stop_id", served))


@router.get("/datasets/{dataset_id}/routes/{route_id}/stops",
            summary="Stops served by a route (latest feed version)")
def latest_route_stops(dataset_id: DatasetId, route_id: RouteId, request: Request,
                       data: DataDep, base: BaseUrlDep) -> Response:
    return _route_stops(request, data, base, dataset_id, None, route_id)


@router.get("/datasets/{dataset_id}/versions/{version}/routes/{route_id}/stops",
            summary="Stops served by a route (pinned feed version)")
def pinned_route_stops(dataset_id: DatasetId, version: VersionRef, route_id: RouteId,
                       request: Request, data: DataDep, base: BaseUrlDep) -> Response:
    return _route_stops(request, data, base, dataset_id, version_number(version), route_id)


def _parse_sort(raw: str | None) -> tuple[tuple[str, bool], ...]:
    if not raw:
        return (("boardings", True),)
    keys = []
    for part in raw.split(","):
        name = part.strip().lstrip("-+")
        if name not in RIDERSHIP_SORTABLE:
            raise QueryError(f"cannot sort by '{name}'; sortable: {', '.join(RIDERSHIP_SORTABLE)}",
                             "sort")
        keys.append((name, part.strip().startswith("-")))
    return tuple(keys)


def _month(raw: str | None, param: str) -> str | None:
    if raw is None:
        return None
    if not MONTH.match(raw):
        raise QueryError(f"parameter '{param}' must be a month YYYY-MM, not {raw!r}", param)
    return raw


def _ridership(request: Request, data: DataDep, settings: SettingsDep, base: str,
               dataset_id: str, number: int | None, month_from: str | None,
               month_to: str | None, wheelchair: str | None, route: str | None,
               sort: str | None, limit: int) -> Response:
    ridership = data.layer(dataset_id, number, None)
    definition = data.dataset(dataset_id).get("definition") or {}
    feed_id = (definition.get("references") or {}).get("stops")
    if not feed_id:
        raise NotFound(f"dataset '{dataset_id}' has no ridership: it does not reference a "
                       "transit feed's stops ([references] stops in its dataset.toml)")
    feed_version = request.query_params.get("feed_version")
    feed_number = version_number(feed_version) if feed_version else None
    stops = data.layer(feed_id, feed_number, "stops")
    try:
        stop_times = data.layer(feed_id, feed_number, "stop_times")
    except LookupError:
        stop_times = None
    output = choose_format(request)
    if wheelchair not in (None, "yes", "no", "unknown"):
        raise QueryError("parameter 'wheelchair' must be yes, no or unknown", "wheelchair")
    limit = page_limits(request, V1).checked(limit)
    query = RidershipQuery(
        month_from=_month(month_from, "from"), month_to=_month(month_to, "to"),
        wheelchair=wheelchair, route_id=route, sort=_parse_sort(sort),  # type: ignore[arg-type]
        limit=limit,
    )
    tags = (*version_tags(dataset_id, ridership.version, pinned=number is not None),
            *version_tags(feed_id, stops.version, pinned=feed_number is not None))
    validator = representation(ridership.content_sha256 + stops.content_sha256, request, output,
                               pinned=number is not None and feed_number is not None, tags=tags)

    def per_stop() -> Response:
        rows = ridership_per_stop(data.read_engine, ridership, stops, stop_times, query, output)
        self_url = (f"{base}{request.url.path}"
                    + (f"?{request.url.query}" if request.url.query else ""))
        context = PageContext(
            dataset_id=dataset_id, version=ridership.version, number_matched=None,
            links=[{"rel": "self", "href": self_url, "type": FORMATS[output].media_type},
                   {"rel": "stops", "type": "application/json",
                    "href": f"{base}/v1/datasets/{feed_id}/versions/{stops.version}/layers/"
                            "stops/records"}],
            csv_columns=("stop_id", "stop_name", "stop_name_en", "wheelchair", "months",
                         "boardings", "alightings", "wheelchair_boardings", "geometry"),
        )
        response = Response(FORMATS[output].serialise(rows, context),
                            media_type=FORMATS[output].media_type)
        response.headers["X-Hub-Version"] = str(ridership.version)
        response.headers["X-Hub-Feed-Version"] = f"{feed_id}@{stops.version}"
        return response

    return conditional(request, validator, per_stop)


FromParam = Annotated[str | None, Query(alias="from", description="First month, YYYY-MM.",
                                        examples=["2020-04"])]
ToParam = Annotated[str | None, Query(alias="to", description="Last month, YYYY-MM.",
                                      examples=["2020-06"])]
WheelchairParam = Annotated[str | None, Query(
    description="Keep stops whose wheelchair access is yes, no or unknown.", examples=["no"])]
RouteParam = Annotated[str | None, Query(description="Keep stops served by this route_id.")]
SortParam = Annotated[str | None, Query(
    description=f"Comma list of {', '.join(RIDERSHIP_SORTABLE)}; '-' for descending. "
                "Default -boardings.", examples=["-boardings"])]
LimitParam = Annotated[int, Query(description="Stops to return (capped by HUB_MAX_LIMIT).")]
FeedVersionParam = Annotated[str | None, Query(
    description="Version of the referenced feed whose stops to use (default: its latest).")]
RIDERSHIP_DOC = ("Ridership summed per stop over the period, joined to the stops of the "
                 "transit feed the dataset references (name, wheelchair access, geometry). "
                 "JSON, GeoJSON or CSV (`f=` or Accept).")


@router.get("/datasets/{dataset_id}/ridership/stops", summary="Ridership per stop (latest)",
            description=RIDERSHIP_DOC)
def latest_ridership(dataset_id: DatasetId, request: Request, data: DataDep,
                     settings: SettingsDep, base: BaseUrlDep, month_from: FromParam = None,
                     month_to: ToParam = None, wheelchair: WheelchairParam = None,
                     route: RouteParam = None, sort: SortParam = None, limit: LimitParam = 100,
                     feed_version: FeedVersionParam = None) -> Any:
    return _ridership(request, data, settings, base, dataset_id, None, month_from, month_to,
                      wheelchair, route, sort, limit)


@router.get("/datasets/{dataset_id}/versions/{version}/ridership/stops",
            summary="Ridership per stop (pinned)", description=RIDERSHIP_DOC)
def pinned_ridership(dataset_id: DatasetId, version: VersionRef, request: Request,
                     data: DataDep, settings: SettingsDep, base: BaseUrlDep,
                     month_from: FromParam = None, month_to: ToParam = None,
                     wheelchair: WheelchairParam = None, route: RouteParam = None,
                     sort: SortParam = None, limit: LimitParam = 100,
                     feed_version: FeedVersionParam = None) -> Any:
    return _ridership(request, data, settings, base, dataset_id, version_number(version),
                      month_from, month_to, wheelchair, route, sort, limit)

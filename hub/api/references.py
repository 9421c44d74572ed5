"""Resolve ``near_route`` / ``near_stop`` record parameters into a reference set.

``near_route=<feed>[@<version>]:<route_id>`` and ``near_stop=<feed>[@<version>]:<stop_id>``
name stops of another dataset (a GTFS feed): records must lie within ``radius`` metres of
any of them. Resolving needs the catalogue (which table holds the feed's stops), so it
happens here, before the pure parameter parsing; the result is a :class:`NearSet` inside
the one :class:`FeatureQuery`.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import QueryParams

from hub.data import Data, NotFound
from hub.data.transit import count_references
from hub.query.model import NearSet, QueryError
from hub.query.params import parse_radius
from hub.query.transit import route_stops_reference, stop_reference

PARAMETERS = ("near_route", "near_stop")


@dataclass(frozen=True)
class ResolvedReference:
    near_set: NearSet
    content_sha256: str  # of the feed version the stops come from (part of the ETag)
    pinned: bool  # the feed version was named, so the answer can never change


def _split(raw: str, param: str) -> tuple[str, int | None, str]:
    feed_ref, colon, key = raw.partition(":")
    if not colon or not feed_ref or not key:
        raise QueryError(
            f"parameter '{param}' must be <dataset>[@<version>]:<id>, e.g. "
            f"bus-routes-muroran:100310 or bus-routes-muroran@1:100310; got {raw!r}", param)
    feed_id, at, version_text = feed_ref.partition("@")
    version = None
    if at:
        digits = version_text.removeprefix("v")
        if not digits.isdigit() or int(digits) < 1:
            raise QueryError(f"version {version_text!r} in '{param}' must be a positive integer",
                             param)
        version = int(digits)
    return feed_id, version, key


def resolve_near_reference(params: QueryParams, data: Data, max_radius_m: float
                           ) -> ResolvedReference | None:
    given = [p for p in PARAMETERS if p in params]
    if not given:
        return None
    if len(given) > 1 or len(params.getlist(given[0])) > 1:
        raise QueryError("give one of 'near_route' or 'near_stop', once", given[-1])
    param = given[0]
    feed_id, version, key = _split(params[param], param)
    if "radius" not in params:
        raise QueryError(f"parameter '{param}' needs 'radius' (metres)", "radius")
    radius = parse_radius(params["radius"], max_radius_m)
    try:
        stops = data.layer(feed_id, version, "stops")
        if param == "near_route":
            stop_times = data.layer(feed_id, version, "stop_times")
            reference = route_stops_reference(stops.table(), stop_times.table(), key)
        else:
            reference = stop_reference(stops.table(), key)
    except NotFound as exc:
        raise QueryError(f"parameter '{param}': {exc}", param) from None
    if count_references(data.engine, reference) == 0:
        what = "route" if param == "near_route" else "stop"
        raise QueryError(
            f"parameter '{param}': {what} '{key}' has no located stops in dataset '{feed_id}' "
            f"version {stops.version}", param)
    return ResolvedReference(
        NearSet(reference, radius, "nearest_stop_id", "nearest_stop_name"),
        stops.content_sha256,
        pinned=version is not None,
    )

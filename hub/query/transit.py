"""Statements that join a transit feed's layers (GTFS: stops, stop_times) with other data.

The feed's layers are ordinary version tables (see docs/transit.md): ``stops`` (points,
``stop_id``, ``stop_name``, ``parent_station``, ``location_type``, ``wheelchair``) and
``stop_times`` (``trip_id``, ``stop_sequence``, ``stop_id``, ``route_id``). These builders
return statements only; :mod:`hub.data.transit` executes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, Table, Text, and_, func, literal, or_, select

from hub.query.model import QueryError
from hub.query.records import GEOJSON_DIGITS

WheelchairFilter = Literal["yes", "no", "unknown"]


def route_stop_ids(stop_times: Table, route_id: str) -> Select[Any]:
    """Distinct ``stop_id`` where any trip of the route stops."""
    return select(stop_times.c.stop_id).where(stop_times.c.route_id == route_id).distinct()


def serves_route(stops: Table, stop_times: Table, route_id: str) -> ColumnElement[bool]:
    """Whether a ``stops`` row belongs to the route: a stop (platform, pole) its trips stop
    at, or the station (``location_type`` 1) such a stop names as its ``parent_station``.
    A rider walks to a station, not to one platform, so "near the stations of a line" and
    "ridership of a route" both count the station too; a feed without stations (most bus
    feeds) has no ``parent_station`` values and this is the served stops alone."""
    served = route_stop_ids(stop_times, route_id)
    stations = select(stops.c.parent_station).where(
        stops.c.stop_id.in_(served), stops.c.parent_station.is_not(None))
    return or_(stops.c.stop_id.in_(served),
               and_(stops.c.location_type == 1, stops.c.stop_id.in_(stations)))


def route_stops_reference(stops: Table, stop_times: Table, route_id: str) -> Select[Any]:
    """(ref_id, ref_name, geom) of the route's stops and their stations (see
    :func:`serves_route`) that have a geometry: ``near_route`` measures from the nearest."""
    return select(
        stops.c.stop_id.label("ref_id"), stops.c.stop_name.label("ref_name"), stops.c.geom
    ).where(serves_route(stops, stop_times, route_id), stops.c.geom.is_not(None))


def stop_reference(stops: Table, stop_id: str) -> Select[Any]:
    """(ref_id, ref_name, geom) of one stop and, when it is a station, its poles."""
    return select(
        stops.c.stop_id.label("ref_id"), stops.c.stop_name.label("ref_name"), stops.c.geom
    ).where(or_(stops.c.stop_id == stop_id, stops.c.parent_station == stop_id),
            stops.c.geom.is_not(None))


def reference_count(reference: Select[Any]) -> Select[Any]:
    """How many geometries a reference set has (an empty set is the caller's 400/404)."""
    return select(func.count()).select_from(reference.subquery())


# -- ridership per stop --------------------------------------------------------------------------

RIDERSHIP_SORTABLE = ("boardings", "alightings", "wheelchair_boardings", "months", "stop_id",
                      "stop_name")


@dataclass(frozen=True)
class RidershipQuery:
    """Aggregate ridership per stop over a period (months ``YYYY-MM``, inclusive)."""

    month_from: str | None = None
    month_to: str | None = None
    wheelchair: WheelchairFilter | None = None
    route_id: str | None = None
    sort: tuple[tuple[str, bool], ...] = (("boardings", True),)
    limit: int = 100


def _month_expression(ridership: Table) -> ColumnElement[Any]:
    if "month" in ridership.c:
        return ridership.c.month
    if "service_date" in ridership.c:
        return func.to_char(ridership.c.service_date, "YYYY-MM")
    raise QueryError("this dataset has neither 'month' nor 'service_date': it is not a "
                     "per-stop ridership table", None)


def _wheelchair_column(ridership: Table) -> ColumnElement[Any] | None:
    for name in ("wheelchair_boardings", "ramp_boardings"):
        if name in ridership.c:
            return ridership.c[name]
    return None


def ridership_per_stop_statement(
    ridership: Table, stops: Table, stop_times: Table | None, query: RidershipQuery,
    *, output: Literal["json", "geojson", "csv"],
) -> Select[Any]:
    """One row per stop: summed boardings, alightings, wheelchair boardings over the period,
    with the stop's name, accessibility and geometry from the referenced feed version."""
    for needed in ("stop_id", "boardings", "alightings"):
        if needed not in ridership.c:
            raise QueryError(f"this dataset has no '{needed}' field: it is not a per-stop "
                             "ridership table", None)
    month = _month_expression(ridership)
    wheelchair_boardings = _wheelchair_column(ridership)
    conditions: list[ColumnElement[bool]] = []
    if query.month_from:
        conditions.append(month >= query.month_from)
    if query.month_to:
        conditions.append(month <= query.month_to)
    if query.route_id is not None:
        if stop_times is None:
            raise QueryError("the referenced feed has no stop_times layer", "route")
        conditions.append(serves_route(stops, stop_times, query.route_id))
    if query.wheelchair == "unknown":
        conditions.append(stops.c.wheelchair.is_(None))
    elif query.wheelchair is not None:
        conditions.append(stops.c.wheelchair == query.wheelchair)
    aggregated = (
        select(
            stops.c.stop_id,
            stops.c.stop_name,
            stops.c.stop_name_en,
            stops.c.wheelchair,
            func.count(func.distinct(month)).label("months"),
            func.sum(ridership.c.boardings).label("boardings"),
            func.sum(ridership.c.alightings).label("alightings"),
            (func.sum(wheelchair_boardings) if wheelchair_boardings is not None
             else literal(None)).label("wheelchair_boardings"),
            stops.c.geom,
        )
        .select_from(ridership.join(stops, stops.c.stop_id == ridership.c.stop_id))
        .where(and_(*conditions) if conditions else literal(True))
        .group_by(stops.c.stop_id, stops.c.stop_name, stops.c.stop_name_en, stops.c.wheelchair,
                  stops.c.geom)
        .subquery("per_stop")
    )
    order = []
    for name, descending in query.sort:
        column = aggregated.c[name]
        order.append((column.desc() if descending else column.asc()).nulls_last())
    order.append(aggregated.c.stop_id.asc())
    properties = [aggregated.c[c] for c in ("stop_id", "stop_name", "stop_name_en", "wheelchair",
                                             "months", "boardings", "alightings",
                                             "wheelchair_boardings")]
    if output == "csv":
        columns: list[Any] = [*properties, func.ST_AsText(aggregated.c.geom).label("geometry")]
    else:
        pairs: list[Any] = []
        for column in properties:
            pairs += [literal(column.key, Text()), column]
        props = func.json_build_object(*pairs)
        geometry = func.ST_AsGeoJSON(aggregated.c.geom, GEOJSON_DIGITS).cast(Text())
        if output == "json":
            payload = func.concat(
                func.left(props.cast(Text()), -1), literal(', "geometry" : ', Text()),
                func.coalesce(geometry, "null"), literal("}", Text()))
        else:
            payload = func.concat(
                literal('{"type": "Feature", "id": ', Text()),
                func.to_json(aggregated.c.stop_id).cast(Text()),
                literal(', "geometry": ', Text()), func.coalesce(geometry, "null"),
                literal(', "properties": ', Text()), props.cast(Text()), literal("}", Text()))
        columns = [payload.label("payload")]
    return select(*columns).order_by(*order).limit(query.limit)

"""The derived ``stop_summary`` layer: per stop and per station, the routes that call there
and how many departures it has per service and on a typical weekday, Saturday and Sunday.

A departure is a stop_times row where riders can board (``pickup_type`` is not 1) and that
is not the last stop of its trip. A station (location_type 1) counts the stop_times of all
its poles (stops whose parent_station it is).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etl.gtfs.calendar import TypicalDay
from etl.gtfs.times import format_seconds

SEPARATOR = "; "


def departures_mask(st: dict[str, pd.Series]) -> np.ndarray:
    """stop_times rows that are departures (see the module docstring)."""
    frame = pd.DataFrame({
        "trip": st["trip_id"].to_numpy(),
        "seq": st["stop_sequence"].to_numpy(dtype="float64", na_value=np.nan),
    })
    last_seq = frame.groupby("trip")["seq"].transform("max").to_numpy()
    is_last = frame["seq"].to_numpy() == last_seq
    no_pickup = (st["pickup_type"].fillna(0) == 1).to_numpy(dtype=bool)
    return ~is_last & ~no_pickup


def stop_summary(
    stops: dict[str, pd.Series], stop_wkt: pd.Series, st: dict[str, pd.Series],
    route_name: pd.Series, typical: dict[str, TypicalDay],
) -> tuple[dict[str, pd.Series], pd.Series]:
    """Columns and point geometry of the stop_summary layer.

    ``stops``: the stops layer's columns; ``st``: the stop_times layer's columns;
    ``route_name``: display name indexed by route_id.
    """
    kind = stops["location_type"].to_numpy(dtype="float64", na_value=0)
    keep = np.isin(kind, (0, 1))
    stop_id = stops["stop_id"][keep].reset_index(drop=True)
    is_station = pd.Series(kind[keep] == 1)
    calls = pd.DataFrame({
        "stop": st["stop_id"].to_numpy(),
        "trip": st["trip_id"].to_numpy(),
        "route": st["route_id"].to_numpy(),
        "service": st["service_id"].to_numpy(),
        "secs": st["departure_secs"].fillna(st["arrival_secs"]).to_numpy(
            dtype="float64", na_value=np.nan),
        "departs": departures_mask(st),
    })
    # Poles count for their station too.
    parent_of = pd.Series(stops["parent_station"].to_numpy(), index=stops["stop_id"].to_numpy())
    parent_of = parent_of[~parent_of.index.duplicated()]
    stations = set(stops["stop_id"][kind == 1])
    parents = calls["stop"].map(parent_of)
    at_station = parents.isin(stations).to_numpy()
    calls = pd.concat([calls, calls[at_station].assign(stop=parents[at_station].to_numpy())],
                      ignore_index=True)

    names = route_name[~route_name.index.duplicated()]
    served = calls[["stop", "route"]].drop_duplicates().sort_values(["stop", "route"])
    served["name"] = served["route"].map(names).fillna(served["route"]).astype(object)
    by_route = served.groupby("stop", sort=False)
    route_ids = by_route["route"].agg(SEPARATOR.join)
    route_names_here = by_route["name"].agg(SEPARATOR.join)
    route_count = by_route.size()
    trip_count = calls.groupby("stop")["trip"].nunique()
    departing = calls[calls["departs"]]
    first = departing.groupby("stop")["secs"].min()
    last = departing.groupby("stop")["secs"].max()
    per_service = departing.groupby(["stop", "service"]).size()
    pairs = per_service.reset_index(name="n")
    pairs["text"] = pairs["service"].astype(str) + "=" + pairs["n"].astype(str)
    by_service = pairs.groupby("stop")["text"].agg(SEPARATOR.join)

    columns: dict[str, pd.Series] = {
        "stop_id": stop_id,
        "stop_name": stops["stop_name"][keep].reset_index(drop=True),
        "stop_name_en": stops["stop_name_en"][keep].reset_index(drop=True),
        "location_type": stops["location_type"][keep].reset_index(drop=True),
        "parent_station": stops["parent_station"][keep].reset_index(drop=True)
        .where(~is_station, None),
        "wheelchair": stops["wheelchair"][keep].reset_index(drop=True),
        "route_count": stop_id.map(route_count).fillna(0),
        "route_ids": stop_id.map(route_ids),
        "route_names": stop_id.map(route_names_here),
        "trip_count": stop_id.map(trip_count).fillna(0),
        "departures_by_service": stop_id.map(by_service),
    }
    for name, day in typical.items():
        on_day = departing[departing["service"].isin(day.services)]
        counts = on_day.groupby("stop").size()
        columns[f"departures_{name}"] = stop_id.map(counts).fillna(0)
        columns[f"typical_{name}"] = pd.Series(
            [day.date.isoformat() if day.date else None] * len(stop_id), dtype=object)
    first_secs = stop_id.map(first).astype("Float64").round().astype("Int64")
    last_secs = stop_id.map(last).astype("Float64").round().astype("Int64")
    columns.update({
        "first_departure": format_seconds(first_secs),
        "first_departure_secs": first_secs,
        "last_departure": format_seconds(last_secs),
        "last_departure_secs": last_secs,
    })
    return columns, stop_wkt[keep].reset_index(drop=True)

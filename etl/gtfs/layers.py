"""The layers of a bus-routes version, built from a checked feed: column frames typed by the
layer's Table Schema (``schemas/gtfs-<layer>.json``), geometry as EPSG:4326 WKT."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from etl import normalise as norm
from etl.gtfs import shapes as lines
from etl.gtfs.spec import WEEKDAYS
from etl.gtfs.tables import FeedTable
from etl.gtfs.times import format_seconds
from etl.gtfs.translations import ENGLISH, KANA, Translations
from etl.load import LayerData
from hub.catalog import TableSchema

# layer name -> schema file in the schemas folder (the main layer's is dataset.toml's schema)
LAYER_SCHEMAS = {
    "routes": "gtfs-routes.json",
    "stops": "gtfs-stops.json",
    "trips": "gtfs-trips.json",
    "stop_times": "gtfs-stop-times.json",
    "calendar": "gtfs-calendar.json",
    "calendar_dates": "gtfs-calendar-dates.json",
    "agency": "gtfs-agency.json",
    "stop_summary": "gtfs-stop-summary.json",
}
MAIN_LAYER = "routes"
# Fields searched by `q` per layer (the rest of a layer's text is ids and codes).
SEARCH_FIELDS = {
    "routes": ("route_id", "route_short_name", "route_long_name", "route_name_en",
               "route_desc", "jp_parent_route_id", "origin_stop", "via_stop",
               "destination_stop"),
    "stops": ("stop_id", "stop_code", "stop_name", "stop_name_en", "stop_name_kana",
              "stop_desc", "platform_code"),
    "trips": ("trip_id", "trip_headsign", "trip_headsign_en", "trip_short_name",
              "jp_trip_desc", "office_name"),
    "stop_times": ("stop_headsign",),
    "calendar": ("service_id",),
    "calendar_dates": ("service_id",),
    "agency": ("agency_name", "agency_name_en", "agency_official_name"),
    "stop_summary": ("stop_id", "stop_name", "stop_name_en", "route_names"),
}
WHEELCHAIR = {1: "yes", 2: "no"}
_DTYPES = {"string": object, "integer": "Int64", "number": "Float64", "boolean": "boolean",
           "date": object, "datetime": object, "time": object, "year": "Int64"}


def layer_schemas(schemas_dir: Path) -> dict[str, TableSchema]:
    return {name: TableSchema.load(schemas_dir / file) for name, file in LAYER_SCHEMAS.items()}


def layer_data(name: str, schema: TableSchema, columns: dict[str, object], n: int,
               geometry: pd.Series | None = None) -> LayerData:
    """A LayerData with exactly the schema's fields, in order, typed; absent fields null."""
    data = {}
    for f in schema.fields:
        values = columns.get(f.name)
        if values is None:
            data[f.name] = pd.Series([None] * n, dtype=_DTYPES[f.type])
            continue
        series = values if isinstance(values, pd.Series) else pd.Series(values)
        series = series.reset_index(drop=True)
        if f.type in ("string", "date"):
            cells = series.to_numpy(dtype=object, copy=True)
            blank = pd.isna(cells)
            blank[~blank] = cells[~blank] == ""
            cells[blank] = None
            data[f.name] = pd.Series(cells, dtype=object)
        else:
            data[f.name] = series.astype(_DTYPES[f.type])
    frame = pd.DataFrame(data, columns=list(schema.field_names))
    if geometry is not None:
        geometry = geometry.reset_index(drop=True).astype(object)
    search = tuple(f for f in SEARCH_FIELDS.get(name, ()) if f in data)
    return LayerData(schema=schema, frame=frame, geometry_wkt=geometry, search_fields=search)


def empty_layers(schemas: dict[str, TableSchema]) -> dict[str, LayerData]:
    """Every layer with no rows (what a refused feed carries: the report is the result)."""
    geometric = {"routes", "stops", "stop_summary"}
    return {
        name: layer_data(name, schema, {}, 0,
                         pd.Series([], dtype=object) if name in geometric else None)
        for name, schema in schemas.items()
    }


# --- the file-backed layers -----------------------------------------------------------------------


@dataclass(frozen=True)
class Stops:
    """The stops layer's columns, kept for the layers derived from it."""

    columns: dict[str, pd.Series]
    wkt: pd.Series


def stops_layer(stops: FeedTable, tr: Translations) -> Stops:
    stop_id = stops.cells("stop_id")
    name = stops.cells("stop_name")
    kind = stops.value("location_type").fillna(0).astype("Int64")
    parent = stops.value("parent_station")
    own = stops.value("wheelchair_boarding")
    by_id = pd.Series(own.to_numpy(), index=stop_id.to_numpy())
    by_id = by_id[~by_id.index.duplicated()]
    inherited = parent.map(by_id)
    effective = own.where(own.fillna(0) != 0, inherited.where((kind == 0).to_numpy()))
    wheelchair = effective.map(lambda v: WHEELCHAIR.get(int(v)) if pd.notna(v) else None)
    lat, lon = stops.value("stop_lat"), stops.value("stop_lon")
    columns = {
        "stop_id": stop_id,
        "stop_code": stops.value("stop_code"),
        "stop_name": stops.value("stop_name"),
        "stop_name_en": tr.apply("stops", "stop_name", ENGLISH, stop_id, name),
        "stop_name_kana": tr.apply("stops", "stop_name", KANA, stop_id, name),
        "tts_stop_name": stops.value("tts_stop_name"),
        "stop_desc": stops.value("stop_desc"),
        "stop_lat": lat,
        "stop_lon": lon,
        "zone_id": stops.value("zone_id"),
        "stop_url": stops.value("stop_url"),
        "location_type": kind,
        "parent_station": parent,
        "stop_timezone": stops.value("stop_timezone"),
        "wheelchair_boarding": own,
        "wheelchair": wheelchair.astype(object),
        "level_id": stops.value("level_id"),
        "platform_code": stops.value("platform_code"),
    }
    return Stops(columns, norm.point_wkt(lon, lat))


def stop_times_frame(stop_times: FeedTable, trips: FeedTable) -> dict[str, pd.Series]:
    """The stop_times layer's columns (with the trip's route_id and service_id)."""
    trip_id = stop_times.cells("trip_id")
    by_trip = pd.DataFrame({"route_id": trips.cells("route_id").to_numpy(),
                            "service_id": trips.cells("service_id").to_numpy()},
                           index=trips.cells("trip_id").to_numpy())
    arrival = stop_times.times.get("arrival_time")
    departure = stop_times.times.get("departure_time")
    n = len(stop_times)
    none = pd.Series([None] * n, dtype=object)
    return {
        "trip_id": trip_id,
        "stop_sequence": stop_times.value("stop_sequence"),
        "stop_id": stop_times.cells("stop_id"),
        "arrival_time": arrival.text if arrival else none,
        "arrival_secs": arrival.seconds if arrival else pd.Series([pd.NA] * n, dtype="Int64"),
        "departure_time": departure.text if departure else none,
        "departure_secs": (departure.seconds if departure
                           else pd.Series([pd.NA] * n, dtype="Int64")),
        "stop_headsign": stop_times.value("stop_headsign"),
        "pickup_type": stop_times.value("pickup_type"),
        "drop_off_type": stop_times.value("drop_off_type"),
        "shape_dist_traveled": stop_times.value("shape_dist_traveled"),
        "timepoint": stop_times.value("timepoint"),
        "route_id": trip_id.map(by_trip["route_id"]),
        "service_id": trip_id.map(by_trip["service_id"]),
    }


def trip_ends(st: dict[str, pd.Series]) -> pd.DataFrame:
    """Per trip_id: first departure, last arrival (seconds) and number of stop calls."""
    frame = pd.DataFrame({
        "trip_id": st["trip_id"].to_numpy(),
        "seq": st["stop_sequence"].to_numpy(dtype="float64", na_value=np.nan),
        "dep": st["departure_secs"].fillna(st["arrival_secs"]).to_numpy(
            dtype="float64", na_value=np.nan),
        "arr": st["arrival_secs"].fillna(st["departure_secs"]).to_numpy(
            dtype="float64", na_value=np.nan),
    }).sort_values(["trip_id", "seq"], kind="stable")
    grouped = frame.groupby("trip_id", sort=False)
    return pd.DataFrame({
        "first": grouped["dep"].first(),  # first non-null, in stop order
        "last": grouped["arr"].last(),
        "calls": grouped.size(),
    })


def trips_layer(trips: FeedTable, tr: Translations, ends: pd.DataFrame,
                offices: FeedTable | None) -> dict[str, pd.Series]:
    trip_id = trips.cells("trip_id")
    headsign = trips.cells("trip_headsign")
    office_name = pd.Series([None] * len(trips), dtype=object)
    if offices is not None and offices.has("office_name"):
        names = pd.Series(offices.value("office_name").to_numpy(),
                          index=offices.cells("office_id").to_numpy())
        names = names[~names.index.duplicated()]
        office_name = trips.cells("jp_office_id").map(names)
    first = trip_id.map(ends["first"]).astype("Float64").round().astype("Int64")
    last = trip_id.map(ends["last"]).astype("Float64").round().astype("Int64")
    return {
        "trip_id": trip_id,
        "route_id": trips.cells("route_id"),
        "service_id": trips.cells("service_id"),
        "trip_headsign": trips.value("trip_headsign"),
        "trip_headsign_en": tr.apply("trips", "trip_headsign", ENGLISH, trip_id, headsign),
        "trip_short_name": trips.value("trip_short_name"),
        "direction_id": trips.value("direction_id"),
        "block_id": trips.value("block_id"),
        "shape_id": trips.value("shape_id"),
        "wheelchair_accessible": trips.value("wheelchair_accessible"),
        "bikes_allowed": trips.value("bikes_allowed"),
        "jp_trip_desc": trips.value("jp_trip_desc"),
        "jp_trip_desc_symbol": trips.value("jp_trip_desc_symbol"),
        "jp_office_id": trips.value("jp_office_id"),
        "office_name": office_name,
        "jp_pattern_id": trips.value("jp_pattern_id"),
        "first_departure": format_seconds(first),
        "first_departure_secs": first,
        "last_arrival": format_seconds(last),
        "last_arrival_secs": last,
        "stop_count": trip_id.map(ends["calls"]).fillna(0).astype("Int64"),
    }


def route_names(routes: FeedTable, tr: Translations) -> tuple[pd.Series, pd.Series]:
    """Display names (short + long) and English names (translated parts, or None)."""
    route_id = routes.cells("route_id")
    short, long_ = routes.cells("route_short_name"), routes.cells("route_long_name")
    short_en = tr.apply("routes", "route_short_name", ENGLISH, route_id, short)
    long_en = tr.apply("routes", "route_long_name", ENGLISH, route_id, long_)
    names, english = [], []
    for s, long_name, se, le in zip(short, long_, short_en, long_en, strict=True):
        names.append(" ".join(p for p in (s, long_name) if p) or None)
        if se is None and le is None:
            english.append(None)
            continue
        parts = [se or (s if s.isascii() else ""), le or ""]
        english.append(" ".join(p for p in parts if p) or None)
    return (pd.Series(names, index=route_id.index, dtype=object),
            pd.Series(english, index=route_id.index, dtype=object))


def routes_layer(
    routes: FeedTable, routes_jp: FeedTable | None, tr: Translations, trips: FeedTable,
    st: dict[str, pd.Series], shape_text: dict[str, str], stop_xy: pd.DataFrame,
) -> tuple[dict[str, pd.Series], pd.Series, int]:
    """The routes layer's columns, its geometry and how many lines came from the stops."""
    route_id = routes.cells("route_id")
    name, name_en = route_names(routes, tr)
    jp = pd.DataFrame(index=pd.Index([], dtype=object))
    if routes_jp is not None and len(routes_jp):
        jp = pd.DataFrame({c: routes_jp.value(c).to_numpy() for c in (
            "route_update_date", "origin_stop", "via_stop", "destination_stop")},
            index=routes_jp.cells("route_id").to_numpy())
        jp = jp[~jp.index.duplicated()]

    def from_jp(column: str) -> pd.Series:
        if column not in jp:
            return pd.Series([None] * len(routes), dtype=object)
        return route_id.map(jp[column])

    trip_frame = pd.DataFrame({
        "trip_id": trips.cells("trip_id").to_numpy(),
        "route_id": trips.cells("route_id").to_numpy(),
        "direction_id": trips.value("direction_id").to_numpy(dtype="float64", na_value=np.nan),
        "shape_id": trips.cells("shape_id").to_numpy(),
    })
    trip_count = trip_frame.groupby("route_id").size()
    stop_count = pd.DataFrame({"route_id": st["route_id"].to_numpy(),
                               "stop_id": st["stop_id"].to_numpy()}
                              ).groupby("route_id")["stop_id"].nunique()
    drawn = trip_frame[trip_frame["shape_id"].isin(list(shape_text))]
    shapes_used = (drawn.groupby(["route_id", "shape_id"]).size().reset_index(name="n")
                   .sort_values(["route_id", "n", "shape_id"], ascending=[True, False, True]))
    shape_lists = shapes_used.groupby("route_id", sort=False)["shape_id"].agg(list).to_dict()
    undrawn = set(route_id) - set(shape_lists)
    fallback: dict[str, list[str]] = {}
    if undrawn:
        mask = st["route_id"].isin(undrawn).to_numpy()
        fallback = lines.stop_pattern_lines(
            pd.DataFrame({"trip_id": st["trip_id"][mask].to_numpy(),
                          "stop_sequence": st["stop_sequence"][mask].to_numpy(),
                          "stop_id": st["stop_id"][mask].to_numpy()}),
            trip_frame[trip_frame["route_id"].isin(undrawn)],
            stop_xy,
        )
    wkt, source, shape_ids = [], [], []
    for rid in route_id:
        if rid in shape_lists:
            ids = shape_lists[rid]
            wkt.append(lines.line_wkt([shape_text[s] for s in ids]))
            source.append("shapes")
            shape_ids.append("; ".join(ids))
        elif rid in fallback:
            wkt.append(lines.line_wkt(fallback[rid]))
            source.append("stops")
            shape_ids.append(None)
        else:
            wkt.append(None)
            source.append(None)
            shape_ids.append(None)
    columns = {
        "route_id": route_id,
        "agency_id": routes.value("agency_id"),
        "route_short_name": routes.value("route_short_name"),
        "route_long_name": routes.value("route_long_name"),
        "route_name": name,
        "route_name_en": name_en,
        "route_desc": routes.value("route_desc"),
        "route_type": routes.value("route_type"),
        "route_url": routes.value("route_url"),
        "route_color": routes.value("route_color"),
        "route_text_color": routes.value("route_text_color"),
        "route_sort_order": routes.value("route_sort_order"),
        "jp_parent_route_id": routes.value("jp_parent_route_id"),
        "origin_stop": from_jp("origin_stop"),
        "via_stop": from_jp("via_stop"),
        "destination_stop": from_jp("destination_stop"),
        "route_update_date": from_jp("route_update_date"),
        "trip_count": route_id.map(trip_count).fillna(0).astype("Int64"),
        "stop_count": route_id.map(stop_count).fillna(0).astype("Int64"),
        "shape_ids": pd.Series(shape_ids, dtype=object),
        "geometry_source": pd.Series(source, dtype=object),
    }
    return columns, pd.Series(wkt, dtype=object), sum(1 for s in source if s == "stops")


def calendar_layer(calendar: FeedTable | None) -> dict[str, pd.Series]:
    if calendar is None:
        return {}
    columns: dict[str, pd.Series] = {"service_id": calendar.cells("service_id")}
    for day in WEEKDAYS:
        columns[day] = calendar.value(day).map({1: True, 0: False}).astype("boolean")
    columns["start_date"] = calendar.value("start_date")
    columns["end_date"] = calendar.value("end_date")
    return columns


def calendar_dates_layer(calendar_dates: FeedTable | None) -> dict[str, pd.Series]:
    if calendar_dates is None:
        return {}
    return {"service_id": calendar_dates.cells("service_id"),
            "date": calendar_dates.value("date"),
            "exception_type": calendar_dates.value("exception_type")}


def agency_layer(agency: FeedTable, agency_jp: FeedTable | None,
                 tr: Translations) -> dict[str, pd.Series]:
    agency_id = agency.cells("agency_id")
    name = agency.cells("agency_name")
    columns: dict[str, pd.Series] = {c: agency.value(c) for c in (
        "agency_id", "agency_name", "agency_url", "agency_timezone", "agency_lang",
        "agency_phone", "agency_fare_url", "agency_email")}
    columns["agency_name_en"] = tr.apply("agency", "agency_name", ENGLISH, agency_id, name)
    if agency_jp is not None and len(agency_jp):
        for column in ("agency_official_name", "agency_zip_number", "agency_address",
                       "agency_president_pos", "agency_president_name"):
            values = pd.Series(agency_jp.value(column).to_numpy(),
                               index=agency_jp.cells("agency_id").to_numpy())
            values = values[~values.index.duplicated()]
            columns[column] = agency_id.map(values)
    return columns

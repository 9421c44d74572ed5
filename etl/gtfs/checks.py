"""The rules a feed must keep for its layers to mean anything: unique keys, references
between files, coordinates, the times of a trip. Every check is a vectorised mask over a
whole file; the rows it marks become issues (file, line, column, value, rule) later.

Errors are the rules GTFS states as required (a publish is refused); quirks that real feeds
have and that the hub can read through are warnings.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from etl.gtfs.spec import ROUTE_TYPES
from etl.gtfs.tables import FeedTable


def check_feed(tables: dict[str, FeedTable]) -> None:
    """Run every check; findings are attached to the tables they point into."""
    for table in tables.values():
        _unique_key(table)
    stops = tables.get("stops.txt")
    routes = tables.get("routes.txt")
    trips = tables.get("trips.txt")
    stop_times = tables.get("stop_times.txt")
    agency = tables.get("agency.txt")
    if stops is not None:
        _check_stops(stops)
    if routes is not None:
        _check_routes(routes, agency)
    if trips is not None:
        _check_trips(trips, routes, tables)
    if stop_times is not None:
        _check_stop_times(stop_times, trips, stops)
    calendar = tables.get("calendar.txt")
    if calendar is not None:
        _check_calendar(calendar)
    for name in ("agency_jp.txt", "routes_jp.txt"):
        _check_optional_reference(tables.get(name), {"agency_jp.txt": agency,
                                                     "routes_jp.txt": routes}[name])
    frequencies = tables.get("frequencies.txt")
    if frequencies is not None and len(frequencies):
        count = frequencies.cells("trip_id").nunique()
        frequencies.file_issue(
            "frequencies", f"{count} trip(s) run at a frequency (frequencies.txt): stop_times "
            "and stop_summary show each such trip once, as its template, not every run")


def expired_calendar(service_range: tuple[dt.date, dt.date] | None, today: dt.date,
                     table: FeedTable | None) -> None:
    """Warn when no service runs on or after ``today`` (an expired timetable)."""
    if service_range is None or table is None:
        return
    first, last = service_range
    if last < today:
        table.file_issue(
            "expired-calendar",
            f"the feed's services run from {first.isoformat()} to {last.isoformat()}, which "
            f"ended before today ({today.isoformat()}): the timetable has expired",
            value=f"{first.isoformat()}..{last.isoformat()}")
    elif first > today:
        table.file_issue(
            "future-calendar",
            f"the feed's services run from {first.isoformat()} to {last.isoformat()}; none runs "
            f"yet today ({today.isoformat()})", value=f"{first.isoformat()}..{last.isoformat()}")


def _unique_key(table: FeedTable) -> None:
    key = table.spec.key
    if not key or not all(table.has(c) for c in key) or not len(table):
        return
    severity = "error" if table.name in _CORE else "warning"
    frame = pd.DataFrame({c: table.cells(c) for c in key})
    duplicated = frame.duplicated(keep="first").to_numpy()
    if key == ("agency_id",):  # one agency may leave agency_id empty
        duplicated = duplicated & (frame["agency_id"] != "").to_numpy()
    if not duplicated.any():
        return
    first_line = pd.Series(table.lines).groupby(
        [frame[c].to_numpy() for c in key]).transform("first").to_numpy()
    names = "/".join(key)

    def value(p: int) -> str:
        return " / ".join(str(v) for v in frame.iloc[p])

    table.rows("duplicate-key", key[-1], duplicated,
               lambda p: f"duplicate {names} '{value(p)}' (first on line "
               f"{first_line[p]})" + ("" if severity == "error" else "; later rows ignored"),
               severity=severity, value=value)


# Files whose duplicate keys are errors; elsewhere (shapes, routes_jp, office_jp) the first
# row wins with a warning: a duplicate shape point only changes how a line is drawn.
_CORE = frozenset({"agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt",
                   "calendar.txt", "calendar_dates.txt"})


def _missing(table: FeedTable, column: str) -> np.ndarray:
    return (table.cells(column) == "").to_numpy(dtype=bool)


def _required(table: FeedTable, column: str, where: np.ndarray | None = None,
              why: str = "") -> None:
    if not table.has(column):
        return
    mask = _missing(table, column)
    if where is not None:
        mask = mask & where
    table.rows("required", column, mask, lambda p: f"a value is required{why}")


def _references(table: FeedTable, column: str, target: FeedTable | None, target_column: str,
                *, severity: str = "error") -> np.ndarray:
    """Rows whose ``column`` value is not a ``target_column`` of ``target``."""
    if not table.has(column) or target is None or not target.has(target_column):
        return np.zeros(len(table), dtype=bool)
    values = table.cells(column)
    known = set(target.cells(target_column))
    unknown = ((values != "") & ~values.isin(known)).to_numpy(dtype=bool)
    table.rows("foreign-key", column, unknown,
               lambda p: f"{column} '{values.iloc[p]}' is not a {target_column} of "
               f"{target.name}", severity=severity)  # type: ignore[arg-type]
    return unknown


def _check_stops(stops: FeedTable) -> None:
    kind = stops.value("location_type").fillna(0).to_numpy(dtype=np.int64)
    needs_place = kind <= 2
    _required(stops, "stop_id")
    _required(stops, "stop_name", needs_place, " for a stop, station or entrance "
              "(location_type 0-2)")
    lat, lon = stops.value("stop_lat"), stops.value("stop_lon")
    lat_raw = lat.to_numpy(dtype="float64", na_value=np.nan)
    lon_raw = lon.to_numpy(dtype="float64", na_value=np.nan)
    typed_ok = ~stops.invalid.get("stop_lat", np.zeros(len(stops), bool)) & \
        ~stops.invalid.get("stop_lon", np.zeros(len(stops), bool))
    absent = (np.isnan(lat_raw) | np.isnan(lon_raw)) & typed_ok & needs_place
    stops.rows("coordinates", "stop_lat", absent,
               lambda p: "stop_lat and stop_lon are required for a stop, station or entrance "
               "(location_type 0-2)",
               value=lambda p: f"{stops.cells('stop_lat').iloc[p]},"
               f"{stops.cells('stop_lon').iloc[p]}")
    with np.errstate(invalid="ignore"):
        out_of_range = (np.abs(lat_raw) > 90) | (np.abs(lon_raw) > 180)
        null_island = (np.abs(lat_raw) < 1e-6) & (np.abs(lon_raw) < 1e-6)
    bad = (out_of_range | null_island) & typed_ok
    stops.rows("coordinates", "stop_lat", bad,
               lambda p: "not a valid position: latitude must be within ±90 and longitude "
               "within ±180 (WGS84 degrees), and 0,0 is not a place",
               value=lambda p: f"{stops.cells('stop_lat').iloc[p]},"
               f"{stops.cells('stop_lon').iloc[p]}")
    unknown_parent = _references(stops, "parent_station", stops, "stop_id")
    parent = stops.cells("parent_station")
    if stops.has("parent_station"):
        kinds = pd.Series(kind, index=stops.cells("stop_id").to_numpy())
        kinds = kinds[~kinds.index.duplicated()]
        parent_kind = parent.map(kinds).to_numpy(dtype="float64", na_value=np.nan)
        wrong = (kind == 0) & (parent != "").to_numpy() & ~unknown_parent & (parent_kind != 1)
        stops.rows("parent-station", "parent_station", wrong,
                   lambda p: f"parent_station '{parent.iloc[p]}' of a stop must be a station "
                   "(location_type 1)", severity="warning")
        station_parent = (kind == 1) & (parent != "").to_numpy()
        stops.rows("parent-station", "parent_station", station_parent,
                   lambda p: "a station (location_type 1) cannot have a parent_station; "
                   "stop_summary ignores it", severity="warning")


def _check_routes(routes: FeedTable, agency: FeedTable | None) -> None:
    _required(routes, "route_id")
    _required(routes, "route_type")
    no_name = _missing(routes, "route_short_name") & _missing(routes, "route_long_name")
    routes.rows("route-name", "route_long_name", no_name,
                lambda p: "route_short_name or route_long_name is required")
    route_type = routes.value("route_type")
    raw = route_type.to_numpy(dtype="float64", na_value=np.nan)
    known = np.isin(raw, list(ROUTE_TYPES)) | ((raw >= 100) & (raw < 1800)) | np.isnan(raw)
    original = routes.cells("route_type")
    routes.rows("route-type", "route_type", ~known,
                lambda p: f"route_type '{original.iloc[p]}' is neither a basic nor an extended "
                "GTFS route type", severity="warning")
    if agency is None:
        return
    _references(routes, "agency_id", agency, "agency_id")
    if len(agency) > 1:
        _required(routes, "agency_id", None, " when the feed has more than one agency")
        if not routes.has("agency_id"):
            routes.file_issue("missing-column", "routes.txt has no agency_id column, which is "
                              "required when agency.txt lists more than one agency",
                              severity="error", field_name="agency_id", row=1)


def _check_trips(trips: FeedTable, routes: FeedTable | None,
                 tables: dict[str, FeedTable]) -> None:
    for column in ("trip_id", "route_id", "service_id"):
        _required(trips, column)
    _references(trips, "route_id", routes, "route_id")
    services = set()
    for name in ("calendar.txt", "calendar_dates.txt"):
        if name in tables:
            services |= set(tables[name].cells("service_id"))
    values = trips.cells("service_id")
    unknown = ((values != "") & ~values.isin(services)).to_numpy(dtype=bool)
    trips.rows("foreign-key", "service_id", unknown,
               lambda p: f"service_id '{values.iloc[p]}' is in neither calendar.txt nor "
               "calendar_dates.txt")
    shapes = tables.get("shapes.txt")
    shape_ids = trips.cells("shape_id")
    known_shapes = set(shapes.cells("shape_id")) if shapes is not None else set()
    no_shape = ((shape_ids != "") & ~shape_ids.isin(known_shapes)).to_numpy(dtype=bool)
    trips.rows("foreign-key", "shape_id", no_shape,
               lambda p: f"shape_id '{shape_ids.iloc[p]}' is not in shapes.txt; the route's "
               "line is drawn from its stops instead", severity="warning")
    office = tables.get("office_jp.txt")
    if office is not None:
        _references(trips, "jp_office_id", office, "office_id", severity="warning")


def _check_stop_times(stop_times: FeedTable, trips: FeedTable | None,
                      stops: FeedTable | None) -> None:
    for column in ("trip_id", "stop_id", "stop_sequence"):
        _required(stop_times, column)
    unknown_trip = _references(stop_times, "trip_id", trips, "trip_id")
    _references(stop_times, "stop_id", stops, "stop_id")
    if stops is not None:
        kinds = pd.Series(stops.value("location_type").fillna(0).to_numpy(dtype=np.int64),
                          index=stops.cells("stop_id").to_numpy())
        kinds = kinds[~kinds.index.duplicated()]
        stop_ids = stop_times.cells("stop_id")
        kind = stop_ids.map(kinds).to_numpy(dtype="float64", na_value=np.nan)
        not_a_stop = kind >= 1
        stop_times.rows("stop-location-type", "stop_id", not_a_stop,
                        lambda p: f"stop_id '{stop_ids.iloc[p]}' is a station, entrance or "
                        "node (location_type >= 1); vehicles stop at stops/poles "
                        "(location_type 0)")
    if not (stop_times.has("arrival_time") or stop_times.has("departure_time")):
        stop_times.file_issue("missing-column", "stop_times.txt has neither arrival_time nor "
                              "departure_time", severity="error", row=1)
        return
    for column in ("arrival_time", "departure_time"):
        parsed = stop_times.times.get(column)
        if parsed is None:
            continue
        stop_times.count_quirk("single-digit-hour", column, parsed.single_digit_hour,
                               "have a one-digit hour (H:MM:SS) and were read as HH:MM:SS")
        stop_times.count_quirk("time-past-midnight", column, parsed.past_midnight,
                               "are past 24:00:00 (trips after midnight of the service day; "
                               "kept as written, seconds continue past 86400)")
    _trip_times(stop_times, unknown_trip)
    if trips is not None and len(trips):
        called = set(stop_times.cells("trip_id"))
        trip_ids = trips.cells("trip_id")
        unused = (~trip_ids.isin(called)).to_numpy(dtype=bool)
        trips.rows("trip-without-stop-times", "trip_id", unused,
                   lambda p: f"trip '{trip_ids.iloc[p]}' has no stop_times; it serves no stop",
                   severity="warning")


def _trip_times(stop_times: FeedTable, skip: np.ndarray) -> None:
    """First and last stop of every trip need times; times must not go backwards."""
    arrival = stop_times.value("arrival_time")
    departure = stop_times.value("departure_time")
    frame = pd.DataFrame({
        "trip": stop_times.cells("trip_id").to_numpy(),
        "seq": stop_times.value("stop_sequence").to_numpy(dtype="float64", na_value=np.nan),
        "arr": arrival.to_numpy(dtype="float64", na_value=np.nan),
        "dep": departure.to_numpy(dtype="float64", na_value=np.nan),
        "pos": np.arange(len(stop_times)),
    })
    frame = frame[~skip & ~np.isnan(frame["seq"].to_numpy())]
    if frame.empty:
        return
    frame = frame.sort_values(["trip", "seq"], kind="stable")
    trip = frame["trip"].to_numpy()
    first = np.r_[True, trip[1:] != trip[:-1]]
    last = np.r_[trip[1:] != trip[:-1], True]
    untimed = np.isnan(frame["arr"].to_numpy()) & np.isnan(frame["dep"].to_numpy())
    ends = frame["pos"].to_numpy()[(first | last) & untimed]
    stop_times.rows("timepoint-required", "departure_time", ends,
                    lambda p: "the first and last stop of a trip need an arrival or departure "
                    "time")
    single = first & last
    stop_times.rows("trip-too-short", "trip_id", frame["pos"].to_numpy()[single],
                    lambda p: "the trip has only one stop_times row", severity="warning")
    # A time earlier than the latest time before it on the same trip.
    times = frame["dep"].fillna(frame["arr"]).to_numpy()
    arrivals = frame["arr"].fillna(frame["dep"]).to_numpy()
    so_far = pd.Series(times).groupby(trip).cummax().groupby(trip).ffill()
    running = so_far.shift(1).to_numpy(dtype="float64", copy=True)
    running[first] = np.nan
    with np.errstate(invalid="ignore"):
        backwards = arrivals < running
    positions = frame["pos"].to_numpy()[backwards]
    stop_times.rows("time-travel", "arrival_time", positions,
                    lambda p: "the time is earlier than the previous stop's of the same trip",
                    severity="warning")


def _check_calendar(calendar: FeedTable) -> None:
    start = calendar.value("start_date")
    end = calendar.value("end_date")
    both = start.notna() & end.notna()
    reversed_range = (both & (start.astype(str) > end.astype(str))).to_numpy(dtype=bool)
    calendar.rows("date-range", "end_date", reversed_range,
                  lambda p: f"end_date {end.iloc[p]} is before start_date {start.iloc[p]}")


def _check_optional_reference(table: FeedTable | None, target: FeedTable | None) -> None:
    if table is None or target is None:
        return
    column = table.spec.required_columns[0]
    values = table.cells(column)
    unknown = ((values != "") & ~values.isin(set(target.cells(column)))).to_numpy(dtype=bool)
    table.rows("foreign-key", column, unknown,
               lambda p: f"{column} '{values.iloc[p]}' is not in {target.name}; the row is "
               "ignored", severity="warning")

"""Import a GTFS / GTFS-JP feed (zip or folder) as one dataset version with several layers.

read (safe zip, each file with :mod:`etl.read`) -> type columns -> check the feed's rules
(keys, references, coordinates, times) -> build the layers: ``routes`` (main, lines),
``stops`` (points), ``trips``, ``stop_times``, ``calendar``, ``calendar_dates``, ``agency``
and the derived ``stop_summary`` (points). Pure: no database; the result is an
:class:`etl.load.Publishable` that :func:`etl.publish.publish` stages and registers at once.

A feed that breaks a rule GTFS requires is refused (errors naming file, line, column, value
and rule, and no rows); quirks that real feeds have (single-digit hours, misspelt optional
headers, the GTFS-JP v1 translations layout, extra files, an expired calendar) are read
through with warnings. See docs/transit.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from etl.gtfs import calendar as cal
from etl.gtfs import layers as build
from etl.gtfs.archive import Feed
from etl.gtfs.checks import check_feed, expired_calendar
from etl.gtfs.files import read_feed_tables
from etl.gtfs.shapes import shape_coordinates
from etl.gtfs.summary import stop_summary
from etl.gtfs.tables import FeedTable
from etl.gtfs.translations import Translations, read_translations
from etl.load import LayerData, Publishable
from etl.report import Issue, Report
from hub.catalog import DatasetDefinition, TableSchema

__all__ = ["prepare_feed"]

Progress = Callable[[str, int, int], None]

# Report order: the files people fix first come first.
FILE_ORDER = ("agency.txt", "agency_jp.txt", "stops.txt", "routes.txt", "routes_jp.txt",
              "trips.txt", "office_jp.txt", "stop_times.txt", "calendar.txt",
              "calendar_dates.txt", "shapes.txt", "frequencies.txt", "translations.txt")


def prepare_feed(
    definition: DatasetDefinition,
    path: Path,
    *,
    max_errors: int = 1000,
    progress: Progress | None = None,
    today: dt.date | None = None,
) -> Publishable:
    """Read, check and shape the feed at ``path`` (a .zip or a folder of .txt files).

    Raises :class:`etl.read.ReadError` (or its :class:`~etl.gtfs.archive.UnsafeArchive`)
    when the path cannot be read as a feed at all or the archive is unsafe; everything
    else is in the returned report. ``today`` (default: the current date) is what an
    expired calendar is measured against.
    """
    tick = progress or (lambda stage, done, total: None)
    path = Path(path)
    schemas = build.layer_schemas(definition.schema_path.parent)
    with Feed(path) as feed:
        report = Report(file=feed.source_name, max_errors=max_errors)
        tick("read", 0, 1)
        tables = read_feed_tables(feed, report, tick)
        source_name, source_sha256 = feed.source_name, feed.source_sha256
    tick("validate", 0, 1)
    check_feed(tables)
    translations = read_translations(tables.get("translations.txt"))
    dates = pd.DataFrame()
    if not any(t.findings and any(f.severity == "error" for f in t.findings)
               for t in tables.values()):
        dates = _service_dates(tables)
        calendar_table = tables.get("calendar.txt")
        if calendar_table is None:
            calendar_table = tables.get("calendar_dates.txt")
        expired_calendar(cal.date_range(dates), today or dt.date.today(), calendar_table)
    for name in sorted(tables, key=lambda n: (FILE_ORDER.index(n) if n in FILE_ORDER else 99)):
        tables[name].report_to(report)
    tick("validate", 1, 1)

    if not report.ok:
        layers = build.empty_layers(schemas)
    else:
        tick("layers", 0, 1)
        layers = _layers(tables, translations, dates, schemas, report)
        tick("layers", 1, 1)
    main = layers.pop(build.MAIN_LAYER)
    return Publishable(
        definition=definition,
        source_name=source_name,
        source_sha256=source_sha256,
        report=report,
        main=main,
        main_layer=build.MAIN_LAYER,
        extra_layers=layers,
    )


def _service_dates(tables: dict[str, FeedTable]) -> pd.DataFrame:
    calendar = tables.get("calendar.txt")
    calendar_dates = tables.get("calendar_dates.txt")
    weekly = pd.DataFrame()
    if calendar is not None:
        weekly = pd.DataFrame({
            "service_id": calendar.cells("service_id").to_numpy(dtype=object),
            **{day: calendar.value(day).to_numpy(dtype="float64", na_value=0)
               for day in cal.WEEKDAYS},
            "start_date": calendar.value("start_date").to_numpy(dtype=object),
            "end_date": calendar.value("end_date").to_numpy(dtype=object),
        })
    exceptions = pd.DataFrame()
    if calendar_dates is not None:
        exceptions = pd.DataFrame({
            "service_id": calendar_dates.cells("service_id").to_numpy(dtype=object),
            "date": calendar_dates.value("date").to_numpy(dtype=object),
            "exception_type": calendar_dates.value("exception_type").to_numpy(
                dtype="float64", na_value=0),
        })
    return cal.service_dates(weekly, exceptions)


def _layers(tables: dict[str, FeedTable], translations: Translations, dates: pd.DataFrame,
            schemas: dict[str, TableSchema], report: Report) -> dict[str, LayerData]:
    stops = tables["stops.txt"]
    routes = tables["routes.txt"]
    trips = tables["trips.txt"]
    stop_times = tables["stop_times.txt"]
    out: dict[str, LayerData] = {}

    stop_layer = build.stops_layer(stops, translations)
    out["stops"] = build.layer_data("stops", schemas["stops"], stop_layer.columns, len(stops),
                                    stop_layer.wkt)
    st = build.stop_times_frame(stop_times, trips)
    out["stop_times"] = build.layer_data("stop_times", schemas["stop_times"], st,
                                         len(stop_times))
    ends = build.trip_ends(st)
    out["trips"] = build.layer_data("trips", schemas["trips"], build.trips_layer(
        trips, translations, ends, tables.get("office_jp.txt")), len(trips))

    stop_xy = pd.DataFrame({
        "lon": stops.value("stop_lon").to_numpy(dtype="float64", na_value=float("nan")),
        "lat": stops.value("stop_lat").to_numpy(dtype="float64", na_value=float("nan")),
    }, index=stops.cells("stop_id").to_numpy())
    route_columns, route_wkt, from_stops = build.routes_layer(
        routes, tables.get("routes_jp.txt"), translations, trips, st,
        shape_coordinates(tables.get("shapes.txt")), stop_xy)
    out["routes"] = build.layer_data("routes", schemas["routes"], route_columns, len(routes),
                                     route_wkt)

    trips_per_service = trips.cells("service_id").value_counts()
    typical = cal.typical_days(dates, trips_per_service)
    names = pd.Series(route_columns["route_name"].to_numpy(dtype=object),
                      index=route_columns["route_id"].to_numpy(dtype=object))
    summary, summary_wkt = stop_summary(stop_layer.columns, stop_layer.wkt, st, names, typical)
    out["stop_summary"] = build.layer_data("stop_summary", schemas["stop_summary"], summary,
                                           len(summary["stop_id"]), summary_wkt)
    out["calendar"] = build.layer_data(
        "calendar", schemas["calendar"], build.calendar_layer(tables.get("calendar.txt")),
        len(tables["calendar.txt"]) if "calendar.txt" in tables else 0)
    out["calendar_dates"] = build.layer_data(
        "calendar_dates", schemas["calendar_dates"],
        build.calendar_dates_layer(tables.get("calendar_dates.txt")),
        len(tables["calendar_dates.txt"]) if "calendar_dates.txt" in tables else 0)
    out["agency"] = build.layer_data(
        "agency", schemas["agency"], build.agency_layer(
            tables["agency.txt"], tables.get("agency_jp.txt"), translations),
        len(tables["agency.txt"]))
    if from_stops:
        report.add(Issue(
            file="shapes.txt", row=None, column=None, field=None, value=str(from_stops),
            rule="route-without-shape", severity="warning",
            message=f"{from_stops} route(s) have no shape in shapes.txt: their lines were drawn "
            "through the stops of the most common stop pattern of each direction "
            "(routes.geometry_source = 'stops')"))
    return out

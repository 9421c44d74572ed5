"""Publishing the real Muroran GTFS-JP feed into PostGIS as one version with layers, and the
ridership that references its stops. Expected values come from the raw files (csv module,
shapely), never from the SQL under test. The feed is published once for the module.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from collections import Counter
from dataclasses import dataclass

import pytest
import shapely
from sqlalchemy import Engine, create_engine, select, text

from etl.gtfs import prepare_feed
from etl.load import Publishable
from etl.pipeline import FileSource, PublishOptions, publish_dataset
from etl.publish import PublishResult, publish
from etl.ridership import referenced_keys
from etl.sources import prepare_source
from hub.catalog import load_definition
from hub.db.tables import versions
from tests.conftest import create_test_database, drop_test_database
from tests.gtfs_feeds import DATASETS, MURORAN, SCHEMAS, rows, transit_definition

LAYERS = ("agency", "calendar", "calendar_dates", "stop_summary", "stop_times", "stops", "trips")


@dataclass
class Published:
    engine: Engine
    prepared: Publishable
    result: PublishResult
    seconds: float


@pytest.fixture(scope="module")
def muroran(pg_cluster):
    url = create_test_database(pg_cluster)
    engine = create_engine(url)
    definition = load_definition("bus-routes-muroran", DATASETS, SCHEMAS)
    started = time.perf_counter()
    prepared = prepare_feed(definition, MURORAN)
    result = publish(engine, prepared, publisher="test")
    seconds = time.perf_counter() - started
    print(f"\nMuroran feed prepared and published in {seconds:.1f} s")
    yield Published(engine, prepared, result, seconds)
    engine.dispose()
    drop_test_database(pg_cluster, url)


def version_row(engine: Engine, dataset_id: str = "bus-routes-muroran"):
    with engine.connect() as conn:
        return conn.execute(select(versions).where(versions.c.dataset_id == dataset_id)
                            .order_by(versions.c.version.desc())).mappings().first()


def query(engine: Engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def test_one_version_with_every_layer_and_the_files_row_counts(muroran):
    row = version_row(muroran.engine)
    assert row["version"] == 1 and row["main_layer"] == "routes"
    assert sorted(row["layers"]) == sorted(LAYERS)
    assert row["table_name"] == "bus_routes_muroran__v1"
    assert row["source_name"] == "feed" and row["source_sha256"] == muroran.prepared.source_sha256
    stops = rows(MURORAN, "stops.txt")
    expected = {
        "routes": len(rows(MURORAN, "routes.txt")),
        "stops": len(stops),
        "trips": len(rows(MURORAN, "trips.txt")),
        "stop_times": len(rows(MURORAN, "stop_times.txt")),
        "calendar": len(rows(MURORAN, "calendar.txt")),
        "calendar_dates": len(rows(MURORAN, "calendar_dates.txt")),
        "agency": len(rows(MURORAN, "agency.txt")),
        "stop_summary": sum(s["location_type"] in ("", "0", "1") for s in stops),
    }
    assert (expected["stops"], expected["routes"], expected["trips"], expected["stop_times"]) == (
        706, 74, 541, 20594)
    tables = {"routes": row["table_name"]} | {
        name: info["table_name"] for name, info in row["layers"].items()}
    for name, table in tables.items():
        assert table == ("bus_routes_muroran__v1" + ("" if name == "routes" else f"__{name}"))
        count = query(muroran.engine, f'SELECT count(*) FROM data."{table}"')[0][0]
        assert count == expected[name], name
        stored = row["row_count"] if name == "routes" else row["layers"][name]["row_count"]
        assert stored == expected[name], name
    assert row["layers"]["stops"]["schema"]["x-geometry"] is True
    assert row["layers"]["stop_times"]["schema"]["x-geometry"] is False


def test_stops_keep_their_ids_and_coordinates(muroran):
    found = {r[0]: (r[1], r[2], r[3]) for r in query(
        muroran.engine,
        'SELECT stop_id, ST_X(geom), ST_Y(geom), location_type '
        'FROM data."bus_routes_muroran__v1__stops"')}
    raw = rows(MURORAN, "stops.txt")
    assert set(found) == {s["stop_id"] for s in raw}
    for s in raw:
        assert found[s["stop_id"]] == (float(s["stop_lon"]), float(s["stop_lat"]),
                                       int(s["location_type"] or 0))


def test_a_route_geometry_is_its_shape_points_in_order(muroran):
    trips = rows(MURORAN, "trips.txt")
    single = [r["route_id"] for r in rows(MURORAN, "routes.txt")
              if len({t["shape_id"] for t in trips if t["route_id"] == r["route_id"]}) == 1]
    route_id = single[0]
    shape_id = next(t["shape_id"] for t in trips if t["route_id"] == route_id)
    expected = [(float(p["shape_pt_lon"]), float(p["shape_pt_lat"])) for p in sorted(
        (p for p in rows(MURORAN, "shapes.txt") if p["shape_id"] == shape_id),
        key=lambda p: int(p["shape_pt_sequence"]))]
    wkb, kind, source, shape_ids = query(
        muroran.engine,
        'SELECT ST_AsBinary(geom), GeometryType(geom), geometry_source, shape_ids '
        'FROM data."bus_routes_muroran__v1" WHERE route_id = :r', r=route_id)[0]
    assert (kind, source, shape_ids) == ("LINESTRING", "shapes", shape_id)
    assert list(shapely.from_wkb(bytes(wkb)).coords) == expected
    assert len(expected) > 100


def test_every_route_has_a_line(muroran):
    kinds = Counter(r[0] for r in query(
        muroran.engine, 'SELECT GeometryType(geom) FROM data."bus_routes_muroran__v1"'))
    assert sum(kinds.values()) == 74 and set(kinds) <= {"LINESTRING", "MULTILINESTRING"}


def test_stop_summary_departures_of_one_pole(muroran):
    """A pole (location_type 0): departures per service and on the typical weekday,
    computed from stop_times + trips + calendar with the csv module."""
    stop_times = rows(MURORAN, "stop_times.txt")
    trips = {t["trip_id"]: t for t in rows(MURORAN, "trips.txt")}
    last = {}
    for r in stop_times:
        last[r["trip_id"]] = max(last.get(r["trip_id"], 0), int(r["stop_sequence"]))
    departing = [r for r in stop_times
                 if r["pickup_type"] != "1" and int(r["stop_sequence"]) != last[r["trip_id"]]]
    busiest = Counter(r["stop_id"] for r in departing).most_common(1)[0][0]
    departures = [r for r in departing if r["stop_id"] == busiest]
    per_service = Counter(trips[r["trip_id"]]["service_id"] for r in departures)
    # 2020-04-01 is a Wednesday on which only "weekday" runs (calendar.txt, no exception).
    calendar = {c["service_id"]: c for c in rows(MURORAN, "calendar.txt")}
    assert calendar["weekday"]["wednesday"] == "1" and calendar["weekend"]["wednesday"] == "0"
    assert not [e for e in rows(MURORAN, "calendar_dates.txt") if e["date"] == "20200401"]
    (row,) = query(
        muroran.engine,
        'SELECT departures_by_service, departures_weekday, departures_saturday, '
        'typical_weekday, first_departure, first_departure_secs, last_departure, route_count '
        'FROM data."bus_routes_muroran__v1__stop_summary" WHERE stop_id = :s', s=busiest)
    assert row[0] == "; ".join(f"{s}={n}" for s, n in sorted(per_service.items()))
    assert row[1] == per_service["weekday"]
    assert row[2] == per_service["weekend"]
    assert row[3] == dt.date(2020, 4, 1)
    first = min(r["departure_time"] for r in departures)
    h, m, s = (int(x) for x in first.split(":"))
    assert (row[4], row[5]) == (first, h * 3600 + m * 60 + s)
    assert row[6] == max(r["departure_time"] for r in departures)
    assert row[7] == len({trips[r["trip_id"]]["route_id"] for r in stop_times
                          if r["stop_id"] == busiest})


def test_a_broken_feed_is_refused_with_file_row_and_field(muroran, tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    for path in MURORAN.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    lines = (folder / "stop_times.txt").read_text(encoding="utf-8").split("\n")
    record = next(csv.reader(io.StringIO(lines[99])))
    original = record[3]
    lines[99] = lines[99].replace(f",{original},", ",9999_X,", 1)
    (folder / "stop_times.txt").write_text("\n".join(lines), encoding="utf-8")
    definition = load_definition("bus-routes-muroran", DATASETS, SCHEMAS)
    prepared = prepare_feed(definition, folder)
    errors = [(i.file, i.row, i.column, i.value, i.rule) for i in prepared.report.errors]
    assert errors == [("stop_times.txt", 100, "stop_id", "9999_X", "foreign-key")]
    assert "9999_X" in prepared.report.errors[0].message
    outcome = publish_dataset(definition, FileSource(folder), engine=muroran.engine)
    assert outcome.status == "refused" and outcome.report.errors == prepared.report.errors
    skipping = publish_dataset(definition, FileSource(folder), PublishOptions(skip_invalid=True),
                               engine=muroran.engine)
    assert skipping.status == "refused"  # a feed drops no rows: --skip-invalid cannot help
    assert version_row(muroran.engine)["version"] == 1  # nothing new


def test_rinkobus_publishes_with_warnings_and_english_names(muroran, tmp_path, pg_cluster):
    from tests.conftest import shared_file

    feed = shared_file("gtfs-jp-mlit-sample-rinkobus", "stops.txt").parent
    definition = transit_definition(tmp_path, "bus-routes-rinko")
    prepared = prepare_feed(definition, feed)
    assert prepared.report.ok and len(prepared.report.warnings) >= 8
    result = publish(muroran.engine, prepared)
    assert result.version == 1 and result.row_count == 2
    row = version_row(muroran.engine, "bus-routes-rinko")
    assert {w["rule"] for w in row["warnings"]} >= {
        "header-misspelt", "single-digit-hour", "old-translations", "expired-calendar"}
    english = query(muroran.engine,
                    'SELECT stop_name_en FROM data."bus_routes_rinko__v1__stops" '
                    "WHERE stop_id = '1510'")
    assert english == [("Kawasaki Station West Gate",)]
    times = query(muroran.engine,
                  'SELECT arrival_time, arrival_secs FROM data."bus_routes_rinko__v1__stop_times" '
                  "ORDER BY arrival_secs LIMIT 1")
    first = min(r["arrival_time"] for r in rows(feed, "stop_times.txt"))  # single-digit hours
    h, m, s = (int(x) for x in first.split(":"))
    assert times == [(f"{h:02d}:{m:02d}:{s:02d}", h * 3600 + m * 60 + s)]


# --- ridership referencing the published stops ------------------------------------------------


def test_ridership_publish_checks_stops_against_the_published_version(muroran, tmp_path):
    definition = load_definition("bus-ridership-muroran-synthetic", DATASETS, SCHEMAS)
    known = referenced_keys(muroran.engine, definition)
    assert known["stops"] == {s["stop_id"] for s in rows(MURORAN, "stops.txt")}
    source = definition.directory / definition.source["file"]
    prepared = prepare_source(definition, source, references=known)
    assert prepared.report.ok and not prepared.report.warnings
    assert publish(muroran.engine, prepared).row_count == 2880

    lines = source.read_text(encoding="utf-8").split("\n")
    lines[10] = lines[10].replace(lines[10].split(",")[0], "0999", 1)  # line 11 of the file
    broken = tmp_path / "ridership.csv"
    broken.write_text("\n".join(lines), encoding="utf-8")
    refused = prepare_source(definition, broken, references=known)
    assert [(i.file, i.row, i.column, i.value, i.rule) for i in refused.report.errors] == [
        ("ridership.csv", 11, "停留所ID", "0999", "unknown-reference")]
    assert publish_dataset(definition, FileSource(broken),
                           engine=muroran.engine).status == "refused"
    skipped = prepare_source(definition, broken, references=known, skip_invalid=True)
    assert skipped.report.rows_skipped == 1 and len(skipped.frame) == 2879
    result = publish_dataset(definition, FileSource(broken), PublishOptions(skip_invalid=True),
                             engine=muroran.engine)  # the pipeline looks the stops up itself
    assert result.version == 2 and result.row_count == 2879


def test_references_to_an_unpublished_dataset_are_reported(muroran, tmp_path):
    definition = transit_definition(tmp_path, "ridership-elsewhere", fmt="table",
                                    schema="ridership-monthly-stops.json",
                                    extra='[references]\nstops = "bus-routes-nowhere"\n')
    assert referenced_keys(muroran.engine, definition) == {"stops": None}

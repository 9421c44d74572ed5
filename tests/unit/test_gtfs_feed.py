"""etl.gtfs.prepare_feed on real feeds and on small feeds broken on purpose (no database).

Expected values come from the raw files read with the csv module (tests/gtfs_feeds.py), never
from the code under test.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections import Counter
from functools import cache
from pathlib import Path

import pandas as pd
import pytest
import shapely

from etl.gtfs import prepare_feed
from tests.conftest import shared_file
from tests.gtfs_feeds import MINI_FEED, MURORAN, rows, transit_definition, write_feed, zip_folder

TODAY = dt.date(2026, 1, 1)
MINI_FEED_STOPS = MINI_FEED["stops.txt"]
MINI_FEED_STOP_TIMES = MINI_FEED["stop_times.txt"]
MINI_FEED_TRIPS = MINI_FEED["trips.txt"]


@pytest.fixture(scope="module")
def definition(tmp_path_factory):
    return transit_definition(tmp_path_factory.mktemp("defs"), "bus-routes-test")


@cache
def _muroran(definition_dir: str):
    from hub.catalog import DatasetDefinition
    from tests.gtfs_feeds import SCHEMAS

    d = DatasetDefinition.load(Path(definition_dir) / "dataset.toml", SCHEMAS)
    return prepare_feed(d, MURORAN, today=TODAY)


@pytest.fixture(scope="module")
def muroran(definition):
    return _muroran(str(definition.directory))


def issues(prepared, severity=None):
    return [i for i in prepared.report.issues if severity is None or i.severity == severity]


def layer(prepared, name):
    if name == prepared.main_layer:
        return prepared.main
    return prepared.extra_layers[name]


# --- the real feeds ------------------------------------------------------------------------------


def test_muroran_reads_without_errors_and_with_the_known_warnings(muroran):
    assert muroran.report.ok, issues(muroran, "error")[:5]
    rules = Counter(i.rule for i in issues(muroran, "warning"))
    assert rules == {"file-not-imported": 1, "non-standard-file": 1, "expired-calendar": 1,
                     "old-translations": 1}
    non_standard = next(i for i in issues(muroran) if i.rule == "non-standard-file")
    assert non_standard.value == "fare_rider_categories.txt"
    expired = next(i for i in issues(muroran) if i.rule == "expired-calendar")
    assert expired.file == "calendar.txt" and expired.value == "2020-04-01..2021-04-01"


def test_muroran_layers_have_the_rows_of_the_files(muroran):
    counts = {name: len(rows(MURORAN, f"{name}.txt")) for name in (
        "routes", "stops", "trips", "stop_times", "calendar", "calendar_dates", "agency")}
    assert counts == {"routes": 74, "stops": 706, "trips": 541, "stop_times": 20594,
                      "calendar": 2, "calendar_dates": 40, "agency": 1}
    for name, count in counts.items():
        assert len(layer(muroran, name).frame) == count, name
    assert muroran.main_layer == "routes"
    summary = layer(muroran, "stop_summary").frame
    stops = rows(MURORAN, "stops.txt")
    assert summary["stop_id"].tolist() == [s["stop_id"] for s in stops
                                           if s["location_type"] in ("", "0", "1")]


def test_ids_are_text_exactly_as_in_the_feed(muroran):
    stops = layer(muroran, "stops").frame
    assert stops["stop_id"].tolist() == [s["stop_id"] for s in rows(MURORAN, "stops.txt")]
    assert "0001" in set(stops["stop_id"]) and "0391_A" in set(stops["stop_id"])
    agency = layer(muroran, "agency").frame
    assert agency["agency_id"].tolist() == ["1430001056880"]
    assert agency["agency_official_name"].tolist() == ["道南バス株式会社"]


def test_folder_and_zip_give_the_same_layers_and_their_own_checksums(muroran, definition,
                                                                      tmp_path):
    archive = zip_folder(MURORAN, tmp_path / "donanbus.zip")
    zipped = prepare_feed(definition, archive, today=TODAY)
    assert zipped.source_name == "donanbus.zip"
    assert zipped.source_sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()
    expected_folder = hashlib.sha256(b"".join(
        f"{p.name}\x00{hashlib.sha256(p.read_bytes()).hexdigest()}\n".encode()
        for p in sorted(MURORAN.iterdir()))).hexdigest()
    assert muroran.source_name == "feed" and muroran.source_sha256 == expected_folder
    for name in ("routes", "stops", "stop_times", "stop_summary"):
        pd.testing.assert_frame_equal(layer(zipped, name).frame, layer(muroran, name).frame)


def test_stop_times_keep_text_and_seconds(muroran):
    frame = layer(muroran, "stop_times").frame
    raw = rows(MURORAN, "stop_times.txt")
    for column, secs in (("arrival_time", "arrival_secs"), ("departure_time", "departure_secs")):
        expected = []
        for r in raw:
            h, m, s = (int(x) for x in r[column].split(":"))
            expected.append(h * 3600 + m * 60 + s)
        assert frame[secs].tolist() == expected
        assert frame[column].tolist() == [r[column] for r in raw]  # already HH:MM:SS
    trips = {t["trip_id"]: t for t in rows(MURORAN, "trips.txt")}
    assert frame["route_id"].tolist() == [trips[r["trip_id"]]["route_id"] for r in raw]
    assert frame["service_id"].tolist() == [trips[r["trip_id"]]["service_id"] for r in raw]


def test_kana_from_the_old_translations_layout_and_no_invented_english(muroran):
    kana = {t["trans_id"]: t["translation"] for t in rows(MURORAN, "translations.txt")
            if t["lang"] == "ja-Hrkt"}
    stops = layer(muroran, "stops").frame
    expected = [kana.get(s["stop_name"]) for s in rows(MURORAN, "stops.txt")]
    assert stops["stop_name_kana"].tolist() == expected
    assert stops.loc[stops["stop_id"] == "0001", "stop_name_kana"].item() == "えともだんち"
    assert stops["stop_name_en"].isna().all()  # the feed has ja and ja-Hrkt only


def test_route_lines_are_their_shapes_in_order(muroran):
    trips = rows(MURORAN, "trips.txt")
    points: dict[str, list[tuple[int, float, float]]] = {}
    for p in rows(MURORAN, "shapes.txt"):
        points.setdefault(p["shape_id"], []).append(
            (int(p["shape_pt_sequence"]), float(p["shape_pt_lon"]), float(p["shape_pt_lat"])))
    routes = layer(muroran, "routes")
    for route_id, wkt, source in zip(routes.frame["route_id"], routes.geometry_wkt,
                                     routes.frame["geometry_source"], strict=True):
        used = Counter(t["shape_id"] for t in trips if t["route_id"] == route_id)
        ranked = sorted(used, key=lambda s: (-used[s], s))
        expected = [[(x, y) for _, x, y in sorted(points[s])] for s in ranked]
        geometry = shapely.from_wkt(wkt)
        parts = [geometry] if geometry.geom_type == "LineString" else list(geometry.geoms)
        assert [list(p.coords) for p in parts] == expected, route_id
        assert source == "shapes"


def test_stop_summary_of_one_station_computed_from_the_files(muroran):
    station = "0211"  # 東町ターミナル, a terminal served by many routes
    stops = rows(MURORAN, "stops.txt")
    poles = {s["stop_id"] for s in stops if s["parent_station"] == station}
    trips = {t["trip_id"]: t for t in rows(MURORAN, "trips.txt")}
    stop_times = rows(MURORAN, "stop_times.txt")
    last = {}
    for r in stop_times:
        last[r["trip_id"]] = max(last.get(r["trip_id"], 0), int(r["stop_sequence"]))
    here = [r for r in stop_times if r["stop_id"] in poles]
    departures = [r for r in here if r["pickup_type"] != "1"
                  and int(r["stop_sequence"]) != last[r["trip_id"]]]
    by_service = Counter(trips[r["trip_id"]]["service_id"] for r in departures)
    typical = _typical_weekday(MURORAN)
    row = layer(muroran, "stop_summary").frame.set_index("stop_id").loc[station]
    assert row["departures_by_service"] == "; ".join(
        f"{s}={n}" for s, n in sorted(by_service.items()))
    assert row["typical_weekday"] == typical.isoformat()
    active = _active_services(MURORAN, typical)
    assert row["departures_weekday"] == sum(n for s, n in by_service.items() if s in active)
    route_ids = sorted({trips[r["trip_id"]]["route_id"] for r in here})
    assert row["route_ids"] == "; ".join(route_ids) and row["route_count"] == len(route_ids)
    assert row["trip_count"] == len({r["trip_id"] for r in here})
    assert row["first_departure"] == min(r["departure_time"] for r in departures)
    assert row["last_departure"] == max(r["departure_time"] for r in departures)
    assert row["location_type"] == 1 and row["departures_weekday"] > 100


def _active_services(feed: Path, day: dt.date) -> set[str]:
    names = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    active = set()
    for c in rows(feed, "calendar.txt"):
        start = dt.datetime.strptime(c["start_date"], "%Y%m%d").date()
        end = dt.datetime.strptime(c["end_date"], "%Y%m%d").date()
        if start <= day <= end and c[names[day.weekday()]] == "1":
            active.add(c["service_id"])
    for e in rows(feed, "calendar_dates.txt"):
        if dt.datetime.strptime(e["date"], "%Y%m%d").date() == day:
            (active.add if e["exception_type"] == "1" else active.discard)(e["service_id"])
    return active


def _typical_weekday(feed: Path) -> dt.date:
    """The Monday-Friday date whose set of services is the most common (earliest on ties)."""
    calendar = rows(feed, "calendar.txt")
    start = min(dt.datetime.strptime(c["start_date"], "%Y%m%d").date() for c in calendar)
    end = max(dt.datetime.strptime(c["end_date"], "%Y%m%d").date() for c in calendar)
    sets: dict[frozenset[str], list[dt.date]] = {}
    day = start
    while day <= end:
        if day.weekday() < 5:
            sets.setdefault(frozenset(_active_services(feed, day)), []).append(day)
        day += dt.timedelta(days=1)
    best = max(sets.values(), key=lambda days: (len(days), -days[0].toordinal()))
    return best[0]


# --- the MLIT sample (spec typos, single-digit hours, old translations, no shapes) -----------


@pytest.fixture(scope="module")
def rinko(definition, tmp_path_factory):
    source = shared_file("gtfs-jp-mlit-sample-rinkobus", "stops.txt").parent
    folder = tmp_path_factory.mktemp("rinko")
    for path in source.glob("*.txt"):
        shutil.copy(path, folder / path.name)
    feed = zip_folder(folder, folder.parent / "rinkobus.zip")
    return folder, prepare_feed(definition, feed, today=TODAY)


def test_rinkobus_publishes_with_warnings_for_each_quirk(rinko):
    _, prepared = rinko
    assert prepared.report.ok, issues(prepared, "error")
    found = Counter((i.file, i.rule, i.column) for i in issues(prepared, "warning"))
    assert found == Counter({
        ("rinkobus.zip", "file-not-imported", None): 1,
        ("routes_jp.txt", "foreign-key", "route_id"): 1,
        ("trips.txt", "header-misspelt", "wheelchair_accesible"): 1,
        ("stop_times.txt", "header-misspelt", "shape_dist_travel"): 1,
        ("stop_times.txt", "single-digit-hour", "arrival_time"): 1,
        ("stop_times.txt", "single-digit-hour", "departure_time"): 1,
        ("calendar.txt", "expired-calendar", None): 1,
        ("translations.txt", "old-translations", None): 1,
        ("shapes.txt", "route-without-shape", None): 1,
    })
    unknown_route = next(i for i in issues(prepared) if i.file == "routes_jp.txt")
    assert (unknown_route.row, unknown_route.value) == (3, "21000-1")
    hours = next(i for i in issues(prepared) if i.rule == "single-digit-hour")
    assert hours.message.startswith("129 value(s)")
    expired = next(i for i in issues(prepared) if i.rule == "expired-calendar")
    assert "2017-04-01" in expired.message and "2017-04-30" in expired.message


def test_rinkobus_values_behind_the_quirks(rinko):
    folder, prepared = rinko
    raw_times = rows(folder, "stop_times.txt")
    st = layer(prepared, "stop_times").frame
    expected = []
    for r in raw_times:
        h, m, s = r["arrival_time"].split(":")
        expected.append(f"{int(h):02d}:{m}:{s}")
    assert st["arrival_time"].tolist() == expected
    assert st.loc[0, "arrival_time"] == "06:28:00"
    assert st.loc[0, "arrival_secs"] == 6 * 3600 + 28 * 60
    # the misspelt columns' values are kept under the spec's names
    assert st["shape_dist_traveled"].tolist() == [
        float(r["shape_dist_travel"]) if r["shape_dist_travel"] else None for r in raw_times]
    trips = layer(prepared, "trips").frame
    assert trips["wheelchair_accessible"].tolist() == [
        int(t["wheelchair_accesible"]) for t in rows(folder, "trips.txt")]
    # service ids with full-width characters are kept as they are
    assert set(trips["service_id"]) <= {c["service_id"] for c in rows(folder, "calendar.txt")}


def test_rinkobus_english_names_from_old_translations(rinko):
    folder, prepared = rinko
    english = {t["trans_id"]: t["translation"] for t in rows(folder, "translations.txt")
               if t["lang"] == "en"}
    stops = layer(prepared, "stops").frame
    assert stops["stop_name_en"].tolist() == [english.get(s["stop_name"])
                                              for s in rows(folder, "stops.txt")]
    assert stops.set_index("stop_id").loc["1510", "stop_name_en"] == "Kawasaki Station West Gate"
    routes = layer(prepared, "routes").frame.set_index("route_id")
    assert routes.loc["25000-1", "origin_stop"] == "川崎駅西口"  # from routes_jp.txt
    assert routes.loc["25000-1", "route_name"] == "川56 矢向末吉橋循環"


def test_lines_without_shapes_go_through_the_most_common_stop_pattern(rinko):
    folder, prepared = rinko
    stops = {s["stop_id"]: (float(s["stop_lon"]), float(s["stop_lat"]))
             for s in rows(folder, "stops.txt")}
    trips = rows(folder, "trips.txt")
    stop_times = rows(folder, "stop_times.txt")
    routes = layer(prepared, "routes")
    for route_id, wkt, source in zip(routes.frame["route_id"], routes.geometry_wkt,
                                     routes.frame["geometry_source"], strict=True):
        assert source == "stops"
        patterns: Counter[tuple[str, ...]] = Counter()
        for trip in (t for t in trips if t["route_id"] == route_id):
            calls = sorted((int(r["stop_sequence"]), r["stop_id"]) for r in stop_times
                           if r["trip_id"] == trip["trip_id"])
            patterns[tuple(s for _, s in calls)] += 1
        best = max(patterns.values())
        pattern = next(p for p, n in patterns.items() if n == best)
        assert list(shapely.from_wkt(wkt).coords) == [stops[s] for s in pattern], route_id


# --- quirks and rules on small feeds ----------------------------------------------------------


def prepare(definition, tmp_path, files=None, today=TODAY):
    return prepare_feed(definition, write_feed(tmp_path / "feed", files), today=today)


def test_mini_feed_hours_past_midnight_and_leading_zero_ids(definition, tmp_path):
    prepared = prepare(definition, tmp_path)
    assert prepared.report.ok
    rules = Counter(i.rule for i in issues(prepared, "warning"))
    assert rules == {"time-past-midnight": 2, "single-digit-hour": 2, "route-without-shape": 1}
    st = layer(prepared, "stop_times").frame
    assert st["departure_time"].tolist()[:3] == ["23:50:00", "24:05:00", "25:10:00"]
    assert st["departure_secs"].tolist()[:3] == [85800, 86700, 90600]
    stops = layer(prepared, "stops").frame.set_index("stop_id")
    assert {"0001", "1", "0001_A", "1_A"} <= set(stops.index)  # "0001" and "1" stay distinct
    # a pole inherits its station's wheelchair_boarding; its own value wins
    assert stops.loc["0001_A", "wheelchair"] == "yes" and stops.loc["1_A", "wheelchair"] == "no"
    assert pd.isna(stops.loc["9", "wheelchair"])
    summary = layer(prepared, "stop_summary").frame.set_index("stop_id")
    assert summary.loc["1", "last_departure"] == "24:05:00"
    assert summary.loc["1", "first_departure"] == "07:10:00"
    assert summary.loc["9", "departures_weekday"] == 1  # T1 ends there: an arrival only
    assert summary.loc["0001", "departures_by_service"] == "WD=1"
    trips = layer(prepared, "trips").frame.set_index("trip_id")
    assert trips.loc["T1", "last_arrival"] == "25:10:00" and trips.loc["T1", "stop_count"] == 3


def test_new_translations_layout_by_record_id_and_by_field_value(definition, tmp_path):
    prepared = prepare(definition, tmp_path, {"translations.txt": (
        "table_name,field_name,language,translation,record_id,record_sub_id,field_value\n"
        "stops,stop_name,en,Station Square,0001,,\n"
        "stops,stop_name,EN-us,City Hall,,,市役所\n"
        "stops,stop_name,ja-Hrkt,えきまえ,,,駅前\n"
        "routes,route_long_name,en,Station Line,R1,,\n"
        "agency,agency_name,en,Test Bus,,,テストバス\n")})
    assert prepared.report.ok
    assert "old-translations" not in {i.rule for i in issues(prepared)}
    stops = layer(prepared, "stops").frame.set_index("stop_id")
    assert stops.loc["0001", "stop_name_en"] == "Station Square"
    assert pd.isna(stops.loc["0001_A", "stop_name_en"])  # record_id is per stop
    assert stops.loc["1", "stop_name_en"] == "City Hall" == stops.loc["1_A", "stop_name_en"]
    assert stops.loc["0001_A", "stop_name_kana"] == "えきまえ"
    assert layer(prepared, "routes").frame.loc[0, "route_name_en"] == "1 Station Line"
    assert layer(prepared, "agency").frame.loc[0, "agency_name_en"] == "Test Bus"


def test_bom_crlf_no_final_newline_and_cp932_are_read(definition, tmp_path):
    stops = "\ufeff" + "\r\n".join(MINI_FEED_STOPS.splitlines())  # BOM, CRLF, no final LF
    agency = MINI_FEED["agency.txt"]
    prepared = prepare(definition, tmp_path, {
        "stops.txt": stops.encode("utf-8"),
        "agency.txt": agency.encode("cp932"),
    })
    assert prepared.report.ok, issues(prepared, "error")
    assert stops.count("\r\n") == 5 and not stops.endswith("\n")
    encoding = [i for i in issues(prepared) if i.rule == "encoding"]
    assert [(i.file, i.severity) for i in encoding] == [("agency.txt", "warning")]
    assert layer(prepared, "agency").frame.loc[0, "agency_name"] == "テストバス"
    assert layer(prepared, "stops").frame["stop_id"].tolist()[:2] == ["0001", "0001_A"]


def test_non_standard_files_are_listed(definition, tmp_path):
    prepared = prepare(definition, tmp_path, {"notes.csv": "a\n1\n", "fare_rules.txt": "x\n"})
    listed = {i.rule: i.value for i in issues(prepared)}
    assert listed["non-standard-file"] == "notes.csv"
    assert listed["file-not-imported"] == "fare_rules.txt"


def test_calendar_dates_only_feed(definition, tmp_path):
    prepared = prepare(definition, tmp_path, {
        "calendar.txt": None,
        "calendar_dates.txt": "service_id,date,exception_type\nWD,20300107,1\nWD,20300108,1\n",
    })
    assert prepared.report.ok
    summary = layer(prepared, "stop_summary").frame.set_index("stop_id")
    assert summary.loc["1", "typical_weekday"] == "2030-01-07"
    assert summary.loc["1", "departures_weekday"] == 2
    assert pd.isna(summary.loc["1", "typical_saturday"])
    assert len(layer(prepared, "calendar").frame) == 0


def test_expired_calendar_is_measured_against_today(definition, tmp_path):
    late = prepare(definition, tmp_path, today=dt.date(2036, 1, 1))
    warning = next(i for i in issues(late) if i.rule == "expired-calendar")
    assert warning.value == "2025-01-01..2035-12-31" and "2036-01-01" in warning.message
    assert late.report.ok


# Errors: what a broken feed is refused with (file, line, column, value, rule).


def errors(prepared):
    return [(i.file, i.row, i.column, i.value, i.rule) for i in issues(prepared, "error")]


def test_missing_required_files(definition, tmp_path):
    prepared = prepare(definition, tmp_path, {"stops.txt": None, "calendar.txt": None})
    assert ("stops.txt", None, None, None, "missing-file") in errors(prepared)
    assert ("calendar.txt", None, None, None, "missing-file") in errors(prepared)
    assert len(prepared.main.frame) == 0 and not prepared.report.ok


def test_missing_required_column(definition, tmp_path):
    stops = MINI_FEED_STOPS.replace("stop_lat,", "latitude,")
    prepared = prepare(definition, tmp_path, {"stops.txt": stops})
    assert [e for e in errors(prepared) if e[4] == "missing-column"] == [
        ("stops.txt", 1, None, None, "missing-column")]
    issue = next(i for i in issues(prepared, "error") if i.rule == "missing-column")
    assert issue.field == "stop_lat"


def test_unknown_stop_and_trip_in_stop_times(definition, tmp_path):
    st = MINI_FEED_STOP_TIMES.replace("T2,7:10:00,7:10:00,1_A,2", "T2,7:10:00,7:10:00,1_Z,2")
    st += "T9,8:00:00,8:00:00,9,1\n"
    prepared = prepare(definition, tmp_path, {"stop_times.txt": st})
    assert errors(prepared) == [
        ("stop_times.txt", 6, "stop_id", "1_Z", "foreign-key"),
        ("stop_times.txt", 8, "trip_id", "T9", "foreign-key"),
    ]
    assert len(prepared.main.frame) == 0


def test_duplicate_stop_id_names_both_lines(definition, tmp_path):
    prepared = prepare(definition, tmp_path, {"stops.txt": MINI_FEED_STOPS + "1,重複,35,135,0,,\n"})
    duplicate = next(i for i in issues(prepared, "error") if i.rule == "duplicate-key")
    assert (duplicate.file, duplicate.row, duplicate.column, duplicate.value) == (
        "stops.txt", 7, "stop_id", "1")
    assert "first on line 4" in duplicate.message


def test_bad_coordinates(definition, tmp_path):
    stops = (MINI_FEED_STOPS.replace("35.01,135.01", "135.01,35.01")
             .replace("9,病院,35.02,135.02", "9,病院,北緯35度,135.02"))
    prepared = prepare(definition, tmp_path, {"stops.txt": stops})
    assert errors(prepared) == [
        ("stops.txt", 4, "stop_lat", "135.01,35.01", "coordinates"),
        ("stops.txt", 6, "stop_lat", "北緯35度", "type:float"),
    ]


def test_times_that_are_not_times_and_unknown_route(definition, tmp_path):
    st = MINI_FEED_STOP_TIMES.replace("T2,7:00:00,7:00:00", "T2,7時,7:00:00")
    trips = MINI_FEED_TRIPS + "R2,WD,T3,0,\n"
    prepared = prepare(definition, tmp_path, {"stop_times.txt": st, "trips.txt": trips})
    assert ("stop_times.txt", 5, "arrival_time", "7時", "type:time") in errors(prepared)
    assert ("trips.txt", 4, "route_id", "R2", "foreign-key") in errors(prepared)


def test_optional_value_that_cannot_be_read_is_a_warning(definition, tmp_path):
    trips = MINI_FEED_TRIPS.replace("R1,WD,T1,0,", "R1,WD,T1,up,")
    prepared = prepare(definition, tmp_path, {"trips.txt": trips})
    assert prepared.report.ok
    warning = next(i for i in issues(prepared) if i.rule == "type:int")
    assert (warning.file, warning.row, warning.column, warning.value) == (
        "trips.txt", 2, "direction_id", "up")
    assert pd.isna(layer(prepared, "trips").frame.loc[0, "direction_id"])


def test_error_cap(definition, tmp_path):
    st = "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n" + "".join(
        f"T1,07:{i // 60:02d}:{i % 60:02d},07:{i // 60:02d}:{i % 60:02d},X{i},{i}\n"
        for i in range(30))
    prepared = prepare_feed(definition, write_feed(tmp_path / "feed", {"stop_times.txt": st}),
                            max_errors=10, today=TODAY)
    assert len(issues(prepared, "error")) == 10 and prepared.report.truncated



def test_duplicate_shape_point_is_a_warning_and_the_first_wins(definition, tmp_path):
    shapes = ("shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\n"
              "S1,35.0,135.0,1\nS1,35.01,135.01,2\nS1,36.0,136.0,2\nS1,35.02,135.02,3\n")
    trips = MINI_FEED_TRIPS.replace("R1,WD,T1,0,", "R1,WD,T1,0,S1")
    prepared = prepare(definition, tmp_path, {"shapes.txt": shapes, "trips.txt": trips})
    assert prepared.report.ok
    duplicate = next(i for i in issues(prepared) if i.rule == "duplicate-key")
    assert (duplicate.severity, duplicate.file, duplicate.row) == ("warning", "shapes.txt", 4)
    line = shapely.from_wkt(layer(prepared, "routes").geometry_wkt[0])
    assert list(line.coords) == [(135.0, 35.0), (135.01, 35.01), (135.02, 35.02)]

"""Ridership (GTFS-Ride and the monthly per-stop table), stop references, the SYNTHETIC
generator, the count table, and the definitions of the transit datasets (no database)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from etl.gtfs.layers import LAYER_SCHEMAS
from etl.ridership import prepare_ride
from etl.sources import prepare_source
from etl.synthetic import ridership as synthetic
from hub.catalog import DatasetDefinition, TableSchema
from tests.conftest import shared_file
from tests.gtfs_feeds import DATASETS, MURORAN, SCHEMAS, rows, transit_definition

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
RIDE_REFERENCES = '[references]\nstops = "bus-routes-ride"\ntrips = "bus-routes-ride"\n'


def ride_zip(name: str = "ride_sample_all.zip") -> Path:
    return shared_file("gtfs-ride-odot-sample", name)


def zip_rows(path: Path, member: str) -> list[dict[str, str]]:
    with zipfile.ZipFile(path) as z:
        text = z.read(member).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.fixture(scope="module")
def ride_definition(tmp_path_factory):
    return transit_definition(tmp_path_factory.mktemp("ride"), "bus-ridership-ride",
                              fmt="gtfs-ride", schema="ridership-board-alight.json",
                              extra=RIDE_REFERENCES)


def count(cell: str) -> int | None:
    return int(cell) if cell else None


def values(series: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in series]


def test_gtfs_ride_sample_reads_into_two_layers(ride_definition):
    path = ride_zip()
    prepared = prepare_ride(ride_definition, path)
    assert prepared.report.ok and prepared.main_layer == "board_alight"
    board = prepared.main.frame
    raw = zip_rows(path, "board_alight.txt")
    assert len(board) == len(raw) == 8
    for column in ("boardings", "alightings", "current_load", "bike_boardings",
                   "ramp_boardings", "ramp_alightings", "stop_sequence", "source"):
        assert values(board[column]) == [count(r[column]) for r in raw], column
    assert board["stop_id"].tolist() == [r["stop_id"] for r in raw]
    assert board["service_date"].tolist() == ["2010-04-01"] * 8
    assert board["service_arrival_time"].tolist()[0] == "06:15:00"
    assert board["service_departure_secs"].tolist()[0] == 6 * 3600 + 16 * 60
    periods = prepared.extra_layers["ridership"].frame
    raw_periods = zip_rows(path, "ridership.txt")
    assert periods["total_boardings"].tolist() == [int(r["total_boardings"]) for r in raw_periods]
    assert periods["ridership_start_date"].tolist() == ["2010-06-01", "2010-07-01"]
    assert values(periods["sunday"]) == [False, True]
    assert values(periods["monday"]) == [True, None]  # empty: not stated
    assert periods["ridership_start_time"].tolist() == ["08:00:00", "16:00:00"]
    rules = {i.rule: i for i in prepared.report.warnings}
    assert "references-unchecked" in rules
    assert {"stops.txt", "rider_trip.txt", "trip_capacity.txt"} <= set(
        rules["file-not-imported"].value.split(", "))


def test_unknown_stops_are_errors_with_the_line_and_skippable(ride_definition):
    known = {"stops": frozenset({"S_A", "S_B", "S_C"}), "trips": frozenset({"T1", "T2"})}
    path = ride_zip()
    raw = zip_rows(path, "board_alight.txt")
    expected_lines = [i + 2 for i, r in enumerate(raw) if r["stop_id"] == "S_D"]
    prepared = prepare_ride(ride_definition, path, known=known)
    assert [(i.file, i.row, i.column, i.value, i.rule) for i in prepared.report.errors] == [
        ("board_alight.txt", line, "stop_id", "S_D", "unknown-reference")
        for line in expected_lines]
    assert "bus-routes-ride" in prepared.report.errors[0].message
    skipped = prepare_ride(ride_definition, path, known=known, skip_invalid=True)
    assert skipped.report.rows_skipped == 2
    assert "S_D" not in set(skipped.main.frame["stop_id"]) and len(skipped.main.frame) == 6
    unpublished = prepare_ride(ride_definition, path, known={"stops": None, "trips": None})
    assert unpublished.report.ok
    assert {i.rule for i in unpublished.report.warnings} >= {"reference-not-published"}


def test_gtfs_ride_simple_sample_and_a_fileset_without_ridership(ride_definition, tmp_path):
    simple = prepare_ride(ride_definition, ride_zip("ride_sample_simple.zip"))
    assert simple.report.ok
    assert values(simple.main.frame["boardings"]) == [5, 3, 2, 0, 1, 4, 2, 1]
    assert simple.main.frame["alightings"].isna().all()
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "stops.txt").write_text("stop_id\nA\n", encoding="utf-8")
    refused = prepare_ride(ride_definition, empty)
    assert [i.rule for i in refused.report.errors] == ["missing-file"]


def test_a_count_that_is_not_a_number_is_an_error(ride_definition, tmp_path):
    folder = tmp_path / "ride"
    folder.mkdir()
    (folder / "board_alight.txt").write_text(
        "trip_id,stop_id,stop_sequence,record_use,boardings\nT1,S_A,1,0,5\nT1,S_B,2,0,五\n",
        encoding="utf-8")
    prepared = prepare_ride(ride_definition, folder)
    assert [(i.row, i.column, i.value, i.rule) for i in prepared.report.errors] == [
        (3, "boardings", "五", "type:int")]


# --- the monthly table and its stop references ------------------------------------------------


@pytest.fixture(scope="module")
def monthly():
    return DatasetDefinition.load(DATASETS / "bus-ridership-muroran-synthetic" / "dataset.toml",
                                  SCHEMAS)


def test_monthly_table_rows_with_unknown_stops_are_reported(monthly):
    stations = {s["stop_id"] for s in rows(MURORAN, "stops.txt")}
    known = {"stops": frozenset(stations - {"0002"})}
    source = monthly.directory / monthly.source["file"]
    prepared = prepare_source(monthly, source, references=known)
    lines = [n for n, line in enumerate(source.read_text("utf-8").split("\n"), start=1)
             if line.startswith("0002,")]
    assert len(lines) == 12
    assert [(i.row, i.column, i.value, i.rule) for i in prepared.report.errors] == [
        (n, "停留所ID", "0002", "unknown-reference") for n in lines]
    skipped = prepare_source(monthly, source, references=known, skip_invalid=True)
    assert skipped.report.rows_skipped == 12 and len(skipped.frame) == 2880 - 12
    assert skipped.source_rows.tolist() == [n for n in range(4, 2884) if n not in lines]


def test_monthly_table_values_are_the_files(monthly):
    source = monthly.directory / monthly.source["file"]
    text = source.read_text("utf-8").split("\n")
    records = list(csv.DictReader(io.StringIO("\n".join(text[2:]), newline="")))
    prepared = prepare_source(monthly, source, references={"stops": frozenset(
        s["stop_id"] for s in rows(MURORAN, "stops.txt"))})
    assert prepared.report.ok and not prepared.report.issues
    frame = prepared.frame
    assert frame["stop_id"].tolist() == [r["停留所ID"] for r in records]
    assert frame["month"].tolist() == [r["年月"] for r in records]
    assert frame["boardings"].tolist() == [int(r["乗車人数"]) for r in records]
    assert frame["wheelchair_boardings"].tolist() == [int(r["車椅子乗車人数"]) for r in records]


# --- the SYNTHETIC generator ------------------------------------------------------------------


def test_generator_reproduces_the_committed_file_byte_for_byte(monthly):
    committed = (monthly.directory / monthly.source["file"]).read_bytes()
    regenerated = synthetic.to_csv(synthetic.generate(MURORAN, seed=monthly.source["seed"]))
    assert regenerated == committed
    assert hashlib.sha256(committed).hexdigest() == monthly.source["sha256"]
    other = synthetic.to_csv(synthetic.generate(MURORAN, seed=monthly.source["seed"] + 1))
    assert other != committed and other.split(b"\n")[:3] == committed.split(b"\n")[:3]


def test_synthetic_magnitudes_follow_the_timetable(monthly):
    rows_ = synthetic.generate(MURORAN)[1:]
    stations = {s["stop_id"]: s["stop_name"] for s in rows(MURORAN, "stops.txt")
                if s["location_type"] == "1"}
    assert {r[0] for r in rows_} == set(stations) and len(rows_) == 240 * 12
    assert all(stations[r[0]] == r[1] for r in rows_)
    assert sorted({r[2] for r in rows_}) == [f"2020-{m:02d}" for m in range(4, 13)] + [
        f"2021-{m:02d}" for m in range(1, 4)]
    by_station: dict[str, int] = {}
    for r in rows_:
        by_station[r[0]] = by_station.get(r[0], 0) + int(r[3])
    # the terminal with the most departures is among the busiest; no station is empty
    assert max(by_station, key=by_station.get) == "0211"
    assert min(by_station.values()) > 0
    assert all(0 <= int(r[5]) <= int(r[3]) for r in rows_)


def test_synthetic_dataset_says_so_everywhere(monthly):
    raw = monthly.raw
    for text in (raw["title"]["ja"], raw["description"]["ja"]):
        assert "合成データ" in text and "実測値ではありません" in text
    for text in (raw["title"]["en"], raw["description"]["en"]):
        assert "SYNTHETIC" in text and "not real counts" in text.lower()
    assert {"合成データ", "SYNTHETIC"} <= set(monthly.keywords)
    head = (monthly.directory / monthly.source["file"]).read_text("utf-8").split("\n")[:2]
    assert head[0].startswith("#合成データ") and "SYNTHETIC" in head[1]
    assert monthly.source["synthetic"] is True
    assert monthly.raw["references"] == {"stops": "bus-routes-muroran"}
    assert "SYNTHETIC" in (monthly.directory / "SOURCE.md").read_text("utf-8")


# --- the count table ---------------------------------------------------------------------------


def test_takamatsu_counts_through_the_table_path():
    d = DatasetDefinition.load(DATASETS / "takamatsu-pedestrian-counts" / "dataset.toml", SCHEMAS)
    prepared = prepare_source(d, d.directory / d.source["file"])
    assert prepared.report.ok and not prepared.report.issues
    text = (d.directory / d.source["file"]).read_text("utf-8-sig").split("\n")
    records = list(csv.reader(io.StringIO("\n".join(text[9:]), newline="")))
    frame = prepared.frame
    assert len(frame) == len(records) == d.source["records"] == 15
    assert frame["id"].tolist() == [r[0] for r in records]
    assert frame["total_weekday"].tolist() == [int(r[7]) for r in records]
    assert frame["bicycles_holiday"].tolist() == [int(r[10]) for r in records]
    for record, wkt in zip(records, prepared.geometry_wkt, strict=True):
        lat, lon = record[2].split(",")
        assert wkt == f"POINT ({float(lon)!r} {float(lat)!r})"
    assert prepared.source_rows.tolist() == list(range(10, 25))


# --- definitions of the transit datasets --------------------------------------------------------

TRANSIT_DATASETS = ("bus-routes-muroran", "bus-ridership-muroran-synthetic",
                    "takamatsu-pedestrian-counts")
TRANSIT_SCHEMAS = sorted([*LAYER_SCHEMAS.values(), "ridership-board-alight.json",
                          "ridership-periods.json", "ridership-monthly-stops.json",
                          "pedestrian-counts.json"])


@pytest.mark.parametrize("schema_file", TRANSIT_SCHEMAS)
def test_transit_schemas_are_documented(schema_file):
    raw = json.loads((SCHEMAS / schema_file).read_text(encoding="utf-8"))
    schema = TableSchema.from_json(raw, schema_file)
    assert raw["title"] and JAPANESE.search(raw["title_ja"]) and raw["description"]
    for f in schema.fields:
        assert f.title and not JAPANESE.search(f.title), f.name
        assert f.title_ja and JAPANESE.search(f.title_ja), f.name
        assert f.description, f.name


@pytest.mark.parametrize("dataset_id", TRANSIT_DATASETS)
def test_transit_dataset_definitions_are_complete(dataset_id):
    d = DatasetDefinition.load(DATASETS / dataset_id / "dataset.toml", SCHEMAS)
    assert d.id == dataset_id and JAPANESE.search(d.title_ja) and d.title_en != d.title_ja
    assert d.description_ja and d.description_en and d.licence and d.organisation
    assert any(JAPANESE.search(k) for k in d.keywords) and any(k.isascii() for k in d.keywords)
    source_md = (DATASETS / dataset_id / "SOURCE.md").read_text(encoding="utf-8")
    for line in ("- Origin:", "- Licence:", "- Attribution:", f"- Records: {d.source['records']}"):
        assert line in source_md, line
    assert d.source["sha256"] in source_md
    path = d.directory / d.source["file"]
    if path.is_dir():  # the folder checksum etl.gtfs records as source_sha256
        digest = hashlib.sha256(b"".join(
            f"{p.name}\x00{hashlib.sha256(p.read_bytes()).hexdigest()}\n".encode()
            for p in sorted(path.iterdir())))
    else:
        digest = hashlib.sha256(path.read_bytes())
    assert digest.hexdigest() == d.source["sha256"]


def test_muroran_feed_is_the_shared_copy_byte_for_byte():
    shared = shared_file("gtfs-jp-donanbus-muroran", "stops.txt").parent
    ours = sorted(p.name for p in MURORAN.iterdir())
    assert ours == sorted(p.name for p in shared.glob("*.txt")) and len(ours) == 16
    for name in ours:
        assert (MURORAN / name).read_bytes() == (shared / name).read_bytes(), name


def test_publication_order_puts_referenced_datasets_first():
    from etl.ridership import publication_order
    from hub.catalog import load_definitions

    order = publication_order(load_definitions(DATASETS, SCHEMAS))
    assert order.index("bus-routes-muroran") < order.index("bus-ridership-muroran-synthetic")
    assert sorted(order) == sorted(load_definitions(DATASETS, SCHEMAS))

"""``etl.proposal``: the schema, mapping, geometry and dataset.toml proposed for a file, on
the demo catalogue's own files (each must come back as its own schema, with a draft that
validates), on third-party files of other cities, and on headers written as no city here
writes them."""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path

import pytest
from openpyxl import Workbook

from etl.prepare import prepare
from etl.proposal import ProposalError, propose
from etl.read import ReadError
from hub.catalog import DatasetDefinition
from tests.conftest import ROOT, shared_file

SCHEMAS = ROOT / "schemas"
DATASETS = ROOT / "datasets"


def draft_report(proposal, file: Path, tmp_path: Path):
    """What `hub validate` says of ``file`` with the drafted dataset.toml."""
    folder = tmp_path / proposal.dataset_id
    folder.mkdir()
    (folder / "dataset.toml").write_text(proposal.draft, encoding="utf-8")
    definition = DatasetDefinition.load(folder / "dataset.toml", SCHEMAS)
    return prepare(definition, file).report


def mapping(proposal) -> dict[str, tuple[str, str]]:
    return {m.header: (m.field, m.rule) for m in proposal.chosen.matches}


@pytest.mark.parametrize(("dataset", "schema"), [
    ("yaizu-aed", "aed-locations.json"),
    ("kobe-aed", "aed-locations.json"),
    ("yaizu-public-toilets", "public-toilets.json"),
    ("takamatsu-public-toilets", "public-toilets.json"),
    ("kobe-ud-toilets", "public-toilets.json"),
    ("yaizu-public-facilities", "public-facilities.json"),
    ("yaizu-tourism", "tourist-facilities.json"),
    # A tourism-layout file: accessible-places is chosen by hand in its dataset.toml.
    ("yaizu-accessible-shops", "tourist-facilities.json"),
])
def test_demo_files_get_their_schema_and_a_draft_that_validates(dataset, schema, tmp_path):
    """The draft finds no error the hand-written definition does not (Kobe's AED list has
    rows with a broken position, which its definition publishes with skip_invalid)."""
    definition = DatasetDefinition.load(DATASETS / dataset / "dataset.toml", SCHEMAS)
    file = DATASETS / dataset / definition.source["file"]
    proposal = propose(file, SCHEMAS)
    assert proposal.chosen.schema == schema
    assert proposal.rows == definition.source["records"]
    report = draft_report(proposal, file, tmp_path)
    known = {(i.row, i.column, i.rule) for i in prepare(definition, file).report.errors}
    assert {(i.row, i.column, i.rule) for i in report.errors} <= known, report.errors[:5]
    assert report.rows_read == definition.source["records"]


def test_kobe_sheet_laid_out_for_printing(tmp_path):
    file = DATASETS / "kobe-ud-toilets" / "UDseibisisetu.xlsx"
    proposal = propose(file, SCHEMAS, dataset_id="kobe-toilets-draft")
    assert proposal.geometry.kind == "latlon"
    assert (proposal.geometry.latitude, proposal.geometry.longitude) == ("緯度", "経度")
    assert proposal.geometry.located == 92
    assert [text for _row, text in proposal.section_rows] == ["都心地域", "都心地域外",
                                                               "公共交通機関"]
    assert proposal.unmapped == ("施　設　名_2",)
    draft = tomllib.loads(proposal.draft)
    assert draft["id"] == "kobe-toilets-draft"
    assert draft["read"]["section_rows"] == "drop"
    assert draft["geometry"] == {"kind": "latlon", "latitude": "latitude",
                                 "longitude": "longitude", "crs": 4326}
    assert draft["source"]["unmapped_columns"] == ["施　設　名_2"]
    assert "columns" not in draft  # every column is matched by publishing's own spellings


def test_a_correction_replaces_the_rules_choice(tmp_path):
    file = DATASETS / "kobe-ud-toilets" / "UDseibisisetu.xlsx"
    proposal = propose(file, SCHEMAS, columns={"施　設　名_2": "name", "施　設　名": None})
    assert mapping(proposal)["施　設　名_2"] == ("name", "chosen")
    assert "施　設　名" in proposal.unmapped
    assert tomllib.loads(proposal.draft)["columns"] == {"施　設　名_2": "name"}
    with pytest.raises(ProposalError, match=r"'nope' .* not a field"):
        propose(file, SCHEMAS, columns={"施　設　名_2": "nope"})
    with pytest.raises(ProposalError, match="not a header"):
        propose(file, SCHEMAS, columns={"施設": "name"})


def test_takamatsu_location_in_one_cell(tmp_path):
    proposal = propose(DATASETS / "takamatsu-public-toilets" / "0065.csv", SCHEMAS)
    assert proposal.geometry.kind == "combined"
    assert proposal.geometry.column == "location"
    assert tomllib.loads(proposal.draft)["geometry"]["field"] == "location"


def test_minato_nurseries_name_the_missing_field_and_validate_once_corrected(tmp_path):
    file = shared_file("minato-ward-hoikuen", "13103hoikuen201612.csv")
    proposal = propose(file, SCHEMAS)
    assert proposal.geometry.kind == "latlon"
    assert proposal.chosen.missing_required == ("name",)
    assert "保育園名" in proposal.unmapped
    corrected = propose(file, SCHEMAS, schema=proposal.chosen.schema,
                        columns={"保育園名": "name"})
    assert corrected.chosen.missing_required == ()
    assert draft_report(corrected, file, tmp_path).ok


def test_a_municipality_list_with_lat_lng(tmp_path):
    """code4fukui's list of local governments (CP932, `lat`/`lng`): positions found, and the
    required name and address named as missing."""
    proposal = propose(shared_file("code4fukui-localgovjp", "localgovjp-sjis.csv"), SCHEMAS)
    assert proposal.encoding == "cp932"
    assert proposal.geometry.kind == "latlon"
    assert (proposal.geometry.latitude, proposal.geometry.longitude) == ("lat", "lng")
    assert set(proposal.chosen.missing_required) == {"name", "address"}


def write_csv(path: Path, header: list[str], rows: list[list[str]],
              encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_headers_from_a_city_not_seen(tmp_path):
    """A Shift_JIS toilet list as no city here writes it: kana and synonym variants,
    headers that contain a spelling, and coordinates named only X/Y."""
    header = ["No", "施設名", "所在地住所", "車イス用トイレ", "だれでもトイレ数", "Ｘ座標",
              "Ｙ座標", "開館時間メモ", "備考欄"]
    rows = [[str(i), f"北公園{i}", f"北市1-{i}", "有" if i % 2 else "無", "1",
             f"{141.35 + i / 1000:.4f}", f"{43.06 + i / 1000:.4f}", "", ""]
            for i in range(1, 21)]
    file = write_csv(tmp_path / "kita-toilets.csv", header, rows, encoding="cp932")
    proposal = propose(file, SCHEMAS)
    assert proposal.chosen.schema == "public-toilets.json"
    assert proposal.dataset_id == "kita-toilets"
    assert mapping(proposal) == {
        "No": ("id", "spelling"),
        "施設名": ("name", "spelling"),
        "所在地住所": ("address", "partial"),
        "車イス用トイレ": ("wheelchair_toilet", "folded"),
        "だれでもトイレ数": ("barrier_free_toilets", "folded"),
        "Ｘ座標": ("longitude", "coordinates"),
        "Ｙ座標": ("latitude", "coordinates"),
        "備考欄": ("notes", "partial"),
    }
    assert proposal.unmapped == ("開館時間メモ",)
    assert proposal.empty_columns == ("開館時間メモ", "備考欄")
    assert proposal.geometry.kind == "latlon" and proposal.geometry.located == 20
    draft = tomllib.loads(proposal.draft)
    assert draft["source"]["encoding"] == "cp932"
    assert draft["columns"]["Ｙ座標"] == "latitude"
    report = draft_report(proposal, file, tmp_path)
    assert report.ok, [i.to_dict() for i in report.errors[:5]]
    assert not [w for w in report.warnings if w.rule == "unknown-column"]


def test_an_english_aed_list_with_a_title_row_in_a_workbook(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "AED"
    sheet.append(["Minami Town AED list (2025)"])
    sheet.append(["ID", "Facility Name", "Address", "Latitude (WGS84)", "Longitude (WGS84)",
                  "Available 24h", "Pediatric pads", "Opening Hours"])
    for i in range(1, 11):
        sheet.append([f"A{i:03}", f"Hall {i}", f"{i} Main St", 33.5 + i / 100, 130.4 + i / 100,
                      "yes", "no", "9:00-17:00"])
    file = tmp_path / "aed_minami.xlsx"
    book.save(file)
    proposal = propose(file, SCHEMAS)
    assert proposal.chosen.schema == "aed-locations.json"
    assert proposal.rows == 10
    assert mapping(proposal)["Latitude (WGS84)"] == ("latitude", "partial")
    assert proposal.geometry.kind == "latlon" and proposal.geometry.located == 10
    assert draft_report(proposal, file, tmp_path).ok


def test_address_only_and_wkt_are_noted(tmp_path):
    rows = [[f"{i}", f"集会所{i}", f"南町{i}", f"POINT ({135.1 + i / 100} {34.6 + i / 100})"]
            for i in range(5)]
    file = write_csv(tmp_path / "halls.csv", ["ID", "名称", "住所", "shape"], rows)
    proposal = propose(file, SCHEMAS)
    assert proposal.geometry.kind == "none"
    assert "'shape' holds WKT" in proposal.geometry.note
    plain = write_csv(tmp_path / "halls2.csv", ["ID", "名称", "住所"], [r[:3] for r in rows])
    noted = propose(plain, SCHEMAS).geometry.note
    assert noted.startswith("address only ('住所')")
    assert "geometry" not in tomllib.loads(propose(plain, SCHEMAS).draft)


def test_no_unique_key_drafts_an_empty_primary_key(tmp_path):
    rows = [["1", "A", "x"], ["1", "B", "y"]]
    file = write_csv(tmp_path / "dup.csv", ["ID", "名称", "住所"], rows)
    proposal = propose(file, SCHEMAS)
    assert tomllib.loads(proposal.draft)["primary_key"] == []
    assert draft_report(proposal, file, tmp_path).ok


def test_feed_schemas_are_never_candidates(tmp_path):
    file = write_csv(tmp_path / "stops.csv", ["stop_id", "stop_name", "stop_lat", "stop_lon"],
                     [["1", "A", "35.0", "135.0"]])
    schemas = {c.schema for c in propose(file, SCHEMAS).candidates}
    assert not any(s.startswith(("gtfs-", "ridership-board", "ridership-periods"))
                   for s in schemas)


def test_unreadable_file_names_file_and_line(tmp_path):
    file = tmp_path / "broken.csv"
    file.write_bytes(b'ID,name\n"1,x\n')
    with pytest.raises(ReadError, match=r"broken\.csv: line 2: a quote .* never closed"):
        propose(file, SCHEMAS)
    with pytest.raises(ProposalError, match=r"schema 'x\.json' is not one of"):
        propose(DATASETS / "yaizu-aed" / "222127_aed.csv", SCHEMAS, schema="x.json")

"""Each demo dataset goes through etl.prepare.prepare() exactly as `hub demo` publishes it.

The expected outcome is pinned: no errors, the row count of SOURCE.md, the physical line of
every record, and only the warnings we chose (schema fields the file has no column for).
Values are checked against the raw file read independently with the csv module, so a
mapping or boolean vocabulary that silently drops or flips data fails here.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

from hub.catalog import DatasetDefinition

prepare_module = pytest.importorskip("etl.prepare")

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
DATASETS = ROOT / "datasets"

# Fields of the (multi-layout) schema that the file has no column for: each is one
# "missing-column" warning and nothing else is allowed. Pinned so that a header that stops
# matching (a synonym removed, a typo in [columns]) shows up as a new warning here.
ADDRESS_PARTS = {"address_prefecture", "address_municipality", "address_town", "address_block",
                 "located_local_government_code", "town_id"}
STRUCTURED_ACCESS = {"step_free_entrance", "entrance_width_cm", "ramp", "lift", "ostomate_toilet",
                     "baby_changing", "assistance_dogs_welcome", "braille_or_audio_guidance",
                     "wheelchair"}
# Optional public-toilets fields only some lists have (Kobe's universal-design list).
TOILET_EXTRAS = {"adult_changing_bench", "area", "public_or_private", "construction"}
EXPECTED_MISSING = {
    "kobe-aed": ADDRESS_PARTS | {
        "local_government_code", "prefecture_name", "municipality_name", "local_government_name",
        "name_kana", "name_en", "address_building", "location", "installation_position", "phone",
        "phone_extension", "corporate_number", "organisation_name", "available_days",
        "opening_time", "closing_time", "available_time_note", "pediatric_pads", "url",
        "image_url", "image_licence", "notes",
    },
    "yaizu-aed": ADDRESS_PARTS | {
        "local_government_name", "name_en", "postal_code", "location", "available_24h",
        "category", "subcategory", "image_url", "image_licence",
    },
    "yaizu-public-toilets": TOILET_EXTRAS | {"prefecture_name", "municipality_name", "location"},
    "takamatsu-public-toilets": ADDRESS_PARTS | TOILET_EXTRAS | {
        "local_government_name", "latitude", "longitude", "altitude_type", "altitude_value",
    },
    "yaizu-public-facilities": ADDRESS_PARTS | {
        "local_government_name", "name_en", "location", "category", "subcategory", "image_url",
        "image_licence",
    },
    "yaizu-tourism": ADDRESS_PARTS | STRUCTURED_ACCESS | {"local_government_name", "location"},
    "yaizu-accessible-shops": STRUCTURED_ACCESS | {
        "local_government_name", "location", "surveyed_date",
    },
}
DATASET_IDS = sorted(EXPECTED_MISSING)

CIRCLE = {"○": True, "〇": True, "": None}  # Yaizu: both look-alike circles; empty = not stated
ARI_NASHI = {"有": True, "無": False}
YAIZU_ACCESS_FLAGS = {
    "車イスでの入店可能": ("wheelchair_entry", CIRCLE),
    "身障者用駐車場有り": ("wheelchair_parking", CIRCLE),
    "車イストイレあり": ("accessible_toilet", CIRCLE),
    "多目的トイレあり": ("multipurpose_toilet", CIRCLE),
    "バリアフリー対応": ("barrier_free", {**ARI_NASHI, "無（各店による）": False}),
}
# source header -> (field, {raw cell: expected value}); every record is checked.
FLAGS = {
    "yaizu-accessible-shops": YAIZU_ACCESS_FLAGS,
    "yaizu-tourism": {**YAIZU_ACCESS_FLAGS, "宿泊施設_温泉": ("hot_spring", {"1": True, "": None})},
    "kobe-aed": {"２４H使用可能": ("available_24h", {"○": True, "": None})},
    "yaizu-aed": {"小児対応設備の有無": ("pediatric_pads", ARI_NASHI)},
    "yaizu-public-toilets": {
        "車椅子使用者用トイレ有無": ("wheelchair_toilet", ARI_NASHI),
        "乳幼児用設備設置トイレ有無": ("baby_facilities", ARI_NASHI),
        "オストメイト設置トイレ有無": ("ostomate_toilet", ARI_NASHI),
    },
    "takamatsu-public-toilets": {
        "wheelchairRestroom": ("wheelchair_toilet", ARI_NASHI),
        "anInfantRestroom": ("baby_facilities", ARI_NASHI),
        "ostomateRestroom": ("ostomate_toilet", ARI_NASHI),
    },
    "yaizu-public-facilities": {},
}
ID_HEADER = {
    "kobe-aed": "管轄入り交付番号", "takamatsu-public-toilets": "identification",
    "yaizu-public-toilets": "ID",
}
POINT = re.compile(r"POINT \((?P<x>\S+) (?P<y>\S+)\)")


@cache
def definition(dataset_id: str) -> DatasetDefinition:
    return DatasetDefinition.load(DATASETS / dataset_id / "dataset.toml", SCHEMAS)


@cache
def prepared(dataset_id: str):
    d = definition(dataset_id)
    return prepare_module.prepare(d, d.directory / d.source["file"])


@cache
def raw(dataset_id: str) -> tuple[list[dict[str, str]], list[int]]:
    """Records of the shipped file as {header: cell}, and the physical line each starts on."""
    d = definition(dataset_id)
    text = (d.directory / d.source["file"]).read_bytes().decode(d.source["encoding"])
    reader = csv.reader(io.StringIO(text, newline=""))
    header_line = int(d.source.get("header_line", 1))
    header: list[str] = []
    records, lines = [], []
    last = 0
    for row in reader:
        start, last = last + 1, reader.line_num
        if start < header_line:
            continue
        if start == header_line:
            header = row
            continue
        if not any(c.strip() for c in row) or row[0].startswith("#"):
            continue
        records.append(dict(zip(header, row, strict=False)))
        lines.append(start)
    return records, lines


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def value(cell):
    return None if cell is pd.NA or cell is None else cell


# Errors the real files genuinely contain, pinned: (source line, column, value, rule).
# Kobe line 1118 (花山地域福祉センター) has its latitude pasted into 経度.
REAL_ERRORS = {"kobe-aed": [(1118, "経度", "34.764776 ", "minimum")]}


@pytest.mark.parametrize("dataset_id", DATASET_IDS)
def test_prepare_accepts_the_file_with_only_the_deliberate_warnings(dataset_id):
    report = prepared(dataset_id).report
    d = definition(dataset_id)
    found = [(e.row, e.column, e.value, e.rule) for e in report.errors]
    assert found == REAL_ERRORS.get(dataset_id, [])
    if found:
        # the demo publishes such files with skip_invalid, dropping exactly those rows
        assert d.source.get("skip_invalid") is True
        skipped = prepare_module.prepare(d, d.directory / d.source["file"],
                                         skip_invalid=True)
        assert skipped.report.rows_skipped == len(found)
        assert len(skipped.frame) == d.source["records"] - len(found)
        return
    assert report.ok and not report.truncated and report.rows_skipped == 0
    assert report.rows_read == d.source["records"]
    assert len(prepared(dataset_id).frame) == d.source["records"]
    assert {(w.rule, w.row, w.column) for w in report.warnings} == {("missing-column", None, None)}
    assert sorted(w.field for w in report.warnings) == sorted(EXPECTED_MISSING[dataset_id])


@pytest.mark.parametrize("dataset_id", DATASET_IDS)
def test_every_record_points_at_its_physical_line(dataset_id):
    records, lines = raw(dataset_id)
    assert len(records) == definition(dataset_id).source["records"]
    assert prepared(dataset_id).source_rows.tolist() == lines


@pytest.mark.parametrize("dataset_id", DATASET_IDS)
def test_ids_are_kept_as_text(dataset_id):
    records, _ = raw(dataset_id)
    header = ID_HEADER.get(dataset_id, "NO")
    assert prepared(dataset_id).frame["id"].tolist() == [r[header] for r in records]


@pytest.mark.parametrize("dataset_id", DATASET_IDS)
def test_points_are_the_file_coordinates(dataset_id):
    records, _ = raw(dataset_id)
    p = prepared(dataset_id)
    for record, wkt in zip(records, p.geometry_wkt.tolist(), strict=True):
        if "location" in record:  # Takamatsu: "lat,lon" in one cell
            lat_text, lon_text = record["location"].split(",")
        else:
            lat_text, lon_text = record["緯度"], record["経度"]
        if not lat_text.strip():
            assert wkt is None
            continue
        point = POINT.fullmatch(wkt)
        assert point, wkt
        assert float(point["x"]) == float(lon_text) and float(point["y"]) == float(lat_text)
    if p.definition.geometry.kind == "latlon":
        expected = [float(r["緯度"]) if r["緯度"].strip() else None for r in records]
        assert [value(v) for v in p.frame["latitude"]] == expected


@pytest.mark.parametrize("dataset_id", DATASET_IDS)
def test_flags_mean_what_the_file_says(dataset_id):
    """Every record: the circle or 有/無 in the file, and an empty cell stays unknown (null),
    never "no"."""
    records, _ = raw(dataset_id)
    frame = prepared(dataset_id).frame
    for header, (field, meaning) in FLAGS[dataset_id].items():
        expected = [meaning[r[header]] for r in records]
        assert [value(v) for v in frame[field]] == expected, header


def flag(cell) -> bool | None:
    return None if cell is pd.NA or cell is None else bool(cell)


def test_yaizu_shop_wheelchair_entry_by_name():
    records, _ = raw("yaizu-accessible-shops")
    frame = prepared("yaizu-accessible-shops").frame.set_index("name")
    by_name = {nfkc(r["名称"]): r for r in records}
    assert by_name["焼津さかなセンター"]["車イスでの入店可能"] == "○"
    assert flag(frame.loc["焼津さかなセンター", "wheelchair_entry"]) is True
    assert by_name["いちまる商店"]["車イスでの入店可能"] == "〇"  # the other circle (U+3007)
    assert flag(frame.loc["いちまる商店", "wheelchair_entry"]) is True
    shop = nfkc("（株）川直　工場直売店")
    assert by_name[shop]["車イスでの入店可能"] == ""
    assert flag(frame.loc[shop, "wheelchair_entry"]) is None  # not stated, not "no"
    assert by_name["焼津みそまん学会"]["バリアフリー対応"] == "無（各店による）"
    assert flag(frame.loc["焼津みそまん学会", "barrier_free"]) is False
    notes = by_name["焼津さかなセンター"]["バリアフリー詳細情報_他_備考"]
    assert frame.loc["焼津さかなセンター", "accessibility_notes"] == nfkc(notes)


def test_kobe_aed_coordinates_and_multiline_name():
    records, lines = raw("kobe-aed")
    p = prepared("kobe-aed")
    frame = p.frame.set_index("id")
    sumiyoshi = next(r for r in records if r["管轄入り交付番号"] == "01東灘2")
    assert sumiyoshi["緯度"] == "34.719504 " and sumiyoshi["経度"] == "135.262343 "
    assert frame.loc["01東灘2", "latitude"] == 34.719504
    assert frame.loc["01東灘2", "longitude"] == 135.262343
    assert frame.loc["01東灘2", "address"] == "神戸市東灘区住吉本町1-2"
    assert frame.loc["01東灘2", "category"] == "公共交通機関"
    assert frame.loc["01東灘2", "subcategory"] == "駅"
    airport = p.frame.index[p.frame["id"] == "10水上33"][0]
    assert p.geometry_wkt[airport] is None  # empty 緯度/経度 in the file
    water = next(i for i, r in enumerate(records) if r["管轄入り交付番号"] == "10水上64")
    assert "\n" in records[water]["施設名称"]
    assert frame.loc["10水上64", "name"] == nfkc(records[water]["施設名称"])
    assert p.source_rows[water] == lines[water] == 1923


def test_takamatsu_combined_location_and_24h_closing():
    records, _ = raw("takamatsu-public-toilets")
    p = prepared("takamatsu-public-toilets")
    first = records[0]
    assert first["location"] == "34.34551,134.05267" and first["endTime"] == "24:00"
    row = p.frame.iloc[0]
    assert row["location"] == "34.34551,134.05267"
    assert p.geometry_wkt[0] == "POINT (134.05267 34.34551)"
    assert row["closing_time"] == "24:00"  # end of the day: HH:MM text, not a time of day
    assert row["opening_time"] == "00:00"  # the same format as closing times
    assert row["local_government_code"] == "37201"
    assert p.frame["image_licence"].isna().all()  # the iamgeLicense column, empty in the file


def test_yaizu_aed_keeps_padded_ids_and_normalises_width():
    records, _ = raw("yaizu-aed")
    frame = prepared("yaizu-aed").frame
    assert records[0]["NO"] == "0000000001" and records[0]["設置位置"] == "２階正面入口"
    assert frame.loc[0, "id"] == "0000000001"
    assert frame.loc[0, "installation_position"] == "2階正面入口"


def test_yaizu_tourism_hotel_flags():
    frame = prepared("yaizu-tourism").frame.set_index("id")
    hotel = frame.loc["2026000111"]  # 亀の井ホテル焼津, with the "no multipurpose toilet" note
    assert hotel["name"] == "亀の井ホテル焼津"
    assert flag(hotel["multipurpose_toilet"]) is None
    assert flag(hotel["accessible_toilet"]) is True

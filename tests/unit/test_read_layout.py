"""Reading a sheet made for printing, as cities publish them: a legend above the header, a
blank margin column, a header merged over two columns, section rows between the records and
symbols for flags. The reader's general rules on small files written here, then the
dataset.toml declarations ([read] section_rows, [values.<field>], a [columns] list) through
etl.prepare, and the real Kobe sheet record by record against openpyxl."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from etl.prepare import prepare
from etl.read import read_table
from hub.catalog import DatasetDefinition, DefinitionError

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
KOBE = ROOT / "datasets" / "kobe-ud-toilets"
KNOWN = {"番号", "施設名", "所在地", "緯度", "経度"}


def known(cell: str) -> bool:
    return cell.replace("\u3000", "") in KNOWN


def printed_sheet(path: Path, *, symbol: str = "◎") -> Path:
    """A Kobe-like sheet: blank column A, a legend merged over C2:F2, the header in row 3
    with 施設名 merged over C3:D3, section rows 4 and 7, records in between."""
    book = openpyxl.Workbook()
    sheet = book.active
    rows = [
        [],
        [None, None, "◎大型多目的シートを設置 ○ベビーシートを設置"],
        [None, "番号", "施　設　名", None, "所在地", "緯度", "経度"],
        [None, None, "都心地域"],
        [None, 1, symbol, "市役所", "中央区加納町6-5-1", 34.6894, 135.195739],
        [None, 2, "○", "さんちか", "中央区三宮町1-10-1", 34.693265, 135.193879],
        [None, "公共交通機関"],
        [None, 3, "○", "新神戸駅", "中央区", 34.704828, 135.195726],
    ]
    for row in rows:
        sheet.append(row)
    sheet.merge_cells("C2:F2")
    sheet.merge_cells("C3:D3")
    sheet.merge_cells("C4:D4")
    sheet.merge_cells("B7:D7")
    book.save(path)
    return path


# --- the reader's rules --------------------------------------------------------------------------


def test_the_header_is_the_row_naming_the_most_fields(tmp_path: Path) -> None:
    """A legend row as wide as the header is skipped only by knowing the header names."""
    path = tmp_path / "legend.csv"
    path.write_text("凡例,◎=大型シート,○=ベビーシート\n番号,施設名,所在地\n1,市役所,中央区\n",
                    encoding="utf-8")
    assert read_table(path).headers == ["凡例", "◎=大型シート", "○=ベビーシート"]
    table = read_table(path, known_header=known)
    assert table.headers == ["番号", "施設名", "所在地"]
    assert table.source_rows.tolist() == [3]


def test_one_known_name_is_not_enough_to_be_the_header(tmp_path: Path) -> None:
    path = tmp_path / "title.csv"
    path.write_text("施設名\n番号,名前,住まい\n1,市役所,中央区\n", encoding="utf-8")
    assert read_table(path, known_header=known).headers == ["番号", "名前", "住まい"]


def test_a_printed_sheet_is_read_as_its_table(tmp_path: Path) -> None:
    table = read_table(printed_sheet(tmp_path / "sheet.xlsx"), known_header=known,
                       section_rows=True)
    # blank column A dropped; the merged 施設名 names both of its columns
    assert table.headers == ["番号", "施　設　名", "施　設　名_2", "所在地", "緯度", "経度"]
    assert table.repeated_headers == {}  # one header over two columns, not a duplicate
    assert table.frame["施　設　名_2"].tolist() == ["市役所", "さんちか", "新神戸駅"]
    assert table.source_rows.tolist() == [5, 6, 8]
    assert table.section_rows == [(4, "都心地域"), (7, "公共交通機関")]
    assert table.sections is not None
    assert table.sections.tolist() == ["都心地域", "都心地域", "公共交通機関"]


def test_section_rows_are_records_unless_declared(tmp_path: Path) -> None:
    table = read_table(printed_sheet(tmp_path / "sheet.xlsx"), known_header=known)
    assert table.source_rows.tolist() == [4, 5, 6, 7, 8]
    assert table.sections is None and table.section_rows == []


def test_a_blank_leading_csv_column_is_margin(tmp_path: Path) -> None:
    path = tmp_path / "margin.csv"
    path.write_text(",番号,施設名\n,1,市役所\n,2,さんちか\n", encoding="utf-8")
    table = read_table(path)
    assert table.headers == ["番号", "施設名"]
    assert table.frame["番号"].tolist() == ["1", "2"]


# --- dataset.toml declarations through prepare ---------------------------------------------------

TOML = """
id = "sheet-toilets"
schema = "public-toilets.json"
organisation = "神戸市 (Kobe City)"
[licence]
id = "NOASSERTION"
[title]
ja = "トイレ"
[geometry]
kind = "latlon"
latitude = "latitude"
longitude = "longitude"
[columns]
"施設名" = ["adult_changing_bench", "baby_facilities"]
"施設名_2" = "name"
{read}
[values.adult_changing_bench]
"◎" = true
"○" = false
[values.baby_facilities]
"○" = true
"◎" = ""
"""


def definition(tmp_path: Path, read: str = '[read]\nsection_rows = "area"',
               text: str = TOML) -> DatasetDefinition:
    path = tmp_path / "dataset.toml"
    path.write_text(text.replace("{read}", read), encoding="utf-8")
    return DatasetDefinition.load(path, SCHEMAS)


def test_sections_fill_their_field_and_symbols_become_flags(tmp_path: Path) -> None:
    prepared = prepare(definition(tmp_path), printed_sheet(tmp_path / "sheet.xlsx"))
    report = prepared.report
    assert report.ok, report.errors
    notes = [(i.row, i.value, i.rule, i.field) for i in report.notes]
    assert notes == [(4, "都心地域", "section-row", "area"),
                     (7, "公共交通機関", "section-row", "area")]
    frame = prepared.frame
    assert frame["name"].tolist() == ["市役所", "さんちか", "新神戸駅"]
    assert frame["area"].tolist() == ["都心地域", "都心地域", "公共交通機関"]
    assert frame["adult_changing_bench"].tolist() == [True, False, False]
    # ◎ says nothing about a baby seat: unknown, not false
    assert [None if v is pd.NA else v for v in frame["baby_facilities"]] == [None, True, True]
    assert prepared.source_rows.tolist() == [5, 6, 8]


def test_section_rows_may_just_be_dropped(tmp_path: Path) -> None:
    prepared = prepare(definition(tmp_path, '[read]\nsection_rows = "drop"'),
                       printed_sheet(tmp_path / "sheet.xlsx"))
    assert [i.row for i in prepared.report.notes] == [4, 7]
    assert prepared.frame["area"].isna().all()
    assert len(prepared.frame) == 3


def test_a_symbol_the_map_does_not_list_is_an_error_naming_row_and_column(tmp_path: Path
                                                                         ) -> None:
    prepared = prepare(definition(tmp_path), printed_sheet(tmp_path / "sheet.xlsx", symbol="△"))
    errors = {(e.row, e.column, e.field, e.value, e.rule) for e in prepared.report.errors}
    assert errors == {(5, "施　設　名", "adult_changing_bench", "△", "value-map"),
                      (5, "施　設　名", "baby_facilities", "△", "value-map")}
    assert all(f"[values.{e.field}]" in e.message for e in prepared.report.errors)


@pytest.mark.parametrize(("read", "values", "message"), [
    ('[read]\nsection_rows = "latitude"', "", "must be a string field"),
    ('[read]\nsection_rows = "nope"', "", "section_rows must be"),
    ("[read]\nsections = true", "", "unknown keys"),
    ("", '[values.name]\n"x" = true\n', "true/false only for boolean fields"),
    ("", '[values.nope]\n"x" = "y"\n', "names no field"),
])
def test_bad_declarations_are_refused_when_the_definition_is_loaded(
        tmp_path: Path, read: str, values: str, message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        definition(tmp_path, read, TOML + values)


# --- the real Kobe sheet, record by record --------------------------------------------------------


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def test_kobe_sheet_every_record_as_openpyxl_reads_it() -> None:
    """Independent oracle: openpyxl's rows; a record is a row whose 番号 (column B) is a
    number, a section row a row with one filled cell; the legend ranks ◎ above ○."""
    definition_ = DatasetDefinition.load(KOBE / "dataset.toml", SCHEMAS)
    prepared = prepare(definition_, KOBE / "UDseibisisetu.xlsx")
    assert prepared.report.ok
    sheet = openpyxl.load_workbook(KOBE / "UDseibisisetu.xlsx")["Sheet1"]
    expected, area = [], None
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        filled = [c for c in row if c not in (None, "")]
        if number > 3 and len(filled) == 1:
            area = filled[0]
        elif isinstance(row[1], int):
            expected.append((number, str(row[1]), nfkc(row[3]), area, row[2] == "◎",
                             True if row[2] == "○" else None, row[4], row[6], row[7], row[8]))
    frame = prepared.frame
    got = [(int(line), r.id, r.name, r.area, bool(r.adult_changing_bench),
            None if r.baby_facilities is pd.NA else bool(r.baby_facilities),
            r.public_or_private, r.construction, r.latitude, r.longitude)
           for line, r in zip(prepared.source_rows, frame.itertuples(), strict=True)]
    assert got == expected
    assert len(got) == 92 and {row[3] for row in got} == {"都心地域", "都心地域外", "公共交通機関"}

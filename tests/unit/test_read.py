"""etl.read: encodings, delimiters, preambles, title rows, multi-line cells and source lines,
on the real municipal files in ../shared/data and on small files written here."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from etl.read import RawTable, ReadError, detect_encoding, read_table, sniff_delimiter

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data not available: {path}")
    return path


def csv_module_record_lines(path: Path, encoding: str) -> list[int]:
    """Independent oracle: the line on which each record starts, by the csv module."""
    text = path.read_bytes().decode(encoding)
    reader = csv.reader(io.StringIO(text, newline=""))
    starts, consumed = [], 0
    for _ in reader:
        starts.append(consumed + 1)
        consumed = reader.line_num
    return starts


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def assert_all_text(table: RawTable) -> None:
    assert all(dtype == np.dtype(object) for dtype in table.frame.dtypes)
    for column in table.frame.columns:
        assert all(isinstance(v, str) for v in table.frame[column])
    assert table.source_rows.dtype == np.int64
    assert len(table.source_rows) == len(table.frame)


# --- the real files ------------------------------------------------------------------------------


def test_kobe_aed_cp932_with_multiline_cells_and_trailing_empty_column() -> None:
    path = shared("kobe-aed-sjis", "aed_kobe_20141128-sjis.csv")
    table = read_table(path)
    assert table.encoding == "cp932"
    assert table.delimiter == ","
    assert table.source_name == "aed_kobe_20141128-sjis.csv"
    assert table.source_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert table.headers == [
        "交付番号", "管轄", "管轄入り交付番号", "施設名称", "郵便番号", "設置場所住所",
        "大カテゴリ", "小カテゴリ", "緯度", "経度", "２４H使用可能",
    ]  # the 12th, empty header (trailing comma) is dropped: it is empty in every row
    assert len(table.frame) == 1935
    assert table.preamble == {}
    assert_all_text(table)
    assert table.source_rows[0] == 2
    assert table.source_rows[-1] == 1938  # 1,938 physical lines
    # the first multi-line record (a bare LF inside 施設名称) starts on line 1279 ...
    ids = table.frame["管轄入り交付番号"]
    first = int(np.flatnonzero(ids == "07須磨21")[0])
    assert table.source_rows[first] == 1279
    assert "\n" in table.frame["施設名称"].iloc[first]
    # ... so the record after it starts on 1281, not 1280
    assert ids.iloc[first + 1] == "07須磨22"
    assert table.source_rows[first + 1] == 1281
    assert table.source_rows.tolist() == csv_module_record_lines(path, "cp932")[1:]
    # values are untouched text: trailing spaces stay (nfkc trims them later)
    assert table.frame["緯度"].iloc[0] == "34.719504 "
    airport = int(np.flatnonzero(table.frame["施設名称"] == "神戸新交通 神戸空港駅")[0])
    assert table.frame["緯度"].iloc[airport] == ""
    assert table.source_rows[airport] == 1902


@pytest.mark.parametrize(
    ("name", "records", "first_line", "last_line"),
    [("0065.csv", 167, 10, 176), ("0079.csv", 33, 10, 45), ("0081.csv", 943, 10, None)],
)
def test_takamatsu_preamble_bom_and_multiline(
    name: str, records: int, first_line: int, last_line: int | None
) -> None:
    path = shared("takamatsu-city", name)
    table = read_table(path)
    assert table.encoding == "utf-8-sig"
    assert len(table.frame) == records
    assert table.headers[0] == "#property"  # the real header is the `#property` line
    assert table.preamble["license"] == "http://creativecommons.org/licenses/by/3.0/deed.ja"
    assert table.preamble["attribution_name"] == "高松市"
    assert table.preamble["file_name"] == name.removesuffix(".csv")
    assert table.preamble["LINK"] == ""
    # the metadata lines after the header are preamble too, not data
    assert table.preamble["object_type_xsd"].startswith("string,string")
    assert set(table.preamble["property_context"].split(",")) == {"Assertion"}
    assert table.frame["#property"].iloc[0] == "1"
    assert table.source_rows[0] == first_line
    assert_all_text(table)
    oracle = csv_module_record_lines(path, "utf-8-sig")
    assert table.source_rows.tolist() == oracle[-records:]
    if last_line is not None:
        assert table.source_rows[-1] == last_line


def test_takamatsu_0081_multiline_events_line_numbers() -> None:
    table = read_table(shared("takamatsu-city", "0081.csv"))
    assert len(table.frame) == 943
    spans = np.diff(table.source_rows)
    assert spans.min() >= 1 and spans.max() > 1  # multi-line overviews push records down
    assert "\r\n" in "".join(table.frame["overview"])  # CRLF inside cells is kept as written
    assert table.frame["startDate"].iloc[0].count("/") == 2  # US-style 5/16/2020, as text


def test_takamatsu_0079_location_and_wareki_are_plain_text() -> None:
    table = read_table(shared("takamatsu-city", "0079.csv"))
    first = table.frame.iloc[0]
    assert first["location"] == "34.340613,134.052601"
    assert first["fiscalYearStartDay"] == "S47.4.1"


def test_minato_title_row_above_header() -> None:
    table = read_table(shared("minato-ward-hoikuen", "13103hoikuen201612.csv"))
    assert table.encoding == "utf-8"
    assert table.headers[:3] == ["施設種別", "地区", "保育園名"]
    assert len(table.headers) == 16
    assert len(table.frame) == 66
    assert table.source_rows[0] == 3  # title on line 1, header on line 2
    assert table.preamble == {}


def test_minato_header_row_override() -> None:
    table = read_table(shared("minato-ward-hoikuen", "13103hoikuen201612.csv"), header_row=2)
    assert table.headers[0] == "施設種別" and len(table.frame) == 66


def test_yaizu_cp932_with_nec_characters() -> None:
    path = shared("yaizu-city", "yohairyosya.csv")
    table = read_table(path)
    assert table.encoding == "cp932"  # strict shift_jis fails on № (0x8782)
    assert table.headers[0] == "№"
    assert len(table.frame) == 277
    assert table.frame["地域防災計画分類"].str.startswith("①").any()
    assert table.source_rows.tolist() == csv_module_record_lines(path, "cp932")[1:]


def test_yaizu_trailing_empty_header_kept_when_a_row_uses_it() -> None:
    table = read_table(shared("yaizu-city", "222127_tourism.csv"))
    assert len(table.frame) == 205
    assert table.headers[-1] == "col_50"
    assert table.frame["col_50"].ne("").sum() == 1


def test_fully_quoted_shift_jis() -> None:
    table = read_table(shared("code4fukui-localgovjp", "localgovjp-sjis.csv"))
    assert table.headers == [
        "pid", "pref", "cid", "city", "citykana", "lat", "lng", "url", "phrase",
    ]
    assert len(table.frame) == 1916
    shibuya = table.frame[table.frame["cid"] == "13113"].iloc[0]
    assert shibuya["lat"] == "35.66388889"


def test_xlsx_sheet_rows_and_cell_text() -> None:
    table = read_table(shared("takamatsu-city", "data.xlsx"))
    assert table.encoding == "xlsx"
    assert table.delimiter is None
    assert len(table.frame) == 15
    assert table.headers[:3] == ["#property", "latitude", "longitude"]
    assert table.source_rows.tolist() == list(range(2, 17))
    assert_all_text(table)
    totals = table.frame["totalWeekdaysAverage"]
    assert totals.str.fullmatch(r"[0-9]+").all()  # numbers without a spurious ".0"
    assert float(table.frame["latitude"].iloc[0]) == pytest.approx(34.3466, abs=1e-3)


# --- encodings -----------------------------------------------------------------------------------


def test_utf8_bom_is_detected_and_stripped(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.csv", "\ufeff名称,値\nあ,1\n".encode())
    table = read_table(path)
    assert table.encoding == "utf-8-sig"
    assert table.headers == ["名称", "値"]
    assert table.frame.to_dict("records") == [{"名称": "あ", "値": "1"}]


def test_euc_jp_is_detected(tmp_path: Path) -> None:
    text = "施設名,住所,区分\n" + "".join(
        f"テスト保育園{i},東京都港区芝公園{i}丁目,認可保育所\n" for i in range(1, 30)
    )
    table = read_table(write(tmp_path, "euc.csv", text.encode("euc_jp")))
    assert table.encoding == "euc_jp"
    assert table.frame["施設名"].iloc[0] == "テスト保育園1"


def test_cp932_is_preferred_for_shift_jis(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "sjis.csv", "名称,番号\n①号館,１\n".encode("cp932")))
    assert table.encoding == "cp932"
    assert table.frame["名称"].iloc[0] == "①号館"
    assert table.frame["番号"].iloc[0] == "１"  # no normalisation at read time


def test_wrong_encoding_override_names_byte_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "sjis.csv", "a,b\n1,2\n名前,3\n".encode("cp932"))
    with pytest.raises(ReadError) as caught:
        read_table(path, encoding="utf-8")
    message = str(caught.value)
    assert message.startswith("sjis.csv: not valid utf-8")
    assert "offset 8" in message and "(line 3)" in message
    assert isinstance(caught.value, ValueError)


def test_broken_utf8_after_bom_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match=r"BOM but is not UTF-8.*line 2"):
        read_table(write(tmp_path, "x.csv", b"\xef\xbb\xbfa,b\n\x82\xa0,1\n"))


def test_unknown_encoding_override(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="unknown encoding"):
        read_table(write(tmp_path, "x.csv", b"a\n1\n"), encoding="no-such-codec")


def test_detect_encoding_plain_ascii_is_utf8() -> None:
    assert detect_encoding(b"a,b\n1,2\n", "x.csv") == "utf-8"


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="cannot open"):
        read_table(tmp_path / "absent.csv")
    with pytest.raises(ReadError, match="empty"):
        read_table(write(tmp_path, "empty.csv", b""))


# --- layout --------------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", ["\t", ";", "|"])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    text = delimiter.join(["名称", "住所", "値"]) + "\n" + delimiter.join(["a,b", "c", "1"]) + "\n"
    table = read_table(write(tmp_path, "t.txt", text.encode()))
    assert table.delimiter == delimiter
    assert table.frame.iloc[0].tolist() == ["a,b", "c", "1"]


def test_delimiter_override(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "t.csv", b"a;b,c\n1;2,3\n"), delimiter=",")
    assert table.headers == ["a;b", "c"]


def test_sniff_ignores_quoted_commas() -> None:
    assert sniff_delimiter('"a,b,c"\t"d,e"\tf\n"1,2"\t3\t4\n') == "\t"
    assert sniff_delimiter("only one column\n1\n") == ","


def test_line_ends_quotes_and_no_final_newline(tmp_path: Path) -> None:
    data = b'"id","name","note"\r\n"1","a","x"\n"2","b","multi\r\nline\nnote"\r\n"3","c",""'
    table = read_table(write(tmp_path, "mixed.csv", data))
    assert table.frame["name"].tolist() == ["a", "b", "c"]
    assert table.frame["note"].tolist() == ["x", "multi\r\nline\nnote", ""]
    assert table.source_rows.tolist() == [2, 3, 6]


def test_blank_records_are_dropped_but_counted(tmp_path: Path) -> None:
    data = b"a,b\n1,2\n\n,\n  , \n3,4\n\n"
    table = read_table(write(tmp_path, "blank.csv", data))
    assert table.frame.to_dict("records") == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]
    assert table.source_rows.tolist() == [2, 6]


def test_classic_mac_line_ends(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "mac.csv", b"a,b\r1,2\r3,4"))
    assert table.frame["b"].tolist() == ["2", "4"]
    assert table.source_rows.tolist() == [2, 3]


def test_header_names_are_trimmed_and_made_unique(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "h.csv", " 名称 ,,名称,x,\n1,2,3,4,\n5,,7,8,\n".encode()))
    assert table.headers == ["名称", "col_2", "名称_3", "x"]  # the empty trailing one is dropped
    assert table.repeated_headers == {"名称_3": "名称"}  # reported under the name as written


def test_ragged_records(tmp_path: Path) -> None:
    data = b"a,b,c\n1,2\n3,4,5,6\n7,8,9,,\n"
    table = read_table(write(tmp_path, "r.csv", data))
    assert table.headers == ["a", "b", "c", "col_4"]  # an extra cell with data is kept
    assert table.frame.iloc[0].tolist() == ["1", "2", "", ""]
    assert table.frame.iloc[1].tolist() == ["3", "4", "5", "6"]
    assert table.source_rows.tolist() == [2, 3, 4]


def test_values_stay_text(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "v.csv", b"code,flag,n\n007,NA,1.50\n,null,1e3\n"))
    assert table.frame.to_dict("records") == [
        {"code": "007", "flag": "NA", "n": "1.50"},
        {"code": "", "flag": "null", "n": "1e3"},
    ]


def test_hash_preamble_without_property_line(tmp_path: Path) -> None:
    data = "#title,テスト\n#version,2\n名称,値\nあ,1\n".encode()
    table = read_table(write(tmp_path, "p.csv", data))
    assert table.preamble == {"title": "テスト", "version": "2"}
    assert table.headers == ["名称", "値"]
    assert table.source_rows.tolist() == [4]


def test_header_only_file(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "h.csv", b"a,b\r\n"))
    assert table.headers == ["a", "b"] and len(table.frame) == 0
    assert table.source_rows.tolist() == []


def test_unterminated_quote_is_a_read_error(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match=r"bad\.csv: line 2: a quote .* never closed"):
        read_table(write(tmp_path, "bad.csv", b'a,b\n1,"open\n2,3\n'))


def test_bad_header_row_override(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="header_row 9"):
        read_table(write(tmp_path, "x.csv", b"a,b\n1,2\n"), header_row=9)


# --- XLSX ----------------------------------------------------------------------------------------


def test_xlsx_values_become_text(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "一覧"
    sheet.append(["施設一覧 2024"])
    sheet.append(["名称", "開設日", "更新", "定員", "面積", "可", "開始"])
    sheet.append(["A館", dt.date(2020, 4, 1), dt.datetime(2021, 5, 6, 7, 8, 9), 30, 12.5, True,
                  dt.time(9, 30)])
    sheet.append([None, None, None, None, None, None, None])
    sheet.append(["B館", dt.datetime(2019, 5, 1), None, 40.0, None, False, None])
    path = tmp_path / "book.xlsx"
    book.save(path)
    table = read_table(path)
    assert table.headers == ["名称", "開設日", "更新", "定員", "面積", "可", "開始"]
    assert table.frame.to_dict("records") == [
        {"名称": "A館", "開設日": "2020-04-01", "更新": "2021-05-06T07:08:09", "定員": "30",
         "面積": "12.5", "可": "true", "開始": "09:30:00"},
        {"名称": "B館", "開設日": "2019-05-01", "更新": "", "定員": "40", "面積": "",
         "可": "false", "開始": ""},
    ]
    assert table.source_rows.tolist() == [3, 5]
    assert read_table(path, sheet="一覧").headers == table.headers
    with pytest.raises(ReadError, match="no sheet"):
        read_table(path, sheet="missing")


# --- compact (Arrow) reading gives the same table ------------------------------------------------

COMPACT_CASES = {
    "plain": b"a,b,c\n1,2,3\n4,5,6\n",
    "quotes and line breaks": b'a,b\n"x, ""y""","line\none"\n"",z\r\n3,"4\r\n5"\n',
    "no final newline": b"a,b\n1,2\n3,4",
    "blank lines": b"a,b\n1,2\n\n,\n3,4\n\n",
    "ragged": b"a,b,c\n1,2\n3,4,5,6\n7,8,9\n",
    "text after a closing quote": b'a,b\n"ab"c,d\n"e"  ,f\n',
    "header only": b"a,b\r\n",
    "cp932": "名称,番号\n①号館,１\n\"髙島屋,本店\",２\n".encode("cp932"),
    "bom and tabs": b"\xef\xbb\xbfa\tb\n1\t2\n",
    "unicode line separators": "a,b\nx\u2028y,z\u0085w\n".encode(),
}


@pytest.mark.parametrize("case", sorted(COMPACT_CASES))
def test_compact_read_matches_the_object_read(tmp_path: Path, case: str) -> None:
    path = write(tmp_path, "c.csv", COMPACT_CASES[case])
    plain, compact = read_table(path), read_table(path, compact=True)
    assert compact.headers == plain.headers
    assert compact.source_rows.tolist() == plain.source_rows.tolist()
    assert compact.frame.shape == plain.frame.shape
    for column in plain.frame.columns:
        assert (compact.frame[column].to_numpy(dtype=object).tolist()
                == plain.frame[column].to_numpy(dtype=object).tolist()), column


@pytest.mark.parametrize("parts", [("kobe-aed-sjis", "aed_kobe_20141128-sjis.csv"),
                                   ("takamatsu-city", "0081.csv"),
                                   ("minato-ward-hoikuen", "13103hoikuen201612.csv"),
                                   ("yaizu-city", "222127_tourism.csv"),
                                   ("code4fukui-localgovjp", "localgovjp-sjis.csv")])
def test_compact_read_of_real_files(parts: tuple[str, ...]) -> None:
    path = shared(*parts)
    plain, compact = read_table(path), read_table(path, compact=True)
    assert compact.headers == plain.headers
    assert compact.source_rows.tolist() == plain.source_rows.tolist()
    for column in plain.frame.columns:
        assert (compact.frame[column].to_numpy(dtype=object).tolist()
                == plain.frame[column].to_numpy(dtype=object).tolist()), column


def test_whitespace_is_what_python_calls_whitespace() -> None:
    from etl.normalise import WHITESPACE

    assert set(WHITESPACE) == {chr(c) for c in range(0x110000) if chr(c).isspace()}


def test_blank_records_are_found_alike_in_arrow_and_object_columns() -> None:
    """A record is blank when every cell is empty or whitespace (``str.isspace``), whether
    the cells are Arrow strings (the CSV reader's) or Python objects (spreadsheets)."""
    import pyarrow as pa

    from etl.read import _filled_rows

    cells = ["", " ", "\u3000", "\t\r\n", "\x1c\x85\xa0", "\u200b", "a", " a ", "\u2028",
             "\ufeff", "\u180e", "-"]
    rows = [(a, b) for a in cells for b in cells]
    objects = pd.DataFrame({"x": [a for a, _ in rows], "y": [b for _, b in rows]},
                           dtype=object)
    arrow = pd.DataFrame({name: pd.Series(pd.arrays.ArrowStringArray(
        pa.array(objects[name].tolist(), pa.large_string()))) for name in ("x", "y")})
    expected = [not (a.strip() == "" and b.strip() == "") for a, b in rows]
    assert _filled_rows(objects).tolist() == expected
    assert _filled_rows(arrow).tolist() == expected
    assert expected.count(False) == 36  # six blank spellings, in both columns


def test_utf8_is_checked_as_pythons_strict_decoder_checks_it() -> None:
    """Arrow's check (used for speed) accepts exactly what Python's decoder accepts: every
    one- and two-byte sequence, three-byte sequences around the surrogates and overlong
    forms, four-byte sequences past U+10FFFF, and random mixes of lead and continuation
    bytes."""
    import itertools
    import random

    from etl.read import _valid_utf8

    def decodes(data: bytes) -> bool:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True

    cases = [bytes(t) for n in (1, 2) for t in itertools.product(range(256), repeat=n)]
    cases += [bytes([a, b, c]) for a in range(0xE0, 0xF0) for b in range(0x70, 0xD0)
              for c in (0x80, 0xBF, 0x41)]
    cases += [bytes([a, b, 0x80, 0xBF]) for a in range(0xF0, 0x100) for b in range(0x70, 0xD0)]
    rng = random.Random(1)
    pieces = [0x41, 0x0A, 0x00, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xE0, 0xE3,
              0xED, 0xEF, 0xF0, 0xF4, 0xF5]
    cases += [bytes(rng.choice(pieces) for _ in range(rng.randint(1, 10))) for _ in range(20000)]
    cases += ["日本語テキスト\n".encode() * 3, "\ufeffＢＯＭ".encode(), "😀".encode(), b""]
    assert [_valid_utf8(c) for c in cases] == [decodes(c) for c in cases]
    assert detect_encoding("施設".encode("cp932"), "x.csv") == "cp932"

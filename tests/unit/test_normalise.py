"""etl.normalise: every parser on the spellings Japanese municipal files really use."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from pyproj import Transformer

from etl import normalise as norm
from hub.catalog import TableSchema


def series(*values: object) -> pd.Series:
    return pd.Series(list(values), dtype=object)


def parsed(result: tuple[pd.Series, pd.Series]) -> list[object]:
    """Values with invalid cells shown as the string "INVALID" and missing as None."""
    values, invalid = result
    out: list[object] = []
    for value, bad in zip(values.tolist(), invalid.tolist(), strict=True):
        if bad:
            assert value is None or value is pd.NA
            out.append("INVALID")
        else:
            out.append(None if value is None or value is pd.NA else value)
    return out


# --- text ----------------------------------------------------------------------------------------


def test_nfkc_folds_width_and_trims() -> None:
    result = norm.nfkc(
        series(" ３５．６ ", "ＮＫビル３Ｆ", "", "a\u3000b", "\u3000全角空白\u3000", "ｶﾀｶﾅ")
    )
    assert result.tolist() == ["35.6", "NKビル3F", "", "a b", "全角空白", "カタカナ"]
    assert result.dtype == object


def test_nfkc_clean_column_is_unchanged_and_missing_becomes_empty() -> None:
    assert norm.nfkc(series("abc", "名前")).tolist() == ["abc", "名前"]
    assert norm.nfkc(series("a ", None, float("nan"))).tolist() == ["a", "", ""]
    assert norm.nfkc(series()).tolist() == []


def test_nfkc_cell_containing_nul_is_still_normalised() -> None:
    assert norm.nfkc(series("ａ\x00ｂ ", "Ｃ")).tolist() == ["a\x00b", "C"]


TRICKY_CELLS = (
    " ３５．６ ", "ＮＫビル３Ｆ", "", "a\u3000b", "\u3000全角空白\u3000", "ｶﾀｶﾅ", "ｶﾞｷﾞ",
    "か\u3099", "e\u0301", "①②", "㈱渋谷", "㍻3年", "ﾃﾞｰﾀ\t", "\x1c\x1dx\x1e\x1f", "\x85y\xa0",
    "\u2028z\u2029", "\u1680w\u202f", "ﬁ", "Å", "ア\x00イ", "😀 絵文字", "\u200bzero", "  ",
)


def test_nfkc_arrow_gives_what_the_python_path_gives() -> None:
    """The Arrow (utf8proc) path used for CSV columns and the Python path used for other
    sources agree cell for cell: composition, compatibility forms, every whitespace kind
    Python's strip removes (and the zero-width space it keeps), NUL and missing cells."""
    import pyarrow as pa

    python = norm.nfkc(series(*TRICKY_CELLS, None)).tolist()
    column = pd.Series(pd.arrays.ArrowStringArray(pa.array([*TRICKY_CELLS, None],
                                                           pa.large_string())))
    cells = norm.arrow_strings(column)
    assert cells is not None
    assert norm.nfkc_arrow(cells, column.index).tolist() == python
    assert python[:3] == ["35.6", "NKビル3F", ""]


def test_arrow_strings_is_none_for_object_columns() -> None:
    assert norm.arrow_strings(series("a", "b")) is None


def test_search_text_joins_lowercases_and_skips_empty_fields() -> None:
    frame = pd.DataFrame(
        {"a": ["ＡＢＣ", None, "x", None], "b": ["Ｄ", "e", "", None], "c": [None, "F", "Y", None]}
    )
    assert norm.search_text(frame, ["a", "b", "c"]).tolist() == ["abc d", "e f", "x y", ""]
    assert norm.search_text(frame, []).tolist() == ["", "", "", ""]


# --- headers -------------------------------------------------------------------------------------


def schema() -> TableSchema:
    return TableSchema.from_json(
        {
            "fields": [
                {
                    "name": "latitude",
                    "type": "number",
                    "title": "Latitude",
                    "title_ja": "緯度",
                    "synonyms": ["lat", "Y座標"],
                },
                {"name": "available_24h", "type": "boolean", "title_ja": "24H使用可能"},
                {
                    "name": "address",
                    "type": "string",
                    "title": "Address",
                    "title_ja": "住所",
                    "synonyms": ["所在地"],
                },
                {"name": "name_kana", "type": "string", "title_ja": "名称_カナ"},
                {"name": "fee", "type": "string", "title_ja": "料金(基本)"},
            ]
        }
    )


def test_match_headers_by_title_synonym_width_case_and_spacing() -> None:
    headers = ["緯 度", "２４H使用可能", "所在地", "名称カナ", "料金（基本）", "LAT", "備考"]
    mapping, unmatched = norm.match_headers(headers, schema(), {})
    assert mapping == {
        "latitude": "緯 度",
        "available_24h": "２４H使用可能",
        "address": "所在地",
        "name_kana": "名称カナ",
        "fee": "料金（基本）",
    }
    assert unmatched == ["LAT", "備考"]  # latitude is taken by the first spelling


def test_match_headers_column_map_wins() -> None:
    mapping, unmatched = norm.match_headers(["所在地", "住所"], schema(), {"住所": ("address",)})
    assert mapping == {"address": "住所"}
    assert unmatched == ["所在地"]


def test_match_headers_field_name_and_english_title() -> None:
    mapping, _ = norm.match_headers(["Address", "Latitude"], schema(), {})
    assert mapping == {"address": "Address", "latitude": "Latitude"}


def test_match_headers_ignores_map_entries_to_unknown_fields() -> None:
    mapping, unmatched = norm.match_headers(["x"], schema(), {"x": ("nope",)})
    assert mapping == {} and unmatched == ["x"]


def test_match_headers_one_column_feeds_the_fields_columns_lists() -> None:
    """Only [columns] may send one column to several fields (a symbol read into two flags
    through [values]); a field the column map sends elsewhere is still taken once."""
    mapping, unmatched = norm.match_headers(
        ["施設名", "施設名_2", "備考"], schema(),
        {"施設名": ("available_24h", "fee"), "施設名_2": ("name_kana",)})
    assert mapping == {"available_24h": "施設名", "fee": "施設名", "name_kana": "施設名_2"}
    assert unmatched == ["備考"]


def test_known_header_reads_the_spellings_match_headers_reads() -> None:
    known = norm.known_header(schema(), {"施設名_2": ("name_kana",)})
    assert known("緯 度") and known("ＬＡＴＩＴＵＤＥ") and known("施設名 2") and known("所在地")
    assert not known("◎大型多目的シートを設置") and not known("") and not known("備考")


def test_map_values_lists_the_whole_vocabulary() -> None:
    mapped, unknown = norm.map_values(series("◎", "○", "", "△", "◎"),
                                      {"◎": "有", "○": "無"})
    assert mapped.tolist() == ["有", "無", "", "", "有"]  # unlisted: emptied, and flagged
    assert unknown.tolist() == [False, False, False, True, False]


# --- numbers -------------------------------------------------------------------------------------


def test_parse_integer() -> None:
    result = norm.parse_integer(
        series(
            "1",
            "１２",
            "1,234",
            "-5",
            "+7",
            " 8 ",
            "",
            "12件",
            "3人",
            "2台",
            "1.0",
            "12,34",
            "1e3",
            "99999999999999999999",
            "１，２３４",
        )
    )
    assert result[0].dtype == "Int64"
    assert parsed(result) == [1, 12, 1234, -5, 7, 8, None] + ["INVALID"] * 7 + [1234]


def test_parse_number() -> None:
    result = norm.parse_number(
        series(
            "35.6",
            "３５．６",
            "1,234.5",
            "+1",
            "-.5",
            "1e3",
            "",
            "nan",
            "inf",
            "12m",
            "1.2.3",
            "−3",
        )
    )
    assert result[0].dtype == "Float64"
    values = parsed(result)
    assert values[:7] == [35.6, 35.6, 1234.5, 1.0, -0.5, 1000.0, None]
    assert values[7:11] == ["INVALID"] * 4
    assert values[11] == "INVALID"  # U+2212 minus sign is not a sign NFKC knows


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("有", True),
        ("無", False),
        ("○", True),
        ("〇", True),
        ("◯", True),
        ("×", False),
        ("✕", False),
        ("はい", True),
        ("いいえ", False),
        ("true", True),
        ("FALSE", False),
        ("True", True),
        ("yes", True),
        ("No", False),
        ("1", True),
        ("0", False),
        ("１", True),
        ("あり", True),
        ("なし", False),
        ("可", True),
        ("不可", False),
        ("", None),
        ("maybe", "INVALID"),
        ("無（各店による）", "INVALID"),
    ],
)
def test_parse_boolean_defaults(text: str, expected: object) -> None:
    result = norm.parse_boolean(series(text))
    assert result[0].dtype == "boolean"
    assert parsed(result) == [expected]


def test_parse_boolean_custom_values_replace_defaults() -> None:
    result = norm.parse_boolean(
        series("対応", "-", "○", ""), true_values=["対応"], false_values=["-"]
    )
    assert parsed(result) == [True, False, "INVALID", None]
    only_true = norm.parse_boolean(series("対応", "×"), true_values=["対応"])
    assert parsed(only_true) == [True, False]  # the default false list still applies


# --- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2020-04-01", "2020-04-01"),
        ("2020/4/1", "2020-04-01"),
        ("2020.4.1", "2020-04-01"),
        ("2020年4月1日", "2020-04-01"),
        ("２０２０年４月１日", "2020-04-01"),
        ("2020年4月1日(水)", "2020-04-01"),
        ("2020-04-01 00:00:00", "2020-04-01"),
        ("20200401", "2020-04-01"),
        ("5/16/2020", "2020-05-16"),
        ("3/25/2021", "2021-03-25"),
        ("令和2年4月1日", "2020-04-01"),
        ("令和元年5月1日", "2019-05-01"),
        ("令和 元年 5月 1日", "2019-05-01"),
        ("平成31年4月30日", "2019-04-30"),
        ("平成元年1月8日", "1989-01-08"),
        ("昭和64年1月7日", "1989-01-07"),
        ("昭和元年12月25日", "1926-12-25"),
        ("大正元年7月30日", "1912-07-30"),
        ("明治45年7月29日", "1912-07-29"),
        ("㍻2年3月4日", "1990-03-04"),
        ("S47.4.1", "1972-04-01"),
        ("H19.4.1", "2007-04-01"),
        ("H12.10.15", "2000-10-15"),
        ("R2.4.1", "2020-04-01"),
        ("r2.4.1", "2020-04-01"),
        ("Ｒ２．４．１", "2020-04-01"),
        ("R2/4/1", "2020-04-01"),
        ("R元.5.1", "2019-05-01"),
        ("T1.7.30", "1912-07-30"),
        ("M45.7.29", "1912-07-29"),
    ],
)
def test_parse_date_accepts(text: str, iso: str) -> None:
    assert parsed(norm.parse_date(series(text))) == [iso]


@pytest.mark.parametrize(
    "text",
    [
        "2021-02-30",  # no such day
        "2021-13-01",
        "2021/2/29",  # not a leap year
        "平成31年5月1日",  # that day is 令和元年5月1日
        "令和元年4月30日",  # 令和 starts on 2019-05-01
        "昭和64年1月8日",  # 昭和 ended on 1月7日
        "平成元年1月7日",
        "大正元年7月29日",
        "H0.4.1",
        "X2.4.1",
        "13/5/2020",  # M/D/Y: there is no month 13
        "2020-04-01 09:30",  # a time of day in a date field
        "2020年4月",
        "来年",
    ],
)
def test_parse_date_rejects(text: str) -> None:
    assert parsed(norm.parse_date(series(text))) == ["INVALID"]


def test_parse_date_missing_and_dtype() -> None:
    values, invalid = norm.parse_date(series("", "2020-01-01"))
    assert values.tolist() == [None, "2020-01-01"] and values.dtype == object
    assert invalid.tolist() == [False, False]


def test_parse_datetime_adds_tokyo_offset() -> None:
    result = norm.parse_datetime(
        series(
            "2020-04-01 9:30",
            "2020-04-01T09:30:00Z",
            "令和2年4月1日 9時30分",
            "2020/4/1",
            "2020-04-01T09:30:00+0530",
            "2020-04-01T23:59:59.5",
            "2020-04-01 24:00",
            "2020-02-30 10:00",
            "",
        )
    )
    assert parsed(result) == [
        "2020-04-01T09:30:00+09:00",
        "2020-04-01T09:30:00+00:00",
        "2020-04-01T09:30:00+09:00",
        "2020-04-01T00:00:00+09:00",
        "2020-04-01T09:30:00+05:30",
        "2020-04-01T23:59:59+09:00",
        "INVALID",
        "INVALID",
        None,
    ]


def test_parse_time() -> None:
    result = norm.parse_time(
        series(
            "9:00",
            "09:00",
            "9時30分",
            "9時",
            "9：30",
            "23:59:59",
            "午後3時",
            "3:15 PM",
            "24:00",
            "12:60",
            "25:00",
            "朝",
            "",
        )
    )
    assert parsed(result) == [
        "09:00:00",
        "09:00:00",
        "09:30:00",
        "09:00:00",
        "09:30:00",
        "23:59:59",
        "15:00:00",
        "15:15:00",
        "INVALID",
        "INVALID",
        "INVALID",
        "INVALID",
        None,
    ]


def test_parse_year() -> None:
    result = norm.parse_year(
        series("2020", "2020年", "令和2年度", "R2", "令和元年", "平成", "20", "")
    )
    assert parsed(result) == [2020, 2020, 2020, 2020, 2019, "INVALID", "INVALID", None]


# --- coordinates ---------------------------------------------------------------------------------


def pair(lat: list[str], lon: list[str]) -> list[tuple[object, object, bool, bool]]:
    la, lo, swapped, invalid = norm.parse_latlon_pair(series(*lat), series(*lon))
    assert la.dtype == "Float64" and lo.dtype == "Float64"
    return [
        (None if a is pd.NA else round(a, 6), None if b is pd.NA else round(b, 6), s, i)
        for a, b, s, i in zip(
            la.tolist(), lo.tolist(), swapped.tolist(), invalid.tolist(), strict=True
        )
    ]


def test_latlon_decimal_and_trailing_spaces() -> None:
    assert pair(["34.719504 ", "３５．６"], ["135.262343 ", "１３９．７"]) == [
        (34.719504, 135.262343, False, False),
        (35.6, 139.7, False, False),
    ]


def test_latlon_dms() -> None:
    expected = (35.658083, 139.699972, False, False)
    assert (
        pair(
            [
                "35°39'29.1\"N",
                "北緯35度39分29.1秒",
                "35°39′29.1″N",
                "N35°39'29.1\"",
                "35度39分29.1秒",
            ],
            [
                "139°41'59.9\"E",
                "東経139度41分59.9秒",
                "139°41′59.9″E",
                "E139°41'59.9\"",
                "139度41分59.9秒",
            ],
        )
        == [expected] * 5
    )
    assert pair(["33°52'S"], ["151°12'E"]) == [(-33.866667, 151.2, False, False)]
    assert pair(["35°61'N"], ["139°E"])[0][3] is True  # 61 minutes


def test_latlon_swapped_pairs_are_fixed() -> None:
    assert pair(["139.7", "135.2"], ["35.6", "34.7"]) == [
        (35.6, 139.7, True, False),
        (34.7, 135.2, True, False),
    ]


def test_latlon_invalid_and_missing() -> None:
    rows = pair(["", "35", "95", "abc", "35.6", "-91"], ["", "", "95", "139", "181", "100"])
    assert rows[0] == (None, None, False, False)  # nothing given: missing, not invalid
    assert [r[3] for r in rows[1:]] == [True, True, True, True, True]
    assert all(r[0] is None and r[1] is None for r in rows[1:])


def test_combined_latlon() -> None:
    lat, lon, swapped, invalid = norm.parse_combined_latlon(
        series(
            "34.34,134.04",
            "34.34 134.04",
            "(34.3, 134.1)",
            "134.04,34.34",
            "",
            ",",
            "garbage",
            "34.3，134.1",
        )
    )
    assert lat.round(2).tolist()[:4] == [34.34, 34.34, 34.3, 34.34]
    assert lon.round(2).tolist()[:4] == [134.04, 134.04, 134.1, 134.04]
    assert swapped.tolist() == [False, False, False, True, False, False, False, False]
    assert invalid.tolist() == [False, False, False, False, False, False, True, False]
    assert lat.isna().tolist()[4:7] == [True, True, True]
    assert lat.iloc[7] == pytest.approx(34.3)


def test_reproject_jgd2011_zone_ix() -> None:
    # Tokyo Station in JGD2011 / Japan Plane Rectangular CS IX (EPSG:6677): x east, y north
    lon, lat = 139.767125, 35.681236
    easting, northing = Transformer.from_crs(4326, 6677, always_xy=True).transform(lon, lat)
    out_lon, out_lat = norm.reproject(
        pd.Series([easting, None], dtype="Float64"),
        pd.Series([northing, 1.0], dtype="Float64"),
        6677,
    )
    assert out_lon.iloc[0] == pytest.approx(lon, abs=1e-7)
    assert out_lat.iloc[0] == pytest.approx(lat, abs=1e-7)
    assert out_lon.isna().tolist() == [False, True]


def test_point_wkt_keeps_precision() -> None:
    wkt = norm.point_wkt(
        pd.Series([135.262343, None], dtype="Float64"), pd.Series([34.719504, 1.0], dtype="Float64")
    )
    assert wkt.tolist() == ["POINT (135.262343 34.719504)", None]


# --- WKT -----------------------------------------------------------------------------------------


def test_parse_wkt_normalises_and_reads_ewkt() -> None:
    wkt, invalid, reason = norm.parse_wkt(
        series("POINT(139.7 35.6)", "SRID=4326;POINT(139.7 35.6)", "point ( 139.7   35.6 )", "")
    )
    assert wkt.tolist() == ["POINT (139.7 35.6)"] * 3 + [None]
    assert invalid.tolist() == [False] * 4
    assert reason.tolist() == [None] * 4


def test_parse_wkt_repairs_bow_tie_polygon() -> None:
    wkt, invalid, reason = norm.parse_wkt(series("POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))"))
    assert not invalid.iloc[0]
    assert wkt.iloc[0].startswith("MULTIPOLYGON")
    assert reason.iloc[0].startswith("repaired: Self-intersection")


def test_parse_wkt_rejects_with_reason() -> None:
    wkt, invalid, reason = norm.parse_wkt(series("nonsense", "POINT EMPTY", "POINT(200 100)"))
    assert invalid.tolist() == [True, True, True]
    assert wkt.tolist() == [None, None, None]
    assert reason.tolist() == [
        "not valid WKT",
        "empty geometry",
        "coordinates outside longitude -180..180 / latitude -90..90",
    ]


def test_parse_wkt_reprojects_from_ewkt_srid_or_default() -> None:
    easting, northing = Transformer.from_crs(4326, 6677, always_xy=True).transform(139.7, 35.6)
    ewkt = f"SRID=6677;POINT({easting} {northing})"
    plain = f"POINT({easting} {northing})"
    wkt, invalid, _ = norm.parse_wkt(series(ewkt, plain), default_srid=6677)
    for text in wkt:
        x, y = (float(v) for v in text.removeprefix("POINT (").removesuffix(")").split())
        assert math.isclose(x, 139.7, abs_tol=1e-7) and math.isclose(y, 35.6, abs_tol=1e-7)
    assert not invalid.any()
    # the same EWKT with the default 4326 still uses its own SRID
    wkt4326, _, _ = norm.parse_wkt(series(ewkt))
    assert wkt4326.iloc[0].startswith("POINT (139.7")


def test_parse_datetime_plain_form_agrees_with_the_general_parser() -> None:
    """The vectorised path for ``YYYY-MM-DD HH:MM[:SS]`` writes what the per-value parser
    writes, and leaves it the cells whose calendar or clock is wrong."""
    cells = [
        "2024-05-24 13:24:00", "2024-05-24 13:24", "2024-05-24T13:24:59", "2024-02-29 00:00:00",
        "0001-01-01 00:00", "9999-12-31 23:59:59", "2021-02-30 13:00", "2023-02-29 00:00",
        "2024-13-01 10:00", "2024-01-00 10:00", "2024-05-24 24:00", "2024-05-24 23:60",
        "2024-05-24 13:24:60", "2024/5/24 13:24", "",
    ]
    values, invalid = norm.parse_datetime(series(*cells))
    for cell, value, bad in zip(cells, values, invalid, strict=True):
        one = norm._datetime_one(cell)
        assert (bad, value) == ((True, None) if one is norm.INVALID else (False, one)), cell
    assert invalid.tolist().count(True) == 7


def test_parse_hhmm_reads_opening_and_closing_times_alike() -> None:
    cells = ["16時30分", "16時", "18時", "21時", "16:30", "１６：３０", "16:30:00", "9:05",
             "24:00", "24時", "午後4時半", "4:30 PM", "午前12時", ""]
    values, invalid = norm.parse_hhmm(series(*cells))
    assert not invalid.any()
    assert values.tolist() == ["16:30", "16:00", "18:00", "21:00", "16:30", "16:30", "16:30",
                               "09:05", "24:00", "24:00", "16:30", "16:30", "00:00", None]


def test_parse_hhmm_refuses_free_text_and_impossible_times() -> None:
    cells = ["終日", "24時間", "9時～17時", "24:30", "25:00", "16:30:15", "12:60", "午後13時"]
    values, invalid = norm.parse_hhmm(series(*cells))
    assert invalid.all() and values.isna().all()


def test_time_type_still_refuses_24_00() -> None:
    """``time`` fields are stored as PostgreSQL/Arrow times, which have no hour 24."""
    values, invalid = norm.parse_time(series("24:00", "4時半"))
    assert invalid.tolist() == [True, False] and values.iloc[1] == "04:30:00"


@pytest.mark.parametrize("code", ["131130", "131041", "222127", "372013", "281000", "011002",
                                  "012025", "082333"])
def test_local_government_check_digit_of_real_codes(code: str) -> None:
    # Shibuya (r = 1), Shinjuku (r = 0), Yaizu, Takamatsu, Kobe, Sapporo, Hakodate, Ibaraki
    assert norm.local_government_check_digit(code[:5]) == int(code[5])


def test_local_government_codes() -> None:
    cells = ["222127", "37201", "82333", "222128", "482001", "002009", "8233", "22212a", "",
             "99999", "11002"]
    values, invalid, repaired = norm.parse_local_government_code(series(*cells))
    assert values.tolist() == ["222127", "37201", "082333", None, None, None, None, None, None,
                               None, "011002"]
    assert invalid.tolist() == [False, False, False, True, True, True, True, True, False,
                                True, False]
    # 11002 is a lost zero here because the column holds 6-digit codes elsewhere
    assert repaired.tolist() == [False, False, True, *[False] * 7, True]


def test_ambiguous_five_digit_codes_stay_as_written_in_a_five_digit_column() -> None:
    """11002 is Sapporo's 011002 without its zero, or a 5-digit Saitama code: in a column of
    5-digit codes it is kept; 82333 can only be 082333 (there is no prefecture 82)."""
    values, invalid, repaired = norm.parse_local_government_code(series("11002", "37201",
                                                                        "82333"))
    assert values.tolist() == ["11002", "37201", "082333"]
    assert repaired.tolist() == [False, False, True] and not invalid.any()


def test_plain_datetimes_in_arrow_write_what_the_per_value_parser_writes() -> None:
    """Arrow's shape match and calendar round trip take the plain cells (Arrow columns, as
    the CSV reader makes them, and object columns), each written as the per-value parser
    writes it; a day or year Python has no date for is left to that parser."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(4)
    cells = [f"{y:04d}-{m:02d}-{d:02d}{sep}{h:02d}:{mi:02d}{s}"
             for y, m, d, sep, h, mi, s in zip(
                 rng.choice([0, 1, 999, 1900, 2000, 2023, 2024, 9999], 400),
                 rng.integers(0, 14, 400), rng.integers(0, 33, 400),
                 rng.choice(["T", " "], 400), rng.integers(0, 25, 400),
                 rng.integers(0, 61, 400),
                 rng.choice(["", ":00", ":59", ":60"], 400), strict=True)]
    cells += ["2024-02-29 12:00", "2023-02-29 12:00", "0000-01-01 00:00", "2024-5-24 13:24",
              "２０２４-05-24 13:24", "2024-05-24 13:24\n", " 2024-05-24 13:24", ""]
    arrow = pd.Series(pd.arrays.ArrowStringArray(pa.array(cells, pa.large_string())))
    for column in (arrow, series(*cells)):
        done, values = norm._plain_datetimes(column)
        for cell, taken, value in zip(cells, done, values, strict=True):
            assert value == (norm._datetime_one(cell) if taken else None), cell
        taken = dict(zip(cells, done, strict=True))
        assert taken["2024-02-29 12:00"] and not taken["2023-02-29 12:00"]
        assert not taken["0000-01-01 00:00"] and not taken["2024-5-24 13:24"]
        assert 100 < done.sum() < 400
        values, invalid = norm.parse_datetime(column)
        assert values.tolist() == [None if (v := norm._datetime_one(c)) is norm.INVALID
                                   else v for c in cells]
        assert invalid.tolist() == [norm._datetime_one(c) is norm.INVALID for c in cells]


@pytest.mark.parametrize("parse", [
    norm.parse_integer, norm.parse_number, norm.parse_boolean, norm.parse_date,
    norm.parse_datetime, norm.parse_time, norm.parse_year, norm.parse_hhmm,
    norm.parse_local_government_code,
], ids=lambda parse: parse.__name__)
def test_parsing_the_distinct_values_gives_what_parsing_every_cell_gives(parse) -> None:
    """Columns that repeat their values are parsed once per distinct value and spread back:
    values, invalid masks (and repairs) row for row as parsing every cell."""
    import numpy as np
    import pyarrow as pa

    distinct = ["", "1", "１２", "1,234", "-3", "3.5", "1e3", "nan", "有", "×", "はい", "true",
                "2020-04-01", "令和2年4月1日", "R2.4.1", "2024-05-24 13:24", "9時30分", "24:00",
                "16:30", "2020", "令和2年度", "222127", "82333", "37201", "12件", "終日"]
    rows = [distinct[i] for i in np.random.default_rng(9).integers(0, len(distinct), 200)]
    column = pd.Series(pd.arrays.ArrowStringArray(pa.array(rows, pa.large_string())),
                       index=pd.RangeIndex(100, 300))
    spread = norm.per_distinct_value(parse, column)
    every = parse(series(*rows).set_axis(column.index))
    assert len(spread) == len(every)
    for got, expected in zip(spread, every, strict=True):
        assert got.index.equals(column.index) and got.dtype == expected.dtype
        assert got.astype(object).where(got.notna(), None).tolist() == \
            expected.astype(object).where(expected.notna(), None).tolist()


def test_parse_integer_reads_every_cell_as_the_per_value_reader_does() -> None:
    """Plain digits are read by Arrow, the rest by the per-value reader: both give what the
    per-value reader gives, in Arrow and object columns."""
    import pyarrow as pa

    cells = ["0", "-0", "+0", "007", "+000000000000000001", "-000000000000000001",
             "999999999999999999", "-999999999999999999", "9999999999999999999",
             "9223372036854775807", "-9223372036854775808", "9223372036854775808", "+-1",
             "1 2", "１８", "1,000", "", "12件", "0x10", "1_000", "٣", "+", "-"]
    expected = [None if (v := norm._integer_one(c)) is norm.INVALID else v for c in cells]
    bad = [norm._integer_one(c) is norm.INVALID for c in cells]
    arrow = pd.Series(pd.arrays.ArrowStringArray(pa.array(cells, pa.large_string())))
    for column in (arrow, series(*cells)):
        values, invalid = norm.parse_integer(column)
        assert values.astype(object).where(values.notna(), None).tolist() == expected
        assert invalid.tolist() == bad
    assert expected[:7] == [0, 0, 0, 7, 1, -1, 999999999999999999]


def test_plain_iso_dates_are_read_as_the_per_value_parser_reads_them() -> None:
    """``YYYY-MM-DD`` cells are taken by Arrow and the calendar rule, the rest by the
    per-value parser: values and invalid cells as the per-value parser gives them."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(8)
    cells = [f"{y:04d}-{m:02d}-{d:02d}" for y, m, d in zip(
        rng.choice([0, 1, 4, 100, 1900, 2000, 2023, 2024, 9999], 500),
        rng.integers(0, 14, 500), rng.integers(0, 33, 500), strict=True)]
    cells += ["2024-02-29", "2023-02-29", "2000-02-29", "1900-02-29", "0000-01-01",
              "2020-4-1", "2020/04/01", "令和2年4月1日", "2020-04-01 00:00", "", "x"]

    def expected(cell: str) -> object:
        date = norm.date_value(cell)
        return "INVALID" if date is norm.INVALID else None if date is None else date.isoformat()

    arrow = pd.Series(pd.arrays.ArrowStringArray(pa.array(cells, pa.large_string())))
    for column in (arrow, series(*cells)):
        values, invalid = norm.parse_date(column)
        assert [("INVALID" if bad else v) for v, bad in zip(values, invalid, strict=True)] == [
            expected(c) for c in cells]
        _, plain = norm._plain_calendar_cells(column, norm._PLAIN_DATE)
        taken = dict(zip(cells, plain, strict=True))
        assert taken["2024-02-29"] and taken["2000-02-29"] and not taken["1900-02-29"]
        assert not taken["0000-01-01"] and not taken["2020-4-1"]
        assert 100 < plain.sum() < 500

"""etl.prepare: a file in, a typed table of the schema and a located report out.

Fixtures: tests/fixtures/schemas/etl-*.json and tests/fixtures/datasets/etl-*/dataset.toml.
The real files come from ../shared/data (skipped when absent); crafted files are written here.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from etl.prepare import Prepared, prepare
from etl.read import ReadError
from hub.catalog import DatasetDefinition, GeometrySource, TableSchema, load_definition

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# Text in Arrow-backed strings (compact: a Python str per cell tripled a big table's memory);
# missing is pd.NA in every column.
EXPECTED_DTYPES = {
    "string": pd.StringDtype("pyarrow"),
    "integer": pd.Int64Dtype(),
    "number": pd.Float64Dtype(),
    "boolean": pd.BooleanDtype(),
    "date": pd.StringDtype("pyarrow"),
    "datetime": pd.StringDtype("pyarrow"),
    "time": pd.StringDtype("pyarrow"),
    "year": pd.Int64Dtype(),
}


def definition(dataset_id: str) -> DatasetDefinition:
    return load_definition(dataset_id, FIXTURES / "datasets", FIXTURES / "schemas")


def shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data not available: {path}")
    return path


def located(issues: list) -> list[tuple]:
    return [(i.row, i.column, i.value, i.rule) for i in issues]


def assert_shape(prepared: Prepared) -> None:
    """The frame is exactly the schema, typed as promised, aligned with everything else."""
    schema = prepared.definition.schema
    assert list(prepared.frame.columns) == list(schema.field_names)
    for f in schema.fields:
        assert prepared.frame[f.name].dtype == EXPECTED_DTYPES[f.type], f.name
    n = len(prepared.frame)
    assert prepared.frame.index.equals(pd.RangeIndex(n))
    assert len(prepared.source_rows) == n and len(prepared.search_text()) == n
    if prepared.geometry_wkt is not None:
        assert len(prepared.geometry_wkt) == n
        assert prepared.geometry_wkt.index.equals(pd.RangeIndex(n))


# --- the real Kobe AED file ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def kobe() -> Prepared:
    return prepare(
        definition("etl-kobe-aed"), shared("kobe-aed-sjis", "aed_kobe_20141128-sjis.csv")
    )


def test_kobe_reads_all_records_and_reports_the_one_real_error(kobe: Prepared) -> None:
    assert_shape(kobe)
    assert len(kobe.frame) == 1935
    assert kobe.report.rows_read == 1935
    assert kobe.report.warnings == []  # every column matched, every field present
    # 花山地域福祉センター (line 1118) has its latitude copied into 経度
    assert [(i.row, i.column, i.field, i.value, i.rule) for i in kobe.report.errors] == [
        (1118, "経度", "longitude", "34.764776 ", "minimum")
    ]
    assert kobe.report.errors[0].file == "aed_kobe_20141128-sjis.csv"


def test_kobe_values_are_typed_and_normalised(kobe: Prepared) -> None:
    first = kobe.frame.iloc[0]
    assert first["permit_id"] == "01東灘2"
    assert first["permit_no"] == 2
    assert first["name"] == "神戸新交通(株) 住吉駅"  # NFKC folds the full-width brackets
    assert first["latitude"] == 34.719504  # the trailing space is gone
    assert first["longitude"] == 135.262343
    assert kobe.geometry_wkt.iloc[0] == "POINT (135.262343 34.719504)"
    assert kobe.frame["available_24h"].sum() == 196  # ○ is true, empty is unknown
    assert kobe.frame["available_24h"].isna().sum() == 1935 - 196
    assert kobe.source_rows[0] == 2 and kobe.source_rows[-1] == 1938
    assert "神戸新交通(株) 住吉駅" in kobe.search_text().iloc[0]


def test_kobe_multiline_name_and_missing_coordinates(kobe: Prepared) -> None:
    ids = kobe.frame["permit_id"]
    multiline = int(np.flatnonzero(ids == "07須磨21")[0])
    assert kobe.source_rows[multiline] == 1279
    assert kobe.source_rows[multiline + 1] == 1281
    assert "\n" in kobe.frame["name"].iloc[multiline]
    airport = int(np.flatnonzero(kobe.frame["name"] == "神戸新交通 神戸空港駅")[0])
    assert kobe.source_rows[airport] == 1902
    assert kobe.geometry_wkt.iloc[airport] is None
    assert kobe.frame["latitude"].isna().sum() == 1
    assert kobe.geometry_wkt.notna().sum() == 1934


def test_kobe_skip_invalid_drops_exactly_the_bad_row() -> None:
    prepared = prepare(
        definition("etl-kobe-aed"),
        shared("kobe-aed-sjis", "aed_kobe_20141128-sjis.csv"),
        skip_invalid=True,
    )
    assert_shape(prepared)
    assert len(prepared.frame) == 1934
    assert prepared.report.rows_skipped == 1
    assert len(prepared.report.errors) == 1  # kept for the caller to show
    assert 1118 not in prepared.source_rows
    assert prepared.frame["longitude"].min() > 134


def test_kobe_permit_number_is_not_a_key() -> None:
    """交付番号 restarts in every 管轄: as a primary key it fails 1,638 times."""
    base = definition("etl-kobe-aed")
    schema = TableSchema(
        fields=base.schema.fields,
        primary_key=("permit_no",),
        missing_values=base.schema.missing_values,
    )
    keyed = dataclasses.replace(base, schema=schema)
    prepared = prepare(
        keyed, shared("kobe-aed-sjis", "aed_kobe_20141128-sjis.csv"), max_errors=5000
    )
    duplicates = [i for i in prepared.report.errors if i.rule == "primary-key"]
    assert len(duplicates) == 1638
    first = duplicates[0]
    assert (first.row, first.column, first.value) == (252, "交付番号", "2")
    assert first.message == "primary key not unique: the same value is already in row 2"
    capped = prepare(keyed, shared("kobe-aed-sjis", "aed_kobe_20141128-sjis.csv"), max_errors=10)
    assert len(capped.report.errors) == 10 and capped.report.truncated
    assert [i.row for i in capped.report.errors] == sorted(i.row for i in capped.report.errors)


# --- crafted files -------------------------------------------------------------------------------

CRAFTED_HEADER = [
    "施設番号",
    "名称",
    "種別",
    "定員",
    "面積",
    "バリアフリー",
    "開設日",
    "更新日時",
    "開始時間",
    "年度",
    "緯度",
    "経度",
    "備考",
    "余計な列",
]
CRAFTED_ROWS = [
    # line 2: every value in a messy but valid spelling
    [
        "F001",
        "中央保育園",
        "公立",
        "１２０",
        "1,234.5",
        "○",
        "令和元年5月1日",
        "2020/4/1 9:30",
        "9時30分",
        "令和2年度",
        "35.6",
        "139.7",
        "",
        "x",
    ],
    # line 3: swapped coordinates (fixed, warned), a two-line note (next record on line 5)
    [
        "F002",
        "北保育園",
        "私立",
        "30",
        "-",
        "×",
        "S47.4.1",
        "",
        "7:15",
        "2019",
        "139.70",
        "35.65",
        "備考\n二行目",
        "",
    ],
    # line 5: one bad value per type
    [
        "F003",
        "南保育園",
        "区立",
        "12人",
        "abc",
        "多分",
        "2021-02-30",
        "2020-04-01 25:00",
        "24:00",
        "来年",
        "95",
        "95",
        "",
        "",
    ],
    # line 6: duplicate key, no name
    ["F001", "", "私立", "", "", "", "", "", "", "", "", "", "", ""],
    # line 7: bad id, long name, DMS coordinates, missing-value markers
    [
        "G9",
        "とても長い名前の保育園とても長い名前の保育園",
        "ー",
        "不明",
        "ー",
        "",
        "H31.4.30",
        "",
        "",
        "",
        "北緯35度39分29.1秒",
        "東経139度41分59.9秒",
        "",
        "",
    ],
]


def write_crafted(
    tmp_path: Path,
    rows: list[list[str]] | None = None,
    header: list[str] | None = None,
    encoding: str = "cp932",
) -> Path:
    path = tmp_path / "施設.csv"
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(header or CRAFTED_HEADER)
        writer.writerows(CRAFTED_ROWS if rows is None else rows)
    return path


def test_crafted_errors_name_row_column_value_and_rule(tmp_path: Path) -> None:
    prepared = prepare(definition("etl-crafted"), write_crafted(tmp_path))
    assert_shape(prepared)
    assert prepared.raw.encoding == "cp932"
    assert prepared.source_rows.tolist() == [2, 3, 5, 6, 7]
    assert located(prepared.report.errors) == [
        (5, "種別", "区立", "enum"),
        (5, "定員", "12人", "type:integer"),
        (5, "面積", "abc", "type:number"),
        (5, "バリアフリー", "多分", "type:boolean"),
        (5, "開設日", "2021-02-30", "type:date"),
        (5, "更新日時", "2020-04-01 25:00", "type:datetime"),
        (5, "開始時間", "24:00", "type:time"),
        (5, "年度", "来年", "type:year"),
        (5, "緯度", "95", "coordinates"),
        (6, "施設番号", "F001", "primary-key"),
        (6, "名称", "", "required"),
        (7, "施設番号", "G9", "pattern"),
        (7, "名称", "とても長い名前の保育園とても長い名前の保育園", "maxLength"),
    ]
    messages = {i.rule: i.message for i in prepared.report.errors}
    assert messages["type:integer"].startswith("'12人' is not a whole number")
    assert "25:00" in messages["type:datetime"]
    assert "latitude '95' / longitude '95'" in messages["coordinates"]
    assert messages["primary-key"].endswith("already in row 2")
    assert all(i.file == "施設.csv" for i in prepared.report.issues)


def test_crafted_warnings(tmp_path: Path) -> None:
    prepared = prepare(definition("etl-crafted"), write_crafted(tmp_path))
    assert [(i.row, i.column, i.rule) for i in prepared.report.warnings] == [
        (None, "余計な列", "unknown-column"),
        (3, "緯度", "swapped-coordinates"),
    ]
    swapped = prepared.report.warnings[1]
    assert swapped.value == "139.70"
    assert "stored as latitude 35.65, longitude 139.7" in swapped.message


def test_crafted_values_are_normalised(tmp_path: Path) -> None:
    frame = prepare(definition("etl-crafted"), write_crafted(tmp_path)).frame
    first, second, fifth = frame.iloc[0], frame.iloc[1], frame.iloc[4]
    assert first["capacity"] == 120
    assert first["area_m2"] == 1234.5
    assert bool(first["barrier_free"]) is True
    assert first["opened"] == "2019-05-01"
    assert first["updated_at"] == "2020-04-01T09:30:00+09:00"
    assert first["opens_at"] == "09:30:00"
    assert first["fiscal_year"] == 2020
    assert first["note"] is pd.NA
    assert second["area_m2"] is pd.NA  # "-" is a missing value of the schema
    assert bool(second["barrier_free"]) is False
    assert second["opened"] == "1972-04-01"
    assert second["updated_at"] is pd.NA
    assert (second["latitude"], second["longitude"]) == (35.65, 139.7)  # swapped back
    assert second["note"] == "備考\n二行目"
    assert fifth["kind"] is pd.NA and fifth["capacity"] is pd.NA  # ー and 不明 are missing
    assert fifth["opened"] == "2019-04-30"
    assert fifth["latitude"] == pytest.approx(35.658083, abs=1e-6)  # DMS
    assert fifth["longitude"] == pytest.approx(139.699972, abs=1e-6)
    # invalid cells are missing in the frame, never half-parsed
    third = frame.iloc[2]
    assert third["capacity"] is pd.NA and third["opened"] is pd.NA and third["latitude"] is pd.NA


def test_crafted_geometry_and_search_text(tmp_path: Path) -> None:
    prepared = prepare(definition("etl-crafted"), write_crafted(tmp_path))
    wkt = prepared.geometry_wkt.tolist()
    assert wkt[0] == "POINT (139.7 35.6)"
    assert wkt[1] == "POINT (139.7 35.65)"
    assert wkt[2] is None and wkt[3] is None  # invalid, then no coordinates at all
    assert wkt[4].startswith("POINT (139.69997")
    assert prepared.search_text().iloc[0] == "f001 中央保育園 公立"
    assert prepared.search_text().iloc[1] == "f002 北保育園 私立 備考\n二行目"


def test_crafted_skip_invalid(tmp_path: Path) -> None:
    prepared = prepare(definition("etl-crafted"), write_crafted(tmp_path), skip_invalid=True)
    assert_shape(prepared)
    assert prepared.frame["facility_id"].tolist() == ["F001", "F002"]
    assert prepared.source_rows.tolist() == [2, 3]
    assert prepared.geometry_wkt.tolist() == ["POINT (139.7 35.6)", "POINT (139.7 35.65)"]
    assert prepared.report.rows_skipped == 3
    assert prepared.report.rows_read == 5
    assert len(prepared.report.errors) == 13


def test_missing_required_column_is_a_file_error_that_skipping_cannot_hide(tmp_path: Path) -> None:
    header = [h for h in CRAFTED_HEADER if h != "名称"]
    rows = [
        [c for h, c in zip(CRAFTED_HEADER, row, strict=True) if h != "名称"]
        for row in CRAFTED_ROWS[:2]
    ]
    rows.append(["F009", "", "", "", "", "", "", "", "", "", "", "", ""])
    path = write_crafted(tmp_path, rows, header)
    prepared = prepare(definition("etl-crafted"), path, skip_invalid=True)
    missing = [i for i in prepared.report.errors if i.rule == "missing-column"]
    assert [(i.row, i.column, i.field) for i in missing] == [(None, None, "name")]
    assert "expected a header such as name, Name, 名称" in missing[0].message
    assert prepared.report.rows_skipped == 0  # nothing published: the file itself is wrong
    assert len(prepared.frame) == 3
    assert prepared.frame["name"].isna().all()
    assert not [i for i in prepared.report.errors if i.rule == "required"]


def test_missing_optional_column_is_a_warning(tmp_path: Path) -> None:
    header = [h for h in CRAFTED_HEADER if h not in ("備考", "余計な列")]
    rows = [row[:12] for row in CRAFTED_ROWS[:2]]
    prepared = prepare(definition("etl-crafted"), write_crafted(tmp_path, rows, header))
    assert prepared.report.ok
    assert [(i.field, i.rule, i.severity) for i in prepared.report.issues] == [
        ("note", "missing-column", "warning"),
        ("latitude", "swapped-coordinates", "warning"),
    ]
    assert_shape(prepared)
    assert prepared.frame["note"].isna().all()


def test_error_cap_keeps_the_earliest_rows(tmp_path: Path) -> None:
    rows = [
        [f"F{i:03d}", f"園{i}", "公立", f"{i}件", "", "", "", "", "", "", "", "", "", ""]
        for i in range(100)
    ]
    prepared = prepare(definition("etl-crafted"), write_crafted(tmp_path, rows), max_errors=7)
    assert [i.row for i in prepared.report.errors] == list(range(2, 9))
    assert prepared.report.truncated


def test_many_warnings_are_summarised(tmp_path: Path) -> None:
    rows = [
        [f"F{i:03d}", f"園{i}", "公立", "", "", "", "", "", "", "", "139.7", "35.6", "", ""]
        for i in range(30)
    ]
    prepared = prepare(definition("etl-crafted"), write_crafted(tmp_path, rows), max_errors=5)
    swapped = [i for i in prepared.report.warnings if i.rule == "swapped-coordinates"]
    assert len(swapped) == 6  # five listed, one summary
    assert swapped[-1].row is None
    assert swapped[-1].message.startswith("30 warnings (swapped-coordinates)")
    assert prepared.report.ok
    assert prepared.frame["latitude"].eq(35.6).all()


def test_progress_is_reported_per_stage_not_per_row(tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    prepare(
        definition("etl-crafted"),
        write_crafted(tmp_path, CRAFTED_ROWS * 40),
        progress=lambda stage, done, total: calls.append((stage, done, total)),
    )
    stages = [c[0] for c in calls]
    assert stages[0] == "read" and stages[-1] == "validate"
    assert set(stages) == {"read", "normalise", "validate"}
    assert ("normalise", 13, 13) in calls
    assert len(calls) < 25  # 200 records, a bounded number of calls


def test_unreadable_file_raises_read_error(tmp_path: Path) -> None:
    path = write_crafted(tmp_path)
    with pytest.raises(ReadError, match="not valid utf-8"):
        prepare(definition("etl-crafted"), path, encoding="utf-8")


def test_projected_coordinates_are_reprojected_without_swap_guessing(tmp_path: Path) -> None:
    to_plane = Transformer.from_crs(4326, 6677, always_xy=True)
    easting, northing = to_plane.transform(139.7, 35.6)
    rows = [
        [
            "F001",
            "A",
            "公立",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            f"{northing:.3f}",
            f"{easting:.3f}",
            "",
            "",
        ]
    ]
    base = definition("etl-crafted")
    projected = dataclasses.replace(
        base,
        geometry=GeometrySource(
            kind="latlon", latitude="latitude", longitude="longitude", crs=6677
        ),
    )
    prepared = prepare(projected, write_crafted(tmp_path, rows))
    assert prepared.report.ok and prepared.report.warnings == [
        i for i in prepared.report.warnings if i.rule == "unknown-column"
    ]
    x, y = (float(v) for v in prepared.geometry_wkt.iloc[0][7:-1].split())
    assert x == pytest.approx(139.7, abs=1e-6) and y == pytest.approx(35.6, abs=1e-6)
    assert prepared.frame["latitude"].iloc[0] == pytest.approx(northing, abs=1e-3)


# --- other real files and geometry kinds --------------------------------------------------------


def test_takamatsu_childcare_combined_location_and_wareki() -> None:
    prepared = prepare(definition("etl-takamatsu-childcare"), shared("takamatsu-city", "0079.csv"))
    assert_shape(prepared)
    assert prepared.report.issues == []  # the other columns are declared unmapped
    frame = prepared.frame
    assert len(frame) == 33
    assert frame["row_no"].tolist() == list(range(1, 34))
    assert frame["established"].iloc[0] == "1972-04-01"  # S47.4.1
    assert frame["established"].iloc[1] == "2007-04-01"  # H19.4.1
    assert frame["location"].iloc[0] == "34.340613,134.052601"
    assert prepared.geometry_wkt.iloc[0] == "POINT (134.052601 34.340613)"
    # the last facility (休止中) has location "," and a US-style date
    assert prepared.source_rows[-1] == 45
    assert prepared.geometry_wkt.iloc[-1] is None
    assert frame["established"].iloc[-1] == "2021-03-25"
    assert frame["capacity"].iloc[-1] is pd.NA  # ー
    assert frame["capacity"].iloc[0] == 105


def test_takamatsu_traffic_xlsx() -> None:
    prepared = prepare(definition("etl-takamatsu-traffic"), shared("takamatsu-city", "data.xlsx"))
    assert_shape(prepared)
    assert prepared.report.issues == []
    assert len(prepared.frame) == 15
    assert prepared.source_rows.tolist() == list(range(2, 17))
    assert prepared.frame["weekday_total"].iloc[0] == 6172
    assert prepared.frame["survey_date"].iloc[0] == "2025年 平均"  # full-width space folded
    assert prepared.geometry_wkt.notna().all()


def test_wkt_geometries_reprojected_repaired_or_rejected(tmp_path: Path) -> None:
    to_plane = Transformer.from_crs(4326, 6677, always_xy=True)
    x0, y0 = to_plane.transform(139.70, 35.60)
    x1, y1 = to_plane.transform(139.71, 35.61)
    square = f"POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"
    bow_tie = f"POLYGON(({x0} {y0}, {x1} {y1}, {x1} {y0}, {x0} {y1}, {x0} {y0}))"
    path = tmp_path / "areas.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["区域ID", "形状"])
        writer.writerows(
            [
                ["A1", square],
                ["A2", f"SRID=6677;{bow_tie}"],
                ["A3", "POLYGON((1 2"],
                ["A4", ""],
                ["A5", "SRID=4326;POINT(139.7 35.6)"],
            ]
        )
    prepared = prepare(definition("etl-areas"), path)
    assert_shape(prepared)
    wkt = prepared.geometry_wkt.tolist()
    assert wkt[0].startswith("POLYGON ((139.7")
    assert wkt[1].startswith("MULTIPOLYGON")
    assert wkt[2] is None and wkt[3] is None
    assert wkt[4] == "POINT (139.7 35.6)"
    assert located(prepared.report.errors) == [(4, "形状", "POLYGON((1 2", "geometry")]
    assert prepared.report.errors[0].message == "geometry rejected: not valid WKT"
    repaired = [i for i in prepared.report.warnings if i.rule == "geometry-repaired"]
    assert [(i.row, i.column) for i in repaired] == [(3, "形状")]
    assert "Self-intersection" in repaired[0].message


def test_source_read_hints_apply_only_to_the_file_they_describe(tmp_path: Path) -> None:
    path = write_crafted(tmp_path)  # 施設.csv in CP932
    hinted = dataclasses.replace(
        definition("etl-crafted"), source={"file": "施設.csv", "encoding": "utf-8"}
    )
    with pytest.raises(ReadError, match="not valid utf-8"):
        prepare(hinted, path)
    renamed = path.rename(tmp_path / "upload.csv")
    assert prepare(hinted, renamed).raw.encoding == "cp932"


def _with_search(base: DatasetDefinition, chosen: object) -> DatasetDefinition:
    schema = dataclasses.replace(base.schema, raw={**base.schema.raw, "x-search": chosen})
    return dataclasses.replace(base, schema=schema)


def test_schema_x_search_limits_the_search_text(tmp_path: Path) -> None:
    """``x-search`` names the fields ``q`` searches (in schema order); ids and notes left out
    of it are not in ``_search``, whatever order the list has."""
    crafted = _with_search(definition("etl-crafted"), ["kind", "name"])
    prepared = prepare(crafted, write_crafted(tmp_path))
    assert prepared.search_text().iloc[0] == "中央保育園 公立"
    assert prepared.search_text().iloc[1] == "北保育園 私立"


def test_schema_x_search_must_name_string_fields(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="x-search"):
        prepare(_with_search(definition("etl-crafted"), ["capacity"]), write_crafted(tmp_path))


@pytest.mark.parametrize("chosen", [["capacity"], ["no_such_field"], "name"])
def test_a_bad_x_search_is_refused_when_the_schema_is_loaded(chosen: object) -> None:
    """Refused before any file is read, with the schema named (not mid-publish)."""
    from hub.catalog import DefinitionError, TableSchema

    raw = {**definition("etl-crafted").schema.raw, "x-search": chosen}
    with pytest.raises(DefinitionError, match=r"crafted\.json: x-search"):
        TableSchema.from_json(raw, "crafted.json")


def test_a_junk_character_is_found_in_any_cell_of_a_column_by_one_search() -> None:
    """The one search of a column's text finds NUL and U+FEFF in its first and last cells,
    in sliced columns and both string widths, and nothing in clean or empty columns, or in
    characters that share bytes with them (U+FEFE and U+FFEF begin with the same byte)."""
    import pyarrow as pa

    from etl.prepare import _holds

    cells = ["\ufeffa", "b", "\ufefe\uffef", "c\x00"]
    for kind in (pa.string(), pa.large_string()):
        column = pa.array(cells, kind)
        assert _holds(column, "\ufeff") and _holds(column, "\x00")
        assert not _holds(column.slice(1, 2), "\ufeff")
        assert not _holds(column.slice(1, 2), "\x00")
        assert _holds(column.slice(3), "\x00") and not _holds(column.slice(3), "\ufeff")
        assert _holds(column.slice(0, 1), "\ufeff")
        assert not _holds(pa.array(["", None], kind), "\x00")
        assert not _holds(pa.array([], kind), "\x00")

"""etl.prepare tells the truth about a file: times in one HH:MM form, local-government codes
checked by their check digit, repeated headers named as written, NUL bytes removed with a
warning, far points warned about, and invalid optional cells handled by the dataset's policy.

Fixture: tests/fixtures/datasets/etl-toilets (formats hh:mm and jp-local-government-code).
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest

from etl.prepare import prepare, prepare_table, read_source
from hub.catalog import DefinitionError, load_definition

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HEADER = ["ID", "全国地方公共団体コード", "名称", "開始時間", "終了時間", "緯度", "経度"]


def toilets(tmp_path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    path = tmp_path / "toilets.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def row(i: int, *, code: str = "222127", opening: str = "9:00", closing: str = "17:00",
        lat: str | None = None, lon: str | None = None) -> list[str]:
    """A toilet in Yaizu, spread over a few hundred metres."""
    return [f"T{i:02d}", code, f"トイレ{i}", opening, closing,
            lat or f"{34.86 + i * 0.001:.4f}", lon or f"{138.32 + i * 0.001:.4f}"]


def definition(**overrides: str):
    d = load_definition("etl-toilets", FIXTURES / "datasets", FIXTURES / "schemas")
    return dataclasses.replace(d, **overrides)


def issues(prepared, rule: str) -> list[tuple]:
    return [(i.row, i.column, i.value, i.severity) for i in prepared.report.issues
            if i.rule == rule]


def test_closing_times_are_read_like_opening_times(tmp_path):
    rows = [row(1, opening="9時", closing="16時30分"), row(2, opening="８：３０", closing="18時"),
            row(3, opening="00:00", closing="24:00"), row(4, opening="9:00:00", closing="21時"),
            row(5, opening="午前9時半", closing="午後4時半")]
    p = prepare(definition(), toilets(tmp_path, rows))
    assert p.report.ok, p.report.issues
    assert list(p.frame["opening_time"]) == ["09:00", "08:30", "00:00", "09:00", "09:30"]
    assert list(p.frame["closing_time"]) == ["16:30", "18:00", "24:00", "21:00", "16:30"]


def test_free_text_is_not_a_time(tmp_path):
    p = prepare(definition(), toilets(tmp_path, [row(1, opening="終日"), row(2, closing="24:30")]))
    assert [(i.row, i.column, i.value, i.rule) for i in p.report.errors] == [
        (2, "開始時間", "終日", "format:hh:mm"), (3, "終了時間", "24:30", "format:hh:mm")]


def test_code_that_lost_its_leading_zero_is_repaired_with_a_warning(tmp_path):
    rows = [row(1, code="82333"), row(2, code="082333"), row(3, code="37201")]
    p = prepare(definition(), toilets(tmp_path, rows))
    assert p.report.ok
    assert list(p.frame["local_government_code"]) == ["082333", "082333", "37201"]
    assert issues(p, "format:jp-local-government-code") == [
        (2, "全国地方公共団体コード", "82333", "warning")]


def test_codes_that_cannot_be_right_are_errors(tmp_path):
    rows = [row(1, code="222128"), row(2, code="482001"), row(3, code="8233"), row(4, code="x1")]
    p = prepare(definition(), toilets(tmp_path, rows))
    assert [(i.row, i.value) for i in p.report.errors] == [
        (2, "222128"), (3, "482001"), (4, "8233"), (5, "x1")]
    assert {i.rule for i in p.report.errors} == {"format:jp-local-government-code"}


def test_repeated_header_is_named_as_written(tmp_path):
    header = [*HEADER, "名称"]
    p = prepare(definition(), toilets(tmp_path, [[*row(1), "別の名前"]], header))
    duplicates = [i for i in p.report.issues if i.rule == "duplicate-header"]
    assert [(i.column, i.field, i.severity) for i in duplicates] == [("名称", "name", "error")]
    assert "columns 3, 8" in duplicates[0].message
    assert not any(i.rule == "unknown-column" for i in p.report.issues)


def test_repeated_header_with_the_same_values_is_a_warning(tmp_path):
    header = [*HEADER, "名称"]
    p = prepare(definition(), toilets(tmp_path, [[*row(1), "トイレ1"]], header))
    assert p.report.ok
    assert issues(p, "duplicate-header") == [(None, "名称", None, "warning")]


def test_nul_bytes_are_removed_with_a_warning(tmp_path):
    path = toilets(tmp_path, [row(1), row(2)])
    path.write_bytes(path.read_bytes().replace("トイレ2".encode(), "トイ\x00レ2".encode()))
    p = prepare(definition(), path)
    assert p.report.ok
    assert list(p.frame["name"]) == ["トイレ1", "トイレ2"]
    assert issues(p, "nul-byte") == [(3, "名称", "トイ\\0レ2", "warning")]


def far_file(tmp_path: Path) -> Path:
    rows = [row(i) for i in range(1, 11)]
    rows[6] = row(7, lat="34.5230", lon="138.3200")  # 34°52'30" written as 34.5230: ~38 km south
    return toilets(tmp_path, rows)


def test_a_point_far_from_the_others_is_warned_about_and_kept(tmp_path):
    p = prepare(definition(), far_file(tmp_path))
    assert p.report.ok
    far = [i for i in p.report.issues if i.rule == "outlier-point"]
    assert [(i.row, i.column, i.value, i.severity) for i in far] == [
        (8, "緯度, 経度", "34.5230, 138.3200", "warning")]
    assert "km from the middle of the file's points" in far[0].message
    assert len(p.frame) == 10


def test_a_few_points_are_not_judged(tmp_path):
    rows = [row(1), row(2), row(3, lat="34.5230")]
    assert not any(i.rule == "outlier-point" for i in prepare(
        definition(), toilets(tmp_path, rows)).report.issues)


# --- invalid optional cells ----------------------------------------------------------------------

def all_day_file(tmp_path: Path) -> Path:
    """17 toilets, 9 of them open 終日 ("all day"), which is no time."""
    return toilets(tmp_path, [row(i, opening="終日" if i % 2 else "9:00") for i in range(1, 18)])


def test_skip_invalid_drops_rows_for_a_bad_optional_cell_by_default(tmp_path):
    p = prepare(definition(), all_day_file(tmp_path), skip_invalid=True)
    assert (len(p.frame), p.report.rows_skipped) == (8, 9)


def test_null_policy_keeps_the_row_and_empties_the_cell(tmp_path):
    p = prepare(definition(), all_day_file(tmp_path), on_invalid_optional="null")
    assert p.report.ok and p.report.rows_skipped == 0
    assert len(p.frame) == 17
    assert p.frame["opening_time"].isna().sum() == 9
    warned = [i for i in p.report.warnings if i.rule == "format:hh:mm"]
    assert len(warned) == 9 and warned[0].value == "終日"
    assert warned[0].message.endswith("the cell is left empty (on_invalid_optional = null)")


def test_the_dataset_declares_its_default_policy(tmp_path):
    p = prepare(definition(on_invalid_optional="null"), all_day_file(tmp_path))
    assert p.report.ok and len(p.frame) == 17


def test_null_policy_still_drops_rows_with_a_bad_required_field_or_key(tmp_path):
    rows = [row(1, opening="終日"), [*row(2)[:2], "", *row(2)[3:]], ["", *row(3)[1:]]]
    p = prepare(definition(), toilets(tmp_path, rows), on_invalid_optional="null",
                skip_invalid=True)
    assert list(p.frame["id"]) == ["T01"] and p.report.rows_skipped == 2
    assert {i.rule for i in p.report.errors} == {"required", "primary-key"}


def test_refuse_policy_skips_nothing_even_with_skip_invalid(tmp_path):
    p = prepare(definition(), all_day_file(tmp_path), on_invalid_optional="refuse",
                skip_invalid=True)
    assert not p.report.ok and p.report.rows_skipped == 0


def test_refuse_policy_is_an_error_about_the_whole_file_ahead_of_the_cap(tmp_path):
    p = prepare(definition(), all_day_file(tmp_path), on_invalid_optional="refuse",
                skip_invalid=True, max_errors=3)
    first = p.report.errors[0]
    assert (first.row, first.rule) == (None, "on-invalid-optional")
    assert first.message.startswith("9 invalid cell(s) in optional field(s) opening_time")
    assert [i.row for i in p.report.errors[1:]] == [2, 4]  # the cells, capped after it
    assert p.report.truncated and len(p.frame) == 17


def test_prepare_table_takes_the_policy_for_a_table_already_read(tmp_path):
    d = definition()
    p = prepare_table(d, read_source(d, all_day_file(tmp_path)), on_invalid_optional="null")
    assert p.report.ok and len(p.frame) == 17 and p.frame["opening_time"].isna().sum() == 9


def test_unknown_policy_is_refused_in_dataset_toml(tmp_path):
    folder = tmp_path / "etl-toilets"
    folder.mkdir()
    toml = (FIXTURES / "datasets" / "etl-toilets" / "dataset.toml").read_text(encoding="utf-8")
    (folder / "dataset.toml").write_text('on_invalid_optional = "ignore"\n' + toml,
                                         encoding="utf-8")
    with pytest.raises(DefinitionError, match="on_invalid_optional 'ignore'"):
        load_definition("etl-toilets", tmp_path, FIXTURES / "schemas")

"""etl.validate: each Table Schema constraint on a small typed frame, and how issues point at
the source file (row, header, original text)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from etl.validate import validate
from hub.catalog import DefinitionError, TableSchema


def make_schema(*fields: dict[str, Any], primary_key: list[str] | None = None) -> TableSchema:
    data: dict[str, Any] = {"fields": list(fields)}
    if primary_key:
        data["primaryKey"] = primary_key
    return TableSchema.from_json(data)


def rules(issues: list) -> list[tuple[int | None, str, str | None]]:
    return [(i.row, i.rule, i.field) for i in issues]


def test_required_reports_empty_and_missing_cells() -> None:
    schema = make_schema({"name": "name", "type": "string", "constraints": {"required": True}})
    frame = pd.DataFrame({"name": ["a", None, "", "b"]}, dtype=object)
    issues = validate(frame, schema, file="f.csv")
    assert rules(issues) == [(2, "required", "name"), (3, "required", "name")]
    assert issues[0].file == "f.csv" and issues[0].severity == "error"
    assert issues[0].message == "a value is required"


def test_issue_points_at_source_row_header_and_original_text() -> None:
    schema = make_schema(
        {"name": "capacity", "type": "integer", "constraints": {"minimum": 0, "maximum": 100}}
    )
    frame = pd.DataFrame({"capacity": pd.array([5, -1, 120], dtype="Int64")})
    issues = validate(
        frame,
        schema,
        file="保育園.csv",
        source_rows=np.array([10, 12, 17]),
        columns={"capacity": "定員"},
        source_values={"capacity": pd.Series(["５", "－1", "１２０"], dtype=object)},
    )
    assert [(i.row, i.column, i.value, i.rule) for i in issues] == [
        (12, "定員", "－1", "minimum"),
        (17, "定員", "１２０", "maximum"),
    ]
    assert issues[0].message == "value is less than the minimum 0"
    assert issues[1].message == "value is more than the maximum 100"


def test_unique_points_at_the_first_occurrence() -> None:
    schema = make_schema({"name": "code", "type": "string", "constraints": {"unique": True}})
    frame = pd.DataFrame({"code": ["A", "B", "A", None, None, "A"]}, dtype=object)
    issues = validate(frame, schema, source_rows=np.array([2, 3, 4, 5, 6, 9]))
    assert rules(issues) == [(4, "unique", "code"), (9, "unique", "code")]
    assert issues[1].message == "duplicate value: the same value is already in row 2"


def test_primary_key_missing_and_duplicate() -> None:
    schema = make_schema(
        {"name": "id", "type": "integer"}, {"name": "v", "type": "string"}, primary_key=["id"]
    )
    frame = pd.DataFrame({"id": pd.array([1, 2, None, 1], dtype="Int64"), "v": ["a"] * 4})
    issues = validate(frame, schema, columns={"id": "番号"})
    assert rules(issues) == [(3, "primary-key", "id"), (4, "primary-key", "id")]
    assert issues[0].message == "primary key field 'id' is empty"
    assert issues[1].message == "primary key not unique: the same value is already in row 1"
    assert issues[1].column == "番号"


def test_composite_primary_key() -> None:
    schema = make_schema(
        {"name": "ward", "type": "string"},
        {"name": "no", "type": "integer"},
        primary_key=["ward", "no"],
    )
    frame = pd.DataFrame(
        {"ward": ["東灘", "灘", "東灘", "東灘"], "no": pd.array([1, 1, 2, 1], dtype="Int64")}
    )
    issues = validate(
        frame,
        schema,
        columns={"ward": "管轄", "no": "交付番号"},
        source_values={"ward": frame["ward"], "no": pd.Series(["1", "1", "2", "０１"])},
        source_rows=np.array([2, 3, 4, 5]),
    )
    assert len(issues) == 1
    issue = issues[0]
    assert (issue.row, issue.rule, issue.field, issue.column, issue.value) == (
        5,
        "primary-key",
        "ward,no",
        "管轄, 交付番号",
        "東灘, ０１",
    )
    assert "row 2" in issue.message


def test_pattern_is_a_full_match() -> None:
    schema = make_schema(
        {"name": "postal", "type": "string", "constraints": {"pattern": "[0-9]{3}-[0-9]{4}"}}
    )
    frame = pd.DataFrame({"postal": ["650-0001", "650-00012", "x650-0001", None, "6500001"]})
    issues = validate(frame, schema)
    assert rules(issues) == [
        (2, "pattern", "postal"),
        (3, "pattern", "postal"),
        (5, "pattern", "postal"),
    ]
    assert "[0-9]{3}-[0-9]{4}" in issues[0].message


def test_invalid_pattern_in_schema_is_a_definition_error() -> None:
    schema = make_schema({"name": "x", "type": "string", "constraints": {"pattern": "("}})
    with pytest.raises(DefinitionError, match="invalid pattern"):
        validate(pd.DataFrame({"x": ["a"]}), schema)


def test_min_and_max_length() -> None:
    schema = make_schema(
        {"name": "name", "type": "string", "constraints": {"minLength": 2, "maxLength": 4}}
    )
    frame = pd.DataFrame({"name": ["あ", "ああ", "あああああ", None]}, dtype=object)
    issues = validate(frame, schema)
    assert rules(issues) == [(1, "minLength", "name"), (3, "maxLength", "name")]
    assert issues[1].message == "text is longer than 4 characters (5)"


def test_enum_by_type() -> None:
    schema = make_schema(
        {"name": "kind", "type": "string", "constraints": {"enum": ["公立", "私立"]}},
        {"name": "level", "type": "integer", "constraints": {"enum": [1, 2, 3]}},
    )
    frame = pd.DataFrame(
        {"kind": ["公立", "区立", None], "level": pd.array([1, 4, None], dtype="Int64")}
    )
    issues = validate(frame, schema)
    assert rules(issues) == [(2, "enum", "kind"), (2, "enum", "level")]
    assert issues[0].message == "value is not one of the allowed: 公立, 私立"


def test_date_and_time_ranges_compare_as_dates() -> None:
    schema = make_schema(
        {"name": "d", "type": "date", "constraints": {"minimum": "2000-01-01"}},
        {"name": "t", "type": "time", "constraints": {"maximum": "18:00:00"}},
        {"name": "ts", "type": "datetime", "constraints": {"minimum": "2020-01-01T00:00:00+09:00"}},
    )
    frame = pd.DataFrame(
        {
            "d": ["1999-12-31", "2000-01-01", None],
            "t": ["18:00:00", "18:00:01", None],
            "ts": ["2019-12-31T15:00:00+00:00", "2019-12-31T14:59:59+00:00", None],
        },
        dtype=object,
    )
    issues = validate(frame, schema)
    assert rules(issues) == [(1, "minimum", "d"), (2, "maximum", "t"), (2, "minimum", "ts")]


def test_skip_mask_suppresses_cells_already_reported() -> None:
    schema = make_schema({"name": "n", "type": "integer", "constraints": {"required": True}})
    frame = pd.DataFrame({"n": pd.array([None, None], dtype="Int64")})
    issues = validate(frame, schema, skip={"n": np.array([True, False])})
    assert rules(issues) == [(2, "required", "n")]


def test_issues_are_in_source_order_and_capped() -> None:
    schema = make_schema(
        {"name": "a", "type": "string", "constraints": {"required": True}},
        {"name": "b", "type": "integer", "constraints": {"maximum": 0}},
    )
    n = 5000
    frame = pd.DataFrame({"a": [None] * n, "b": pd.array(np.arange(n) + 1, dtype="Int64")})
    issues = validate(frame, schema, max_errors=5)
    assert rules(issues) == [
        (1, "required", "a"),
        (1, "maximum", "b"),
        (2, "required", "a"),
        (2, "maximum", "b"),
        (3, "required", "a"),
    ]


def test_valid_frame_has_no_issues_and_unknown_columns_are_ignored() -> None:
    schema = make_schema(
        {"name": "a", "type": "number", "constraints": {"required": True, "minimum": 0}},
        {"name": "absent", "type": "string", "constraints": {"required": True}},
    )
    frame = pd.DataFrame({"a": pd.array([0.0, 1.5], dtype="Float64"), "extra": ["x", "y"]})
    assert validate(frame, schema) == []


@pytest.mark.parametrize("pattern", [r"^[0-9]{3}-[0-9]{4}$", r"\d+", r"(a|b)*", r"[ぁ-ん]+区?",
                                     r".*\n?", r"x"])
def test_a_pattern_is_matched_alike_in_arrow_and_object_columns(pattern: str) -> None:
    """Arrow text (each distinct value matched once) and object text give the same matches,
    by Python's re: missing cells never match, even a pattern that matches nothing."""
    import re

    import pyarrow as pa

    from etl.validate import _full_matches

    cells = ["123-4567", "１２３-４５６７", "123-4567\n", "", None, "ab", "ab", "ねりま区", "x",
             "x\n", "😀", "123-4567"]
    expected = [c is not None and re.fullmatch(pattern, c) is not None for c in cells]
    arrow = pd.Series(pd.arrays.ArrowStringArray(pa.array(cells, pa.large_string())))
    assert _full_matches(re.compile(pattern), arrow).tolist() == expected
    assert _full_matches(re.compile(pattern), pd.Series(cells, dtype=object)).tolist() == expected
    empty = pd.Series(pd.arrays.ArrowStringArray(pa.array([None, None], pa.large_string())))
    assert _full_matches(re.compile(pattern), empty).tolist() == [False, False]

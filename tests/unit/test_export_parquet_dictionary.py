"""Parquet dictionary encoding only for the columns that repeat values."""

from __future__ import annotations

import pyarrow as pa

from hub.export.writers import dictionary_columns


def test_repeated_values_get_a_dictionary_unique_ones_and_wkb_do_not() -> None:
    rows = 1000
    batch = pa.record_batch({
        "shop_id": [f"S{i:05d}" for i in range(rows)],
        "category": [["cafe", "books", None][i % 3] for i in range(rows)],
        "floors": [i % 12 for i in range(rows)],
        "step_free": [i % 2 == 0 for i in range(rows)],
        "latitude": [35 + i / 1e4 for i in range(rows)],
        "geometry": pa.array([b"\x01\x01\x00\x00\x00" + bytes(16)] * rows, pa.binary()),
    })
    assert dictionary_columns(batch) == ["category", "floors", "step_free"]


def test_a_one_row_batch() -> None:
    assert dictionary_columns(pa.record_batch({"a": ["x"]})) == ["a"]

"""The search text made by Arrow from each distinct value folded once
(etl.normalise.SearchFolding) is, row for row, the plain rule: every cell folded by
hub.textfold.fold_indexed, the non-empty ones joined by single spaces."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from etl import normalise as norm
from hub.textfold import fold_indexed

AWKWARD = [
    None, "", "ＡＢＣ　Ｄ", "ｾﾝﾀｰ前", "センター", "センタ", "車椅子トイレ", "車イス", "北ｰ1-2",
    "4ー13ー7", "コーヒ〜〜", "カー", "ラーメン－", "😀 emoji 🏳️‍🌈", "line\r\nbreak", "a\nb",
    'Cafe, "Two"', "'single'", "ｶﾞｷﾞｸﾞ", "㍿", "Ⅻ", "バス停留所", "ＡＥＤ", "24H", "caedmon",
    "nul\x00inside", "  padded  ", "ヶ丘", "ヵ所", "ゝヽヾ", "一", "ー", "－－", "~", "〰",
]


def reference(frame: pd.DataFrame, fields: list[str]) -> list[str]:
    """The rule itself, one cell at a time."""
    rows = zip(*(frame[name].tolist() for name in fields), strict=True) if fields else (
        () for _ in range(len(frame)))
    return [" ".join(filter(None, (fold_indexed(c) if isinstance(c, str) else ""
                                   for c in row))) for row in rows]


def frame_of(n: int, arrow: bool, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns = {name: [AWKWARD[i] for i in rng.integers(0, len(AWKWARD), n)]
               for name in ("a", "b", "c")}
    columns["empty"] = [None if i % 2 else "" for i in range(n)]
    if n >= 2:  # a row with nothing to search, and one with a single full-width value
        columns["a"][:2], columns["b"][:2], columns["c"][:2] = [None, ""], ["", None], [
            "", "ＡＢＣ　Ｄ"]
    if arrow:
        return pd.DataFrame({k: pd.Series(pd.arrays.ArrowStringArray(
            pa.array(v, pa.large_string()))) for k, v in columns.items()})
    return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()})


@pytest.mark.parametrize("arrow", [True, False], ids=["arrow", "object"])
def test_rows_asked_in_any_order_are_the_rule_cell_by_cell(arrow: bool) -> None:
    frame = frame_of(500, arrow, seed=11)
    fields = ["a", "empty", "b", "c"]
    expected = reference(frame, fields)
    folding = norm.SearchFolding(frame, fields)
    order = np.random.default_rng(5).permutation(len(frame))
    got: list[str] = []
    for start in range(0, len(order), 37):
        text = folding.rows(order[start : start + 37])
        assert text.type == pa.large_string() and text.null_count == 0
        got += text.to_pylist()
    assert got == [expected[p] for p in order]
    assert expected[:2] == ["", "abc d"]


def test_search_text_is_the_rule_for_every_row() -> None:
    frame = frame_of(300, True, seed=2)
    assert norm.search_text(frame, ["c", "a"]).tolist() == reference(frame, ["c", "a"])
    assert norm.search_text(frame, ["empty"]).tolist() == [""] * 300
    assert norm.search_text(frame, []).tolist() == [""] * 300


def test_no_rows_and_no_fields() -> None:
    empty = frame_of(0, True, seed=1)
    assert norm.search_text(empty, ["a", "b"]).tolist() == []
    folding = norm.SearchFolding(frame_of(4, False, seed=1), [])
    assert folding.rows(np.array([3, 0])).to_pylist() == ["", ""]

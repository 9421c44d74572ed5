"""etl.copy_text writes the bytes pandas' to_csv wrote, so stored checksums stay valid."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from etl.copy_text import column_cells, csv_lines


def pandas_csv(frame: pd.DataFrame) -> bytes:
    """What etl.load sent to COPY (and hashed) before etl.copy_text existed."""
    buffer = io.StringIO()
    frame.to_csv(buffer, header=False, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def arrow_csv(frame: pd.DataFrame) -> bytes:
    return bytes(csv_lines([column_cells(frame[c]) for c in frame.columns]))


def test_every_frame_type_and_awkward_cell_matches_pandas() -> None:
    frame = pd.DataFrame({
        "_fid": np.arange(1, 11),
        "number": pd.array([1.0, None, 1e-05, 1e16, 3.5, -0.0, 1e15, 0.1, 123456789.125,
                            5e-324], dtype="Float64"),
        "flag": pd.array([True, None, False, True, True, False, None, True, False, True],
                         dtype="boolean"),
        "count": pd.array([1, None, -3, 2**62, 0, 5, 6, 7, -(2**63), 9], dtype="Int64"),
        "text": np.array(["x,y", None, 'q"q', "a\nb", "東京 都", " sp ", "", "tab\there",
                          '"', "ｶﾅ,全角"], dtype=object),
        "date": np.array(["2020-04-01", None, "2020-04-01T09:30:00+09:00", "09:30:00",
                          None, None, "1999-12-31", None, None, "2020-02-29"], dtype=object),
    })
    assert arrow_csv(frame) == pandas_csv(frame)


@pytest.mark.parametrize("seed", [1, 2])
def test_random_floats_match_python_repr(seed: int) -> None:
    rng = np.random.default_rng(seed)
    magnitudes = 10.0 ** rng.uniform(-12, 20, 20_000)
    values = np.concatenate([magnitudes * rng.choice([-1, 1], 20_000), np.round(magnitudes),
                             np.round(rng.uniform(0, 5, 2_000), 1), [np.nan] * 3])
    frame = pd.DataFrame({"_fid": np.arange(len(values)),
                          "v": pd.array(values, dtype="Float64")})
    assert arrow_csv(frame) == pandas_csv(frame)


def test_arrow_backed_text_matches_pandas() -> None:
    """Prepared frames hold text as string[pyarrow] (large_string underneath)."""
    cells = ["x,y", None, 'q"q', "a\nb", "東京 都", ""]
    frame = pd.DataFrame({"_fid": np.arange(6),
                          "text": pd.array(cells, dtype=pd.StringDtype("pyarrow")),
                          "same": np.array(cells, dtype=object)})
    assert arrow_csv(frame) == pandas_csv(frame)
    expected = frame.astype({"text": object}).assign(text=lambda f: f["text"].where(
        f["text"].notna(), None))
    assert arrow_csv(frame) == pandas_csv(expected)


def test_carriage_return_is_quoted_unlike_pandas() -> None:
    """pandas left "a\\rb" bare, which PostgreSQL's CSV COPY refuses; quoted it loads."""
    frame = pd.DataFrame({"text": np.array(["a\rb", "c"], dtype=object)})
    assert arrow_csv(frame) == b'"a\rb"\nc\n'


def test_numbers_in_a_text_column_are_written_as_str() -> None:
    frame = pd.DataFrame({"_fid": np.arange(4),
                          "text": np.array(["a", 12, 1.5, None], dtype=object)})
    assert arrow_csv(frame) == pandas_csv(frame)


def test_no_rows_no_bytes() -> None:
    frame = pd.DataFrame({"a": pd.array([], dtype="Int64"),
                          "b": np.array([], dtype=object)})
    assert arrow_csv(frame) == b""

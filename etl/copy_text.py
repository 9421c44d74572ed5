"""COPY CSV text of typed rows, built a column at a time with Arrow compute kernels.

The publish checksum (``content_sha256``) is the SHA-256 of the bytes sent to COPY, and those
bytes were first written by ``pandas.DataFrame.to_csv``, which formats and quotes every cell in
Python (about 40% of a 1M-row publish). This module writes the *same bytes* from C++: each
column becomes an Arrow string array of its CSV cells, and one element-wise join makes the
lines, whose data buffer is handed to COPY without a copy. Keeping the bytes identical keeps
every stored checksum valid, so unchanged data is still recognised as unchanged.

What pandas writes (QUOTE_MINIMAL, ``,`` separated, ``\\n`` line ends), and so what this does:
missing values are empty; integers as digits; booleans ``True``/``False``; floats as Python's
``repr`` (shortest round trip, ``1.0``, ``1e-05``); text quoted when it holds ``,`` ``"`` or a
line break, with ``"`` doubled. One deliberate difference: a cell with a carriage return is
quoted (pandas left it bare, which PostgreSQL's CSV parser rejects, so no such row was ever
published and no stored checksum covers one).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Arrow's float-to-text cast and Python's repr agree (up to a missing ".0") on this range of
# magnitudes; outside it (tiny, huge, NaN, infinite) cells take repr itself, rare in real data.
_PLAIN_FLOAT = (1e-4, 1e10)
_NEEDS_QUOTES = r'[,"\r\n]'


def column_cells(values: pd.Series | np.ndarray) -> pa.Array:
    """CSV cells of one column as an Arrow string array without nulls (missing: "")."""
    if isinstance(values, pd.Series):
        dtype, values = values.dtype, values.array
    else:
        dtype = values.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        return text_cells(pa.chunked_array(pa.array(values)).combine_chunks())
    if pd.api.types.is_bool_dtype(dtype):
        flags = _arrow(values, pa.bool_())
        return pc.if_else(flags, "True", "False").fill_null("")
    if pd.api.types.is_integer_dtype(dtype):
        return pc.cast(_arrow(values, pa.int64()), pa.string()).fill_null("")
    if pd.api.types.is_float_dtype(dtype):
        return float_repr(_arrow(values, pa.float64()))
    return text_cells(_strings(values))


def csv_lines(columns: Sequence[pa.Array]) -> memoryview:
    """The columns' cells joined by ``,`` with ``\\n`` after each row, as one buffer."""
    columns = [pc.cast(c, pa.large_string()) for c in columns]  # one type for the kernel
    big = pa.large_string()
    # The line end is put after the last cell first, so that the lines are written in one
    # pass over all the text rather than two.
    ends = pc.binary_join_element_wise(columns[-1], pa.scalar("\n", big), pa.scalar("", big))
    rows = pc.binary_join_element_wise(*columns[:-1], ends, pa.scalar(",", big))
    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    width = np.int64 if pa.types.is_large_string(rows.type) else np.int32
    offsets = np.frombuffer(rows.buffers()[1], dtype=width, count=len(rows) + 1,
                            offset=rows.offset * np.dtype(width).itemsize)
    data = rows.buffers()[2]
    if data is None:
        return memoryview(b"")
    return memoryview(data)[int(offsets[0]) : int(offsets[-1])]


def _arrow(values: object, kind: pa.DataType) -> pa.Array:
    """Masked pandas arrays and numpy arrays to Arrow, missing values as nulls."""
    return pa.array(values, type=kind, from_pandas=True)


def _strings(values: object) -> pa.Array:
    cells = np.asarray(values, dtype=object)
    try:
        return pa.array(cells, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Not all str (a number in a text column): pandas writes str() of it.
        present = ~pd.isna(cells)
        cells = cells.copy()
        cells[present] = [str(v) for v in cells[present]]
        return pa.array(cells, type=pa.string(), from_pandas=True)


def float_repr(numbers: pa.Array) -> pa.Array:
    """Python's ``repr`` of each float (shortest round trip: ``1.0``, ``35.6``, ``1e-05``),
    missing as ""; written by Arrow, with ``repr`` itself only for the rare magnitudes where
    the two would differ."""
    text = pc.cast(numbers, pa.string())
    # Arrow writes 3 and -0 where repr writes 3.0 and -0.0: whole numbers, which in the
    # plain range are the cells Arrow writes without a point (the others take repr below).
    bare = pc.equal(pc.floor(numbers), numbers)
    text = pc.if_else(bare, pc.binary_join_element_wise(text, ".0", ""), text)
    magnitude = pc.abs(numbers)
    plain = pc.or_(pc.equal(magnitude, 0.0),
                   pc.and_(pc.greater_equal(magnitude, _PLAIN_FLOAT[0]),
                           pc.less(magnitude, _PLAIN_FLOAT[1])))
    odd = np.flatnonzero(~plain.fill_null(True).to_numpy(zero_copy_only=False))
    if len(odd):
        cells = np.asarray(text.to_pylist(), dtype=object)
        cells[odd] = [repr(float(v)) for v in numbers.take(pa.array(odd)).to_pylist()]
        text = pa.array(cells, type=pa.string())
    return text.fill_null("")


def text_cells(text: pa.Array) -> pa.Array:
    """CSV cells of an Arrow string array (quoted where needed, nulls as "")."""
    needs = pc.match_substring_regex(text, _NEEDS_QUOTES)
    if pc.any(needs).as_py():
        quote, nothing = pa.scalar('"', text.type), pa.scalar("", text.type)
        quoted = pc.binary_join_element_wise(
            quote, pc.replace_substring(text, '"', '""'), quote, nothing)
        text = pc.if_else(needs, quoted, text)
    return text.fill_null("")

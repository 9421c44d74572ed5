"""Arrow values made from buffers and read back without pyarrow's Python conversions.

``pa.scalar``, ``pa.array`` of a list or a numpy array, ``pa.table`` and ``to_numpy`` (even
of a plain uint8 array) all make pyarrow import pandas (its conversion shims ask whether
the input is a pandas object): ~0.4 s and ~40 MB in an export process that has no other
use for it. The GeoPackage writer needs only these few values, so they are built from
buffers.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def scalar(value: bytes, kind: pa.DataType | None = None) -> pa.Scalar:
    """A binary (or ``kind``: string) scalar holding ``value``."""
    offsets = pa.py_buffer(np.array([0, len(value)], dtype=np.int32))
    return pa.Array.from_buffers(kind or pa.binary(), 1, [None, offsets, pa.py_buffer(value)])[0]


def bool_array(values: np.ndarray) -> pa.Array:
    """A boolean Arrow array over a numpy mask."""
    bits = pa.py_buffer(np.packbits(values.astype(bool), bitorder="little"))
    return pa.Array.from_buffers(pa.bool_(), len(values), [None, bits])


def int64_array(values: np.ndarray) -> pa.Array:
    """An int64 Arrow array over a numpy array."""
    data = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data)])


def valid_mask(column: pa.Array) -> np.ndarray:
    """True where ``column`` is not NULL."""
    if column.null_count == 0:
        return np.ones(len(column), dtype=bool)
    bits = np.unpackbits(np.frombuffer(column.buffers()[0], dtype=np.uint8), bitorder="little")
    return bits[column.offset:column.offset + len(column)].astype(bool)

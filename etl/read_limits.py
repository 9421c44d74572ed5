"""How much of a file the hub agrees to read: bytes, columns, records and the longest cell.

A municipal file is small; a hostile or broken one is not. Without bounds a 1.9 MB CSV of
200,000 columns made the reader work for minutes and grow to gigabytes, because the cost of
a table grows with its columns long before its bytes. Each bound is checked at the earliest
point that knows the figure (file size before reading, columns while the head is read,
records and cells right after parsing), so a refusal costs little, and each refusal names the
file, where, the figure, the limit and the setting that raises it.

The defaults are the settings' defaults (``HUB_READ_MAX_*``), read from ``Settings`` itself so
the two can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from hub.settings import Settings

if TYPE_CHECKING:
    from etl.read import ReadError


def _default(name: str) -> int:
    value = Settings.model_fields[name].default
    assert isinstance(value, int)
    return value


@dataclass(frozen=True)
class ReadLimits:
    """The bounds one read is held to (see the module docstring)."""

    max_file_bytes: int = field(default_factory=lambda: _default("read_max_file_bytes"))
    max_columns: int = field(default_factory=lambda: _default("read_max_columns"))
    max_rows: int = field(default_factory=lambda: _default("read_max_rows"))
    max_cell_bytes: int = field(default_factory=lambda: _default("read_max_cell_bytes"))

    @classmethod
    def from_settings(cls, settings: Settings) -> ReadLimits:
        return cls(max_file_bytes=settings.read_max_file_bytes,
                   max_columns=settings.read_max_columns,
                   max_rows=settings.read_max_rows,
                   max_cell_bytes=settings.read_max_cell_bytes)

    def check_file_size(self, file: str, size: int) -> None:
        if size > self.max_file_bytes:
            raise _refusal(file, f"the file is {size:,} bytes", self.max_file_bytes,
                           "bytes", "HUB_READ_MAX_FILE_BYTES")

    def check_columns(self, file: str, columns: int, where: str) -> None:
        if columns > self.max_columns:
            raise _refusal(file, f"{where} has {columns:,} columns", self.max_columns,
                           "columns", "HUB_READ_MAX_COLUMNS")

    def check_rows(self, file: str, rows: int) -> None:
        if rows > self.max_rows:
            raise _refusal(file, f"the table has more than {self.max_rows:,} records",
                           self.max_rows, "records", "HUB_READ_MAX_ROWS")

    def check_cells(self, file: str, frame: pd.DataFrame, headers: list[str],
                    source_rows: np.ndarray) -> None:
        """Refuse the first column whose longest cell is past the bound, naming its row.

        Arrow string columns are measured in C (``binary_length``); object columns through
        pandas' string accessor. Byte length of the UTF-8 text, whatever the file's encoding,
        so the bound means the same memory for every file."""
        for position, column in enumerate(frame.columns):
            lengths = _byte_lengths(frame[column], self.max_cell_bytes)
            if lengths.size == 0:
                continue
            longest = int(lengths.argmax())
            if lengths[longest] > self.max_cell_bytes:
                header = headers[position] if position < len(headers) else f"#{position + 1}"
                row = int(source_rows[longest]) if longest < len(source_rows) else longest + 1
                raise _refusal(
                    file, f"row {row}, column {header!r}: a cell of {int(lengths[longest]):,} "
                    "bytes", self.max_cell_bytes, "bytes per cell", "HUB_READ_MAX_CELL_BYTES")


def _byte_lengths(values: pd.Series, limit: int) -> np.ndarray:
    array = getattr(values.array, "_pa_array", None)
    if array is not None:
        return pc.binary_length(pc.cast(array, "large_binary")).to_numpy(zero_copy_only=False)
    # Characters first (vectorised); only a cell whose bytes could pass the bound while its
    # characters do not (a UTF-8 character is at most 4 bytes) is encoded to count exactly.
    chars = values.astype(str).str.len().to_numpy(dtype=np.int64)
    lengths = chars.copy()
    for i in np.flatnonzero((chars * 4 > limit) & (chars <= limit)):
        lengths[i] = len(str(values.iat[i]).encode("utf-8"))
    return lengths


def _refusal(file: str, what: str, limit: int, unit: str, setting: str) -> ReadError:
    from etl.read import ReadError

    return ReadError(file, f"{what}; the limit is {limit:,} {unit} ({setting} raises it)")

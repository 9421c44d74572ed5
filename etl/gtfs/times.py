"""GTFS times of day: ``H:MM:SS`` measured from noon minus 12 h of the service day, so hours
past 24 (``25:10:00``) are trips after midnight that belong to the previous service day.

A time is kept twice: as text ``HH:MM:SS`` (zero-padded, hours past 24 kept as they are) for
people, and as seconds since the start of the service day for sorting and arithmetic. Both
are derived per *distinct* value (a timetable repeats the same few thousand times), so a
feed with millions of stop times costs one regular expression per distinct time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

_TIME = re.compile(r"(\d{1,3}):([0-5]\d):([0-5]\d)")


@dataclass(frozen=True)
class ParsedTimes:
    seconds: pd.Series  # Int64, NA when empty or invalid
    text: pd.Series  # object "HH:MM:SS" or None
    invalid: np.ndarray  # non-empty but not a time
    single_digit_hour: np.ndarray  # "6:28:00": read as 06:28:00 (a warning, not an error)
    past_midnight: np.ndarray  # hours >= 24


def parse_times(cells: pd.Series) -> ParsedTimes:
    """Read stripped GTFS time text; see the module docstring."""
    values = cells.to_numpy(dtype=object)
    codes, uniques = pd.factorize(values)
    k = len(uniques)
    secs = np.full(k, -1, dtype=np.int64)
    text = np.empty(k, dtype=object)
    bad = np.zeros(k, dtype=bool)
    short = np.zeros(k, dtype=bool)
    for i, value in enumerate(uniques):
        if value == "":
            continue
        match = _TIME.fullmatch(value)
        if match is None:
            bad[i] = True
            continue
        h, m, s = (int(g) for g in match.groups())
        secs[i] = h * 3600 + m * 60 + s
        text[i] = f"{h:02d}:{m:02d}:{s:02d}"
        short[i] = len(match.group(1)) == 1
    n = len(values)
    if n == 0:
        empty = np.zeros(0, dtype=bool)
        return ParsedTimes(pd.Series([], dtype="Int64"), pd.Series([], dtype=object),
                           empty, empty, empty)
    row_secs = secs[codes]
    seconds = pd.Series(row_secs, index=cells.index, dtype="Int64").where(row_secs >= 0, pd.NA)
    return ParsedTimes(
        seconds=seconds,
        text=pd.Series(text[codes], index=cells.index, dtype=object),
        invalid=bad[codes],
        single_digit_hour=short[codes],
        past_midnight=row_secs >= 24 * 3600,
    )


def format_seconds(seconds: pd.Series) -> pd.Series:
    """Seconds since the start of the service day -> ``HH:MM:SS`` (None for NA)."""
    out = np.full(len(seconds), None, dtype=object)
    present = seconds.notna().to_numpy(dtype=bool)
    if present.any():
        s = seconds.to_numpy(dtype="float64", na_value=np.nan)[present].astype(np.int64)
        out[present] = [f"{v // 3600:02d}:{v % 3600 // 60:02d}:{v % 60:02d}" for v in s]
    return pd.Series(out, index=seconds.index, dtype=object)

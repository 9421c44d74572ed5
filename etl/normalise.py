"""Pure normalisation of text cells into typed values, one column at a time.

Every parser takes a pandas Series of text and returns the typed values plus a boolean mask of
cells that were not empty but could not be read (the caller reports those with the original
text). Empty cells are missing (NA/None), never invalid: whether a value is required is a
constraint, checked in :mod:`etl.validate`.

Municipal files repeat the same few values (wards, categories, dates, ○/×) many times, so
per-value Python work is done once per *distinct* value (``pd.factorize`` + a list over the
uniques) and spread back with numpy indexing; plain ASCII numbers take pandas' C fast path.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pyproj import Transformer

from etl.copy_text import float_repr
from hub.catalog import TableSchema
from hub.textfold import fold_indexed_many

# Returned by per-value parsers for a non-empty value that cannot be read.
INVALID: Any = object()
# Rows of search text built at a time (see search_text).
SEARCH_CHUNK_ROWS = 25_000


# --- text ----------------------------------------------------------------------------------------


def text_array(s: pd.Series) -> np.ndarray:
    """The cells of ``s`` as an object array of str, missing cells as "".

    Joining is a cheap C-level proof that every cell is already a str (the common case, since
    the reader produces only str); only otherwise are missing values looked for and filled.
    """
    values = s.to_numpy(dtype=object)
    try:
        "".join(values)
        return values
    except TypeError:
        pass
    if values.dtype == object:
        none = np.equal(values, None)  # the usual missing marker in prepared frames
        if none.any():
            values = np.where(none, "", values)
    try:
        "".join(values)
        return values
    except TypeError:
        values = s.to_numpy(dtype=object, na_value="")
    odd = [i for i, v in enumerate(values) if not isinstance(v, str)]
    if odd:
        values = values.copy()
        values[odd] = [str(values[i]) for i in odd]
    return values


# What ``str.strip`` removes: every code point Python calls whitespace (29 of them).
WHITESPACE = "".join(chr(c) for c in (*range(0x9, 0xE), *range(0x1C, 0x21), 0x85, 0xA0,
                                       0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029,
                                       0x202F, 0x205F, 0x3000))


def arrow_strings(s: pd.Series) -> pa.Array | None:
    """The column as one Arrow string array when it is Arrow-backed (as the CSV reader
    makes them), else None."""
    if not (isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"):
        return None
    chunked = pa.chunked_array(pa.array(s.array))
    return chunked.combine_chunks() if chunked.num_chunks != 1 else chunked.chunk(0)


def distinct_values(cells: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """(a code per cell, -1 where missing; the distinct values): Arrow's dictionary
    encoding, so that work done once per distinct value needs no Python str per cell."""
    encoded = pc.dictionary_encode(cells)
    return encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), encoded.dictionary

def nfkc_arrow(cells: pa.Array, index: pd.Index) -> pd.Series:
    """:func:`nfkc` of an Arrow string column, done by Arrow's C++ kernels (utf8proc) without
    a Python str per cell: about 6x faster on a 1M-row file, most of it on columns with
    full-width characters, where Python had to normalise the whole column.

    The same result as :func:`nfkc` for every character Python's Unicode database knows
    (Python 3.11: Unicode 14). utf8proc follows a newer Unicode, and by Unicode's stability
    policy the two can differ only on characters assigned since (167 of them, such as the
    Kana Extended small letters), which Python leaves as they are and Arrow may decompose.
    """
    text = pc.utf8_trim(pc.utf8_normalize(cells, "NFKC"), WHITESPACE).fill_null("")
    if not pa.types.is_large_string(text.type):
        text = text.cast(pa.large_string())
    return pd.Series(pd.arrays.ArrowStringArray(text), index=index, copy=False)


def _map_unique(s: pd.Series, parse: Callable[[str], Any]) -> np.ndarray:
    """Apply ``parse`` once per distinct value of ``s``; return an object array aligned with s.

    Missing cells (None/NaN) are passed to ``parse`` as "" so that every parser sees text.
    """
    values = text_array(s)
    codes, uniques = pd.factorize(values)
    parsed = np.empty(len(uniques), dtype=object)
    parsed[:] = [parse(u) for u in uniques]
    return parsed[codes] if len(values) else np.empty(0, dtype=object)


def per_distinct_value(parse: Callable[[pd.Series], tuple[pd.Series, ...]], s: pd.Series
                       ) -> tuple[pd.Series, ...]:
    """``parse(s)``, computed on the distinct values of ``s`` and spread back over its rows
    when ``s`` holds Arrow strings that repeat (no more than half of them distinct, as in a
    column of categories, flags, small numbers or dates): Arrow finds the distinct values,
    so no Python str is made per row. ``parse`` must read each cell on its own, or decide
    on the set of distinct values alone (a local government code column): the result is
    then the same as ``parse(s)``, which is what columns of mostly distinct values get."""
    cells = arrow_strings(s)
    if cells is None or not len(cells) or cells.null_count:
        return parse(s)
    codes, values = distinct_values(cells)
    if 2 * len(values) > len(cells):
        return parse(s)
    distinct = pd.Series(pd.arrays.ArrowStringArray(values), copy=False)
    spread = []
    for result in parse(distinct):
        rows = result.take(codes)
        rows.index = s.index
        spread.append(rows)
    return tuple(spread)


def _nfkc_one(value: str) -> str:
    if value.isascii():
        return value.strip()
    return unicodedata.normalize("NFKC", value).strip()


def nfkc_text(value: str) -> str:
    """NFKC + strip of one string (the scalar twin of :func:`nfkc`)."""
    return _nfkc_one(value)


# A separator that NFKC never produces or composes with, and that is not whitespace.
_SEP = "\x00"
_SPACE_AFTER_SEP = re.compile(r"\x00\s")


def nfkc(s: pd.Series) -> pd.Series:
    """NFKC-normalise and trim every cell.

    Japanese files mix full-width and half-width digits, letters, spaces and punctuation
    (``３５．６``, ``ＮＫビル``, U+3000 spaces); NFKC folds them into one spelling so that values
    compare, parse and search the same whichever keyboard mode the publisher used.
    Missing cells become "".

    The column is normalised as one string (cells joined by NUL, which NFKC leaves alone and
    never composes across), so a column that is already clean costs two C-level scans.
    """
    values = text_array(s)
    n = len(values)
    joined = _SEP + _SEP.join(values) + _SEP
    if joined.count(_SEP) != n + 1:  # a cell holds NUL itself
        return pd.Series(_map_unique(s, _nfkc_one), index=s.index, dtype=object)
    changed = not unicodedata.is_normalized("NFKC", joined)
    if changed:
        joined = unicodedata.normalize("NFKC", joined)
    padded = _SPACE_AFTER_SEP.search(joined) or _SPACE_AFTER_SEP.search(joined[::-1])
    if not changed and not padded:
        return pd.Series(values, index=s.index, dtype=object, copy=False)
    parts = joined[1:-1].split(_SEP) if n else []
    if padded:
        parts = [p.strip() for p in parts]
    out = np.empty(n, dtype=object)
    out[:] = parts
    return pd.Series(out, index=s.index, dtype=object, copy=False)


def _search_pieces(s: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """One search field as (a code per row, a piece per code): each distinct value folded
    once (:func:`hub.textfold.fold_indexed`), as ``" " + folded``, or ``""`` when empty."""
    cells = arrow_strings(s)
    if cells is not None:  # distinct values found by Arrow, without a Python str per row
        codes, distinct = distinct_values(cells.fill_null(""))
        values = distinct.to_pylist()
    else:
        codes, uniques = pd.factorize(text_array(s))
        values = list(uniques)
    pieces = [f" {text}" if text else "" for text in fold_indexed_many(values)]
    return codes, pa.array(pieces, type=pa.large_string())


class SearchFolding:
    """The search text of a frame's rows (see :func:`search_text`), for any rows at a time.

    Each distinct value of a field is folded once, when this is made: rows can then be
    asked for a chunk at a time and in any order (a publish asks for each COPY chunk's rows)
    for the cost of folding the table once, and each row's text is joined by Arrow without
    a Python str per row. Only the folded distinct values and a code per cell are held."""

    def __init__(self, frame: pd.DataFrame, string_fields: Sequence[str]) -> None:
        self._fields = [_search_pieces(frame[name]) for name in string_fields]

    def rows(self, positions: np.ndarray) -> pa.Array:
        """The search text of the rows at ``positions`` (large strings, no nulls)."""
        big = pa.large_string()
        if not self._fields or not len(positions):
            return pa.array([""] * len(positions), type=big)
        # Each piece but an empty one starts with a space: joined without a separator, the
        # text is the non-empty values separated by single spaces, after its first character.
        pieces = [folded.take(pa.array(codes[positions])) for codes, folded in self._fields]
        joined = pc.binary_join_element_wise(*pieces, pa.scalar("", big))
        return pc.utf8_slice_codeunits(joined, 1)


def search_text(frame: pd.DataFrame, string_fields: list[str]) -> pd.Series:
    """The folded text of ``string_fields`` joined by single spaces, for full-text ``q``.

    Stored per row (``_search``) so that a trigram index serves searches without the query
    layer having to know the schema. Each cell is folded by :func:`hub.textfold.fold_indexed`
    (the rule the query side folds ``q`` with), once per distinct value of a column; empty
    fields add no separator. Returned as Arrow-backed strings, built
    :data:`SEARCH_CHUNK_ROWS` rows at a time by :class:`SearchFolding` (which a publish
    asks for a COPY chunk's rows at a time).
    """
    n = len(frame)
    folding = SearchFolding(frame, string_fields)
    parts = [folding.rows(np.arange(start, min(start + SEARCH_CHUNK_ROWS, n)))
             for start in range(0, n, SEARCH_CHUNK_ROWS)]
    text = pa.chunked_array(parts, type=pa.large_string())  # not combined: no second copy
    return pd.Series(pd.arrays.ArrowStringArray(text), index=frame.index, copy=False)


# --- headers -------------------------------------------------------------------------------------


def header_key(header: str) -> str:
    """How headers compare: NFKC, case-folded, without spaces, underscores or hyphens, so
    ``緯 度``, ``Latitude`` and ``ｌａｔｉｔｕｄｅ`` match one another."""
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", header)).casefold()


def _spelling_levels(
    schema: TableSchema, column_map: Mapping[str, tuple[str, ...]]
) -> list[Callable[[str], tuple[str, ...]]]:
    """How a header names fields, strongest first: the dataset's ``[columns]`` map (exact
    header, then loosely), then each field's name, title, ``title_ja`` and ``synonyms``
    (compared with :func:`header_key`). Only ``[columns]`` may name several fields."""
    levels: list[Callable[[str], tuple[str, ...]]] = []
    levels.append(lambda h: column_map.get(h, ()))
    loose_map = {header_key(src): dst for src, dst in column_map.items()}
    levels.append(lambda h: loose_map.get(header_key(h), ()))
    for attribute in ("name", "title", "title_ja"):
        table = {
            header_key(getattr(f, attribute)): (f.name,)
            for f in schema.fields
            if getattr(f, attribute)
        }
        levels.append(lambda h, table=table: table.get(header_key(h), ()))
    synonyms = {header_key(s): (f.name,) for f in schema.fields for s in f.synonyms}
    levels.append(lambda h: synonyms.get(header_key(h), ()))
    return levels


def match_headers(
    headers: list[str], schema: TableSchema, column_map: Mapping[str, tuple[str, ...]]
) -> tuple[dict[str, str], list[str]]:
    """Map schema fields to source headers; return ({field: header}, unmatched headers).

    Priority: see :func:`_spelling_levels`. Each field takes at most one column (the first by
    priority, then by position) so a file with two ``住所`` columns cannot silently overwrite
    one with the other; one column may feed several fields only when ``[columns]`` says so
    (a symbol column read through a ``[values]`` map into two flags).
    """
    field_names = set(schema.field_names)
    found: dict[str, str] = {}
    matched: set[str] = set()
    for lookup in _spelling_levels(schema, column_map):
        for header in headers:
            if header in matched:
                continue
            targets = [t for t in lookup(header) if t in field_names and t not in found]
            for target in targets:
                found[target] = header
            if targets:
                matched.add(header)
    unmatched = [h for h in headers if h not in matched]
    return found, unmatched


def known_header(schema: TableSchema, column_map: Mapping[str, tuple[str, ...]]
                 ) -> Callable[[str], bool]:
    """Whether a cell is a header that names one of the schema's fields, by the spellings
    :func:`match_headers` reads: used to tell a file's header row from the title and legend
    rows above it."""
    levels = _spelling_levels(schema, column_map)
    field_names = set(schema.field_names)

    def known(cell: str) -> bool:
        return bool(cell.strip()) and any(
            t in field_names for lookup in levels for t in lookup(cell))

    return known


def map_values(s: pd.Series, mapping: Mapping[str, str]) -> tuple[pd.Series, pd.Series]:
    """Cells replaced by a dataset's ``[values.<field>]`` map (keys NFKC'd and trimmed, as
    the cells are), and a mask of non-empty cells the map does not list: a declared map is
    the column's whole vocabulary, so an unlisted symbol is an error, never a guess. Unlisted
    cells are emptied, so that the field's type parser does not report them again."""
    values = text_array(s)
    codes, uniques = pd.factorize(values)
    mapped = np.array([mapping.get(u, "") for u in uniques], dtype=object)
    unknown = np.array([u != "" and u not in mapping for u in uniques], dtype=bool)
    if not len(values):
        return pd.Series([], index=s.index, dtype=object), pd.Series([], index=s.index,
                                                                         dtype=bool)
    return (pd.Series(mapped[codes], index=s.index, dtype=object),
            pd.Series(unknown[codes], index=s.index))


# --- numbers -------------------------------------------------------------------------------------

_INTEGER = re.compile(r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)")
_NUMBER = re.compile(
    r"[+-]?(?:(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
)
_INT64_MAX = 2**63 - 1


def _integer_one(value: str) -> int | None:
    text = _nfkc_one(value)
    if not text:
        return None
    if not _INTEGER.fullmatch(text):
        return INVALID
    number = int(text.replace(",", ""))
    return number if -_INT64_MAX - 1 <= number <= _INT64_MAX else INVALID


def _number_one(value: str) -> float | None:
    text = _nfkc_one(value)
    if not text:
        return None
    if not _NUMBER.fullmatch(text):
        return INVALID
    number = float(text.replace(",", ""))
    return number if math.isfinite(number) else INVALID


def _split_invalid(parsed: np.ndarray, index: pd.Index) -> tuple[np.ndarray, pd.Series]:
    """Turn INVALID markers into None and return them as a mask."""
    invalid = np.fromiter((p is INVALID for p in parsed), dtype=bool, count=len(parsed))
    if invalid.any():
        parsed = parsed.copy()
        parsed[invalid] = None
    return parsed, pd.Series(invalid, index=index, dtype=bool)


def parse_integer(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Whole numbers, allowing full-width digits and thousands separators (``1,234``).

    Units (``12件``, ``3人``) are invalid rather than stripped: a count with a unit in it
    usually means the column holds free text, and the publisher should see that.
    """
    cells = arrow_strings(s)
    if cells is None:
        cells = pa.array(text_array(s), type=pa.large_string())
    # Plain digits are read by Arrow (RE2 reads this pattern as Python does); the rest, once
    # per distinct value, in Python.
    plain = pc.match_substring_regex(cells, r"^[+-]?[0-9]{1,18}$").fill_null(False)
    where = plain.to_numpy(zero_copy_only=False).astype(bool)
    result = pd.array(np.zeros(len(cells), dtype=np.int64), dtype="Int64")
    result[~where] = pd.NA
    if where.any():
        digits = pc.replace_substring_regex(cells.filter(plain), r"^\+", "")
        result[where] = pc.cast(digits, pa.int64()).to_numpy()
    rest = np.flatnonzero(~where)
    invalid = np.zeros(len(cells), dtype=bool)
    if len(rest):
        text = text_array(s.iloc[rest])
        parsed, invalid[rest] = _parse_rest(text, np.ones(len(rest), dtype=bool), _integer_one)
        result[rest] = pd.array(list(parsed), dtype="Int64")
    return pd.Series(result, index=s.index, dtype="Int64"), pd.Series(invalid, index=s.index)


def parse_number(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Decimal numbers: ``35.6``, ``-1.5e3``, ``1,234.5``, full-width ``３５．６``.

    Plain ASCII numbers go through pandas' C parser; anything else (full-width, commas, junk)
    through a per-distinct-value reader that rejects ``nan``/``inf`` and units.
    """
    text = text_array(s)
    fast = np.asarray(pd.to_numeric(text, errors="coerce"), dtype=float)
    ok = np.isfinite(fast)
    values = np.where(ok, fast, np.nan)
    missing = np.zeros(len(text), dtype=bool)
    invalid = np.zeros(len(text), dtype=bool)
    rest = ~ok
    if rest.any():
        parsed = _map_unique(pd.Series(text[rest], dtype=object, copy=False), _number_one)
        rest_values = np.array(
            [np.nan if p is None or p is INVALID else p for p in parsed], dtype=float
        )
        values[rest] = rest_values
        invalid[rest] = [p is INVALID for p in parsed]
        missing[rest] = [p is None for p in parsed]
    result = pd.array(values, dtype="Float64")
    result[missing | invalid] = pd.NA
    return pd.Series(result, index=s.index), pd.Series(invalid, index=s.index)


# --- booleans ------------------------------------------------------------------------------------

DEFAULT_TRUE = ("true", "yes", "y", "1", "有", "有り", "あり", "○", "〇", "◯", "はい", "可", "◎")
DEFAULT_FALSE = ("false", "no", "n", "0", "無", "無し", "なし", "×", "✕", "✖", "いいえ", "不可")


def _boolean_key(value: str) -> str:
    return _nfkc_one(value).casefold()


def parse_boolean(
    s: pd.Series,
    true_values: Iterable[str] | None = None,
    false_values: Iterable[str] | None = None,
) -> tuple[pd.Series, pd.Series]:
    """Yes/no flags as Japanese files write them: 有/無, ○/〇/◯/×, はい/いいえ, あり/なし,
    可/不可, true/false, yes/no, 1/0 (case- and width-insensitive).

    A schema field's ``trueValues``/``falseValues`` replace the corresponding default list, for
    files where e.g. ``-`` means no.
    """
    trues = {_boolean_key(v) for v in (DEFAULT_TRUE if true_values is None else true_values)}
    falses = {_boolean_key(v) for v in (DEFAULT_FALSE if false_values is None else false_values)}

    def one(value: str) -> bool | None:
        key = _boolean_key(value)
        if not key:
            return None
        if key in trues:
            return True
        if key in falses:
            return False
        return INVALID

    parsed, invalid = _split_invalid(_map_unique(s, one), s.index)
    return pd.Series(pd.array(list(parsed), dtype="boolean"), index=s.index), invalid


# --- dates and times -----------------------------------------------------------------------------

# Era: (first Gregorian year, first day, last day). Year 1 of an era is its first year.
ERAS: dict[str, tuple[int, dt.date, dt.date | None]] = {
    "明治": (1868, dt.date(1868, 1, 1), dt.date(1912, 7, 29)),
    "大正": (1912, dt.date(1912, 7, 30), dt.date(1926, 12, 24)),
    "昭和": (1926, dt.date(1926, 12, 25), dt.date(1989, 1, 7)),
    "平成": (1989, dt.date(1989, 1, 8), dt.date(2019, 4, 30)),
    "令和": (2019, dt.date(2019, 5, 1), None),
}
ERA_LETTERS = {"M": "明治", "T": "大正", "S": "昭和", "H": "平成", "R": "令和"}

_ERA = r"(?P<era>明治|大正|昭和|平成|令和|[MTSHRmtshr])\.?\s*(?P<ey>[0-9]{1,2}|元)\s*"
_WEEKDAY = r"(?:\s*\(\s*[月火水木金土日](?:曜日?)?\s*\))?"
_MIDNIGHT = r"(?:[T\s]+0?0:00(?::00)?)?"
_DATE_FORMS = [
    re.compile(
        r"(?P<y>[0-9]{4})\s*(?P<sep>[-/.])\s*(?P<m>[0-9]{1,2})\s*(?P=sep)\s*(?P<d>[0-9]{1,2})"
        + _WEEKDAY + _MIDNIGHT
    ),
    re.compile(
        r"(?P<y>[0-9]{4})\s*年\s*(?P<m>[0-9]{1,2})\s*月\s*(?P<d>[0-9]{1,2})\s*日" + _WEEKDAY
    ),
    re.compile(r"(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})"),
    re.compile(r"(?P<m>[0-9]{1,2})/(?P<d>[0-9]{1,2})/(?P<y>[0-9]{4})" + _MIDNIGHT),
    re.compile(
        _ERA
        + r"(?:年\s*(?P<m>[0-9]{1,2})\s*月\s*(?P<d>[0-9]{1,2})\s*日"
        + r"|(?P<sep>[-/.])\s*(?P<m2>[0-9]{1,2})\s*(?P=sep)\s*(?P<d2>[0-9]{1,2}))"
        + _WEEKDAY
    ),
]


def _era_year(era: str, year_text: str) -> tuple[str, int] | None:
    name = ERA_LETTERS.get(era.upper(), era)
    if name not in ERAS:
        return None
    year = 1 if year_text == "元" else int(year_text)
    if year < 1:
        return None
    return name, ERAS[name][0] + year - 1


def date_value(value: str) -> dt.date | None:
    """One date in any accepted spelling (see :func:`parse_date`); INVALID if unreadable."""
    text = _nfkc_one(value)
    if not text:
        return None
    for form in _DATE_FORMS:
        match = form.fullmatch(text)
        if match is None:
            continue
        parts = match.groupdict()
        era = None
        if parts.get("era"):
            found = _era_year(parts["era"], parts["ey"])
            if found is None:
                return INVALID
            era, year = found
        else:
            year = int(parts["y"])
        month = int(parts.get("m") or parts.get("m2") or 0)
        day = int(parts.get("d") or parts.get("d2") or 0)
        try:
            date = dt.date(year, month, day)
        except ValueError:
            return INVALID
        if era is not None:
            _, first, last = ERAS[era]
            if date < first or (last is not None and date > last):
                return INVALID  # e.g. 平成31年5月1日 does not exist: that day is 令和元年
        return date
    return INVALID


def parse_date(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Dates to ISO ``YYYY-MM-DD``.

    Accepts ISO, ``2020/4/1``, ``2020.4.1``, ``2020年4月1日`` (optionally with ``(水)``),
    ``20200401``, US-style ``5/16/2020`` (Takamatsu uses it; year last is read M/D/Y),
    Japanese eras ``令和2年4月1日``/``令和元年5月1日`` and their abbreviations ``R2.4.1``,
    ``H19.4.1``, ``S47.4.1`` (any case or width). Impossible dates (``2021-02-30``) and dates
    outside their era (``平成31年5月1日``) are invalid rather than guessed.
    """

    def one(value: str) -> str | None:
        date = date_value(value)
        return date if date is None or date is INVALID else date.isoformat()

    cells, done = _plain_calendar_cells(s, _PLAIN_DATE)
    values = np.full(len(s), None, dtype=object)
    if done.any():  # already ISO: the cell is its own value
        values[done] = pc.filter(cells, pa.array(done)).to_numpy(zero_copy_only=False)
    invalid = np.zeros(len(s), dtype=bool)
    rest = np.flatnonzero(~done)
    if len(rest):
        parsed, bad = _split_invalid(_map_unique(s.iloc[rest], one), pd.RangeIndex(len(rest)))
        values[rest], invalid[rest] = parsed, bad.to_numpy()
    return (pd.Series(values, index=s.index, dtype=object, copy=False),
            pd.Series(invalid, index=s.index))


_TIME_FORMS = [
    re.compile(r"(?P<h>[0-9]{1,2}):(?P<m>[0-9]{2})(?::(?P<s>[0-9]{2})(?P<f>\.[0-9]+)?)?"),
    re.compile(r"(?P<h>[0-9]{1,2})\s*時(?:\s*(?P<m>[0-9]{1,2})\s*分|\s*(?P<han>半))?"
               r"(?:\s*(?P<s>[0-9]{1,2})\s*秒)?"),
]
_HALF_DAY = re.compile(
    r"(?P<half>午前|午後|AM|PM|A\.M\.|P\.M\.)?\s*(?P<rest>.*?)\s*(?P<suffix>AM|PM)?", re.IGNORECASE
)


def clock_reading(value: str) -> tuple[int, int, int] | None:
    """(hour, minute, second) of one clock time as files write it; INVALID if unreadable.

    The one reader of times of day, for the ``time`` type, the ``hh:mm`` string format and
    the time part of date-times alike: ``9:00``, ``09:00:00``, ``9時30分``, ``16時``,
    ``4時半``, ``午後4時``, ``4:30 PM``, full-width forms (NFKC). ``24:00`` (the end of the day,
    written by 24-hour facilities) reads as (24, 0, 0); the callers decide whether they
    accept it. Free text such as ``終日`` or ``9時～17時`` is INVALID, never guessed.
    """
    text = _nfkc_one(value)
    if not text:
        return None
    half_match = _HALF_DAY.fullmatch(text)
    assert half_match is not None  # the pattern matches any string
    half = (half_match["half"] or half_match["suffix"] or "").upper().replace(".", "")
    rest = half_match["rest"]
    for form in _TIME_FORMS:
        match = form.fullmatch(rest)
        if match is None:
            continue
        hour, second = int(match["h"]), int(match["s"] or 0)
        minute = 30 if match.groupdict().get("han") else int(match["m"] or 0)
        if half:
            if not 1 <= hour <= 12:
                return INVALID
            hour = hour % 12 + (12 if half in ("午後", "PM") else 0)
        if minute > 59 or second > 59 or hour > 24 or (hour == 24 and (minute or second)):
            return INVALID
        return hour, minute, second
    return INVALID


def time_value(value: str) -> str | None:
    """One time of day as ``HH:MM:SS``; INVALID if unreadable or out of range (``24:00``)."""
    clock = clock_reading(value)
    if clock is None or clock is INVALID:
        return clock
    hour, minute, second = clock
    if hour == 24:
        return INVALID
    return f"{hour:02d}:{minute:02d}:{second:02d}"


def hhmm_value(value: str) -> str | None:
    """One opening or closing time as ``HH:MM`` (``24:00`` allowed: "until the end of the
    day"); INVALID if unreadable or when it has seconds, which ``HH:MM`` cannot hold."""
    clock = clock_reading(value)
    if clock is None or clock is INVALID:
        return clock
    hour, minute, second = clock
    return INVALID if second else f"{hour:02d}:{minute:02d}"


def parse_time(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Times of day to ``HH:MM:SS`` (see :func:`clock_reading` for the spellings).
    ``24:00`` is invalid for the ``time`` type: it is stored as a PostgreSQL ``time`` and
    read back as a Python/Arrow time of day, neither of which has a 24th hour; fields that
    need it (closing times) are strings in the ``hh:mm`` format."""
    parsed, invalid = _split_invalid(_map_unique(s, time_value), s.index)
    return pd.Series(parsed, index=s.index, dtype=object, copy=False), invalid


def parse_hhmm(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Opening and closing times (the ``hh:mm`` string format) to ``HH:MM``, ``00:00`` to
    ``24:00``: ``16時30分``, ``16時``, ``16:30``, ``１６：３０``, ``午後4時半`` all become
    ``16:30``/``16:00``. Stored as text, so ``24:00`` survives and ``HH:MM`` sorts in time
    order."""
    parsed, invalid = _split_invalid(_map_unique(s, hhmm_value), s.index)
    return pd.Series(parsed, index=s.index, dtype=object, copy=False), invalid


_DATETIME = re.compile(
    r"(?P<date>.+?)(?:(?:T|\s+)(?P<time>[^\sT]*?[0-9](?:\s*[時分秒])?)\s*"
    r"(?P<tz>Z|[+-][0-9]{2}:?[0-9]{2})?)?"
)


def _datetime_one(value: str) -> str | None:
    text = _nfkc_one(value)
    if not text:
        return None
    match = _DATETIME.fullmatch(text)
    if match is None:
        return INVALID
    date = date_value(match["date"])
    if date is None or date is INVALID:
        return INVALID
    clock = time_value(match["time"]) if match["time"] else "00:00:00"
    if clock is None or clock is INVALID:
        return INVALID
    tz = match["tz"] or "+09:00"
    if tz == "Z":
        tz = "+00:00"
    elif ":" not in tz:
        tz = f"{tz[:3]}:{tz[3:]}"
    if int(tz[1:3]) > 14 or int(tz[4:6]) > 59:
        return INVALID
    return f"{date.isoformat()}T{clock}{tz}"


def _parse_rest(text: np.ndarray, rest: np.ndarray, one: Any) -> tuple[Any, np.ndarray]:
    """The per-value parser ``one`` over the cells a vectorised fast path left (``rest``):
    (their parsed values or None when there are none, invalid mask over all cells)."""
    invalid = np.zeros(len(text), dtype=bool)
    if not rest.any():
        return None, invalid
    parsed, bad = _split_invalid(
        _map_unique(pd.Series(text[rest], dtype=object, copy=False), one),
        pd.RangeIndex(int(rest.sum())),
    )
    invalid[rest] = bad.to_numpy()
    return parsed, invalid


def parse_datetime(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Date and time to ISO 8601 with an offset (``2020-04-01T09:30:00+09:00``).

    The date part accepts everything :func:`parse_date` does, the time part everything
    :func:`parse_time` does, separated by ``T`` or spaces. Values without an offset are local
    time in Japan (Asia/Tokyo has been +09:00 without DST since 1951), so ``+09:00`` is
    written out; a date alone means its midnight.
    """
    done, values = _plain_datetimes(s)
    invalid = np.zeros(len(s), dtype=bool)
    rest = np.flatnonzero(~done)
    if len(rest):
        text = text_array(s.iloc[rest])
        parsed, invalid[rest] = _parse_rest(text, np.ones(len(rest), dtype=bool),
                                            _datetime_one)
        values[rest] = parsed
    return (pd.Series(values, index=s.index, dtype=object, copy=False),
            pd.Series(invalid, index=s.index))


# The machine form of most exports: local date and time, minutes, optional seconds.
_PLAIN_DATETIME = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?"
)
_PLAIN_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _plain_calendar_cells(s: pd.Series, shape: str) -> tuple[pa.Array, np.ndarray]:
    """(the cells as Arrow strings, mask): cells of ``shape`` (a pattern starting with
    ``YYYY-MM-DD``) that name a day Python has a date for, found without a Python str per
    cell. The shape is one RE2 match (the patterns here mean the same to RE2 as to
    Python), the day Python's own rule (the proleptic Gregorian calendar, years 1-9999) on
    the numbers: ``2021-02-30`` and the year 0000 are left out, for the per-value parser
    to report."""
    cells = arrow_strings(s)
    if cells is None:
        cells = pa.array(text_array(s), type=pa.large_string())
    shaped = pc.match_substring_regex(cells, f"^(?:{shape})$").fill_null(False)
    if not pc.any(shaped).as_py():
        return cells, np.zeros(len(cells), dtype=bool)
    plain = pc.if_else(shaped, cells, pa.scalar("2000-01-01", cells.type))  # digits to read
    year, month, day = (pc.cast(pc.utf8_slice_codeunits(plain, start, start + width), pa.int32())
                        .to_numpy() for start, width in ((0, 4), (5, 2), (8, 2)))
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    last_day = _DAYS_IN_MONTH[np.clip(month, 0, 12)] + (leap & (month == 2))
    return cells, (shaped.to_numpy(zero_copy_only=False) & (year >= 1) & (month >= 1)
                   & (month <= 12) & (day >= 1) & (day <= last_day))


def _plain_datetimes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(done mask, values): cells in :data:`_PLAIN_DATETIME` form, as :func:`_datetime_one`
    would write them, without per-value parsing in Python.

    Timestamps are nearly all distinct (1M rows hold ~900k of them), so the once-per-distinct
    value path cost ~9% of a publish, and a Python regex per cell ~4%. The cells are found
    by :func:`_plain_calendar_cells` and written by Arrow; the others are left undone for the
    general parser.
    """
    cells, done = _plain_calendar_cells(s, _PLAIN_DATETIME)
    if not done.any():
        return done, np.full(len(cells), None, dtype=object)
    big = cells.type

    def text(value: str) -> pa.Scalar:
        return pa.scalar(value, big)

    seconds = pc.if_else(pc.equal(pc.binary_length(cells), 19), text(""), text(":00"))
    values = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(cells, 0, 10), text("T"), pc.utf8_slice_codeunits(cells, 11),
        seconds, text("+09:00"), text(""))
    values = pc.if_else(pa.array(done), values, pa.scalar(None, big))
    return done, values.to_numpy(zero_copy_only=False)


_YEAR_FORMS = [
    re.compile(r"(?P<y>[0-9]{4})(?:\s*年度?)?"),
    re.compile(_ERA + r"(?:年度?)?"),
]


def _year_one(value: str) -> int | None:
    text = _nfkc_one(value)
    if not text:
        return None
    for form in _YEAR_FORMS:
        match = form.fullmatch(text)
        if match is None:
            continue
        if match.groupdict().get("era"):
            found = _era_year(match["era"], match["ey"])
            return INVALID if found is None else found[1]
        return int(match["y"])
    return INVALID


def parse_year(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Calendar years: ``2020``, ``2020年``, ``令和2年``, ``R2年度`` (a fiscal year is named by
    the calendar year it starts in, so ``令和2年度`` is 2020)."""
    parsed, invalid = _split_invalid(_map_unique(s, _year_one), s.index)
    return pd.Series(pd.array(list(parsed), dtype="Int64"), index=s.index), invalid


# --- codes -------------------------------------------------------------------------------------

# Prefecture numbers (JIS X 0401): 01 Hokkaido ... 47 Okinawa.
PREFECTURES = range(1, 48)
_CHECK_WEIGHTS = (6, 5, 4, 3, 2)


def local_government_check_digit(code5: str) -> int:
    """The check digit of a 全国地方公共団体コード (JIS X 0402 / 総務省): the first five
    digits weighted 6,5,4,3,2, r = sum mod 11, check = (11 - r) mod 10, i.e. 11 - r with
    r = 0 giving 1 and r = 1 giving 0. Verified against 131130 (Shibuya, r = 1), 131041
    (Shinjuku, r = 0), 222127 (Yaizu), 372013 (Takamatsu), 281000 (Kobe), 011002 (Sapporo).
    """
    total = sum(int(d) * w for d, w in zip(code5, _CHECK_WEIGHTS, strict=True))
    return (11 - total % 11) % 10


def _is_six_digit_code(code: str) -> bool:
    return (len(code) == 6 and code.isdigit() and int(code[:2]) in PREFECTURES
            and local_government_check_digit(code[:5]) == int(code[5]))


def _is_five_digit_code(code: str) -> bool:
    return len(code) == 5 and code.isdigit() and int(code[:2]) in PREFECTURES


def parse_local_government_code(
    s: pd.Series,
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """全国地方公共団体コード cells: (codes, invalid, repaired).

    Accepted: 6 digits with a correct check digit (``222127``), or 5 digits without one,
    the older form (``37201``), whose prefecture part is 01-47. A spreadsheet that read the
    code as a number drops the leading zero of prefectures 01-09 (``82333`` for ``082333``):
    a 5-digit value is repaired to ``0`` + value (``repaired``, for a warning) when that
    6-digit form passes the check digit and either the value cannot be a 5-digit code
    (prefecture part 48-99: prefectures 05-09 lose their zero into 5x-9x) or the column holds
    6-digit codes elsewhere. The ambiguous remainder, a column of only 5-digit values from
    prefectures 01-04 (``11002``: Sapporo 011002 without its zero, or a 5-digit Saitama
    code?), is kept as written: one in ten 5-digit codes would pass the check by chance.
    Anything else (wrong check digit, prefecture 00 or 48+, other lengths, letters) cannot be
    right and is ``invalid``.
    """
    text = text_array(s)
    codes, uniques = pd.factorize(text)
    six_in_column = any(_is_six_digit_code(u) for u in uniques)
    values = np.empty(len(uniques), dtype=object)
    invalid = np.zeros(len(uniques), dtype=bool)
    repaired = np.zeros(len(uniques), dtype=bool)
    for i, code in enumerate(uniques):
        padded = "0" + code
        if not code:
            values[i] = None
        elif _is_six_digit_code(code):
            values[i] = code
        elif (len(code) == 5 and _is_six_digit_code(padded)
              and (six_in_column or not _is_five_digit_code(code))):
            values[i], repaired[i] = padded, True
        elif _is_five_digit_code(code):
            values[i] = code
        else:
            values[i], invalid[i] = None, True
    index = s.index
    if not len(text):
        return (pd.Series([], index=index, dtype=object), pd.Series([], index=index, dtype=bool),
                pd.Series([], index=index, dtype=bool))
    return (pd.Series(values[codes], index=index, dtype=object, copy=False),
            pd.Series(invalid[codes], index=index), pd.Series(repaired[codes], index=index))


# --- coordinates ---------------------------------------------------------------------------------

_HEMI = r"(?:[NSEW]|北緯|南緯|東経|西経)"
_DMS = re.compile(
    rf"(?P<pre>{_HEMI})?\s*(?P<deg>[0-9]+(?:\.[0-9]+)?)\s*(?:°|º|˚|度)\s*"
    r"(?:(?P<min>[0-9]+(?:\.[0-9]+)?)\s*(?:'|′|’|分)\s*)?"
    r"(?:(?P<sec>[0-9]+(?:\.[0-9]+)?)\s*(?:\"|″|′′|''|”|秒)\s*)?"
    rf"(?P<post>{_HEMI})?",
    re.IGNORECASE,
)
_SIGNED_HEMI = re.compile(
    rf"(?P<pre>{_HEMI})?\s*(?P<deg>[0-9]+(?:\.[0-9]+)?)\s*°?\s*(?P<post>{_HEMI})?", re.IGNORECASE
)
_NEGATIVE_HEMI = {"S", "W", "南緯", "西経"}


def coordinate_value(value: str) -> float | None:
    """One coordinate in decimal degrees from ``35.658``, ``N35.658``, ``35°39'29.1"N``,
    ``北緯35度39分29.1秒``; INVALID if unreadable."""
    text = _nfkc_one(value)
    if not text:
        return None
    number = _number_one(text)
    if number is not INVALID:
        return number
    for form in (_DMS, _SIGNED_HEMI):
        match = form.fullmatch(text)
        if match is None:
            continue
        if match["pre"] and match["post"]:
            return INVALID
        minutes = float(match.groupdict().get("min") or 0)
        seconds = float(match.groupdict().get("sec") or 0)
        if minutes >= 60 or seconds >= 60:
            return INVALID
        degrees = float(match["deg"]) + minutes / 60 + seconds / 3600
        hemisphere = (match["pre"] or match["post"] or "").upper()
        return -degrees if hemisphere in _NEGATIVE_HEMI else degrees
    return INVALID


def _coordinates(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(degrees with NaN, invalid mask, empty mask) for one column of coordinates."""
    text = text_array(s)
    numbers = pd.to_numeric(pd.Series(text, dtype=object, copy=False), errors="coerce")
    values = np.array(numbers, dtype=float)  # a writable copy
    rest = ~np.isfinite(values)
    invalid = np.zeros(len(text), dtype=bool)
    empty = np.zeros(len(text), dtype=bool)
    if rest.any():
        parsed = _map_unique(pd.Series(text[rest], dtype=object, copy=False), coordinate_value)
        values[rest] = [np.nan if p is None or p is INVALID else p for p in parsed]
        invalid[rest] = [p is INVALID for p in parsed]
        empty[rest] = [p is None for p in parsed]
    return values, invalid, empty


def parse_latlon_pair(
    lat: pd.Series, lon: pd.Series
) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """Latitude/longitude columns to decimal degrees: (lat, lon, swapped, invalid).

    Swapped columns are a common copy-paste slip; they are detected by range (a "latitude"
    beyond ±90 with a longitude within ±90 — for Japan: latitude 120..155 with longitude
    20..46) and fixed, and the mask lets the caller warn. Out-of-range, unreadable or
    half-missing pairs are invalid; a pair missing on both sides is simply missing.
    """
    a, bad_a, empty_a = _coordinates(lat)
    b, bad_b, empty_b = _coordinates(lon)
    invalid = bad_a | bad_b | (empty_a != empty_b)
    present = ~invalid & ~empty_a & ~empty_b
    japan = (a >= 120) & (a <= 155) & (b >= 20) & (b <= 46)
    swapped = present & (((np.abs(a) > 90) & (np.abs(b) <= 90)) | japan)
    a, b = np.where(swapped, b, a), np.where(swapped, a, b)
    invalid |= present & ((np.abs(a) > 90) | (np.abs(b) > 180))
    keep = present & ~invalid
    lat_out = pd.array(np.where(keep, a, np.nan), dtype="Float64")
    lon_out = pd.array(np.where(keep, b, np.nan), dtype="Float64")
    lat_out[~keep] = pd.NA
    lon_out[~keep] = pd.NA
    index = lat.index
    return (
        pd.Series(lat_out, index=index),
        pd.Series(lon_out, index=index),
        pd.Series(swapped, index=index),
        pd.Series(invalid, index=index),
    )


def split_combined(s: pd.Series) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """Split ``"a,b"`` (or ``"a b"``, optionally in brackets) into two text columns; the mask
    marks non-empty cells that are not a pair. A bare separator (Takamatsu writes ``","`` for
    a facility without a location) is missing, not malformed."""
    text = nfkc(s).str.strip("()[] ")
    text = text.where(~text.str.fullmatch(r"[\s,]*"), "")
    by_comma = text.str.extract(r"^(?P<a>[^,]+?)\s*,\s*(?P<b>[^,]+)$")
    by_space = text.str.extract(r"^(?P<a>\S+)\s+(?P<b>\S+)$")
    a = by_comma["a"].fillna(by_space["a"])
    b = by_comma["b"].fillna(by_space["b"])
    unsplit = (a.isna() & text.ne("")).to_numpy(dtype=bool)
    return (
        a.astype(object).where(a.notna(), ""),
        b.astype(object).where(b.notna(), ""),
        unsplit,
    )


def parse_combined_latlon(s: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """One cell holding ``"lat,lon"`` (Takamatsu's ``location``) or ``"lat lon"``; see
    :func:`parse_latlon_pair` for the meaning of the four results."""
    a, b, unsplit = split_combined(s)
    lat, lon, swapped, invalid = parse_latlon_pair(a, b)
    return lat, lon, swapped & ~unsplit, invalid | unsplit


@lru_cache(maxsize=32)
def _transformer(from_epsg: int, to_epsg: int = 4326) -> Transformer:
    return Transformer.from_crs(from_epsg, to_epsg, always_xy=True)


def reproject(lon: pd.Series, lat: pd.Series, from_epsg: int) -> tuple[pd.Series, pd.Series]:
    """Coordinates from ``from_epsg`` to EPSG:4326 as (lon, lat), x/y order (always_xy).

    Used for JGD2011 plane-rectangular zones (EPSG:6669-6687), where ``lon`` is the easting
    (Japanese survey "Y") and ``lat`` the northing ("X"). Missing stays missing.
    """
    x = pd.array(lon, dtype="Float64").to_numpy(dtype=float, na_value=np.nan)
    y = pd.array(lat, dtype="Float64").to_numpy(dtype=float, na_value=np.nan)
    if from_epsg != 4326:
        x, y = _transformer(from_epsg).transform(x, y)
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    bad = ~(np.isfinite(x) & np.isfinite(y))
    out_x, out_y = pd.array(x, dtype="Float64"), pd.array(y, dtype="Float64")
    out_x[bad] = pd.NA
    out_y[bad] = pd.NA
    return pd.Series(out_x, index=lon.index), pd.Series(out_y, index=lat.index)


_EWKT = re.compile(r"^\s*SRID\s*=\s*(?P<srid>[0-9]+)\s*;\s*(?P<wkt>.*)$", re.IGNORECASE | re.DOTALL)


def parse_wkt(s: pd.Series, default_srid: int = 4326) -> tuple[pd.Series, pd.Series, pd.Series]:
    """WKT or EWKT (``SRID=6677;POINT(...)``) to normalised EPSG:4326 WKT:
    (wkt, invalid, reason).

    Coordinates are reprojected from the EWKT SRID, else from ``default_srid`` (the
    dataset's declared CRS). Invalid geometries (self-intersecting rings ...) are repaired
    with ``shapely.make_valid``: such rows are *not* invalid but carry a reason starting
    with ``repaired:`` so the caller can warn. Unparseable, empty or out-of-range geometries
    are invalid with the reason why. Empty cells are missing (None, no reason).
    """
    text = nfkc(s)
    n = len(text)
    ewkt = text.str.extract(_EWKT.pattern, flags=_EWKT.flags)
    is_ewkt = ewkt["srid"].notna().to_numpy(dtype=bool)
    srids = np.full(n, default_srid, dtype=np.int64)
    bodies = text.to_numpy(dtype=object).copy()
    if is_ewkt.any():
        srids[is_ewkt] = ewkt["srid"][is_ewkt].astype(np.int64).to_numpy()
        bodies[is_ewkt] = ewkt["wkt"][is_ewkt].to_numpy(dtype=object)
    empty = bodies == ""
    geoms = shapely.from_wkt(np.where(empty, None, bodies), on_invalid="ignore")
    reason = np.full(n, None, dtype=object)
    invalid = np.zeros(n, dtype=bool)
    unreadable = ~empty & shapely.is_missing(geoms)
    reason[unreadable] = "not valid WKT"
    blank = ~empty & ~unreadable & shapely.is_empty(geoms)
    reason[blank] = "empty geometry"
    invalid |= unreadable | blank
    usable = ~empty & ~invalid
    broken = usable & ~shapely.is_valid(geoms)
    if broken.any():
        why = shapely.is_valid_reason(geoms[broken])
        geoms[broken] = shapely.make_valid(geoms[broken])
        reason[broken] = ["repaired: " + str(w) for w in why]
    for srid in np.unique(srids[usable]):
        if srid == 4326:
            continue
        rows = usable & (srids == srid)
        transformer = _transformer(int(srid))
        geoms[rows] = shapely.transform(
            geoms[rows], lambda xy, t=transformer: np.column_stack(t.transform(xy[:, 0], xy[:, 1]))
        )
    if usable.any():
        bounds = shapely.bounds(geoms[usable])
        outside = ~(
            np.isfinite(bounds).all(axis=1)
            & (bounds[:, 0] >= -180) & (bounds[:, 2] <= 180)
            & (bounds[:, 1] >= -90) & (bounds[:, 3] <= 90)
        )
        where = np.flatnonzero(usable)[outside]
        invalid[where] = True
        reason[where] = "coordinates outside longitude -180..180 / latitude -90..90"
    keep = ~empty & ~invalid
    wkt = np.full(n, None, dtype=object)
    if keep.any():
        wkt[keep] = shapely.to_wkt(geoms[keep], rounding_precision=-1)
    index = s.index
    return (
        pd.Series(wkt, index=index, dtype=object, copy=False),
        pd.Series(invalid, index=index),
        pd.Series(reason, index=index, dtype=object),
    )


def point_wkt(lon: pd.Series, lat: pd.Series) -> pd.Series:
    """``POINT (lon lat)`` per row (None where either is missing); ``repr`` of a float is its
    shortest round-trip form, so no precision is lost or invented. Written by Arrow
    (:func:`etl.copy_text.float_repr`): a Python f-string per row cost about 1 s at 1M rows."""
    xs = pa.array(lon.to_numpy(dtype=float, na_value=np.nan), pa.float64(), from_pandas=True)
    ys = pa.array(lat.to_numpy(dtype=float, na_value=np.nan), pa.float64(), from_pandas=True)
    present = pc.and_(pc.is_valid(xs), pc.is_valid(ys))
    text = pc.binary_join_element_wise("POINT (", float_repr(xs), " ", float_repr(ys), ")", "")
    text = pc.if_else(present, text, pa.scalar(None, pa.string()))
    return pd.Series(text.to_numpy(zero_copy_only=False), index=lon.index, dtype=object,
                     copy=False)

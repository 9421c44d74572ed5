"""Read a messy municipal CSV or XLSX file into a table of strings, remembering where each
record came from.

Nothing here interprets values: every cell stays text so that validation can quote exactly what
the publisher wrote. What this module does decide is *how to read the bytes*: the encoding
(UTF-8, UTF-8 with BOM, CP932, EUC-JP), the delimiter, a ``#key,value`` metadata preamble
(Takamatsu style), a title row above the header (Minato style), trailing empty columns, and the
physical line on which every record starts (records may span lines), so that reports point at
the line staff see in their editor.

The body of a CSV is parsed by pandas' C engine in one call; only the first few lines (preamble,
title, header) are looked at record by record.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from etl.normalise import WHITESPACE, arrow_strings
from etl.read_limits import ReadLimits

DELIMITERS = (",", "\t", ";", "|")
# Records parsed per chunk when a body is read into Arrow strings (read_table(compact=True)).
BODY_CHUNK_ROWS = 100_000
BOM = b"\xef\xbb\xbf"
# How many leading records may be preamble, blank or title rows before we give up looking.
HEAD_RECORDS = 50
# The IMI/Takamatsu convention: the real header is the `#property` metadata line.
PROPERTY_KEY = "property"
_SAW_FIELDS = re.compile(r"saw (\d+)")
_CONTENT = re.compile(rb"[^\r\n]")


class ReadError(ValueError):
    """A file could not be read as a table; the message names the file and what failed."""

    def __init__(self, file: str, message: str) -> None:
        super().__init__(f"{file}: {message}")
        self.file = file
        self.message = message


@dataclass
class RawTable:
    """A file read as text cells, before any normalisation. See the module docstring.

    ``frame`` columns hold str cells ("" when empty): object columns, or pandas' Arrow-backed
    ``string[pyarrow]`` when read with ``compact=True`` (read them with
    :func:`etl.normalise.text_array` or ``to_numpy(dtype=object)`` either way).
    """

    source_name: str
    source_sha256: str
    encoding: str
    delimiter: str | None
    headers: list[str]
    frame: pd.DataFrame
    source_rows: np.ndarray
    preamble: dict[str, str] = field(default_factory=dict)
    # Column names made unique by _unique_headers -> the header as written in the file, for
    # columns whose header repeats an earlier one (reported as duplicates under that name).
    repeated_headers: dict[str, str] = field(default_factory=dict)
    # With section_rows: each record's section (the text of the last section row above it,
    # "" before the first), and the section rows left out as (source row, text).
    sections: pd.Series | None = None
    section_rows: list[tuple[int, str]] = field(default_factory=list)


def read_table(
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
    compact: bool = False,
    known_header: Callable[[str], bool] | None = None,
    section_rows: bool = False,
    limits: ReadLimits | None = None,
) -> RawTable:
    """Read ``path`` (CSV/TSV/text or XLSX) into a :class:`RawTable` of strings.

    ``encoding``, ``delimiter`` and ``header_row`` (1-based physical line, or sheet row for
    XLSX) override detection; ``sheet`` picks an XLSX worksheet by name (default: the first).
    ``known_header`` says whether a cell is a header the schema knows: the header is then the
    row among the first records with the most such cells (titles and legends above it are
    skipped). ``section_rows``: rows with a single filled cell are section headings, not
    records (see :class:`RawTable`).
    ``compact`` keeps a CSV body's cells in Arrow string columns, parsed and converted
    :data:`BODY_CHUNK_ROWS` records at a time: a Python str costs ~50 bytes over its text,
    so 1M rows x 16 columns of object cells took ~760 MB where Arrow takes ~250 MB.
    ``limits`` bounds bytes, columns, records and cells (:mod:`etl.read_limits`; default:
    the settings' defaults).
    """
    path = Path(path)
    limits = limits or ReadLimits()
    try:
        limits.check_file_size(path.name, path.stat().st_size)
        data = path.read_bytes()
    except OSError as exc:
        raise ReadError(path.name, f"cannot open file: {exc.strerror or exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if data[:4] == b"PK\x03\x04" or path.suffix.lower() in (".xlsx", ".xlsm"):
        rows, row_numbers, merged = _xlsx_rows(path, data, sheet, limits)
        layout = _find_layout(rows, row_numbers, header_row, path.name, known_header)
        layout.headers = _merged_header(layout, rows, row_numbers, merged)
        frame, source_rows = _xlsx_frame(rows, row_numbers, layout)
        table = _finish(path.name, digest, "xlsx", None, layout, frame, source_rows,
                        section_rows)
    else:
        table = _read_csv(path.name, data, digest, encoding, delimiter, header_row, compact,
                          known_header, section_rows, limits)
    limits.check_cells(table.source_name, table.frame, table.headers, table.source_rows)
    return table


def _read_csv(
    name: str,
    data: bytes,
    digest: str,
    encoding: str | None,
    delimiter: str | None,
    header_row: int | None,
    compact: bool = False,
    known_header: Callable[[str], bool] | None = None,
    section_rows: bool = False,
    limits: ReadLimits | None = None,
) -> RawTable:
    """Delimited text: the head (preamble, title, header) record by record with the csv
    module, the body in one pandas call starting at the byte after the header."""
    limits = limits or ReadLimits()
    used_encoding = detect_encoding(data, name, encoding)
    raw, parse_encoding, text_start = _line_safe_bytes(data, used_encoding)
    sample = raw[text_start : text_start + 65536].decode(parse_encoding, errors="ignore")
    delim = delimiter or sniff_delimiter(sample)
    head = _HeadReader(raw, parse_encoding, text_start)
    records = csv.reader(head, delimiter=delim)
    rows: list[list[str]] = []
    row_numbers: list[int] = []
    ends: list[tuple[int, int]] = []  # (byte offset, lines consumed) after each record
    try:
        for row in records:
            row_numbers.append((ends[-1][1] if ends else 0) + 1)
            limits.check_columns(name, len(row), f"line {row_numbers[-1]}")
            rows.append(row)
            ends.append((head.pos, head.lines))
            limit = HEAD_RECORDS if header_row is None else max(HEAD_RECORDS, header_row + 1)
            if len(rows) >= limit:
                break
    except csv.Error as exc:
        raise ReadError(name, f"malformed CSV near line {head.lines}: {exc}") from exc
    if head.pos >= len(raw):
        # The csv module reads an unclosed quote to the end of the file without a word.
        _refuse_open_quote(raw, text_start, parse_encoding, delim, name, 0)
    layout = _find_layout(rows, row_numbers, header_row, name, known_header)
    body_start, lines_before_body = ends[layout.last_head_record]
    width = len(layout.headers)
    frame = _parse_body(raw, body_start, parse_encoding, delim, width, name, lines_before_body,
                        compact, limits)
    limits.check_rows(name, len(frame))
    body_lines = raw.count(b"\n", body_start) + (0 if raw[-1:] in (b"\n", b"") else 1)
    if body_start >= len(raw):
        body_lines = 0
    source_rows = _record_lines(frame, lines_before_body + 1, body_lines)
    return _finish(name, digest, used_encoding, delim, layout, frame, source_rows,
                   section_rows)


# --- encodings ---------------------------------------------------------------------------------


def detect_encoding(data: bytes, file: str, encoding: str | None = None) -> str:
    """The encoding ``data`` decodes with, strictly. Detection order is BOM, UTF-8, CP932
    (Windows' Shift_JIS, which most Japanese municipal exports really are), EUC-JP, and
    charset-normalizer only as a last resort, because statistical guesses on short Japanese
    files are often wrong where the strict decoders are not. ``encoding`` skips detection
    but is still checked, so a wrong override fails here with the offending byte and line."""
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise ReadError(file, f"unknown encoding {encoding!r}") from exc
        failure = _decode_failure(data, encoding)
        if failure:
            raise ReadError(file, f"not valid {encoding}: {failure}")
        return encoding
    for mark, name in _UNICODE_BOMS:
        if data.startswith(mark):
            failure = _decode_failure(data, name)
            if failure:
                raise ReadError(file, f"starts with a {name.upper()} byte order mark but is "
                                f"not {name.upper()}: {failure}")
            return name
    if data.startswith(BOM):
        failure = _decode_failure(data, "utf-8-sig")
        if failure:
            raise ReadError(file, f"has a UTF-8 BOM but is not UTF-8: {failure}")
        return "utf-8-sig"
    failures: list[str] = []
    for name in ("utf-8", "cp932", "euc_jp"):
        failure = _decode_failure(data, name)
        if failure:
            failures.append(f"not {name} ({failure})")
            continue
        if name == "cp932" and _looks_like_euc(data):
            return "euc_jp"
        return name
    guess = _charset_normalizer_guess(data)
    if guess is not None:
        return guess
    raise ReadError(file, "cannot detect the text encoding: " + "; ".join(failures))


# Excel's "Unicode text" export is UTF-16 with a BOM; without this check its bytes decode,
# wrongly, as CP932. UTF-32 marks first: UTF-32-LE's starts with UTF-16-LE's.
_UNICODE_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                 (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _decode_failure(data: bytes, encoding: str, chunk: int = 1 << 22) -> str | None:
    """Why ``data`` does not decode, or None. Decodes in chunks and throws the text away,
    so checking a large file does not hold a second, decoded copy of it."""
    if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig") and _valid_utf8(data):
        return None
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    view = memoryview(data)
    try:
        for start in range(0, max(len(data), 1), chunk):
            decoder.decode(view[start : start + chunk], final=start + chunk >= len(data))
    except UnicodeDecodeError:
        # Once more in one piece, for the exact offset of the bad bytes (a BOM is skipped
        # by the codec, so offsets are counted after it).
        skip = len(BOM) if codecs.lookup(encoding).name == "utf-8-sig" else 0
        skip = skip if data.startswith(BOM) else 0
        try:
            data[skip:].decode(encoding)
        except UnicodeDecodeError as exc:
            return _describe(data, exc.start + skip, exc.end + skip)
        return "undecodable bytes"
    return None


def _valid_utf8(data: bytes) -> bool:
    """Whether ``data`` is UTF-8 as Python's strict decoder reads it (no overlong forms, no
    surrogates, nothing past U+10FFFF), checked by Arrow in place: about 4x faster than
    decoding, and no text is made. The decoder still finds and describes what is wrong."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    text = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _describe(data: bytes, start: int, end: int) -> str:
    line = data.count(b"\n", 0, start) + 1
    bad = data[start:end].hex(" ")
    return f"undecodable byte(s) {bad} at offset {start} (line {line})"


# Encodings in which byte 0x0A only ever means a line feed (never part of a multi-byte
# character), so lines can be counted and the file split on bytes without decoding it all.
LINE_SAFE = frozenset(
    {"utf-8", "cp932", "shift_jis", "euc_jp", "shift_jis_2004", "euc_jis_2004",
     "shift_jisx0213", "euc_jisx0213", "ascii", "latin-1", "iso8859-1", "cp1252"}
)


def _line_safe_bytes(data: bytes, encoding: str) -> tuple[bytes, str, int]:
    """The bytes to parse, the codec to parse them with and where the text starts: the file
    itself when its encoding is line-safe (after any BOM), else its text re-encoded as UTF-8.
    Classic-Mac files (CR only) get LF line ends so lines are counted the same everywhere."""
    codec = codecs.lookup(encoding).name
    start = 0
    if codec == "utf-8-sig":
        raw, codec, start = data, "utf-8", len(BOM) if data.startswith(BOM) else 0
    elif codec in LINE_SAFE:
        raw = data
    else:
        raw, codec = data.decode(encoding).encode("utf-8"), "utf-8"
    if b"\n" not in raw and b"\r" in raw:
        raw = raw.replace(b"\r", b"\n")
    return raw, codec, start


def _looks_like_euc(data: bytes) -> bool:
    """EUC-JP bytes often decode as CP932 half-width katakana garbage; prefer EUC-JP when it
    also decodes strictly and the CP932 reading of the start is mostly half-width katakana."""
    sample = data[:40000]
    cp932 = sample.decode("cp932", errors="ignore")
    kana = sum(1 for ch in cp932 if "\uff61" <= ch <= "\uff9f")
    if kana < 10 or _decode_failure(data, "euc_jp"):
        return False
    euc = sample.decode("euc_jp", errors="ignore")
    wide = sum(1 for ch in euc if "\u3040" <= ch <= "\u9fff")
    return wide >= kana // 2


def _charset_normalizer_guess(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        return None
    try:
        return None if _decode_failure(data, best.encoding) else best.encoding
    except LookupError:
        return None


# --- delimiter ---------------------------------------------------------------------------------


def sniff_delimiter(text: str) -> str:
    """Pick the delimiter among , TAB ; | that occurs most (outside quotes) in the first lines
    that are not ``#`` metadata; comma on ties, since that is what the standard says."""
    lines = [ln for ln in text[:65536].splitlines()[:30] if ln.strip()]
    sample = [ln for ln in lines if not ln.startswith("#")][:10] or lines[:10]
    scores = {d: sum(_count_unquoted(ln, d) for ln in sample) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (scores[d], -DELIMITERS.index(d)))
    return best if scores[best] > 0 else ","


def _count_unquoted(line: str, delim: str) -> int:
    return sum(part.count(delim) for part in line.split('"')[::2])


# --- file layout: preamble, title rows, header --------------------------------------------------


@dataclass
class _Layout:
    headers: list[str]  # as in the file, trimmed
    preamble: dict[str, str]
    last_head_record: int  # index of the last record that is not data (header or metadata)
    header_record: int  # index of the header record


def _find_layout(
    rows: list[list[str]], row_numbers: list[int], header_row: int | None, file: str,
    known_header: Callable[[str], bool] | None = None,
) -> _Layout:
    """Locate the header among the first records: skip ``#`` metadata (or take the
    ``#property`` line as the header), blank rows and title or legend rows."""
    preamble: dict[str, str] = {}
    if not rows:
        raise ReadError(file, "the file is empty")
    if header_row is not None:
        try:
            index = row_numbers.index(header_row)
        except ValueError as exc:
            raise ReadError(
                file, f"header_row {header_row} is not the start of a record among the first lines"
            ) from exc
        for row in rows[:index]:
            _add_preamble(preamble, row)
    else:
        index = _header_index(rows, preamble, file, known_header)
    headers = [_clean_header(c) for c in rows[index]]
    last = index
    if _is_comment(rows[index]):
        # Takamatsu: `#object_type_xsd`, `#property_context` follow the `#property` header.
        while last + 1 < len(rows) and _is_comment(rows[last + 1]):
            last += 1
            _add_preamble(preamble, rows[last])
    return _Layout(headers=headers, preamble=preamble, last_head_record=last,
                   header_record=index)


# A header row names at least this many of the schema's fields; fewer could be a title
# that happens to be a field's name (「名称」 above a table).
KNOWN_HEADERS_MIN = 2


def _header_index(rows: list[list[str]], preamble: dict[str, str], file: str,
                  known_header: Callable[[str], bool] | None = None) -> int:
    index = 0
    while index < len(rows) and _is_comment(rows[index]):
        if _comment_key(rows[index]).lower() == PROPERTY_KEY:
            return index
        _add_preamble(preamble, rows[index])
        index += 1
    if index >= len(rows):
        raise ReadError(file, "no header row found: every line is # metadata")
    if known_header is not None:
        # The row naming the most schema fields (the first on ties): a legend or title row
        # above the header may have as many filled cells as the header, never its names.
        scores = [sum(1 for c in row if known_header(_clean_header(c))) for row in rows[index:]]
        best = max(scores)
        if best >= KNOWN_HEADERS_MIN:
            return index + scores.index(best)
    # Blank rows and title rows: a row with far fewer filled cells than the next one.
    while index + 1 < len(rows):
        here, below = _filled(rows[index]), _filled(rows[index + 1])
        if here == 0 or (below >= 3 and here * 2 < below):
            index += 1
            continue
        break
    return index


def _is_comment(row: list[str]) -> bool:
    return bool(row) and row[0].lstrip("\ufeff").startswith("#")


def _comment_key(row: list[str]) -> str:
    return row[0].lstrip("\ufeff").lstrip("#").strip()


def _add_preamble(preamble: dict[str, str], row: list[str]) -> None:
    if not _is_comment(row):
        return
    values = [c.strip() for c in row[1:]]
    while values and not values[-1]:
        values.pop()
    preamble[_comment_key(row)] = ",".join(values)


def _filled(row: list[str]) -> int:
    return sum(1 for c in row if c.strip())


def _clean_header(cell: str) -> str:
    return cell.replace("\ufeff", "").strip()


# --- CSV body ----------------------------------------------------------------------------------


class _HeadReader:
    """Line iterator for csv.reader over the file's bytes that remembers how many bytes and
    lines it handed out, so the pandas parser can start exactly after the header."""

    def __init__(self, data: bytes, encoding: str, start: int = 0) -> None:
        self._data = data
        self._encoding = encoding
        self.pos = start
        self.lines = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self.pos >= len(self._data):
            raise StopIteration
        end = self._data.find(b"\n", self.pos)
        end = len(self._data) if end < 0 else end + 1
        line = self._data[self.pos : end].decode(self._encoding)
        self.pos = end
        self.lines += 1
        return line


def _parse_body(
    raw: bytes, start: int, encoding: str, delim: str, width: int, file: str, lines_before: int,
    compact: bool = False, limits: ReadLimits | None = None,
) -> pd.DataFrame:
    """All data records as columns 0..n-1 of str (object, or Arrow strings when
    ``compact``), missing cells as "".

    One pass of pandas' C parser (in chunks when ``compact``); blank lines are kept as empty
    records (dropped later, after line numbers are known) so that the line count stays exact.
    """
    limits = limits or ReadLimits()
    empty = pd.DataFrame({i: pd.Series([], dtype=object) for i in range(width)})
    if not _CONTENT.search(raw, start):
        return empty
    ncols = max(width, 1)
    if compact:
        fast = _arrow_body(raw, start, encoding, delim, ncols)
        if fast is not None:
            return fast
    for _ in range(12):
        body = io.BytesIO(raw)  # shares the bytes, no copy
        body.seek(start)
        try:
            parsed = pd.read_csv(
                body,
                encoding=encoding,
                sep=delim,
                header=None,
                names=list(range(ncols)),
                dtype=object,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                quoting=csv.QUOTE_MINIMAL,
                engine="c",
                index_col=False,
                chunksize=BODY_CHUNK_ROWS if compact else None,
            )
            if not compact:
                return parsed.fillna("").astype(object)
            return _compact_frame(parsed, ncols)
        except pd.errors.ParserError as exc:
            saw = _SAW_FIELDS.search(str(exc))
            if saw and int(saw.group(1)) > ncols:
                # A record has more cells than the header: widen and parse again; extra
                # columns that stay empty everywhere are dropped later.
                limits.check_columns(file, int(saw.group(1)),
                                     f"a record after line {lines_before}")
                ncols = min(max(int(saw.group(1)), ncols * 2), limits.max_columns)
                continue
            if "EOF inside string" in str(exc):
                _refuse_open_quote(raw, start, encoding, delim, file, lines_before)
            where = f"malformed CSV in the records after line {lines_before}"
            raise ReadError(file, f"{where}: {exc}") from exc
        except pd.errors.EmptyDataError:
            return empty
    raise ReadError(file, "a record has far more cells than the header")


def _refuse_open_quote(raw: bytes, start: int, encoding: str, delim: str, file: str,
                       lines_before: int) -> None:
    """Raise naming the line where a quote opened and never closed, if one did.

    Both parsers only say "EOF inside string" and count records, not lines, so the line is
    found here: fields are walked as the parsers read them (a quote opens a quoted cell only
    at the start of a cell; a doubled quote inside is a literal), jumping from one quote,
    delimiter or line break to the next."""
    text = raw[start:].decode(encoding, errors="replace")
    special = re.compile("[" + re.escape(delim) + '"\n]')
    line, pos, cell_start, opened = 1, 0, True, None
    while True:
        if opened is not None:
            close = text.find('"', pos)
            if close < 0:
                raise ReadError(file, f"line {lines_before + opened}: a quote (\") opens a "
                                "cell here and is never closed; every line after it was read "
                                "as part of that cell")
            line += text.count("\n", pos, close)
            if text.startswith('""', close):
                pos = close + 2
                continue
            opened, pos, cell_start = None, close + 1, False
            continue
        found = special.search(text, pos)
        if found is None:
            return
        char = found.group()
        if char == '"' and (cell_start and found.start() == pos):
            opened, pos = line, found.end()
            continue
        if char == "\n":
            line += 1
        cell_start = char != '"'
        pos = found.end()


def _arrow_body(raw: bytes, start: int, encoding: str, delim: str, ncols: int
                ) -> pd.DataFrame | None:
    """The body parsed by Arrow's CSV reader straight into Arrow strings (no Python object
    per cell, both cores), or None when the file is not a plain rectangle (a blank line, a
    record with more or fewer cells than the header): then pandas' parser, which pads and
    widens, reads it instead. Both read quotes the same way (``"`` doubled inside quotes,
    line breaks inside quoted cells)."""
    names = [str(i) for i in range(ncols)]
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(memoryview(raw)[start:]),
            read_options=pa_csv.ReadOptions(column_names=names, encoding=encoding),
            parse_options=pa_csv.ParseOptions(delimiter=delim, newlines_in_values=True,
                                              ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                # large_string: what pandas' string dtype holds (no cast, no copy)
                column_types=dict.fromkeys(names, pa.large_string()), strings_can_be_null=False,
                quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    return pd.DataFrame(
        {i: pd.Series(pd.arrays.ArrowStringArray(table.column(i)), copy=False)
         for i in range(ncols)},
        copy=False,
    )


def _compact_frame(chunks: Iterator[pd.DataFrame], ncols: int) -> pd.DataFrame:
    """Concatenate parsed chunks as Arrow string columns, each chunk's objects freed as soon
    as it is converted."""
    parts: dict[int, list[pa.Array]] = {i: [] for i in range(ncols)}
    for chunk in chunks:
        for i in range(ncols):
            cells = chunk[i].to_numpy(dtype=object)
            parts[i].append(pa.array(cells, type=pa.large_string(), from_pandas=True))
        del chunk
    columns = {}
    for i in range(ncols):
        joined = pa.chunked_array(parts.pop(i), type=pa.large_string()).fill_null("")
        columns[i] = pd.Series(pd.arrays.ArrowStringArray(joined), copy=False)
    return pd.DataFrame(columns, copy=False)


def _record_lines(frame: pd.DataFrame, first_line: int, body_lines: int) -> np.ndarray:
    """1-based line where each record starts: records advance by one line plus the line
    breaks inside their quoted cells.

    When the body has exactly one line per record (the usual case) that is a range; otherwise
    only the columns that contain a line break at all are counted, cell by cell.
    """
    n = len(frame)
    spans = np.ones(n, dtype=np.int64)
    if body_lines != n:
        for col in frame.columns:
            values = frame[col].to_numpy(dtype=object)
            if "\n" not in "".join(values):
                continue
            spans += pd.Series(values, dtype=object).str.count("\n").to_numpy(dtype=np.int64)
    starts = np.empty(n, dtype=np.int64)
    if n:
        starts[0] = first_line
        np.cumsum(spans[:-1], out=starts[1:])
        starts[1:] += first_line
    return starts


# --- XLSX --------------------------------------------------------------------------------------


# A merged range as openpyxl gives its bounds: (min_col, min_row, max_col, max_row), 1-based.
CellBounds = tuple[int, int, int, int]


def _xlsx_rows(path: Path, data: bytes, sheet: str | None, limits: ReadLimits
               ) -> tuple[list[list[str]], list[int], list[CellBounds]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken zip/xml
        raise ReadError(path.name, f"not a readable XLSX workbook: {exc}") from exc
    try:
        if sheet is None:
            ws = book.worksheets[0]
        elif sheet in book.sheetnames:
            ws = book[sheet]
        else:
            raise ReadError(path.name, f"no sheet {sheet!r}; sheets are {book.sheetnames}")
        rows: list[list[str]] = []
        numbers: list[int] = []
        try:
            for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
                cells = _trimmed([_cell_text(v) for v in values])
                # Filled width: a sheet formatted to its last column (XFD) pads every row.
                limits.check_columns(path.name, len(cells), f"row {number}")
                if number > limits.max_rows + HEAD_RECORDS:
                    limits.check_rows(path.name, number)
                rows.append(cells)
                numbers.append(number)
            merged = _merged_ranges(ws)
        except ReadError:
            raise
        except Exception as exc:  # the sheet's XML: broken, or entities refused by defusedxml
            raise ReadError(path.name, f"the sheet's XML cannot be read: {exc}") from exc
    finally:
        book.close()
    while rows and not any(rows[-1]):
        rows.pop()
        numbers.pop()
    return rows, numbers, merged


def _trimmed(cells: list[str]) -> list[str]:
    end = len(cells)
    while end and not cells[end - 1]:
        end -= 1
    return cells if end == len(cells) else cells[:end]


_MERGE_CELL = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}mergeCell"


def _merged_ranges(ws: Any) -> list[CellBounds]:
    """The sheet's merged ranges. openpyxl's read-only worksheets (which keep memory flat on
    big sheets) stream the rows and skip ``<mergeCells>``, which the sheet's XML holds after
    them; one more streaming pass collects them, with openpyxl's own (defused) parser."""
    from openpyxl.worksheet.cell_range import CellRange
    from openpyxl.xml.functions import iterparse

    found: list[CellBounds] = []
    with ws._get_source() as source:  # the sheet's XML in the workbook archive
        for _event, element in iterparse(source):
            if element.tag == _MERGE_CELL and element.get("ref"):
                found.append(CellRange(element.get("ref")).bounds)
            element.clear()
    return found


def _merged_header(layout: _Layout, rows: list[list[str]], numbers: list[int],
                   merged: list[CellBounds]) -> list[str]:
    """Header names with merged header cells spread: a header merged across columns names
    each of them, the first as written and the next ``<name>_2``, ``<name>_3`` ... (Kobe's
    「施設名」 over a symbol column and a name column), so a dataset.toml can map each.
    Merged cells below the header are layout, not data, and are left as they are."""
    headers = list(layout.headers)
    header_number = numbers[layout.header_record]
    for min_col, min_row, max_col, max_row in merged:
        if not min_row <= header_number <= max_row or max_col == min_col:
            continue
        top = rows[numbers.index(min_row)] if min_row in numbers else []
        name = _clean_header(top[min_col - 1]) if min_col <= len(top) else ""
        if not name:
            continue
        headers += [""] * (max_col - len(headers))
        headers[min_col - 1] = name
        for offset, col in enumerate(range(min_col + 1, max_col + 1), start=2):
            headers[col - 1] = f"{name}_{offset}"
    return headers


def _cell_text(value: object) -> str:
    """Excel cell -> text as a person would type it (ISO dates, no spurious ``.0``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _xlsx_frame(
    rows: list[list[str]], numbers: list[int], layout: _Layout
) -> tuple[pd.DataFrame, np.ndarray]:
    body = rows[layout.last_head_record + 1 :]
    body_numbers = numbers[layout.last_head_record + 1 :]
    width = max([len(layout.headers), *(len(r) for r in body)])
    padded = [r + [""] * (width - len(r)) for r in body]
    frame = pd.DataFrame(padded, columns=list(range(width)), dtype=object)
    if not body:
        frame = pd.DataFrame({i: pd.Series([], dtype=object) for i in range(width)})
    return frame, np.asarray(body_numbers, dtype=np.int64)


# --- shared ending -----------------------------------------------------------------------------


def _finish(
    name: str,
    digest: str,
    encoding: str,
    delimiter: str | None,
    layout: _Layout,
    frame: pd.DataFrame,
    source_rows: np.ndarray,
    section_rows: bool = False,
) -> RawTable:
    """Name the columns, drop empty edge columns, section rows (when asked) and blank
    records."""
    headers = list(layout.headers) + [""] * (frame.shape[1] - len(layout.headers))
    keep = frame.shape[1]
    while keep > 0 and not headers[keep - 1] and not _any_filled(frame[keep - 1]):
        keep -= 1
    first = 0
    # A blank leading column (Kobe's sheets start in column B) is margin, not data.
    while first < keep and not headers[first] and not _any_filled(frame[first]):
        first += 1
    frame = frame.iloc[:, first:keep]
    written = headers[first:keep]
    headers = _unique_headers(written)
    frame.columns = headers
    sections, found_sections = None, []
    if section_rows:
        frame, source_rows, sections, found_sections = _split_sections(frame, source_rows)
    filled = _filled_rows(frame)
    if not filled.all():
        frame = frame.loc[filled]
        source_rows = source_rows[filled]
        if sections is not None:
            sections = sections.loc[filled]
    frame = frame.reset_index(drop=True)
    if sections is not None:
        sections = sections.reset_index(drop=True)
    return RawTable(
        source_name=name,
        source_sha256=digest,
        encoding=encoding,
        delimiter=delimiter,
        headers=headers,
        frame=frame,
        source_rows=np.asarray(source_rows, dtype=np.int64),
        preamble=layout.preamble,
        repeated_headers={unique: as_written for unique, as_written in zip(headers, written,
                                                                           strict=True)
                          if as_written and unique != as_written},
        sections=sections,
        section_rows=found_sections,
    )


def _split_sections(frame: pd.DataFrame, source_rows: np.ndarray
                    ) -> tuple[pd.DataFrame, np.ndarray, pd.Series, list[tuple[int, str]]]:
    """Section rows (one filled cell, every other cell blank, in a table of two or more
    columns) taken out of ``frame``; each remaining row gets the text of the last section
    row above it ("" before the first)."""
    n = len(frame)
    counts = np.zeros(n, dtype=np.int64)
    text = np.full(n, "", dtype=object)
    for col in frame.columns:
        cells = frame[col].to_numpy(dtype=object)
        filled = np.array([c != "" and not c.isspace() for c in cells], dtype=bool)
        counts += filled
        text[filled] = cells[filled]
    is_section = (counts == 1) if frame.shape[1] >= 2 else np.zeros(n, dtype=bool)
    heading = pd.Series(np.where(is_section, text, None), dtype=object)
    heading = heading.map(lambda c: c.strip() if isinstance(c, str) else c)
    current = heading.ffill().fillna("")
    found = [(int(source_rows[i]), str(heading.iloc[i])) for i in np.flatnonzero(is_section)]
    keep = ~is_section
    return (frame.loc[keep], source_rows[keep], current.loc[keep].astype(object), found)


def _any_filled(values: pd.Series) -> bool:
    cells = values.to_numpy(dtype=object)
    return any(not c.isspace() for c in cells[cells != ""])


def _filled_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows with at least one cell that is not blank. Blank records (empty lines, ",,,,")
    are not data; checking column by column only the rows still blank keeps this cheap.
    Arrow columns are checked by Arrow: a cell is blank when trimming Python's whitespace
    (what ``str.isspace`` means) leaves nothing."""
    blank = np.ones(len(frame), dtype=bool)
    for col in frame.columns:
        rows = np.flatnonzero(blank)
        if not len(rows):
            break
        cells = arrow_strings(frame[col])
        if cells is not None:
            if len(rows) < len(cells):
                cells = cells.take(pa.array(rows))
            empty = pc.equal(pc.utf8_trim(cells, WHITESPACE), "").fill_null(True)
            blank[rows] = empty.to_numpy(zero_copy_only=False)
            continue
        cells = frame[col].to_numpy(dtype=object)[rows]
        candidates = cells != ""
        if candidates.any():
            text = cells[candidates]
            blank[rows[candidates]] = [c.isspace() for c in text]
    return ~blank


def _unique_headers(headers: list[str]) -> list[str]:
    """Empty names become ``col_<position>``; a repeated name gets ``_<position>``."""
    out: list[str] = []
    seen: set[str] = set()
    for position, name in enumerate(headers, start=1):
        candidate = name or f"col_{position}"
        if candidate in seen:
            candidate = f"{candidate}_{position}"
        while candidate in seen:
            candidate += "_"
        seen.add(candidate)
        out.append(candidate)
    return out

"""From a source file to a typed, validated table ready to load: the one entry point that
``hub validate`` and ``hub publish`` call.

read -> NFKC + trim -> missing values -> header matching -> typed parsing -> geometry ->
constraints -> report. Everything is column-at-a-time; the only per-row Python work is building
:class:`~etl.report.Issue` objects, and that is capped at ``max_errors``.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl import normalise as norm
from etl.arrow_memory import kept_threads, return_freed_memory
from etl.outliers import far_points
from etl.read import RawTable, read_table
from etl.read_limits import ReadLimits
from etl.report import Issue, Report
from etl.validate import (
    Finding,
    Located,
    check_constraints,
    key_findings,
    rows_with,
    to_issues,
)
from hub.catalog import INVALID_OPTIONAL_POLICIES, DatasetDefinition, SchemaField

Progress = Callable[[str, int, int], None]

# pandas dtype of each field type in Prepared.frame. Text (and ISO dates and times) is held
# in Arrow-backed strings, missing as pd.NA like every other type: a million-row table in
# object columns of Python str took ~575 MB, about three times its text.
TEXT_DTYPE = pd.StringDtype("pyarrow")
FRAME_DTYPES = {
    "string": TEXT_DTYPE,
    "integer": "Int64",
    "number": "Float64",
    "boolean": "boolean",
    "date": TEXT_DTYPE,
    "datetime": TEXT_DTYPE,
    "time": TEXT_DTYPE,
    "year": "Int64",
}

TYPE_HINTS = {
    "integer": "is not a whole number (digits only, e.g. 1234 or 1,234; no units such as 件 or 人)",
    "number": "is not a number (e.g. 35.6, -1.5 or 1,234.5)",
    "boolean": "is not a yes/no value (e.g. 有/無, ○/×, はい/いいえ, true/false, 1/0)",
    "date": "is not a valid date (e.g. 2020-04-01, 2020/4/1, 2020年4月1日, 令和2年4月1日, R2.4.1)",
    "datetime": "is not a valid date and time (e.g. 2020-04-01T09:30, 2020/4/1 9:30)",
    "time": "is not a valid time of day (e.g. 09:30, 9時30分; 24:00 is not a time of day)",
    "year": "is not a year (e.g. 2020, 令和2年)",
}
# What a string ``format`` accepts (for invalid cells) and how it repairs (for warnings).
FORMAT_HINTS = {
    "hh:mm": ("is not a time HH:MM between 00:00 and 24:00 (e.g. 09:30, 9時30分, 16時, 24:00)",
              ""),
    "jp-local-government-code": (
        "cannot be a 全国地方公共団体コード (6 digits with a correct check digit, e.g. "
        "222127, or the older 5 digits without one, e.g. 37201; prefecture 01-47)",
        "lost its leading zero (the check digit proves it) and is stored as"),
}
_GENERATED_HEADER = re.compile(r"col_\d+")
# How reports name the column that section rows fill ([read] section_rows = "<field>").
SECTION_COLUMN = "(section rows)"


@dataclass
class Prepared:
    """A file read, normalised and checked against its dataset's schema; see prepare()."""

    definition: DatasetDefinition
    raw: RawTable
    frame: pd.DataFrame
    geometry_wkt: pd.Series | None
    search_fields: tuple[str, ...]  # whose folded text is a row's search text
    source_rows: np.ndarray
    report: Report

    def search_text(self) -> pd.Series:
        """Every row's search text (:func:`etl.normalise.search_text`). A publish does not
        call this: it folds the text a chunk at a time while the rows are COPYed."""
        return norm.search_text(self.frame, list(self.search_fields))


@dataclass
class _Column:
    """One schema field while it is being prepared."""

    field: SchemaField
    header: str | None  # source header, None when the file lacks the column
    original: pd.Series | None  # cell text as in the file ("" when absent); None: released
    text: pd.Series | None  # NFKC, trimmed, missing values as ""; None once typed
    values: pd.Series | None = None  # typed
    invalid: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def prepare(
    definition: DatasetDefinition,
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    max_errors: int = 1000,
    skip_invalid: bool = False,
    on_invalid_optional: str | None = None,
    progress: Progress | None = None,
    read_limits: ReadLimits | None = None,
) -> Prepared:
    """Read ``path`` and make it a table of ``definition``'s schema, with a report.

    ``encoding``/``delimiter``/``sheet`` override detection; for the file the dataset's
    ``[source]`` names (``file``), its ``encoding``, ``delimiter``, ``sheet`` and
    ``header_line`` are the defaults. ``[source] unmapped_columns`` lists headers that are
    expected to match no field (no "unknown-column" warning; ``""`` stands for empty ones). With
    ``skip_invalid`` rows that have errors are dropped and counted in
    ``report.rows_skipped`` (their errors stay in the report); file-level errors such as a
    missing required column are never "skipped" away. ``on_invalid_optional`` (default: the
    dataset's, see :data:`hub.catalog.INVALID_OPTIONAL_POLICIES`) decides what an invalid
    cell of an optional field does: ``null`` empties it with a warning and keeps the row.
    Raises :class:`etl.read.ReadError` when
    the file cannot be read as a table at all.
    """
    tick = progress or (lambda stage, done, total: None)
    return_freed_memory()  # big files: Arrow's freed buffers back to the OS between steps
    tick("read", 0, 1)
    raw = read_source(definition, Path(path), encoding=encoding, delimiter=delimiter,
                      sheet=sheet, limits=read_limits)
    tick("read", 1, 1)
    return prepare_table(definition, raw, max_errors=max_errors, skip_invalid=skip_invalid,
                         on_invalid_optional=on_invalid_optional, progress=progress)


def read_source(
    definition: DatasetDefinition,
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    limits: ReadLimits | None = None,
) -> RawTable:
    """Read ``path`` as :func:`prepare_table` wants it (compact Arrow cells), with the reading
    hints of ``definition``'s ``[source]`` when ``path`` is the file it names."""
    # [source] describes one file; its reading hints must not be forced on a new upload
    # (a city that switches to UTF-8 would otherwise get a decode error), where detection
    # decides instead.
    source = definition.source if path.name == definition.source.get("file") else {}
    return read_table(
        path,
        encoding=encoding or source.get("encoding"),
        delimiter=delimiter or source.get("delimiter"),
        sheet=sheet or source.get("sheet"),
        header_row=source.get("header_line") or source.get("header_row"),
        compact=True,
        known_header=norm.known_header(definition.schema, definition.column_map),
        section_rows=definition.read.section_rows is not None,
        limits=limits,
    )


def prepare_table(
    definition: DatasetDefinition,
    raw: RawTable,
    *,
    max_errors: int = 1000,
    skip_invalid: bool = False,
    on_invalid_optional: str | None = None,
    progress: Progress | None = None,
) -> Prepared:
    """Make an already read table one of ``definition``'s schema, with a report: the step
    after reading, for any source that yields a :class:`RawTable` (a file, a table pulled
    from CKAN). It consumes ``raw``: cells no longer needed are dropped as it goes.
    ``skip_invalid`` and ``on_invalid_optional`` are as for :func:`prepare`."""
    tick = progress or (lambda stage, done, total: None)
    n = len(raw.frame)
    report = Report(file=raw.source_name, max_errors=max_errors, rows_read=n)
    _report_sections(report, raw, definition)
    columns = _match_columns(definition, raw, report)
    used = {c.header for c in columns.values()}
    for header in [h for h in raw.frame.columns if h not in used]:
        del raw.frame[header]  # columns no field reads

    schema = definition.schema
    fields = schema.fields
    geometry_fields = _geometry_fields(definition)
    g = definition.geometry
    geometry_inputs = {g.field, g.latitude, g.longitude} if g.kind != "none" else set()
    tick("normalise", 0, len(fields))
    findings: list[Finding] = []
    missing_values = {norm.nfkc_text(str(v)) for v in schema.missing_values} | {""}
    # The cells as written are quoted by the report, so a column's are kept only while
    # they may be: fields checked across rows or after the loop keep theirs.
    quoted_later = ({*schema.primary_key, *geometry_inputs}
                    | {f.name for f in fields if f.unique})
    rows_only = Located(raw.source_name, raw.source_rows, {}, {})
    # A column may feed several fields ([columns] "施設名" = [...]): its cells are dropped
    # only after the last of them.
    readers = Counter(c.header for c in columns.values() if c.header is not None)

    def prepared_column(column: _Column) -> tuple[list[Finding], bool]:
        """One column normalised, typed and checked: its findings, and whether any came from
        its parsing or checks. Touches only ``column``, so columns go two at a time."""
        name = column.field.name
        column.text = _normalised(column, missing_values)
        findings = _strip_junk_characters(column)
        unlisted = _map_values(column, definition.value_maps.get(name))
        failed = False
        if name not in geometry_fields:
            found = unlisted + _parse(column)
            for finding in unlisted:  # emptied by the map, so the parser saw nothing there
                column.invalid = column.invalid.copy()
                column.invalid[finding.positions] = True
            found += check_constraints(
                pd.DataFrame({name: column.values}), schema,
                skip={name: column.invalid | (column.header is None)},
                located=rows_only, primary_key=False,
            )
            findings += found
            failed = bool(found)
        else:
            findings += unlisted
        if name not in geometry_inputs:
            column.text = None
        else:  # kept until the geometry step: compact, not a Python str per cell
            column.text = _compact(column.text)
        return findings, failed

    # Two columns at a time: most of a column's work is in Arrow and numpy, which run
    # without the GIL. Results come back in field order; each column's source cells are
    # dropped once its last reader is done (geometry fields keep theirs for the geometry
    # step and its messages). The geometry is made here as soon as its input columns are
    # done, while the threads prepare the columns after them: it reads only those.
    awaited = {f for f in geometry_inputs if f in columns}
    geometry: tuple[pd.Series | None, list[Finding]] | None = None
    results = kept_threads().map(prepared_column, columns.values())
    for done, (column, (found, failed)) in enumerate(
            zip(columns.values(), results, strict=True), start=1):
        findings += found
        if column.header is not None:
            readers[column.header] -= 1
            if (not failed and column.field.name not in geometry_fields
                    and column.field.name not in quoted_later
                    and not readers[column.header]):
                del raw.frame[column.header]
                column.original = None
        tick("normalise", done, len(fields))
        awaited.discard(column.field.name)
        if geometry is None and not awaited:
            geometry = _geometry(definition, columns, n)
    geometry_wkt, geometry_findings = geometry or _geometry(definition, columns, n)
    findings += geometry_findings

    tick("validate", 0, 1)
    frame = pd.DataFrame({name: c.values for name, c in columns.items()})
    located = Located(
        file=raw.source_name,
        source_rows=raw.source_rows,
        columns={name: c.header for name, c in columns.items() if c.header is not None},
        source_values={name: c.original for name, c in columns.items()
                       if c.original is not None},
    )
    skip = {name: c.invalid | (c.header is None) for name, c in columns.items()}
    # Geometry fields were typed by the geometry step; the key is checked across fields.
    findings += check_constraints(frame[sorted(geometry_fields)], schema, skip=skip,
                                  located=located, primary_key=False)
    findings += key_findings(frame, schema, skip=skip, located=located)
    findings = _far_points_not_in_error(findings, geometry_inputs)
    policy = on_invalid_optional or definition.on_invalid_optional
    findings, refusing = _apply_optional_policy(findings, frame, definition, policy)
    if refusing:  # before the row errors, so that the cap on errors never leaves it out
        _refused_by_policy(report, refusing)
    _report_findings(report, findings, located, max_errors)
    tick("validate", 1, 1)

    keep = np.ones(n, dtype=bool)
    file_level = any(i.row is None for i in report.errors)
    if skip_invalid and not file_level:
        keep = ~rows_with(findings, n)
        report.rows_skipped = int((~keep).sum())
    del columns, findings, located  # normalised text no longer needed: free it before COPY
    # The cells as written were needed for the report only; keep the file's description.
    # (a new empty frame: a slice of Arrow columns would keep their buffers alive).
    raw = dataclasses.replace(raw, frame=pd.DataFrame(columns=raw.headers))
    if not keep.all():
        frame = frame.loc[keep].reset_index(drop=True)
        if geometry_wkt is not None:
            geometry_wkt = geometry_wkt.loc[keep].reset_index(drop=True)
    return Prepared(
        definition=definition,
        raw=raw,
        frame=frame,
        geometry_wkt=geometry_wkt,
        search_fields=tuple(definition.schema.search_fields(definition.id)),
        source_rows=raw.source_rows[keep],
        report=report,
    )


# --- columns -------------------------------------------------------------------------------------


def _match_columns(
    definition: DatasetDefinition, raw: RawTable, report: Report
) -> dict[str, _Column]:
    """Each schema field with its source column (NFKC'd, missing values blanked); warn about
    columns the schema does not know and report fields the file lacks."""
    schema = definition.schema
    header_of, unmatched = norm.match_headers(raw.headers, schema, definition.column_map)
    expected = {str(h) for h in definition.source.get("unmapped_columns", ())}
    section_field = definition.read.section_field
    if section_field is not None and raw.sections is not None:
        # The section rows' text is the column of this field, whatever the header says.
        raw.frame[SECTION_COLUMN] = raw.sections
        header_of[section_field] = SECTION_COLUMN
    for header in unmatched:
        if header in raw.repeated_headers:
            _duplicate_header(report, raw, header, header_of)
            continue
        generated_empty = "" in expected and _GENERATED_HEADER.fullmatch(header)
        if header in expected or generated_empty:
            continue
        report.warning(
            row=None, column=header, field=None, value=None, rule="unknown-column",
            message=f"column '{header}' matches no field of the schema and is ignored "
            "(map it in [columns] of dataset.toml if it should be kept)",
        )
    n = len(raw.frame)
    blank = pd.Series([""] * n, index=raw.frame.index, dtype=object)
    columns: dict[str, _Column] = {}
    for f in schema.fields:
        header = header_of.get(f.name)
        if header is None:
            _missing_column(report, f, f.name in schema.primary_key)
            columns[f.name] = _Column(f, None, blank, blank, invalid=np.zeros(n, bool))
            continue
        columns[f.name] = _Column(f, header, raw.frame[header], None, invalid=np.zeros(n, bool))
    return columns


def _duplicate_header(report: Report, raw: RawTable, header: str,
                      header_of: dict[str, str]) -> None:
    """A header written twice: named as in the file. The first column with it is the one
    read; the repeat is an error when a field reads that header and the two columns differ
    (which one the publisher meant is unknown), else a warning (nothing is lost)."""
    written = raw.repeated_headers[header]
    first = next(h for h in raw.headers if h == written or raw.repeated_headers.get(h) == written)
    positions = [i + 1 for i, h in enumerate(raw.headers)
                 if h == written or raw.repeated_headers.get(h) == written]
    field = next((f for f, h in header_of.items() if h == first), None)
    differs = field is not None and not raw.frame[first].equals(raw.frame[header])
    where = f"columns {', '.join(map(str, positions))}"
    if differs:
        report.error(row=None, column=written, field=field, value=None, rule="duplicate-header",
                     message=f"header '{written}' appears more than once ({where}) with "
                     f"different values; field '{field}' cannot tell which column is meant")
    else:
        report.warning(row=None, column=written, field=field, value=None,
                       rule="duplicate-header",
                       message=f"header '{written}' appears more than once ({where}); only the "
                       f"first is read" + ("" if field else " (it matches no field)"))


def _report_sections(report: Report, raw: RawTable, definition: DatasetDefinition) -> None:
    """A note per section row left out of the records, saying where its text went."""
    into = definition.read.section_field
    for row, text in raw.section_rows:
        where = (f"fills field '{into}' of the records below it" if into
                 else "is left out ([read] section_rows = \"drop\")")
        report.add(Issue(file=raw.source_name, row=row, column=None, field=into, value=text,
                         rule="section-row", severity="info",
                         message=f"section row, not a record: its text '{text}' {where}"))


def _map_values(column: _Column, mapping: dict[str, str] | None) -> list[Finding]:
    """A field with a ``[values.<field>]`` map reads its cells through it (``◎`` -> true)
    before its type is parsed; a cell the map does not list is an error."""
    if mapping is None or column.header is None:
        return []
    assert column.text is not None
    column.text, unknown = norm.map_values(column.text, mapping)
    positions = np.flatnonzero(unknown.to_numpy(dtype=bool))
    if not len(positions):
        return []
    original, listed = column.original, ", ".join(repr(k) for k in mapping)
    name = column.field.name
    return [Finding(rule="value-map", field=name, positions=positions,
                    message=lambda p: f"'{original.iloc[p]}' is not one of the values "
                    f"[values.{name}] of dataset.toml lists ({listed})")]


def _compact(text: pd.Series) -> pd.Series:
    if norm.arrow_strings(text) is not None:
        return text
    cells = pa.array(text.to_numpy(dtype=object), type=pa.large_string())
    return pd.Series(pd.arrays.ArrowStringArray(cells), index=text.index, copy=False)


def _normalised(column: _Column, missing_values: set[str]) -> pd.Series:
    """NFKC'd, trimmed cell text with the schema's missing values blanked.

    Columns from the Arrow CSV reader stay in Arrow (:func:`etl.normalise.nfkc_arrow`); the
    others (pandas fallback, spreadsheets) take the Python path."""
    if column.header is None:
        return column.original  # the blank column
    cells = norm.arrow_strings(column.original)
    if cells is None:
        text = norm.nfkc(column.original)
        if len(missing_values) > 1:
            text = text.where(~text.isin(missing_values), "")
        return text
    text = norm.nfkc_arrow(cells, column.original.index)
    if len(missing_values) > 1:
        cells = norm.arrow_strings(text)
        blank = pc.is_in(cells, value_set=pa.array(sorted(missing_values), pa.large_string()))
        text = pd.Series(pd.arrays.ArrowStringArray(
            pc.if_else(blank, pa.scalar("", cells.type), cells)), index=text.index, copy=False)
    return text


# Characters that never mean anything in a cell, removed with a warning per cell: NUL,
# which PostgreSQL text cannot hold (a NUL that reached COPY failed the publish with a raw
# "invalid byte sequence" after validation had passed), and a byte order mark inside the
# data, left where two exports were concatenated (an invisible U+FEFF that breaks equality).
_JUNK_CHARACTERS = (
    ("\x00", "nul-byte", "the cell holds NUL (\\0) characters, which were removed", "\\0"),
    ("\ufeff", "stray-bom", "the cell holds a byte order mark (U+FEFF), which was removed",
     "<U+FEFF>"),
)


def _holds(cells: pa.Array, char: str) -> bool:
    """Whether any cell holds ``char``, by one search of the column's UTF-8 text: in valid
    UTF-8 a character's bytes never start inside another character's, nor span two cells."""
    data = cells.buffers()[2]
    if data is None or not len(cells):
        return False
    width = np.int64 if pa.types.is_large_string(cells.type) else np.int32
    offsets = np.frombuffer(cells.buffers()[1], dtype=width)
    text = memoryview(data)[offsets[cells.offset] : offsets[cells.offset + len(cells)]]
    return re.search(re.escape(char.encode()), text) is not None


def _strip_junk_characters(column: _Column) -> list[Finding]:
    """Remove :data:`_JUNK_CHARACTERS` from a column's normalised text, with a warning per
    cell. Stripping here, where ``hub validate`` and ``hub publish`` both pass, makes them
    agree."""
    if column.header is None or column.text is None:
        return []
    cells = norm.arrow_strings(column.text)
    if cells is None:
        cells = pa.array(column.text.to_numpy(dtype=object), type=pa.large_string())
    findings: list[Finding] = []
    original = column.original
    assert original is not None
    for char, rule, message, shown in _JUNK_CHARACTERS:
        if not _holds(cells, char):  # nearly always: one scan of the text, not one per cell
            continue
        found = pc.match_substring(cells, char).to_numpy(zero_copy_only=False)
        if not found.any():
            continue
        cells = pc.replace_substring(cells, char, "")
        findings.append(Finding(
            rule=rule, field=column.field.name, positions=np.flatnonzero(found),
            message=lambda p, m=message: m,
            value=lambda p, c=char, s=shown: str(original.iloc[p]).replace(c, s),
            severity="warning"))
    if findings:
        column.text = pd.Series(pd.arrays.ArrowStringArray(cells), index=column.text.index,
                                copy=False)
    return findings


def _missing_column(report: Report, f: SchemaField, in_key: bool) -> None:
    spellings = list(dict.fromkeys(s for s in (f.name, f.title, f.title_ja, *f.synonyms) if s))
    message = (
        f"no column for field '{f.name}'"
        + (" (required)" if f.required or in_key else "")
        + f"; expected a header such as {', '.join(spellings[:6])}"
    )
    issue = dict(row=None, column=None, field=f.name, value=None, rule="missing-column")
    if f.required or in_key:
        report.error(message=message, **issue)
    else:
        report.warning(message=message, **issue)


def _parse(column: _Column) -> list[Finding]:
    """Typed values of one column; unreadable cells become type errors quoting the source."""
    f, text = column.field, column.text
    assert text is not None
    if f.format is not None:
        return _parse_format(column)
    if f.type == "string":
        cells = norm.arrow_strings(text)
        if cells is None:
            cells = pa.array(text.to_numpy(dtype=object), type=pa.large_string())
        cells = pc.if_else(pc.equal(cells, ""), pa.scalar(None, pa.large_string()), cells)
        column.values = pd.Series(pd.arrays.ArrowStringArray(cells), index=text.index,
                                  copy=False)
        return []
    if f.type == "boolean":
        values, invalid = norm.per_distinct_value(
            lambda cells: norm.parse_boolean(cells, f.true_values, f.false_values), text)
    else:
        parser = {
            "integer": norm.parse_integer,
            "number": norm.parse_number,
            "date": norm.parse_date,
            "datetime": norm.parse_datetime,
            "time": norm.parse_time,
            "year": norm.parse_year,
        }[f.type]
        # Date-times are nearly all distinct and parsed by Arrow: finding the distinct
        # values would cost more than it saves.
        values, invalid = (parser(text) if f.type == "datetime"
                           else norm.per_distinct_value(parser, text))
    column.values = values.astype(FRAME_DTYPES[f.type])
    column.invalid = invalid.to_numpy(dtype=bool)
    positions = np.flatnonzero(column.invalid)
    if not len(positions):
        return []
    original = column.original
    hint = TYPE_HINTS[f.type]
    return [
        Finding(
            rule=f"type:{f.type}",
            field=f.name,
            positions=positions,
            message=lambda p: f"'{original.iloc[p]}' {hint}",
        )
    ]


def _parse_format(column: _Column) -> list[Finding]:
    """A string field with a declared ``format`` (:data:`hub.catalog.STRING_FORMATS`): its
    normaliser decides what is readable, and what it repaired is reported as a warning."""
    f, original = column.field, column.original
    assert column.text is not None and f.format is not None
    if f.format == "hh:mm":
        values, invalid = norm.per_distinct_value(norm.parse_hhmm, column.text)
        repaired = pd.Series(False, index=values.index)
    else:
        values, invalid, repaired = norm.per_distinct_value(
            norm.parse_local_government_code, column.text)
    column.values = values.astype(TEXT_DTYPE)
    column.invalid = invalid.to_numpy(dtype=bool)
    hint, repair = FORMAT_HINTS[f.format]
    found = []
    if column.invalid.any():
        found.append(Finding(rule=f"format:{f.format}", field=f.name,
                             positions=np.flatnonzero(column.invalid),
                             message=lambda p: f"'{original.iloc[p]}' {hint}"))
    fixed = repaired.to_numpy(dtype=bool)
    if fixed.any():
        found.append(Finding(rule=f"format:{f.format}", field=f.name,
                             positions=np.flatnonzero(fixed), severity="warning",
                             message=lambda p: f"'{original.iloc[p]}' {repair} "
                             f"'{values.iloc[p]}'"))
    return found


# --- geometry ------------------------------------------------------------------------------------


def _geometry_fields(definition: DatasetDefinition) -> set[str]:
    """Fields whose values come out of the geometry step (parsed as coordinates, so that
    DMS and swapped pairs are understood and the stored numbers are the fixed ones)."""
    g = definition.geometry
    if g.kind != "latlon":
        return set()
    names = {g.latitude, g.longitude}
    return {n for n in names if n and definition.schema.field(n).type == "number"}


def _geometry(
    definition: DatasetDefinition, columns: dict[str, _Column], n: int
) -> tuple[pd.Series | None, list[Finding]]:
    g = definition.geometry
    if g.kind == "none":
        return None, []
    if g.kind == "wkt":
        assert g.field is not None
        return _wkt_geometry(columns[g.field], g.crs)
    if g.kind == "combined":
        assert g.field is not None
        column = columns[g.field]
        a, b, unsplit = norm.split_combined(column.text)
        return _point_geometry(column, column, a, b, g.crs, unsplit)
    assert g.latitude is not None and g.longitude is not None
    lat, lon = columns[g.latitude], columns[g.longitude]
    return _point_geometry(lat, lon, lat.text, lon.text, g.crs, np.zeros(n, dtype=bool))


def _point_geometry(
    lat_column: _Column,
    lon_column: _Column,
    lat_text: pd.Series,
    lon_text: pd.Series,
    crs: int,
    unsplit: np.ndarray,
) -> tuple[pd.Series, list[Finding]]:
    """Points from latitude/longitude text (x = longitude/easting, y = latitude/northing)."""
    if crs == 4326:
        lat, lon, swapped, invalid = norm.parse_latlon_pair(lat_text, lon_text)
        lon_4326, lat_4326 = lon, lat
    else:  # projected: no swap guessing, the CRS defines the axes
        lat, bad_lat = norm.parse_number(lat_text)
        lon, bad_lon = norm.parse_number(lon_text)
        swapped = pd.Series(False, index=lat.index)
        invalid = bad_lat | bad_lon | (lat.isna() != lon.isna())
        lon_4326, lat_4326 = norm.reproject(lon, lat, crs)
        failed = lat.notna() & lon.notna() & ~invalid & lat_4326.isna()
        outside = (lat_4326.abs() > 90) | (lon_4326.abs() > 180)
        invalid = invalid | failed | outside.fillna(False).astype(bool)
    invalid = invalid.to_numpy(dtype=bool) | unsplit
    for column, values in ((lat_column, lat), (lon_column, lon)):
        if column.field.type == "number" and column.values is None:
            column.values = values.astype("Float64").where(~invalid, pd.NA)
            column.invalid = invalid
    ok = ~invalid
    wkt = norm.point_wkt(lon_4326.where(ok, pd.NA), lat_4326.where(ok, pd.NA))
    lat_orig, lon_orig = lat_column.original, lon_column.original
    combined = lat_column is lon_column

    def describe(p: int) -> str:
        if combined:
            return f"'{lat_orig.iloc[p]}'"
        return f"latitude '{lat_orig.iloc[p]}' / longitude '{lon_orig.iloc[p]}'"

    def problem(p: int) -> str:
        if unsplit[p]:
            return f"{describe(p)} is not a 'latitude,longitude' pair"
        if not combined and (lat_text.iloc[p] == "") != (lon_text.iloc[p] == ""):
            return f"{describe(p)}: one coordinate is missing"
        return (
            f"{describe(p)} is not a valid coordinate pair (decimal degrees or DMS such as "
            f"35°39'29.1\"N; latitude within ±90, longitude within ±180; EPSG:{crs})"
        )

    def fixed(p: int) -> str:
        return (
            f"{describe(p)} looked swapped and was stored as latitude {lat.iloc[p]}, "
            f"longitude {lon.iloc[p]}"
        )

    findings = []
    where = lat_column.field.name
    if invalid.any():
        findings.append(Finding("coordinates", where, np.flatnonzero(invalid), problem))
    findings += _far_points(lat_column, lon_column, lon_4326.where(ok, pd.NA),
                            lat_4326.where(ok, pd.NA))
    swapped_at = np.flatnonzero(swapped.to_numpy(dtype=bool))
    if len(swapped_at):
        findings.append(
            Finding("swapped-coordinates", where, swapped_at, fixed, severity="warning")
        )
    return wkt, findings


def _far_points(lat_column: _Column, lon_column: _Column, lon: pd.Series, lat: pd.Series
                ) -> list[Finding]:
    """A warning for each point far from the file's other points (:mod:`etl.outliers`),
    naming the coordinate column(s) and the values as written; the row is kept."""
    far = far_points(lon.to_numpy(dtype=float, na_value=np.nan),
                     lat.to_numpy(dtype=float, na_value=np.nan))
    if far is None or not len(far.positions):
        return []
    lat_orig, lon_orig = lat_column.original, lon_column.original
    combined = lat_column is lon_column
    headers = [h for h in dict.fromkeys((lat_column.header, lon_column.header)) if h]
    centre_lon, centre_lat = far.centre

    def value(p: int) -> str:
        return str(lat_orig.iloc[p]) if combined else f"{lat_orig.iloc[p]}, {lon_orig.iloc[p]}"

    def message(p: int) -> str:
        return (f"this point lies {far.distance_km[p]:.0f} km from the middle of the file's "
                f"points (latitude {centre_lat:.4f}, longitude {centre_lon:.4f}), where the "
                f"others lie within {far.limit_km:.0f} km: check the coordinates (a DMS value "
                "written as decimal degrees, a typo, swapped digits)")

    return [Finding("outlier-point", lat_column.field.name, far.positions, message,
                    value=value, column=", ".join(headers) or None, severity="warning")]


def _far_points_not_in_error(findings: list[Finding], coordinates: set[str | None]
                             ) -> list[Finding]:
    """Far-point warnings only for rows whose coordinates have no error (a longitude below
    the schema's minimum is already reported; that the point is far says nothing new)."""
    wrong = [f.positions for f in findings
             if f.severity == "error" and f.field in coordinates]
    if not wrong:
        return findings
    in_error = np.concatenate(wrong)
    kept = []
    for f in findings:
        if f.rule == "outlier-point":
            f = dataclasses.replace(f, positions=np.setdiff1d(f.positions, in_error))
            if not len(f.positions):
                continue
        kept.append(f)
    return kept


def _wkt_geometry(column: _Column, crs: int) -> tuple[pd.Series, list[Finding]]:
    wkt, invalid, reason = norm.parse_wkt(column.text, default_srid=crs)
    bad = invalid.to_numpy(dtype=bool)
    repaired = ~bad & reason.notna().to_numpy(dtype=bool)
    column.invalid = column.invalid | bad
    findings = []
    if bad.any():
        findings.append(
            Finding("geometry", column.field.name, np.flatnonzero(bad),
                    lambda p: f"geometry rejected: {reason.iloc[p]}")
        )
    if repaired.any():
        findings.append(
            Finding("geometry-repaired", column.field.name, np.flatnonzero(repaired),
                    lambda p: f"invalid geometry {reason.iloc[p]} with make_valid",
                    severity="warning")
        )
    return wkt, findings


# --- invalid optional cells ---------------------------------------------------------------------

# Rules about a cell's own content, which emptying the cell answers (not "unique" or key rules,
# which are about other rows too, nor geometry, which is the row's location).
_CELL_RULE_PREFIXES = ("type:", "format:", "minimum", "maximum", "minLength", "maxLength",
                       "pattern", "enum")


def _apply_optional_policy(
    findings: list[Finding], frame: pd.DataFrame, definition: DatasetDefinition, policy: str
) -> tuple[list[Finding], list[Finding]]:
    """Findings after ``policy`` for invalid optional cells, and those of them that refuse
    the file.

    ``null``: such cells are emptied in ``frame`` and their errors become warnings, so the
    row is kept (9 of 17 toilets were lost over 終日 in an optional 開始時間). ``refuse``:
    they refuse the file even with --skip-invalid. ``drop-row``: unchanged errors.
    """
    if policy not in INVALID_OPTIONAL_POLICIES:
        raise ValueError(f"on_invalid_optional {policy!r} is not one of "
                         f"{', '.join(INVALID_OPTIONAL_POLICIES)}")
    schema = definition.schema
    g = definition.geometry
    protected = {*schema.primary_key, g.latitude, g.longitude, g.field}
    optional = {f.name for f in schema.fields if not f.required and f.name not in protected}

    def optional_cell(finding: Finding) -> bool:
        return (finding.severity == "error" and finding.field in optional
                and finding.rule.startswith(_CELL_RULE_PREFIXES))

    if policy == "drop-row":
        return findings, []
    if policy == "refuse":
        return findings, [f for f in findings if optional_cell(f)]
    out = []
    for finding in findings:
        if not optional_cell(finding):
            out.append(finding)
            continue
        assert finding.field is not None
        column = frame[finding.field].copy()
        column.iloc[finding.positions] = pd.NA
        frame[finding.field] = column
        out.append(dataclasses.replace(
            finding, severity="warning",
            message=lambda p, m=finding.message: f"{m(p)}; the cell is left empty "
            "(on_invalid_optional = null)"))
    return out, []


def _refused_by_policy(report: Report, refusing: list[Finding]) -> None:
    """An error about the file as a whole: with ``on_invalid_optional = refuse`` an invalid
    optional cell refuses the file, and an error without a row is one that dropping rows
    (--skip-invalid) cannot answer, which is how the publish pipeline's refusal rule sees it.
    The cells themselves stay listed as row errors."""
    cells = sum(len(f.positions) for f in refusing)
    fields = ", ".join(dict.fromkeys(str(f.field) for f in refusing))
    report.error(row=None, column=None, field=None, value=None, rule="on-invalid-optional",
                 message=f"{cells} invalid cell(s) in optional field(s) {fields}, and "
                 "on_invalid_optional = refuse: the file is refused (use 'null' to empty "
                 "such cells, or 'drop-row' to drop their rows with --skip-invalid)")


# --- report --------------------------------------------------------------------------------------


def _report_findings(
    report: Report, findings: list[Finding], located: Located, max_errors: int
) -> None:
    """Errors then warnings, each in source order and capped; a summary line says how many
    were left out so a million swapped rows cost one message, not a million."""
    for severity in ("error", "warning"):
        chosen = [f for f in findings if f.severity == severity]
        total = sum(len(f.positions) for f in chosen)
        room = max_errors - len(report.errors) if severity == "error" else max_errors
        issues = to_issues(chosen, located, limit=max(room, 0))
        report.extend(issues)
        if total > len(issues):
            if severity == "error":
                report.truncated = True
            else:
                report.add(_summary(report.file, chosen, total, len(issues)))


def _summary(file: str, findings: list[Finding], total: int, shown: int) -> Issue:
    rules = sorted({f.rule for f in findings})
    return Issue(
        file=file, row=None, column=None, field=None, value=None, rule=rules[0],
        message=f"{total} warnings ({', '.join(rules)}); only the first {shown} are listed",
        severity="warning",
    )

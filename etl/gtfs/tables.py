"""One GTFS file as a table: text cells under the spec's column names, typed values, the
line of every record, and the problems found, each pointing at file, line, column and value.

Files are read with :mod:`etl.read` (encoding detection and BOM, CRLF, quoted multi-line
cells, missing final newline, exact source lines) from bytes held in memory. GTFS fixes
what a municipal CSV leaves open: the header is line 1 and the delimiter is a comma.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from etl import normalise as norm
from etl.gtfs.spec import ALLOWED, HEADER_ALIASES, FileSpec
from etl.gtfs.times import ParsedTimes, parse_times
from etl.read import RawTable
from etl.report import Issue, Report, Severity
from etl.validate import Finding, Located, to_issues

# Similarity above which an unknown header is taken for a misspelt spec column.
MISSPELLING_CUTOFF = 0.85
# Per-row warnings listed per rule before they are summarised in one line.
WARNINGS_LISTED = 50

KIND_HINTS = {
    "int": "is not a whole number",
    "float": "is not a number",
    "date": "is not a date (GTFS: YYYYMMDD)",
    "time": "is not a GTFS time (H:MM:SS; hours may pass 24)",
}


def read_csv_bytes(name: str, data: bytes) -> RawTable:
    """A GTFS file's bytes as a :class:`RawTable`: header on line 1, comma-delimited,
    encoding detected (the spec says UTF-8; Japanese feeds are sometimes CP932)."""
    # etl.read.read_table reads from a path; feed members stay in memory, so use the
    # byte-level reader it is built on.
    from etl.read import _read_csv

    return _read_csv(name, data, hashlib.sha256(data).hexdigest(), None, ",", 1)


@dataclass
class FeedTable:
    """A GTFS file read and typed. ``text`` holds stripped cells ("" when empty) under spec
    column names; ``values`` the typed columns; ``headers`` the header as written."""

    name: str
    spec: FileSpec
    lines: np.ndarray
    text: dict[str, pd.Series] = field(default_factory=dict)
    original: dict[str, pd.Series] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    values: dict[str, pd.Series] = field(default_factory=dict)
    invalid: dict[str, np.ndarray] = field(default_factory=dict)
    times: dict[str, ParsedTimes] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    file_issues: list[Issue] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.lines)

    def has(self, column: str) -> bool:
        return column in self.text

    def cells(self, column: str) -> pd.Series:
        """Stripped text of a column; "" everywhere when the file lacks it."""
        if column in self.text:
            return self.text[column]
        return pd.Series(np.full(len(self), "", dtype=object), dtype=object)

    def value(self, column: str) -> pd.Series:
        """Typed values of a column (None/NA where empty, invalid or absent)."""
        if column in self.values:
            return self.values[column]
        kind = self.spec.columns.get(column, "text")
        dtype = {"int": "Int64", "float": "Float64"}.get(kind, object)
        return pd.Series([None] * len(self), dtype=dtype)

    @property
    def located(self) -> Located:
        return Located(file=self.name, source_rows=self.lines, columns=dict(self.headers),
                       source_values=dict(self.original))

    # -- problems --------------------------------------------------------------------------

    def file_issue(self, rule: str, message: str, *, severity: Severity = "warning",
                   column: str | None = None, field_name: str | None = None,
                   value: str | None = None, row: int | None = None) -> None:
        self.file_issues.append(Issue(file=self.name, row=row, column=column,
                                      field=field_name, value=value, rule=rule,
                                      message=message, severity=severity))

    def rows(self, rule: str, column: str | None, mask: np.ndarray | Iterable[int],
             message: Callable[[int], str], *, severity: Severity = "error",
             value: Callable[[int], str | None] | None = None) -> None:
        """Record a row-level problem for the rows in ``mask`` (bool mask or positions)."""
        positions = np.asarray(mask)
        if positions.dtype == bool:
            positions = np.flatnonzero(positions)
        if len(positions):
            self.findings.append(Finding(rule=rule, field=column, positions=positions,
                                         message=message, value=value,
                                         severity=severity))

    def count_quirk(self, rule: str, column: str, mask: np.ndarray, what: str) -> None:
        """One warning for a quirk that affects many rows: count, first line, example."""
        positions = np.flatnonzero(mask)
        if not len(positions):
            return
        first = int(positions[0])
        example = self.original.get(column, self.cells(column)).iloc[first]
        self.file_issue(
            rule, f"{len(positions)} value(s) {what} (first on line {self.lines[first]}: "
            f"'{example}')", column=self.headers.get(column, column), field_name=column,
            value=str(example), row=int(self.lines[first]))

    def report_to(self, report: Report) -> None:
        """File-level issues, then row issues in line order; errors capped by the report,
        per-row warnings listed up to WARNINGS_LISTED per rule, then summarised."""
        for issue in self.file_issues:
            report.add(issue)
        located = self.located
        errors = [f for f in self.findings if f.severity == "error"]
        room = report.max_errors - len(report.errors)
        issues = to_issues(errors, located, limit=max(room, 0))
        report.extend(issues)
        if sum(len(f.positions) for f in errors) > len(issues):
            report.truncated = True
        for finding in (f for f in self.findings if f.severity == "warning"):
            report.extend(to_issues([finding], located, limit=WARNINGS_LISTED))
            more = len(finding.positions) - WARNINGS_LISTED
            if more > 0:
                report.add(Issue(file=self.name, row=None, column=located.columns.get(
                    finding.field or ""), field=finding.field, value=None, rule=finding.rule,
                    message=f"... and {more} more row(s) like the above", severity="warning"))


def load_table(name: str, raw: RawTable, spec: FileSpec) -> FeedTable:
    """Map headers to spec columns (fixing misspellings with a warning), strip cells and
    type every known column."""
    table = FeedTable(name=name, spec=spec, lines=np.asarray(raw.source_rows, dtype=np.int64))
    if raw.encoding not in ("utf-8", "utf-8-sig", "ascii"):
        table.file_issue("encoding", f"the file is {raw.encoding}, not UTF-8 as GTFS requires; "
                         "it was decoded as such")
    mapping = _map_headers(table, raw.headers, spec)
    for header, column in mapping.items():
        original = raw.frame[header]
        table.headers[column] = header
        table.original[column] = original
        table.text[column] = _strip(original)
    for column in spec.columns:
        if column in table.text:
            _type_column(table, column, spec.columns[column])
    return table


def _map_headers(table: FeedTable, headers: list[str], spec: FileSpec) -> dict[str, str]:
    known = list(spec.columns)
    mapping: dict[str, str] = {}
    taken = {h for h in headers if h in spec.columns}
    unknown: list[str] = []
    for header in headers:
        if header in spec.columns:
            mapping[header] = header
            continue
        key = header.strip().lower()
        target = key if key in spec.columns else HEADER_ALIASES.get(key)
        if target is None and not key.startswith(("jp_", "x_")):
            close = difflib.get_close_matches(key, known, n=1, cutoff=MISSPELLING_CUTOFF)
            target = close[0] if close else None
        if target is None or target in taken:
            unknown.append(header)
            continue
        taken.add(target)
        mapping[header] = target
        table.file_issue("header-misspelt", f"header '{header}' read as '{target}'",
                         column=header, field_name=target, value=header, row=1)
    for header in unknown:
        table.file_issue("unknown-column", f"column '{header}' is not part of GTFS/GTFS-JP "
                         f"{table.name} and is not imported", column=header, value=header, row=1)
    return mapping


_PADDED = re.compile(r"\x00\s|\s\x00")


def _strip(s: pd.Series) -> pd.Series:
    """Cells without surrounding whitespace. One C-level scan of the joined column finds
    out whether any cell needs stripping (almost never in a GTFS file)."""
    values = norm.text_array(s)
    if not len(values) or not _PADDED.search("\x00" + "\x00".join(values) + "\x00"):
        return pd.Series(values, index=s.index, dtype=object)
    return pd.Series([v.strip() for v in values], index=s.index, dtype=object)


def _is_ascii(values: pd.Series) -> bool:
    return "".join(norm.text_array(values)).isascii()


def _type_column(table: FeedTable, column: str, kind: str) -> None:
    text = table.text[column]
    present = (text != "").to_numpy(dtype=bool)
    if kind in ("id", "text"):
        cells = text.to_numpy(dtype=object, copy=True)
        cells[~present] = None
        table.values[column] = pd.Series(cells, dtype=object)
        return
    if kind == "time":
        parsed = parse_times(text)
        table.times[column] = parsed
        table.values[column] = parsed.seconds
        invalid = parsed.invalid
    elif kind == "date":
        values, bad = norm.parse_date(text)
        table.values[column] = values.astype(object)
        invalid = bad.to_numpy(dtype=bool)
    else:
        ascii_text = text if _is_ascii(text) else norm.nfkc(text)
        # Parse each distinct value once (sequences, flags and codes repeat a lot).
        codes, uniques = pd.factorize(ascii_text.to_numpy(dtype=object))
        parsed = pd.to_numeric(pd.Series(uniques, dtype=object).replace("", None),
                               errors="coerce")
        raw = np.asarray(parsed, dtype="float64")[codes] if len(codes) else np.zeros(0)
        invalid = present & ~np.isfinite(raw)
        if kind == "int":
            invalid |= present & ~np.isnan(raw) & (np.round(raw) != raw)
        numbers = pd.Series(np.where(invalid, np.nan, raw), dtype="Float64")
        table.values[column] = numbers.round().astype("Int64") if kind == "int" else numbers
    severity: Severity = "error" if column in table.spec.critical else "warning"
    suffix = "" if severity == "error" else "; the value was dropped"
    table.invalid[column] = invalid
    original = table.original[column]
    if invalid.any():
        hint = KIND_HINTS[kind]
        table.rows(f"type:{kind}", column, invalid,
                   lambda p: f"'{original.iloc[p]}' {hint}{suffix}", severity=severity)
    allowed = ALLOWED.get(column)
    if allowed is not None and kind == "int":
        values = table.values[column]
        outside = (values.notna() & ~values.isin(list(allowed))).to_numpy(dtype=bool)
        if outside.any():
            table.values[column] = values.where(~outside, pd.NA)
            table.invalid[column] = invalid | outside
            table.rows("enum", column, outside,
                       lambda p: f"'{original.iloc[p]}' is not one of "
                       f"{sorted(allowed)}{suffix}", severity=severity)

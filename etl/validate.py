"""Check a normalised, typed table against its Table Schema constraints, column by column.

Each check is one vectorised pandas expression over a whole column and yields a
:class:`Finding`: the rule, the field and the positions of the rows that broke it. Findings
become :class:`~etl.report.Issue` objects only for the first ``max_errors`` rows in source
order, so a file where every row is wrong costs one mask per column, not a million objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from etl.normalise import arrow_strings, distinct_values
from etl.report import Issue, Severity
from hub.catalog import DefinitionError, SchemaField, TableSchema

NUMERIC_TYPES = ("integer", "number", "year")
ENUM_SHOWN = 10


@dataclass(frozen=True)
class Finding:
    """Rows (positions into the frame) that broke one rule in one field.

    ``message`` and ``value`` are called only for rows that end up in the report.
    ``value`` defaults to the source cell text of ``field``; ``column`` defaults to the
    source header of ``field``.
    """

    rule: str
    field: str | None
    positions: np.ndarray
    message: Callable[[int], str]
    value: Callable[[int], str | None] | None = None
    column: str | None = None
    severity: Severity = "error"


@dataclass(frozen=True)
class Located:
    """How to point at a row and cell in the source file."""

    file: str
    source_rows: np.ndarray | None  # source line per frame position; None: record numbers
    columns: dict[str, str]  # field -> source header
    source_values: dict[str, pd.Series]  # field -> original cell text, aligned with the frame

    def row(self, position: int) -> int:
        """The source line of a frame position (the 1-based record number if unknown)."""
        if self.source_rows is None:
            return position + 1
        return int(self.source_rows[position])

    def text(self, field: str | None, position: int) -> str | None:
        if field is None or field not in self.source_values:
            return None
        value = self.source_values[field].iloc[position]
        return None if value is None or value is pd.NA else str(value)


def validate(
    prepared_frame: pd.DataFrame,
    schema: TableSchema,
    *,
    file: str = "",
    source_rows: np.ndarray | None = None,
    columns: dict[str, str] | None = None,
    source_values: dict[str, pd.Series] | None = None,
    skip: dict[str, np.ndarray] | None = None,
    max_errors: int = 1000,
) -> list[Issue]:
    """Constraint errors of ``prepared_frame`` (typed as :func:`etl.prepare.prepare` makes it).

    Rules: ``required``, ``unique``, ``primary-key`` (missing or duplicate key), ``minimum``,
    ``maximum``, ``minLength``, ``maxLength``, ``pattern`` (full match) and ``enum``.
    ``columns`` maps fields to source headers and ``source_values`` holds the original cell
    text per field, so issues quote what the publisher wrote; ``skip`` masks cells already
    reported (a value that failed to parse is not also "missing"). At most ``max_errors``
    issues are returned, the earliest rows first.
    """
    located = Located(
        file=file,
        source_rows=source_rows,
        columns=columns or {},
        source_values=source_values or {},
    )
    findings = check_constraints(prepared_frame, schema, skip=skip, located=located)
    return to_issues(findings, located, limit=max_errors)


def check_constraints(
    frame: pd.DataFrame,
    schema: TableSchema,
    *,
    skip: dict[str, np.ndarray] | None = None,
    located: Located | None = None,
    primary_key: bool = True,
) -> list[Finding]:
    """Every constraint of every field present in ``frame`` as findings (uncapped masks).

    ``primary_key=False`` leaves out the key check, for a frame of some fields only (a
    caller checking one column as soon as it is typed checks the key once at the end).
    """
    skip = skip or {}
    rows = located.row if located else Located("", None, {}, {}).row
    found: list[Finding] = []
    for field in schema.fields:
        if field.name not in frame.columns:
            continue
        values = frame[field.name]
        ignore = skip.get(field.name)
        ignore = np.zeros(len(frame), dtype=bool) if ignore is None else np.asarray(ignore, bool)
        missing = _missing(values)
        present = ~missing & ~ignore
        if field.required and field.name not in schema.primary_key:
            found += _finding("required", field, missing & ~ignore, lambda p: "a value is required")
        if field.unique and tuple(schema.primary_key) != (field.name,):
            found += _duplicates("unique", field.name, values, present, rows, "duplicate value")
        found += _range_checks(field, values, present)
        found += _length_checks(field, values, present)
        found += _pattern_check(field, values, present)
        found += _enum_check(field, values, present)
    if primary_key:
        found += _primary_key(frame, schema, skip, rows, located)
    return found


def key_findings(
    frame: pd.DataFrame,
    schema: TableSchema,
    *,
    skip: dict[str, np.ndarray] | None = None,
    located: Located | None = None,
) -> list[Finding]:
    """The primary-key check of :func:`check_constraints` alone (empty or repeated keys)."""
    rows = located.row if located else Located("", None, {}, {}).row
    return _primary_key(frame, schema, skip or {}, rows, located)


def to_issues(findings: Sequence[Finding], located: Located, *, limit: int) -> list[Issue]:
    """The first ``limit`` findings as Issues, in the order staff read the file: by row, then
    by column (the order of ``located.columns``), then by check."""
    if not findings or limit <= 0:
        return []
    column_rank = {name: i for i, name in enumerate(located.columns)}
    positions = np.concatenate([f.positions for f in findings])
    owners = np.concatenate(
        [np.full(len(f.positions), i, dtype=np.int64) for i, f in enumerate(findings)]
    )
    ranks = np.array(
        [column_rank.get(f.field or "", len(column_rank)) for f in findings], dtype=np.int64
    )[owners]
    order = np.lexsort((owners, ranks, positions))[:limit]
    issues = []
    for k in order:
        finding, position = findings[int(owners[k])], int(positions[k])
        value = finding.value(position) if finding.value else located.text(finding.field, position)
        column = finding.column or located.columns.get(finding.field or "")
        issues.append(
            Issue(
                file=located.file,
                row=located.row(position),
                column=column,
                field=finding.field,
                value=value,
                rule=finding.rule,
                message=finding.message(position),
                severity=finding.severity,
            )
        )
    return issues


def rows_with(findings: Sequence[Finding], n: int) -> np.ndarray:
    """Boolean mask of the rows named by any error finding (for skipping invalid rows)."""
    mask = np.zeros(n, dtype=bool)
    for finding in findings:
        if finding.severity == "error":
            mask[finding.positions] = True
    return mask


# --- the checks ----------------------------------------------------------------------------------


def _missing(values: pd.Series) -> np.ndarray:
    if values.dtype != object:
        return values.isna().to_numpy(dtype=bool)
    cells = values.to_numpy(dtype=object)
    return pd.isna(cells) | (cells == "")


def _finding(
    rule: str, field: SchemaField, mask: np.ndarray, message: Callable[[int], str]
) -> list[Finding]:
    positions = np.flatnonzero(mask)
    if not len(positions):
        return []
    return [Finding(rule=rule, field=field.name, positions=positions, message=message)]


def _duplicates(
    rule: str,
    field: str,
    keys: pd.Series | pd.DataFrame,
    present: np.ndarray,
    rows: Callable[[int], int | None],
    label: str,
    **extra: Any,
) -> list[Finding]:
    """Second and later occurrences of a key, each pointing at the row of the first."""
    duplicated = keys.duplicated(keep="first").to_numpy(dtype=bool) & present
    if not duplicated.any():
        return []
    if isinstance(keys, pd.DataFrame):
        codes = keys.groupby(list(keys.columns), dropna=False, sort=False).ngroup().to_numpy()
    else:
        codes, _ = pd.factorize(keys.astype(object), use_na_sentinel=False)
    first = pd.Series(np.arange(len(codes))).groupby(codes).transform("min").to_numpy()

    def message(p: int) -> str:
        return f"{label}: the same value is already in row {rows(int(first[p]))}"

    positions = np.flatnonzero(duplicated)
    return [Finding(rule=rule, field=field, positions=positions, message=message, **extra)]


def _primary_key(
    frame: pd.DataFrame,
    schema: TableSchema,
    skip: dict[str, np.ndarray],
    rows: Callable[[int], int | None],
    located: Located | None,
) -> list[Finding]:
    """An empty key part, or a key that repeats an earlier row's (the loader's unique index
    would otherwise fail half-way through a publish)."""
    key = [k for k in schema.primary_key if k in frame.columns]
    if not key:
        return []
    found: list[Finding] = []
    complete = np.ones(len(frame), dtype=bool)
    for name in key:
        missing = _missing(frame[name])
        ignore = skip.get(name)
        checked = np.ones(len(frame), dtype=bool) if ignore is None else ~np.asarray(ignore, bool)
        complete &= ~missing & checked
        positions = np.flatnonzero(missing & checked)
        if len(positions):
            found.append(
                Finding(
                    rule="primary-key",
                    field=name,
                    positions=positions,
                    message=lambda p, name=name: f"primary key field '{name}' is empty",
                )
            )
    label = "primary key not unique"
    if len(key) == 1:
        return found + _duplicates("primary-key", key[0], frame[key[0]], complete, rows, label)

    def value(p: int) -> str | None:
        if located is None:
            return ", ".join(str(frame[k].iloc[p]) for k in key)
        return ", ".join(located.text(k, p) or "" for k in key)

    column = ", ".join(located.columns.get(k, k) for k in key) if located else ", ".join(key)
    return found + _duplicates(
        "primary-key", ",".join(key), frame[key], complete, rows, label, value=value, column=column
    )


def _comparable(field: SchemaField, values: pd.Series, bound: Any) -> tuple[pd.Series, Any]:
    """Values and a bound in a form where < and > mean what the field type means."""
    if field.type in NUMERIC_TYPES:
        return values.astype("Float64"), float(bound)
    if field.type == "datetime":
        return pd.to_datetime(values, utc=True, format="ISO8601"), pd.Timestamp(bound)
    return values.astype(object), str(bound)  # ISO dates and HH:MM:SS order as text


def _range_checks(field: SchemaField, values: pd.Series, present: np.ndarray) -> list[Finding]:
    found: list[Finding] = []
    if field.type in ("string", "boolean"):
        return found
    bounds = (("minimum", field.minimum, "less"), ("maximum", field.maximum, "more"))
    for rule, bound, word in bounds:
        if bound is None:
            continue
        subset = values[present]
        if subset.empty:
            continue
        comparable, limit = _comparable(field, subset, bound)
        broken = comparable < limit if rule == "minimum" else comparable > limit
        mask = np.zeros(len(values), dtype=bool)
        mask[np.flatnonzero(present)] = np.asarray(broken, dtype=bool)
        found += _finding(
            rule, field, mask, lambda p, w=word, r=rule, b=bound: f"value is {w} than the {r} {b}"
        )
    return found


def _length_checks(field: SchemaField, values: pd.Series, present: np.ndarray) -> list[Finding]:
    if field.type != "string" or (field.min_length is None and field.max_length is None):
        return []
    lengths = values.astype(object).where(present, "").str.len().to_numpy()
    found: list[Finding] = []
    if field.min_length is not None:
        found += _finding(
            "minLength",
            field,
            present & (lengths < field.min_length),
            lambda p: f"text is shorter than {field.min_length} characters ({lengths[p]})",
        )
    if field.max_length is not None:
        found += _finding(
            "maxLength",
            field,
            present & (lengths > field.max_length),
            lambda p: f"text is longer than {field.max_length} characters ({lengths[p]})",
        )
    return found


def _pattern_check(field: SchemaField, values: pd.Series, present: np.ndarray) -> list[Finding]:
    if field.pattern is None or field.type != "string":
        return []
    try:
        pattern = re.compile(field.pattern)
    except re.error as exc:
        message = f"field {field.name!r}: invalid pattern {field.pattern!r}: {exc}"
        raise DefinitionError(message) from exc
    matches = _full_matches(pattern, values)
    return _finding(
        "pattern",
        field,
        present & ~matches,
        lambda p: f"value does not match the pattern {field.pattern}",
    )


def _full_matches(pattern: re.Pattern[str], values: pd.Series) -> np.ndarray:
    """Whether each cell matches ``pattern`` as a whole (missing cells: False), with
    Python's ``re``. For Arrow strings (as prepared text is) each distinct value is matched
    once, found by Arrow: no Python str per cell, and codes, wards or postal codes repeat."""
    cells = arrow_strings(values)
    if cells is None:
        present = values.notna().to_numpy(dtype=bool)
        text = values.astype(object).where(present, "")
        return present & text.str.fullmatch(pattern).to_numpy(dtype=bool, na_value=False)
    codes, distinct = distinct_values(cells)
    matched = np.array([pattern.fullmatch(v) is not None for v in distinct.to_pylist()],
                       dtype=bool)
    return np.where(codes >= 0, matched[codes], False) if len(matched) else codes >= 0


def _enum_values(field: SchemaField) -> list[Any]:
    assert field.enum is not None
    if field.type in ("integer", "year"):
        return [int(v) for v in field.enum]
    if field.type == "number":
        return [float(v) for v in field.enum]
    if field.type == "boolean":
        return [bool(v) for v in field.enum]
    return [str(v) for v in field.enum]


def _enum_check(field: SchemaField, values: pd.Series, present: np.ndarray) -> list[Finding]:
    if field.enum is None:
        return []
    allowed = _enum_values(field)
    inside = values.isin(allowed).to_numpy(dtype=bool, na_value=False)
    shown = ", ".join(str(v) for v in allowed[:ENUM_SHOWN])
    if len(allowed) > ENUM_SHOWN:
        shown += f", ... ({len(allowed)} values)"
    return _finding(
        "enum", field, present & ~inside, lambda p: f"value is not one of the allowed: {shown}"
    )

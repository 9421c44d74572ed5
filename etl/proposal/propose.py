"""Read a file once and rank the candidate schemas for it (see :mod:`etl.proposal`).

A schema's ``score`` is the share of the file's columns it explains, each mapped column
weighted by its rule's confidence and by how particular its field is to the schema (a field
that k candidate schemas share counts 1/k): 名称, 住所 and 緯度 fit every facility list and
decide little; 多機能トイレ数 decides. Ties go to the schema that leaves fewer required fields
unmapped, then to the one the file covers more of.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from etl.normalise import known_header
from etl.proposal.candidates import candidate_schemas
from etl.proposal.draft import DraftInput, draft_definition, suggested_id
from etl.proposal.geometry import GeometryGuess, detect_geometry
from etl.proposal.mapping import ColumnMatch, loose_key, map_columns
from etl.read import RawTable, read_table
from hub.catalog import TableSchema

# Rows whose values are looked at (geometry, empty columns): enough to judge, cheap on 1M rows.
SAMPLE_ROWS = 2000
# Single-cell rows are proposed as section headings only when they are this rare (a share of
# the records, at least this many allowed): a list with many sparse records is not sectioned.
SECTION_SHARE = 0.1
SECTION_MIN_ALLOWED = 3


class ProposalError(ValueError):
    """A proposal cannot be made as asked (an unknown schema or field named by a person)."""


@dataclass(frozen=True)
class Candidate:
    """One schema as a fit for the file."""

    schema: str
    title: str
    title_ja: str
    score: float
    coverage: float
    matches: tuple[ColumnMatch, ...]
    missing_required: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"schema": self.schema, "title": self.title, "title_ja": self.title_ja,
                "score": round(self.score, 3), "coverage": round(self.coverage, 3),
                "matches": [m.to_dict() for m in self.matches],
                "missing_required": list(self.missing_required)}


@dataclass(frozen=True)
class Proposal:
    """What the hub proposes for a file: ``chosen`` (the best candidate, or the schema a
    person named), its geometry, the columns no field takes, and the drafted dataset.toml."""

    file: str
    encoding: str
    sheet: str | None
    rows: int
    headers: tuple[str, ...]
    candidates: tuple[Candidate, ...]
    chosen: Candidate
    geometry: GeometryGuess
    unmapped: tuple[str, ...]
    empty_columns: tuple[str, ...]
    section_rows: tuple[tuple[int, str], ...]
    dataset_id: str
    draft: str
    fields: tuple[dict[str, object], ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file, "encoding": self.encoding, "sheet": self.sheet,
            "rows": self.rows, "headers": list(self.headers), "dataset_id": self.dataset_id,
            "schema": self.chosen.schema, "mapping": [m.to_dict() for m in self.chosen.matches],
            "missing_required": list(self.chosen.missing_required),
            "geometry": self.geometry.to_dict(), "unmapped": list(self.unmapped),
            "empty_columns": list(self.empty_columns),
            "section_rows": [{"row": row, "text": text} for row, text in self.section_rows],
            "candidates": [c.to_dict() for c in self.candidates],
            "fields": list(self.fields), "draft": self.draft,
        }


def propose(
    path: Path,
    schemas_dir: Path,
    *,
    dataset_id: str | None = None,
    sheet: str | None = None,
    schema: str | None = None,
    columns: Mapping[str, str | None] | None = None,
) -> Proposal:
    """Propose a schema, mapping, geometry and dataset.toml for the CSV/XLSX at ``path``.

    ``schema`` (a schema file name) and ``columns`` (header -> field, or None to leave a
    header unmapped) are a person's corrections: they replace what the rules chose.
    Raises :class:`etl.read.ReadError` when the file cannot be read as a table."""
    schemas = candidate_schemas(schemas_dir)
    if schema is not None and schema not in schemas:
        raise ProposalError(f"schema {schema!r} is not one of {', '.join(schemas)}")
    raw = read_table(path, sheet=sheet, known_header=_any_known(schemas.values()),
                     section_rows=True)
    sample = raw.frame.head(SAMPLE_ROWS).astype(object)
    sample.columns = raw.headers
    shared = Counter(name for s in schemas.values() for name in s.field_names)
    ranked = sorted((_candidate(name, s, raw.headers, sample, shared)
                     for name, s in schemas.items()),
                    key=lambda c: (-c.score, len(c.missing_required), -c.coverage, c.schema))
    chosen = next(c for c in ranked if c.schema == schema) if schema else ranked[0]
    chosen_schema = schemas[chosen.schema]
    if columns:
        chosen = _corrected(chosen, chosen_schema, raw.headers, columns)
    geometry, _found = detect_geometry(sample, chosen_schema, list(chosen.matches))
    mapped = {m.header for m in chosen.matches}
    empty = tuple(h for h in raw.headers if not _has_values(sample[h]))
    unmapped = tuple(h for h in raw.headers if h not in mapped)
    sections = tuple(raw.section_rows) if _is_sectioned(raw) else ()
    # Single-cell rows not taken as headings are records (publishing reads them so).
    rows = len(raw.frame) + (0 if sections else len(raw.section_rows))
    name = dataset_id or suggested_id(Path(raw.source_name).stem, chosen.schema)
    draft = draft_definition(DraftInput(
        dataset_id=name, file=raw.source_name, encoding=raw.encoding, sheet=sheet,
        rows=rows,
        schema_name=chosen.schema, schema=chosen_schema, headers=tuple(raw.headers),
        matches=chosen.matches, geometry=geometry, unmapped=unmapped,
        sectioned=bool(sections), primary_key_unique=_key_unique(raw, chosen, chosen_schema)))
    return Proposal(
        file=raw.source_name, encoding=raw.encoding, sheet=sheet, rows=rows,
        headers=tuple(raw.headers), candidates=tuple(ranked), chosen=chosen,
        geometry=geometry, unmapped=unmapped, empty_columns=empty, section_rows=sections,
        dataset_id=name, draft=draft, fields=_field_choices(chosen_schema))


def _any_known(schemas: Iterable[TableSchema]) -> Callable[[str], bool]:
    """Whether a cell names a field of any candidate schema, by publishing's spellings or
    loosely folded: the reader takes the row naming the most as the header."""
    schemas = list(schemas)
    exact = [known_header(s, {}) for s in schemas]
    loose = {loose_key(sp) for s in schemas
             for f in s.fields for sp in (f.name, f.title, f.title_ja, *f.synonyms) if sp}

    def known(cell: str) -> bool:
        return bool(cell.strip()) and (loose_key(cell) in loose or any(k(cell) for k in exact))

    return known


def _candidate(name: str, schema: TableSchema, headers: list[str], sample: pd.DataFrame,
               shared: Counter[str]) -> Candidate:
    matches = map_columns(headers, schema)
    _geometry, found = detect_geometry(sample, schema, matches)
    by_value = {m.header for m in found}
    matches = sorted([*(m for m in matches if m.header not in by_value), *found],
                     key=lambda m: headers.index(m.header))
    columns = max(len(headers), 1)
    score = sum(m.confidence / shared[m.field] for m in matches) / columns
    coverage = sum(m.confidence for m in matches) / columns
    return Candidate(schema=name, title=str(schema.raw.get("title", name)),
                     title_ja=str(schema.raw.get("title_ja", "")), score=score,
                     coverage=coverage, matches=tuple(matches),
                     missing_required=_missing_required(schema, matches))


def _missing_required(schema: TableSchema, matches: list[ColumnMatch] | tuple[ColumnMatch, ...]
                      ) -> tuple[str, ...]:
    mapped = {m.field for m in matches}
    return tuple(f.name for f in schema.fields if f.required and f.name not in mapped)


def _corrected(chosen: Candidate, schema: TableSchema, headers: list[str],
               columns: Mapping[str, str | None]) -> Candidate:
    """``chosen`` with a person's column choices in place of the rules' for those headers
    and fields."""
    for header, target in columns.items():
        if header not in headers:
            raise ProposalError(f"column {header!r} is not a header of the file")
        if target is not None and target not in schema.field_names:
            raise ProposalError(f"field {target!r} (for column {header!r}) is not a field of "
                                f"{chosen.schema}")
    targets = {t for t in columns.values() if t is not None}
    kept = [m for m in chosen.matches if m.header not in columns and m.field not in targets]
    kept += [ColumnMatch(h, t, "chosen") for h, t in columns.items() if t is not None]
    kept.sort(key=lambda m: headers.index(m.header))
    return Candidate(schema=chosen.schema, title=chosen.title, title_ja=chosen.title_ja,
                     score=chosen.score, coverage=chosen.coverage, matches=tuple(kept),
                     missing_required=_missing_required(schema, kept))


def _has_values(s: pd.Series) -> bool:
    return bool((s.astype(str).str.strip() != "").any())


def _is_sectioned(raw: RawTable) -> bool:
    found = len(raw.section_rows)
    return 0 < found <= max(SECTION_MIN_ALLOWED, SECTION_SHARE * len(raw.frame))


def _key_unique(raw: RawTable, chosen: Candidate, schema: TableSchema) -> bool:
    """Whether the schema's key columns are mapped and their values unique and filled."""
    by_field = {m.field: m.header for m in chosen.matches}
    if not schema.primary_key or any(k not in by_field for k in schema.primary_key):
        return False
    keys = raw.frame[[by_field[k] for k in schema.primary_key]].astype(str)
    keys = keys.apply(lambda col: col.str.strip())
    return bool((keys != "").all(axis=None)) and not keys.duplicated().any()


def _field_choices(schema: TableSchema) -> tuple[dict[str, object], ...]:
    """The schema's fields as a person chooses among them (the console's selects)."""
    return tuple({"name": f.name, "title": f.title or f.name, "title_ja": f.title_ja or "",
                  "type": f.type, "required": f.required} for f in schema.fields)

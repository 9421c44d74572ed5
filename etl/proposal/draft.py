"""A drafted ``dataset.toml`` for a proposal: everything the file tells, and the texts only a
person can write (titles, description, organisation, licence) marked 要確認 (to confirm).

The draft states the mapping publishing would not find on its own (``[columns]`` for every
column the loose rules, the values or a person mapped), so it publishes what was proposed;
columns no field takes are listed in ``[source] unmapped_columns`` so the report does not
warn about them. TOML is written with tomlkit, which keeps the comments that tell staff what
to check.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import tomlkit

from etl.proposal.geometry import GeometryGuess
from etl.proposal.mapping import ColumnMatch
from hub.catalog import DATASET_ID, TableSchema
from hub.licences import NOT_ASSERTED

TO_CONFIRM = "要確認 (to confirm)"
SECTION_ROWS = "drop"


@dataclass(frozen=True)
class DraftInput:
    """What a draft is written from (a proposal's chosen schema and findings)."""

    dataset_id: str
    file: str
    encoding: str
    sheet: str | None
    rows: int
    schema_name: str
    schema: TableSchema
    headers: tuple[str, ...]
    matches: tuple[ColumnMatch, ...]
    geometry: GeometryGuess
    unmapped: tuple[str, ...]
    sectioned: bool
    primary_key_unique: bool


def suggested_id(stem: str, schema_name: str) -> str:
    """A dataset id from the file's name (its ASCII letters and digits), else from the
    schema's (``public-toilets-new``): Japanese file names have none to give."""
    text = re.sub(r"[^a-z0-9]+", "-", unicodedata.normalize("NFKC", stem).lower()).strip("-")
    candidate = text[:63].strip("-")
    if len(candidate) >= 3 and DATASET_ID.match(candidate):
        return candidate
    return f"{Path(schema_name).stem}-new"[:63]


def draft_definition(given: DraftInput) -> str:
    """The dataset.toml text for ``given``; its schema is named as every dataset.toml names
    one, by file name under the schemas folder."""
    doc = tomlkit.document()
    doc.add(tomlkit.comment(f"Drafted by `hub datasets new` from {given.file}. Check what is "
                            f"marked {TO_CONFIRM}: titles, description, organisation, licence."))
    doc.add(tomlkit.comment("Then: hub validate <id> <file>, and hub publish <id> <file>."))
    doc["id"] = given.dataset_id
    doc["schema"] = given.schema_name
    key = list(given.schema.primary_key)
    if given.primary_key_unique:
        doc["primary_key"] = key[0] if len(key) == 1 else key
    else:
        doc.add(tomlkit.comment(f"No column gives the key {key} with a unique value in every "
                                "row: versions are compared row by row, without a key."))
        doc["primary_key"] = tomlkit.array()
    doc["organisation"] = TO_CONFIRM
    doc["keywords"] = tomlkit.array()
    doc.add(tomlkit.nl())
    doc["licence"] = _table(id=NOT_ASSERTED,
                            note=f"{TO_CONFIRM}: the licence the publisher states, e.g. CC-BY-4.0")
    stem = Path(given.file).stem
    doc["title"] = _table(ja=stem, en=stem)
    doc["description"] = _table(ja=TO_CONFIRM, en=TO_CONFIRM)
    geometry = _geometry(given.geometry)
    if geometry is not None:
        doc["geometry"] = geometry
    columns = {m.header: m.field for m in given.matches if m.rule != "spelling"}
    if columns:
        table = tomlkit.table()
        table.add(tomlkit.comment("Columns publishing would not match on its own "
                                  "(header = field)."))
        for header, name in columns.items():
            table[header] = name
        doc["columns"] = table
    if given.sectioned:
        table = tomlkit.table()
        table.add(tomlkit.comment("Rows with one filled cell are headings, left out "
                                  "(or name a text field to fill with their text)."))
        table["section_rows"] = SECTION_ROWS
        doc["read"] = table
    doc["source"] = _source(given)
    return tomlkit.dumps(doc)


def _table(**values: object) -> tomlkit.items.Table:
    table = tomlkit.table()
    for key, value in values.items():
        table[key] = value
    return table


def _geometry(guess: GeometryGuess) -> tomlkit.items.Table | None:
    if guess.kind == "latlon":
        return _table(kind="latlon", latitude="latitude", longitude="longitude", crs=4326)
    if guess.kind == "combined":
        return _table(kind="combined", field="location", crs=4326)
    return None


def _source(given: DraftInput) -> tomlkit.items.Table:
    table = tomlkit.table()
    table["file"] = given.file
    if given.encoding != "xlsx":
        table["encoding"] = given.encoding
    if given.sheet:
        table["sheet"] = given.sheet
    table["records"] = given.rows
    table["unmapped_columns"] = tomlkit.array()
    table["unmapped_columns"].extend(given.unmapped)
    return table

"""What a dataset is: its definition (``dataset.toml``), its Table Schema, its versions.

A :class:`DatasetDefinition` is read from ``datasets/<id>/dataset.toml`` and names a
Frictionless Table Schema under ``schemas/``. Every published version of a dataset is its own
immutable table ``data.<table_base>__v<N>``; :func:`version_table` gives the SQLAlchemy
``Table`` for it, which query builders use so that every column name is checked against the
schema before it can reach SQL.

Version table layout (the contract between the loader and the query layer):

``_fid``       bigint primary key, 1..N in source order (stable keyset paging tie-breaker)
<fields>       one column per schema field, named as the field, typed by :data:`SQL_TYPES`
``geom``       geometry(Geometry, 4326), only when the dataset has a geometry
``_search``    text: the search fields folded (hub.textfold.fold_indexed), joined by spaces
               (trigram index, perhaps split by ``_fid`` range: hub.search_buckets)
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, Boolean, Column, Date, Float, Integer, MetaData, Table, Text
from sqlalchemy import Time as SqlTime
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.sql.expression import Alias, FromClause
from sqlalchemy.types import TypeEngine

# The licence and organisation-name rules are part of what a dataset is; they live in their
# own modules and are named here, the catalogue module every layer (and etl) may import.
from hub.ckan_tags import ckan_tags as ckan_tags
from hub.db.tables import DATA_SCHEMA
from hub.licences import ACCEPTED_IDS as ACCEPTED_IDS
from hub.licences import KNOWN_LICENCES as KNOWN_LICENCES
from hub.licences import Licence as Licence
from hub.licences import LicenceError
from hub.organisations import Organisation as Organisation
from hub.organisations import organisation_of as organisation_of
from hub.organisations import slug as slug
from hub.search_buckets import BOUNDS_KEY as SEARCH_BOUNDS_KEY
from hub.search_buckets import bucket_bounds as bucket_bounds
from hub.search_buckets import bucket_predicates as bucket_predicates
from hub.search_buckets import stored_bounds
from hub.textfold import fold_indexed

FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
DATASET_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
RESERVED_COLUMNS = frozenset({"_fid", "geom", "_search", "_rowhash", "distance_m"})

FieldType = Literal["string", "integer", "number", "boolean", "date", "datetime", "time", "year"]

SQL_TYPES: dict[str, type[TypeEngine[Any]] | TypeEngine[Any]] = {
    "string": Text,
    "integer": BigInteger,
    "number": Float(precision=53),
    "boolean": Boolean,
    "date": Date,
    "datetime": TIMESTAMP(timezone=True),
    "time": SqlTime,
    "year": Integer,
}


# ``format`` values of string fields that the ETL normalises and checks (etl.normalise):
# ``hh:mm`` opening/closing times (00:00-24:00), ``jp-local-government-code`` the
# 全国地方公共団体コード with its check digit. Declared here so a schema naming any other
# format fails when it is loaded, not silently at publish time.
STRING_FORMATS = frozenset({"hh:mm", "jp-local-government-code"})

# A dataset.toml without ``format`` is a table (CSV/TSV/XLSX); others: "gtfs", "gtfs-ride".
DEFAULT_SOURCE_FORMAT = "table"


# What happens to a row whose *optional* cell is invalid (dataset.toml
# ``on_invalid_optional``, ``--on-invalid-optional``): ``drop-row`` makes it an error of the
# row like any other (the file is refused, or the row dropped with --skip-invalid);
# ``null`` empties the cell with a warning and keeps the row; ``refuse`` refuses the file
# even with --skip-invalid. Required fields and the key always behave as ``drop-row``.
INVALID_OPTIONAL_POLICIES = ("drop-row", "null", "refuse")

# What a city file published over a version with community rows does with them (dataset.toml
# ``[community] on_city_publish``): ``keep`` carries each community row whose key the file
# does not have into the new version (a key the file has is the city's from then on);
# ``drop`` publishes the file as it is. Either way the publish report says which rows.
COMMUNITY_ON_CITY_PUBLISH = ("keep", "drop")


class DefinitionError(ValueError):
    """A dataset.toml or Table Schema is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class SchemaField:
    """One column of a Table Schema (Frictionless), plus our ``synonyms`` extension.

    ``synonyms`` are other header spellings that mean this field (``緯度``, ``lat`` ...);
    matching ignores case, width (NFKC) and surrounding spaces.
    """

    name: str
    type: FieldType
    title: str | None = None
    title_ja: str | None = None
    description: str | None = None
    synonyms: tuple[str, ...] = ()
    required: bool = False
    unique: bool = False
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    enum: tuple[Any, ...] | None = None
    true_values: tuple[str, ...] | None = None
    false_values: tuple[str, ...] | None = None
    format: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str) -> SchemaField:
        name = data.get("name")
        if not isinstance(name, str) or not FIELD_NAME.match(name) or name in RESERVED_COLUMNS:
            raise DefinitionError(
                f"{where}: field name {name!r} must match {FIELD_NAME.pattern} "
                f"and not be one of {sorted(RESERVED_COLUMNS)}"
            )
        ftype = data.get("type", "string")
        if ftype not in SQL_TYPES:
            raise DefinitionError(
                f"{where}: field {name!r} has unsupported type {ftype!r} "
                f"(supported: {', '.join(SQL_TYPES)})"
            )
        constraints = data.get("constraints", {})
        enum = constraints.get("enum")
        text_format = data.get("format")
        if text_format in (None, "default"):
            text_format = None
        elif ftype != "string" or text_format not in STRING_FORMATS:
            raise DefinitionError(
                f"{where}: field {name!r} has unsupported format {text_format!r} "
                f"(string fields support: {', '.join(sorted(STRING_FORMATS))})"
            )
        return cls(
            name=name,
            type=ftype,
            title=data.get("title"),
            title_ja=data.get("title_ja"),
            description=data.get("description"),
            synonyms=tuple(data.get("synonyms", ())),
            required=bool(constraints.get("required", False)),
            unique=bool(constraints.get("unique", False)),
            minimum=constraints.get("minimum"),
            maximum=constraints.get("maximum"),
            min_length=constraints.get("minLength"),
            max_length=constraints.get("maxLength"),
            pattern=constraints.get("pattern"),
            enum=tuple(enum) if enum is not None else None,
            true_values=tuple(data["trueValues"]) if "trueValues" in data else None,
            false_values=tuple(data["falseValues"]) if "falseValues" in data else None,
            format=text_format,
        )


@dataclass(frozen=True)
class TableSchema:
    """A Frictionless Table Schema: ordered fields, primary key, missing-value markers."""

    fields: tuple[SchemaField, ...]
    primary_key: tuple[str, ...] = ()
    missing_values: tuple[str, ...] = ("",)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def search_fields(self, where: str = "schema") -> list[str]:
        """The string fields whose text ``q`` searches (``_search``): the ``x-search`` list
        when the schema has one (in schema order), else every string field.

        The trigram index over ``_search`` is the slowest step of a large publish (53 s of
        the 1M-row benchmark with every field); ids, codes, phone numbers and URLs add many
        trigrams nobody searches for in free text, so a schema may name the fields worth it.
        """
        strings = [f.name for f in self.fields if f.type == "string"]
        chosen = self.raw.get("x-search")
        if chosen is None:
            return strings
        if not isinstance(chosen, list) or any(name not in strings for name in chosen):
            unknown = ([name for name in chosen if name not in strings]
                       if isinstance(chosen, list) else chosen)
            raise DefinitionError(f"{where}: x-search must list string fields of the schema "
                                  f"(not {unknown!r})")
        return [name for name in strings if name in chosen]

    def field(self, name: str) -> SchemaField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str = "schema") -> TableSchema:
        raw_fields = data.get("fields")
        if not isinstance(raw_fields, list) or not raw_fields:
            raise DefinitionError(f"{where}: 'fields' must be a non-empty list")
        fields = tuple(SchemaField.from_json(f, where) for f in raw_fields)
        names = [f.name for f in fields]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise DefinitionError(f"{where}: duplicate field names {sorted(duplicates)}")
        pk = data.get("primaryKey", [])
        pk = (pk,) if isinstance(pk, str) else tuple(pk)
        unknown = [k for k in pk if k not in names]
        if unknown:
            raise DefinitionError(f"{where}: primaryKey names unknown fields {unknown}")
        missing = tuple(data.get("missingValues", [""]))
        schema = cls(fields=fields, primary_key=pk, missing_values=missing, raw=data)
        schema.search_fields(where)  # a bad x-search is refused when the schema is loaded
        return schema

    @classmethod
    def load(cls, path: Path) -> TableSchema:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise DefinitionError(f"schema file not found: {path}") from exc
        except json.JSONDecodeError as exc:
            raise DefinitionError(f"{path}: invalid JSON: {exc}") from exc
        return cls.from_json(data, where=str(path))


@dataclass(frozen=True)
class GeometrySource:
    """Where a record's geometry comes from, in the *normalised* (field-name) columns.

    ``kind`` is ``latlon`` (two number fields), ``combined`` (one field holding
    ``"lat,lon"`` as Takamatsu publishes), ``wkt`` (one field of WKT/EWKT text) or ``none``.
    ``crs`` is the CRS of the source coordinates (EPSG code); they are stored as EPSG:4326.
    """

    kind: Literal["latlon", "combined", "wkt", "none"] = "none"
    latitude: str | None = None
    longitude: str | None = None
    field: str | None = None
    crs: int = 4326


@dataclass(frozen=True)
class DatasetDescription:
    """What describes a dataset to people and catalogues (bilingual titles and descriptions,
    publisher, licence, keywords): shared by its definition file and by what the catalogue
    holds of it (e.g. the CKAN push's view, etl.ckan.plan.HubDataset)."""

    id: str
    title_ja: str
    title_en: str
    description_ja: str
    description_en: str
    organisation: str
    licence: Licence
    keywords: tuple[str, ...]

    def search_columns(self) -> dict[str, str]:
        """Folded text (:func:`hub.textfold.fold_indexed`) per tier of catalogue search,
        in ranking order: a title match ranks above a keyword match above a description
        match (hub.query.catalog). The id counts as title, the publisher as description."""

        def fold(*texts: str) -> str:
            return " ".join(fold_indexed(t) for t in texts if t)

        return {
            "search_title": fold(self.id, self.title_ja, self.title_en),
            "search_keywords": fold(*self.keywords),
            "search_description": fold(self.description_ja, self.description_en,
                                       self.organisation),
        }


@dataclass(frozen=True)
class DatasetDefinition(DatasetDescription):
    """A dataset as described by ``datasets/<id>/dataset.toml``."""

    schema_path: Path
    schema: TableSchema
    geometry: GeometrySource
    column_map: dict[str, tuple[str, ...]]
    source: dict[str, Any]
    raw: dict[str, Any]
    directory: Path
    on_invalid_optional: str = "drop-row"
    read: ReadRules = field(default_factory=lambda: ReadRules())
    value_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    community_on_city_publish: str = "keep"

    @property
    def primary_key(self) -> tuple[str, ...]:
        return self.schema.primary_key

    @property
    def has_geometry(self) -> bool:
        return self.geometry.kind != "none"

    @property
    def table_base(self) -> str:
        """Identifier-safe stem of version table names (``a-b`` -> ``a_b``)."""
        return self.id.replace("-", "_")

    @classmethod
    def load(cls, toml_path: Path, schemas_dir: Path) -> DatasetDefinition:
        """Parse and check a dataset.toml; the schema path is relative to ``schemas_dir``."""
        where = str(toml_path)
        try:
            data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise DefinitionError(f"dataset definition not found: {toml_path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise DefinitionError(f"{where}: invalid TOML: {exc}") from exc

        def need(key: str) -> Any:
            if key not in data or data[key] in ("", None):
                raise DefinitionError(f"{where}: missing required key '{key}'")
            return data[key]

        dataset_id = need("id")
        if not DATASET_ID.match(dataset_id):
            raise DefinitionError(f"{where}: id {dataset_id!r} must match {DATASET_ID.pattern}")
        title = need("title")
        description = data.get("description", {})
        schema_path = schemas_dir / need("schema")
        schema = TableSchema.load(schema_path)
        if "primary_key" in data:
            pk = data["primary_key"]
            pk = (pk,) if isinstance(pk, str) else tuple(pk)
            unknown = [k for k in pk if k not in schema.field_names]
            if unknown:
                raise DefinitionError(f"{where}: primary_key names unknown fields {unknown}")
            schema = TableSchema(
                fields=schema.fields,
                primary_key=pk,
                missing_values=schema.missing_values,
                raw=schema.raw,
            )
        geometry = _geometry_source(data.get("geometry", {}), schema, where)
        try:
            licence = Licence.from_definition(need("licence"))
        except LicenceError as exc:
            raise DefinitionError(f"{where}: {exc}") from exc
        source = dict(data.get("source", {}))
        if "licence_url" in source:
            raise DefinitionError(f"{where}: [source] licence_url is not read; the licence's "
                                  "URL comes from [licence] id (or [licence] url for "
                                  "id = \"other\"); say what the file states in [licence] note")
        column_map = _column_map(data.get("columns", {}), schema, where)
        policy = data.get("on_invalid_optional", "drop-row")
        if policy not in INVALID_OPTIONAL_POLICIES:
            raise DefinitionError(f"{where}: on_invalid_optional {policy!r} is not one of "
                                  f"{', '.join(INVALID_OPTIONAL_POLICIES)}")
        community = data.get("community", {}).get("on_city_publish", "keep")
        if community not in COMMUNITY_ON_CITY_PUBLISH:
            raise DefinitionError(f"{where}: [community] on_city_publish {community!r} is not "
                                  f"one of {', '.join(COMMUNITY_ON_CITY_PUBLISH)}")
        return cls(
            id=dataset_id,
            title_ja=title.get("ja") or title.get("en"),
            title_en=title.get("en") or title.get("ja"),
            description_ja=description.get("ja", ""),
            description_en=description.get("en", ""),
            organisation=need("organisation"),
            licence=licence,
            keywords=tuple(data.get("keywords", ())),
            schema_path=schema_path,
            schema=schema,
            geometry=geometry,
            column_map=column_map,
            source=source,
            raw=data,
            directory=toml_path.parent,
            on_invalid_optional=policy,
            read=_read_rules(data.get("read", {}), schema, where),
            value_maps=_value_maps(data.get("values", {}), schema, where),
            community_on_city_publish=community,
        )


@dataclass(frozen=True)
class ReadRules:
    """How the rows of a source file are to be read (dataset.toml ``[read]``).

    ``section_rows``: rows with one filled cell and every other cell empty (「都心地域」 above
    the records of that area) are headings, not records. ``None`` (default): such rows are
    read as records like any other, because a record may be that sparse; ``"drop"``: they
    are left out, each with a note in the report; a field name: they are left out and their
    text fills that field of the records below them, down to the next section row.
    """

    section_rows: str | None = None

    @property
    def section_field(self) -> str | None:
        return self.section_rows if self.section_rows not in (None, SECTION_ROWS_DROP) else None


SECTION_ROWS_DROP = "drop"


def _read_rules(data: Any, schema: TableSchema, where: str) -> ReadRules:
    if not isinstance(data, dict):
        raise DefinitionError(f"{where}: [read] must be a table")
    unknown = sorted(set(data) - {"section_rows"})
    if unknown:
        raise DefinitionError(f"{where}: [read] has unknown keys {unknown} (known: section_rows)")
    section = data.get("section_rows")
    if section is not None and section != SECTION_ROWS_DROP:
        if not isinstance(section, str) or section not in schema.field_names:
            raise DefinitionError(
                f"{where}: [read] section_rows must be \"{SECTION_ROWS_DROP}\" or a field of "
                f"the schema to fill with the section's text, not {section!r}")
        if schema.field(section).type != "string":
            raise DefinitionError(f"{where}: [read] section_rows names field {section!r}, "
                                  "which must be a string field to hold the section's text")
    return ReadRules(section_rows=section)


def _column_map(data: Any, schema: TableSchema, where: str) -> dict[str, tuple[str, ...]]:
    """``[columns]``: source header -> field, or -> a list of fields when one column feeds
    several (each read through its own ``[values]`` map)."""
    if not isinstance(data, dict):
        raise DefinitionError(f"{where}: [columns] must be a table")
    out: dict[str, tuple[str, ...]] = {}
    for header, target in data.items():
        targets = (target,) if isinstance(target, str) else target
        if not isinstance(targets, list | tuple) or not targets or not all(
                isinstance(t, str) for t in targets):
            raise DefinitionError(f"{where}: [columns] {header!r} must name a field or a "
                                  f"list of fields, not {target!r}")
        unknown = [t for t in targets if t not in schema.field_names]
        if unknown:
            raise DefinitionError(f"{where}: [columns] maps to unknown fields "
                                  f"{ {header: unknown[0] if len(unknown) == 1 else unknown} }")
        out[header] = tuple(targets)
    return out


def _value_maps(data: Any, schema: TableSchema, where: str) -> dict[str, dict[str, str]]:
    """``[values.<field>]``: cell as written -> the value it stands for, e.g. ``"◎" = true``.

    Keys are compared NFKC'd and trimmed, as cells are. Each value becomes the text the
    field's own parser reads: a TOML boolean (boolean fields only) the field's first
    ``trueValues``/``falseValues`` spelling, a number its decimal text, a string itself,
    ``""`` an empty (unknown) cell. The map lists the column's whole vocabulary: a cell it
    does not list is an error (``value-map``) at validation."""
    if not isinstance(data, dict):
        raise DefinitionError(f"{where}: [values] must be a table of [values.<field>] tables")
    maps: dict[str, dict[str, str]] = {}
    for name, table in data.items():
        if name not in schema.field_names:
            raise DefinitionError(f"{where}: [values.{name}] names no field of the schema")
        if not isinstance(table, dict) or not table:
            raise DefinitionError(f"{where}: [values.{name}] must map cell values to values")
        f = schema.field(name)
        mapping: dict[str, str] = {}
        for written, value in table.items():
            key = unicodedata.normalize("NFKC", written).strip()
            if isinstance(value, bool):
                if f.type != "boolean":
                    raise DefinitionError(f"{where}: [values.{name}] {written!r} = {value}: "
                                          f"true/false only for boolean fields ({name} is "
                                          f"{f.type})")
                spellings = f.true_values if value else f.false_values
                mapping[key] = spellings[0] if spellings else ("true" if value else "false")
            elif isinstance(value, int | float | str):
                mapping[key] = str(value)
            else:
                raise DefinitionError(f"{where}: [values.{name}] {written!r} must map to a "
                                      f"boolean, number or text, not {value!r}")
        maps[name] = mapping
    return maps


def _geometry_source(data: dict[str, Any], schema: TableSchema, where: str) -> GeometrySource:
    if not data:
        return GeometrySource()
    kind = data.get("kind", "latlon")
    source = GeometrySource(
        kind=kind,
        latitude=data.get("latitude"),
        longitude=data.get("longitude"),
        field=data.get("field"),
        crs=int(data.get("crs", 4326)),
    )
    needed = {
        "latlon": [source.latitude, source.longitude],
        "combined": [source.field],
        "wkt": [source.field],
        "none": [],
    }
    if kind not in needed:
        raise DefinitionError(f"{where}: [geometry] kind {kind!r} is not one of {list(needed)}")
    for name in needed[kind]:
        if name is None or name not in schema.field_names:
            raise DefinitionError(f"{where}: [geometry] names unknown field {name!r}")
    return source


def load_definitions(datasets_dir: Path, schemas_dir: Path) -> dict[str, DatasetDefinition]:
    """Every dataset definition under ``datasets_dir``, keyed by id, sorted."""
    found: dict[str, DatasetDefinition] = {}
    for toml_path in sorted(datasets_dir.glob("*/dataset.toml")):
        definition = DatasetDefinition.load(toml_path, schemas_dir)
        found[definition.id] = definition
    return found


def load_definition(dataset_id: str, datasets_dir: Path, schemas_dir: Path) -> DatasetDefinition:
    path = datasets_dir / dataset_id / "dataset.toml"
    if not path.exists():
        known = sorted(p.parent.name for p in datasets_dir.glob("*/dataset.toml"))
        raise DefinitionError(
            f"unknown dataset {dataset_id!r}: no {path}. "
            f"Known datasets: {', '.join(known) or 'none'}"
        )
    return DatasetDefinition.load(path, schemas_dir)


def version_table_name(table_base: str, version: int) -> str:
    return f"{table_base}__v{version}"


def version_table(
    table_name: str, schema: TableSchema, *, has_geometry: bool, metadata: MetaData | None = None,
    search_bounds: tuple[int, ...] = (), keyed: bool = True,
) -> Table:
    """The SQLAlchemy Table of one version: the only way query code names data columns.
    ``search_bounds`` (hub.search_buckets) travel with it for the search clause to read
    (:func:`search_bounds_of`). ``keyed=False`` leaves ``_fid``'s primary key off (still
    NOT NULL): a publish creates its table so, and builds the key's index after the rows,
    as it does every other index (etl.load.index_jobs)."""
    columns: list[Column[Any]] = [
        Column("_fid", BigInteger, primary_key=True) if keyed
        else Column("_fid", BigInteger, nullable=False)]
    for f in schema.fields:
        columns.append(Column(f.name, SQL_TYPES[f.type]))
    if has_geometry:
        columns.append(Column("geom", Geometry(srid=4326, spatial_index=False)))
    columns.append(Column("_search", Text))
    return Table(table_name, metadata or MetaData(), *columns, schema=DATA_SCHEMA,
                 info={SEARCH_BOUNDS_KEY: search_bounds})


def search_bounds_of(table: FromClause) -> tuple[int, ...]:
    """The bucket bounds of the version table behind ``table`` (itself or an alias of it)."""
    while isinstance(table, Alias):
        table = table.element
    info = table.info if isinstance(table, Table) else {}
    return tuple(info.get(SEARCH_BOUNDS_KEY, ()))


@dataclass(frozen=True)
class PublishedVersion:
    """One row of ``hub.versions`` with its schema parsed: what the query layer needs."""

    dataset_id: str
    version: int
    table_name: str
    schema: TableSchema
    has_geometry: bool
    row_count: int
    bbox: tuple[float, float, float, float] | None
    content_sha256: str
    status: str
    withdrawn_reason: str | None
    meta: dict[str, Any]

    @classmethod
    def from_row(cls, row: Any) -> PublishedVersion:
        schema_json = row["schema"]
        return cls(
            dataset_id=row["dataset_id"],
            version=row["version"],
            table_name=row["table_name"],
            schema=TableSchema.from_json(schema_json),
            has_geometry=bool(schema_json.get("x-geometry", False)),
            row_count=int(row["row_count"]),
            bbox=tuple(row["bbox"]) if row["bbox"] else None,  # type: ignore[arg-type]
            content_sha256=row["content_sha256"],
            status=row["status"],
            withdrawn_reason=row["withdrawn_reason"],
            meta=dict(row),
        )

    @property
    def published_lsn(self) -> int | None:
        """WAL position (bytes) just past the publish's commit; None until stamped
        (hub.db.commit_lsn). A read replica serves the version once it has replayed this."""
        value = self.meta.get("published_lsn")
        return None if value is None else int(value)

    @property
    def main_layer(self) -> str:
        return str(self.meta.get("main_layer") or "records")

    @property
    def layer_names(self) -> tuple[str, ...]:
        return (self.main_layer, *sorted(self.meta.get("layers") or {}))

    def layer(self, name: str) -> PublishedVersion:
        """The same version seen through one of its layers (GTFS: stops, trips, ...)."""
        if name == self.main_layer:
            return self
        layers = self.meta.get("layers") or {}
        if name not in layers:
            raise KeyError(name)
        info = layers[name]
        return PublishedVersion(
            dataset_id=self.dataset_id,
            version=self.version,
            table_name=info["table_name"],
            schema=TableSchema.from_json(info["schema"]),
            has_geometry=bool(info["schema"].get("x-geometry", False)),
            row_count=int(info["row_count"]),
            bbox=tuple(info["bbox"]) if info.get("bbox") else None,  # type: ignore[arg-type]
            content_sha256=self.content_sha256,
            status=self.status,
            withdrawn_reason=self.withdrawn_reason,
            meta={**self.meta, "layer": name},
        )

    def table(self) -> Table:
        """The version's Table, built once per process: a version table never changes, and
        reusing one Table object lets SQLAlchemy reuse its compiled-statement cache."""
        return _cached_version_table(self.table_name, self.schema, self.has_geometry,
                                     self.search_bounds)

    @property
    def search_bounds(self) -> tuple[int, ...]:
        """How this version's trigram index is split by ``_fid`` (hub.search_buckets)."""
        return stored_bounds(self.schema.raw)

    def query_table(self) -> Alias:
        """The version's table as ``t``, for records statements (built once per process).

        Unaliased, every column is written with its schema-qualified table name
        (``data.bench_tokyo_places__v1.name``): a radius page's SQL ran to 5,600 characters,
        past the 4,096 up to which psycopg caches its conversion of a query, which then cost
        a fifth of the server's time per request (bench/README.md)."""
        return _cached_query_table(self.table_name, self.schema, self.has_geometry,
                                   self.search_bounds)


@functools.lru_cache(maxsize=2048)
def _cached_version_table(table_name: str, schema: TableSchema, has_geometry: bool,
                          search_bounds: tuple[int, ...]) -> Table:
    return version_table(table_name, schema, has_geometry=has_geometry,
                         search_bounds=search_bounds)


@functools.lru_cache(maxsize=2048)
def _cached_query_table(table_name: str, schema: TableSchema, has_geometry: bool,
                        search_bounds: tuple[int, ...]) -> Alias:
    return _cached_version_table(table_name, schema, has_geometry, search_bounds).alias("t")

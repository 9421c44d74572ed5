"""Ridership datasets: counts that only mean something joined to the stops (and trips,
routes) of a published bus-routes dataset.

Two shapes of data:

- ``format = "gtfs-ride"``: a GTFS-Ride fileset (zip or folder) whose ``board_alight.txt``
  (per stop visit) becomes the main layer ``board_alight`` and ``ridership.txt`` (per period)
  the layer ``ridership``; :func:`prepare_ride`.
- ``format = "table"`` (the default): one CSV/XLSX such as a city's monthly per-stop table
  (``schemas/ridership-monthly-stops.json``), prepared by :func:`etl.prepare.prepare`.

``[references]`` in dataset.toml names the dataset each kind of id refers to, by the layer
that holds it: ``stops = "bus-routes-muroran"`` means every ``stop_id`` must be a stop_id of
the stops layer of that dataset's current version (``trips`` -> ``trip_id``, ``routes`` ->
``route_id``). A row that references an unknown id is an **error** (the publish is refused,
the report names file, line, column and value); with ``--skip-invalid`` such rows are left
out and counted as skipped. The ids themselves come from the database through
:func:`referenced_keys` (the CLI asks for them), so preparing stays pure: without them the
report says the references were not checked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, and_, select

from etl import normalise as norm
from etl.gtfs.archive import Feed
from etl.gtfs.layers import layer_data
from etl.gtfs.spec import FileSpec
from etl.gtfs.tables import FeedTable, load_table, read_csv_bytes
from etl.load import LayerData, Publishable
from etl.read import ReadError
from etl.report import Issue, Report
from etl.validate import Finding, Located, check_constraints, rows_with, to_issues
from hub.catalog import DatasetDefinition, PublishedVersion, TableSchema

Progress = Callable[[str, int, int], None]
# layer of a bus-routes dataset -> the key field rows refer to it by
REFERENCE_KEYS = {"stops": "stop_id", "trips": "trip_id", "routes": "route_id"}
# layer -> (GTFS-Ride file, schema file); the first is the main layer
RIDE_LAYERS = {
    "board_alight": ("board_alight.txt", "ridership-board-alight.json"),
    "ridership": ("ridership.txt", "ridership-periods.json"),
}
MAIN_LAYER = "board_alight"
KnownKeys = Mapping[str, frozenset[str] | None]


def references(definition: DatasetDefinition) -> dict[str, str]:
    """``[references]`` of a definition: referenced layer -> dataset id."""
    found = dict(definition.raw.get("references") or {})
    unknown = sorted(set(found) - set(REFERENCE_KEYS))
    if unknown:
        raise ValueError(f"{definition.id}: [references] keys must be among "
                         f"{sorted(REFERENCE_KEYS)}, not {unknown}")
    return found


def referenced_keys(
    engine: Engine, definition: DatasetDefinition,
) -> dict[str, frozenset[str] | None]:
    """The ids of each referenced layer in the referenced dataset's *current* version
    (None when that dataset has no published version or no such layer)."""
    from hub.db.tables import datasets, versions

    found: dict[str, frozenset[str] | None] = {}
    with engine.connect() as conn:
        for layer, dataset_id in references(definition).items():
            row = conn.execute(
                select(versions).join(datasets, and_(
                    datasets.c.id == versions.c.dataset_id,
                    datasets.c.current_version == versions.c.version,
                )).where(datasets.c.id == dataset_id)
            ).mappings().first()
            if row is None:
                found[layer] = None
                continue
            try:
                table = PublishedVersion.from_row(row).layer(layer).table()
            except KeyError:
                found[layer] = None
                continue
            key = table.c[REFERENCE_KEYS[layer]]
            found[layer] = frozenset(
                str(v) for v in conn.execute(select(key).distinct()).scalars() if v is not None)
    return found


def publication_order(definitions: Mapping[str, DatasetDefinition]) -> list[str]:
    """Dataset ids with every referenced dataset before the datasets that reference it
    (otherwise in id order), so that `hub demo` can check references on a fresh database."""
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(dataset_id: str) -> None:
        if dataset_id in ordered or dataset_id not in definitions:
            return
        if dataset_id in visiting:
            raise ValueError(f"[references] form a cycle through '{dataset_id}'")
        visiting.add(dataset_id)
        for referenced in sorted(set(references(definitions[dataset_id]).values())):
            visit(referenced)
        visiting.discard(dataset_id)
        ordered.append(dataset_id)

    for dataset_id in sorted(definitions):
        visit(dataset_id)
    return ordered


# --- reference checks ------------------------------------------------------------------------


def reference_findings(definition: DatasetDefinition, frame: pd.DataFrame,
                       known: KnownKeys | None, report: Report) -> list[Finding]:
    """Rows whose referenced ids are unknown; file-level warnings when a check cannot run."""
    wanted = references(definition)
    if not wanted:
        return []
    if known is None:
        report.warning(row=None, column=None, field=None, value=", ".join(wanted.values()),
                       rule="references-unchecked",
                       message="ids were not checked against "
                       + ", ".join(f"the {layer} of {ds}" for layer, ds in wanted.items())
                       + " (no database lookup was made: `hub validate` or a prepare without "
                       "references)")
        return []
    findings = []
    for layer, dataset_id in wanted.items():
        field = REFERENCE_KEYS[layer]
        if field not in frame.columns:
            continue
        ids = known.get(layer)
        if ids is None:
            report.warning(row=None, column=None, field=field, value=dataset_id,
                           rule="reference-not-published",
                           message=f"{field} values were not checked: dataset '{dataset_id}' "
                           f"has no published version with a {layer} layer (publish it first)")
            continue
        values = frame[field]
        present = values.notna().to_numpy(dtype=bool)
        unknown = present & ~values.isin(ids).to_numpy(dtype=bool)
        positions = np.flatnonzero(unknown)
        if len(positions):
            findings.append(Finding(
                rule="unknown-reference", field=field, positions=positions,
                message=lambda p, v=values, f=field, ds=dataset_id, la=layer:
                    f"{f} '{v.iloc[p]}' is not a {f} of the {la} layer of '{ds}' "
                    "(current version)",
                value=lambda p, v=values: str(v.iloc[p]),
            ))
    return findings


def check_references(prepared: Any, definition: DatasetDefinition, known: KnownKeys | None,
                     *, skip_invalid: bool = False) -> Any:
    """Check a table prepared by :func:`etl.prepare.prepare` against ``known`` ids; with
    ``skip_invalid`` the rows with unknown ids are dropped (and counted as skipped)."""
    report = prepared.report
    findings = reference_findings(definition, prepared.frame, known, report)
    if not findings:
        return prepared
    headers, _ = norm.match_headers(prepared.raw.headers, definition.schema,
                                    definition.column_map)
    located = Located(file=prepared.raw.source_name, source_rows=prepared.source_rows,
                      columns=headers, source_values={})
    room = report.max_errors - len(report.errors)
    issues = to_issues(findings, located, limit=max(room, 0))
    report.extend(issues)
    if sum(len(f.positions) for f in findings) > len(issues):
        report.truncated = True
    if not skip_invalid:
        return prepared
    keep = ~rows_with(findings, len(prepared.frame))
    report.rows_skipped += int((~keep).sum())
    geometry = prepared.geometry_wkt
    return dataclasses.replace(
        prepared,
        frame=prepared.frame.loc[keep].reset_index(drop=True),
        geometry_wkt=None if geometry is None else geometry.loc[keep].reset_index(drop=True),
        source_rows=prepared.source_rows[keep],
    )


# --- GTFS-Ride ----------------------------------------------------------------------------------


def _ride_spec(file: str, schema: TableSchema) -> FileSpec:
    """How to read a GTFS-Ride file: kinds from the schema's field types."""
    kinds = {"string": "text", "integer": "int", "number": "float", "date": "date",
             "boolean": "int"}
    columns = {}
    for f in schema.fields:
        if f.name.endswith("_secs"):
            continue  # derived from the matching *_time column
        columns[f.name] = "time" if f.name.endswith("_time") else kinds.get(f.type, "text")
    required = tuple(f.name for f in schema.fields if f.required)
    critical = frozenset(n for n, k in columns.items() if k != "text")
    return FileSpec(file, columns, required, critical)


def prepare_ride(
    definition: DatasetDefinition,
    path: Path,
    *,
    known: KnownKeys | None = None,
    max_errors: int = 1000,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> Publishable:
    """A GTFS-Ride fileset as layers ``board_alight`` (main) and ``ridership``; ``known``
    are the referenced ids (see :func:`referenced_keys`)."""
    tick = progress or (lambda stage, done, total: None)
    schemas = {layer: TableSchema.load(definition.schema_path.parent / schema_file)
               for layer, (_, schema_file) in RIDE_LAYERS.items()}
    tables: dict[str, FeedTable] = {}
    with Feed(Path(path)) as feed:
        report = Report(file=feed.source_name, max_errors=max_errors)
        files = {layer: name for layer, (name, _) in RIDE_LAYERS.items() if name in feed.names}
        if not files:
            report.add(Issue(file=feed.source_name, row=None, column=None, field=None,
                             value=None, rule="missing-file", severity="error",
                             message="neither board_alight.txt nor ridership.txt is in the "
                             "fileset"))
        ignored = sorted(set(feed.names) - set(files.values())) + feed.outside_root
        if ignored:
            report.warning(row=None, column=None, field=None, value=", ".join(ignored),
                           rule="file-not-imported",
                           message="files not imported into a ridership dataset (the GTFS "
                           "part belongs in a bus-routes dataset): " + ", ".join(ignored))
        for done, (layer, name) in enumerate(files.items(), start=1):
            try:
                raw = read_csv_bytes(name, feed.read(name))
            except ReadError as exc:
                report.add(Issue(file=name, row=None, column=None, field=None, value=None,
                                 rule="unreadable-file", message=exc.message, severity="error"))
                continue
            tables[layer] = load_table(name, raw, _ride_spec(name, schemas[layer]))
            tick("read", done, len(files))
        source_name, source_sha256 = feed.source_name, feed.source_sha256

    layers: dict[str, LayerData] = {}
    for layer, schema in schemas.items():
        table = tables.get(layer)
        if table is None:
            layers[layer] = layer_data(layer, schema, {}, 0)
            continue
        report.rows_read += len(table)
        for column in table.spec.required_columns:
            if not table.has(column):
                table.file_issue("missing-column", f"{table.name} has no column '{column}', "
                                 "which GTFS-Ride requires", severity="error",
                                 field_name=column, row=1)
        columns = _ride_columns(table, schema)
        frame = layer_data(layer, schema, columns, len(table)).frame
        located = table.located
        skip = {c: table.invalid.get(c, np.zeros(len(table), bool)) for c in frame.columns}
        constraint = [f for f in check_constraints(frame, schema, skip=skip, located=located)
                      if not (f.rule == "required" and not table.has(f.field or ""))]
        table.findings += constraint
        table.findings += reference_findings(definition, frame, known, report)
        table.report_to(report)
        keep = np.ones(len(table), dtype=bool)
        file_level = any(i.severity == "error" for i in table.file_issues)
        if skip_invalid and not file_level:
            keep = ~rows_with(table.findings, len(table))
            report.rows_skipped += int((~keep).sum())
        kept = {name: (values.reset_index(drop=True)[keep] if isinstance(values, pd.Series)
                       else values) for name, values in columns.items()}
        layers[layer] = layer_data(layer, schema, kept, int(keep.sum()))
    main = layers.pop(MAIN_LAYER)
    return Publishable(definition=definition, source_name=source_name,
                       source_sha256=source_sha256, report=report, main=main,
                       main_layer=MAIN_LAYER, extra_layers=layers)


def _ride_columns(table: FeedTable, schema: TableSchema) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for f in schema.fields:
        if f.name.endswith("_secs"):
            parsed = table.times.get(f.name[: -len("_secs")] + "_time")
            columns[f.name] = parsed.seconds if parsed else None
        elif f.name.endswith("_time"):
            parsed = table.times.get(f.name)
            columns[f.name] = parsed.text if parsed else None
        elif f.type == "boolean":
            columns[f.name] = table.value(f.name).map({1: True, 0: False}).astype("boolean")
        elif table.has(f.name):
            columns[f.name] = table.value(f.name)
    return columns

"""Checking a proposed record on arrival with the ETL's own preparation, not a second copy.

A contribution's values become a one-row :class:`etl.read.RawTable` of text cells, headed by
the schema's field names, and go through :func:`etl.prepare.prepare_table`: the step every
CSV, XLSX and CKAN pull goes through. So ``○`` is a yes, a full-width ``０３-１２３４``
is NFKC-normalised, ``令和2年4月1日`` is a date and a swapped latitude/longitude pair is
fixed with a warning, exactly as in a file; what a file would be refused for is refused here,
with the same rule names. GeoJSON geometry becomes the cells the dataset's ``[geometry]``
reads (latitude/longitude, a combined pair or WKT), so coordinates are parsed by the same
code too. Only what a file cannot express is decided here: the point must lie in Japan (a
file's far points are warnings, because a city's file is the city's; a stranger's point
outside the country is an error) and property names must be the schema's own.

This module imports ``etl`` (allowed for ``hub.cocreation`` only: see the package docstring).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.errors import ShapelyError
from shapely.geometry import shape

from etl.prepare import prepare_table
from etl.read import RawTable
from hub.catalog import DatasetDefinition
from hub.cocreation.area import JAPAN_BBOX
from hub.cocreation.contributions import InvalidContribution, Problem, Proposal
from hub.textfold import fold_query

# Stands in for the key of a new record sent without one while it is checked; the hub gives
# it ``community-<contribution id>`` when it is published.
PENDING_KEY = "community-pending"
COMMUNITY_KEY_PREFIX = "community-"


@dataclass(frozen=True)
class Arrival:
    """A proposal after preparation: the record's values as the version table would hold
    them (JSON types), the fields it changes, its geometry and the warnings (fixes made)."""

    record: dict[str, Any]
    changed: dict[str, Any]
    previous: dict[str, Any]
    geometry_wkt: str | None
    warnings: list[dict[str, Any]] = field(default_factory=list)
    name_folded: str | None = None


def cell_text(value: Any) -> str:
    """A JSON value as the text a CSV cell would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def check_arrival(definition: DatasetDefinition, proposal: Proposal,
                  current: dict[str, str] | None) -> Arrival:
    """Prepare ``proposal`` like a one-row file of ``definition``; ``current`` is the
    corrected record's cells as text (None for a new record). Raises
    :class:`InvalidContribution` with every error the preparation reported."""
    fields = definition.schema.field_names
    problems = [Problem(_where(proposal, name), "unknown-field",
                        f"'{name}' is not a field of this dataset; fields: {', '.join(fields)}")
                for name in proposal.properties if name not in fields]
    cells = dict(current) if current is not None else dict.fromkeys(fields, "")
    for name, value in proposal.properties.items():
        if name in fields:
            cells[name] = cell_text(value)
    key_fields = definition.schema.primary_key
    if proposal.kind == "new" and len(key_fields) == 1 and not cells.get(key_fields[0]):
        cells[key_fields[0]] = PENDING_KEY
    if proposal.geometry is not None:
        problems += _geometry_cells(definition, proposal, cells)
    elif proposal.kind == "new" and definition.has_geometry:
        problems.append(Problem("feature.geometry", "required",
                                "a new record of this dataset needs a geometry"))
    if problems:
        raise InvalidContribution(problems)
    prepared = prepare_table(definition, _one_row(cells, proposal))
    errors = [Problem(_where(proposal, i.field or i.column or "record"), i.rule, i.message)
              for i in prepared.report.errors]
    if errors:
        raise InvalidContribution(errors)
    record = {name: _json_value(prepared.frame[name].iloc[0]) for name in fields}
    wkt = None
    if prepared.geometry_wkt is not None and not pd.isna(prepared.geometry_wkt.iloc[0]):
        wkt = str(prepared.geometry_wkt.iloc[0])
        _check_in_japan(wkt, _geometry_where(proposal))
    previous: dict[str, Any] = {}
    changed = record
    if current is not None:
        before = prepare_table(definition, _one_row(dict(current), proposal))
        old = {name: _json_value(before.frame[name].iloc[0]) for name in fields}
        changed = {k: v for k, v in record.items() if old.get(k) != v}
        previous = {k: old.get(k) for k in changed}
        if not changed:
            raise InvalidContribution([Problem(
                "changes", "no-change", "the correction changes nothing: the record already "
                "has these values")])
    return Arrival(record=record, changed=changed, previous=previous, geometry_wkt=wkt,
                   warnings=[i.to_dict() for i in prepared.report.warnings],
                   name_folded=_name(definition, record))


def _one_row(cells: dict[str, str], proposal: Proposal) -> RawTable:
    headers = list(cells)
    digest = hashlib.sha256(json.dumps(proposal.sent(), sort_keys=True, default=str)
                            .encode()).hexdigest()
    return RawTable(source_name="contribution", source_sha256=digest, encoding="utf-8",
                    delimiter=None, headers=headers,
                    frame=pd.DataFrame({h: [cells[h]] for h in headers}, dtype=object),
                    source_rows=np.array([1]))


def _geometry_cells(definition: DatasetDefinition, proposal: Proposal,
                    cells: dict[str, str]) -> list[Problem]:
    """Write the GeoJSON geometry into the cells the dataset's ``[geometry]`` reads."""
    where = _geometry_where(proposal)
    g = definition.geometry
    if g.kind == "none":
        return [Problem(where, "no-geometry", "this dataset has no geometry")]
    if g.crs != 4326:
        return [Problem(where, "crs", f"this dataset stores EPSG:{g.crs}; send properties "
                        "with its coordinates instead of a GeoJSON geometry")]
    try:
        geometry = shape(proposal.geometry)
    except (ShapelyError, ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        return [Problem(where, "geojson-geometry", f"not a GeoJSON geometry: {exc}")]
    if geometry.is_empty or not geometry.is_valid:
        reason = "empty" if geometry.is_empty else shapely.is_valid_reason(geometry)
        return [Problem(where, "valid-geometry", f"invalid geometry: {reason}")]
    if g.kind == "wkt":
        assert g.field is not None
        cells[g.field] = geometry.wkt
        return []
    if geometry.geom_type != "Point":
        return [Problem(where, "point", "this dataset's records are points")]
    # GeoJSON order is longitude, latitude; a swapped pair is left for the ETL to find.
    lon, lat = cell_text(proposal.geometry["coordinates"][0]), \
        cell_text(proposal.geometry["coordinates"][1])
    if g.kind == "combined":
        assert g.field is not None
        cells[g.field] = f"{lat},{lon}"
    else:
        assert g.latitude is not None and g.longitude is not None
        cells[g.latitude], cells[g.longitude] = lat, lon
    return []


def _check_in_japan(wkt: str, where: str) -> None:
    west, south, east, north = shapely.from_wkt(wkt).bounds
    j_west, j_south, j_east, j_north = JAPAN_BBOX
    if west < j_west or east > j_east or south < j_south or north > j_north:
        raise InvalidContribution([Problem(
            where, "inside-japan", f"the geometry lies outside Japan (longitude {west:.4f}.."
            f"{east:.4f}, latitude {south:.4f}..{north:.4f}); GeoJSON coordinates are "
            "[longitude, latitude]")])


def _where(proposal: Proposal, name: str) -> str:
    prefix = "feature.properties" if proposal.kind == "new" else "changes"
    return f"{prefix}.{name}"


def _geometry_where(proposal: Proposal) -> str:
    return "feature.geometry" if proposal.kind == "new" else "geometry"


def _json_value(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _name(definition: DatasetDefinition, record: dict[str, Any]) -> str | None:
    """The record's searchable text without its key, folded like a search query: what the
    near-duplicate guard compares."""
    key = set(definition.schema.primary_key)
    parts = [str(record[f]) for f in definition.schema.search_fields(definition.id)
             if f not in key and record.get(f)]
    return fold_query(" ".join(parts)) if parts else None

"""What the pages show, built from the API's own answers (pure functions, no I/O).

Routes fetch rows and versions through :mod:`hub.data` exactly as the ``/v1`` routes do;
these functions turn them into the small dicts the templates print, so every decision a page
makes (which filters a form offers, which API URL repeats the table's query, which tiles the
map draws) is testable without a browser.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

import yaml

from hub.catalog import Licence, PublishedVersion, SchemaField, TableSchema
from hub.licences import OTHER
from hub.query.ogc_params import collection_id
from hub.query.operators import OPERATORS

# Query parameters that belong to the page, not to the records query of its table.
PAGE_PARAMETERS = frozenset({"lang", "version", "layer"})
# The operators the table form offers, by what a field's type admits (hub.query.operators
# decides which operator applies to which type): text is searched, ordered values get a range.
TEXT_OPERATOR = "contains"
RANGE_OPERATORS = ("gte", "lte")


def localised(row: dict[str, Any], name: str, language: str) -> str:
    """``row[name_ja]`` or ``row[name_en]``, falling back to the other language."""
    other = "en" if language == "ja" else "ja"
    return row.get(f"{name}_{language}") or row.get(f"{name}_{other}") or ""


def licence_view(row: dict[str, Any], language: str) -> dict[str, Any]:
    """A catalogue row's licence as the v1 API describes it (:class:`hub.catalog.Licence`),
    with the title in the page's language."""
    described = Licence.from_columns(row).as_json()
    return {**described, "title": described["title"][language]}


def licence_facet_label(value: str, language: str) -> str | None:
    """A ``licence`` facet value (an id) as its title in ``language``; None for ``other``,
    whose datasets each name their own licence."""
    if value == OTHER:
        return None
    return Licence(id=value).as_json()["title"][language]


def dataset_card(row: dict[str, Any], language: str) -> dict[str, Any]:
    """One catalogue result: what a card shows (rows, last version date, licence, map)."""
    return {
        "id": row["id"],
        "url": f"/datasets/{row['id']}",
        "title": localised(row, "title", language),
        "description": localised(row, "description", language),
        "organisation": row["organisation"],
        "licence": licence_view(row, language),
        "keywords": list(row["keywords"]),
        "rows": row.get("row_count"),
        "published_at": row.get("published_at"),
        "version": row.get("current_version"),
        "format": row.get("format"),
        "has_map": bool(row.get("has_map")),
    }


def facet_url(path: str, params: list[tuple[str, str]], name: str, value: str,
              *, repeatable: bool) -> tuple[str, bool]:
    """The URL that toggles one facet value, and whether it is active now. Paging restarts."""
    kept = [(k, v) for k, v in params if k not in ("offset", "lang")]
    active = (name, value) in kept
    if active:
        kept = [(k, v) for k, v in kept if (k, v) != (name, value)]
    elif repeatable:
        kept.append((name, value))
    else:
        kept = [(k, v) for k, v in kept if k != name] + [(name, value)]
    query = urlencode(kept)
    return path + (f"?{query}" if query else ""), active


def facet_view(path: str, params: list[tuple[str, str]],
               facets: dict[str, list[dict[str, Any]]],
               language: str) -> dict[str, list[dict[str, Any]]]:
    """Each facet's values with their counts, toggle links and (licences) titles."""
    view: dict[str, list[dict[str, Any]]] = {}
    for name, values in facets.items():
        entries = []
        for entry in values:
            raw = entry["value"]
            value = ("true" if raw else "false") if isinstance(raw, bool) else str(raw)
            url, active = facet_url(path, params, name, value, repeatable=name == "keyword")
            label = licence_facet_label(value, language) if name == "licence" else None
            entries.append({"value": value, "label": label, "count": entry["count"],
                            "url": url, "active": active})
        view[name] = entries
    return view


def _constraints(field: SchemaField) -> list[str]:
    out: list[str] = []
    if field.required:
        out.append("required")
    if field.unique:
        out.append("unique")
    for label, value in (("minimum", field.minimum), ("maximum", field.maximum),
                         ("minLength", field.min_length), ("maxLength", field.max_length),
                         ("pattern", field.pattern), ("format", field.format)):
        if value is not None:
            out.append(f"{label}: {value}")
    if field.enum:
        out.append("enum: " + ", ".join(str(v) for v in field.enum))
    return out


def schema_rows(schema: TableSchema, language: str) -> list[dict[str, Any]]:
    """The schema as table rows: field, type, meaning in both languages, constraints."""
    key = set(schema.primary_key)
    rows = []
    for field in schema.fields:
        constraints = _constraints(field)
        if field.name in key:
            constraints.insert(0, "primary key")
        rows.append({
            "name": field.name,
            "type": field.type,
            "title_ja": field.title_ja or "",
            "title_en": field.title or "",
            "title": (field.title_ja if language == "ja" else field.title) or field.title
            or field.title_ja or "",
            "description": field.description or "",
            "constraints": constraints,
        })
    return rows


def filter_inputs(schema: TableSchema, current: dict[str, str]) -> list[dict[str, Any]]:
    """The table form's inputs, named as the API's filters so the form's query string is a
    records query: ``field__contains`` for text, ``field__gte``/``__lte`` for other ordered
    types, ``field`` (equals) for booleans; which operator fits which type is the operator
    table's answer."""
    inputs: list[dict[str, Any]] = []
    for field in schema.fields:
        label = field.title_ja or field.title or field.name
        if field.type == "boolean":
            names = [(field.name, "exact")]
        elif OPERATORS[TEXT_OPERATOR].applies_to(field.type):
            names = [(f"{field.name}__{TEXT_OPERATOR}", TEXT_OPERATOR)]
        elif all(OPERATORS[op].applies_to(field.type) for op in RANGE_OPERATORS):
            names = [(f"{field.name}__{op}", op) for op in RANGE_OPERATORS]
        else:
            continue
        for name, op in names:
            inputs.append({"name": name, "field": field.name, "op": op, "label": label,
                           "title_en": field.title or field.name, "type": field.type,
                           "value": current.get(name, "")})
    return inputs


def table_query(items: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The records query inside a page's query string: the page's own parameters and empty
    form fields dropped, everything else passed to the API's parser unchanged."""
    return [(k, v) for k, v in items if k not in PAGE_PARAMETERS and v != ""]


def display_cell(column: str, value: Any) -> str:
    """A table cell as text. Points keep their coordinates; a line or polygon shows only its
    kind (its WKT can be megabytes: the map draws it, the API and downloads carry it)."""
    if value is None:
        return ""
    text = str(value)
    if column == "geometry" and not text.startswith("POINT"):
        return text.split("(", 1)[0].strip() + " (…)"
    return text


def records_path(dataset_id: str, version: int, layer: str | None, main_layer: str) -> str:
    """The pinned ``/v1`` records path of a version's layer (the table's twin in the API)."""
    layer_path = f"/layers/{layer}" if layer and layer != main_layer else ""
    return f"/v1/datasets/{dataset_id}/versions/{version}{layer_path}/records"


def map_layers(version: PublishedVersion) -> list[dict[str, Any]]:
    """The vector tile sources of a version's map: every layer with geometry (for a GTFS feed:
    routes as lines, stops as points), each the TileJSON of the OGC collection pinned to this
    version (MapLibre reads the tile URL, zoom range and bounds from it)."""
    layers = []
    for name in version.layer_names:
        layer = version.layer(name)
        if not layer.has_geometry:
            continue
        pinned = collection_id(version.dataset_id, name, version.main_layer, version.version)
        layers.append({
            "id": name,
            "source_layer": collection_id(version.dataset_id, name, version.main_layer),
            "tilejson": f"/ogc/collections/{pinned}/tiles/WebMercatorQuad/tilejson.json",
            "bbox": list(layer.bbox) if layer.bbox else None,
        })
    return layers


def map_bounds(layers: list[dict[str, Any]]) -> list[float] | None:
    boxes = [layer["bbox"] for layer in layers if layer["bbox"]]
    if not boxes:
        return None
    return [min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes)]


def api_examples(base: str, dataset_id: str, records_url: str) -> dict[str, str]:
    """Copy-ready ways to fetch the same data: curl, Python and QGIS (OGC API - Features)."""
    return {
        "curl": f"curl '{base}{records_url}?limit=10&f=geojson'",
        "python": (
            "import httpx\n\n"
            f"page = httpx.get(\"{base}{records_url}\", params={{\"limit\": 100}}).json()\n"
            "for record in page[\"records\"]:\n"
            "    print(record)\n"
        ),
        "ogc": f"{base}/ogc",
        "ogc_collection": f"{base}/ogc/collections/{dataset_id}",
    }


def cff_text(cff: dict[str, Any]) -> str:
    """A CITATION.cff file's text for the version's citation."""
    return yaml.safe_dump(cff, allow_unicode=True, sort_keys=False)

"""HTTP query parameters -> :class:`FeatureQuery`: the one parser of ``/v1`` records, OGC
``/items`` and OGC tiles, checking every name and value.

Each surface is a :class:`Dialect`: the parameter names it accepts and the concept each one
sets (OGC's ``sortby`` is ``/v1``'s ``sort``, ``properties`` is ``fields``), its formats,
what an over-large ``limit`` gets and whether a property filter may be repeated. Everything
else is shared, so ``near_route`` or ``radius`` mean the same on every surface. Property
filters follow datasette's ``field__op=value`` (:mod:`hub.query.operators`). A parameter is
applied or refused with a :class:`QueryError` naming it; none is ever dropped: a name that
is neither the dialect's nor a schema field is refused (OGC API Features recommends 400 for
unknown parameters; GDAL, OWSLib and QGIS only send standard ones). The one exception is a
qualifier without what it qualifies (``radius`` without a reference, ``bbox-crs`` without
``bbox``, ``filter-lang``/``filter-crs`` without ``filter``): its value is checked, and it
is ignored, since OpenAPI cannot relate two parameters and the documents therefore allow it
alone.

``near_route``/``near_stop`` name stops of another dataset; looking them up needs the
catalogue, so the caller passes a :class:`ReferenceResolver` and the parser stays pure.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from typing import Any, Protocol

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from hub.catalog import TableSchema
from hub.query.cql2 import check_language, parse_cql2
from hub.query.geometry_input import placement_problem, vertex_problem
from hub.query.model import (
    Cursor,
    FeatureQuery,
    Near,
    NearSet,
    OverLimit,
    PageLimits,
    PropertyFilter,
    QueryError,
    SortKey,
    refuse_nul,
    refuse_repeats,
)
from hub.query.ogc_params import (
    CRS84_CRS,
    crs_by_uri,
    datetime_filters,
    number_in,
    parse_bbox,
    to_crs84,
)
from hub.query.operators import MAX_LIST_VALUES, OPERATORS
from hub.query.values import parse_flag, parse_value, type_error_detail
from hub.textfold import fold_query


@dataclass(frozen=True)
class Dialect:
    """What one surface calls its records parameters.

    ``parameters`` maps each accepted name to the concept it sets (the names of
    :data:`CONCEPTS`); ``formats`` are the values of ``f`` the parser checks (None: the
    route negotiates ``f`` with ``Accept``); ``over_limit`` is the surface's answer to a
    ``limit`` above the maximum (:class:`PageLimits`). Every named parameter takes one value
    (:func:`refuse_repeats`); ``repeatable_filters`` says whether a property filter may be
    given more than once (each one then holds: ``name__contains=a&name__contains=b``).
    """

    name: str
    parameters: Mapping[str, str]
    formats: tuple[str, ...] | None = None
    over_limit: OverLimit = "refuse"
    repeatable_filters: bool = False
    spellings: Mapping[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "spellings", {c: n for n, c in self.parameters.items()})

    def takes_one(self, name: str) -> bool:
        """Whether ``name`` may be given only once on this surface."""
        return name in self.parameters or not self.repeatable_filters


# Filters every surface shares (by the same names).
_FILTERS = {name: name for name in (
    "q", "bbox", "near", "radius", "within", "intersects", "near_route", "near_stop")}
_OGC_FILTERS = {**_FILTERS, "bbox-crs": "bbox-crs", "datetime": "datetime",
                "filter": "filter", "filter-lang": "filter-lang", "filter-crs": "filter-crs"}
_PAGING = {"limit": "limit", "cursor": "cursor"}

# /v1's filters are conditions that all hold, so one may be repeated. OGC API - Features
# does not define a repeated property filter, and the OGC document declares each property
# with one value: there a repeat is refused like any other parameter's.
V1 = Dialect("v1", {**_FILTERS, **_PAGING, "sort": "sort", "fields": "fields", "f": "f"},
             repeatable_filters=True)
OGC_ITEMS = Dialect(
    "ogc-items",
    {**_OGC_FILTERS, **_PAGING, "sortby": "sort", "properties": "fields", "crs": "crs",
     "f": "f"},
    formats=("json", "geojson"), over_limit="clamp",
)
# A tile holds every matching feature: filters only (no page, order, projection or format).
OGC_TILES = Dialect("ogc-tiles", _OGC_FILTERS)
DIALECTS = (V1, OGC_ITEMS, OGC_TILES)
# One record by its key takes no filters, only how to write it.
V1_RECORD = Dialect("v1-record", {"f": "f"})
OGC_ITEM = Dialect("ogc-item", {"crs": "crs", "f": "f"}, formats=("json", "geojson"))


@dataclass(frozen=True)
class NearReference:
    """``<dataset>[@<version>]:<id>`` of ``near_route`` (a route id) or ``near_stop`` (a
    stop or station id) in a GTFS dataset, as written; resolving it is the resolver's job."""

    parameter: str  # near_route | near_stop
    dataset_id: str
    version: int | None
    key: str


class ReferenceResolver(Protocol):
    """Turns a :class:`NearReference` into the set of geometries records must lie near.

    Raises :class:`UnknownReference` naming ``reference.parameter`` when the dataset,
    version or id does not exist or has no located stops."""

    def near_set(self, reference: NearReference, radius_m: float) -> NearSet: ...


def parse_records_query(
    items: Iterable[tuple[str, str]],
    schema: TableSchema,
    *,
    has_geometry: bool,
    limits: PageLimits,
    dialect: Dialect = V1,
    resolver: ReferenceResolver | None = None,
) -> FeatureQuery:
    """Parse query-string pairs; raise :class:`QueryError` naming the parameter on any fault."""
    pairs = list(items)
    for key, value in pairs:
        refuse_nul(key, value)
    refuse_repeats((key for key, _ in pairs), dialect.takes_one)
    given: dict[str, tuple[str, str]] = {}  # concept -> (name as given, value)
    filters: list[PropertyFilter] = []
    for key, value in pairs:
        concept = dialect.parameters.get(key)
        if concept is None:
            filters.append(_parse_filter(key, value, schema, dialect))
            continue
        given[concept] = (key, value)
    raw = {concept: value for concept, (_, value) in given.items()}
    name = {concept: key for concept, (key, _) in given.items()}

    if dialect.formats is not None and raw.get("f", dialect.formats[0]) not in dialect.formats:
        raise QueryError(f"unknown format f={raw['f']!r}; formats are: "
                         f"{', '.join(dialect.formats)}", "f")
    near, near_set = _parse_nearness(raw, has_geometry, limits, resolver)
    if near is not None and near.radius_m is None and "sort" not in dialect.spellings:
        raise QueryError("parameter 'near' without 'radius' only orders records, and this "
                         "request has no order; add 'radius'", "near")
    if "datetime" in raw:
        filters += datetime_filters(raw["datetime"], schema)
    crs = crs_by_uri(raw["crs"], "crs") if "crs" in raw else CRS84_CRS
    sort_param = name.get("sort", dialect.spellings.get("sort", "sort"))
    query = FeatureQuery(
        filters=tuple(filters),
        q=_parse_q(raw.get("q")),
        bbox=_parse_bbox(raw, has_geometry),
        near=near,
        within=_parse_geometry(raw["within"], "within", has_geometry, polygonal=True)
        if "within" in raw else None,
        intersects=_parse_geometry(raw["intersects"], "intersects", has_geometry,
                                   polygonal=False)
        if "intersects" in raw else None,
        sort=_parse_sort(raw.get("sort"), schema, near or near_set, sort_param),
        fields=_parse_fields(raw.get("fields"), schema, name.get("fields", "fields")),
        limit=_parse_limit(raw.get("limit"), limits),
        cql2=_parse_filter_expression(raw, schema, has_geometry),
        output_crs=crs.output,
        near_set=near_set,
    )
    if raw.get("cursor"):  # `cursor=` (a link template left empty) is the first page
        query = replace(query, cursor=decode_cursor(raw["cursor"], query, schema))
    return query


def check_record_parameters(items: Iterable[tuple[str, str]], dialect: Dialect) -> None:
    """Refuse any parameter a single-record request cannot apply (it has no filters), one
    given more than once, and a format the dialect does not write."""
    pairs = list(items)
    refuse_repeats((key for key, _ in pairs), dialect.takes_one)
    params = dict(pairs)
    unknown = sorted(set(params) - set(dialect.parameters))
    if unknown:
        raise QueryError(f"unknown parameter '{unknown[0]}'; a single record takes only "
                         f"{', '.join(dialect.parameters)} (use the records list with filters "
                         "to query)", unknown[0])
    if dialect.formats is not None and params.get("f", dialect.formats[0]) \
            not in dialect.formats:
        raise QueryError(f"unknown format f={params['f']!r}; formats are: "
                         f"{', '.join(dialect.formats)}", "f")


# -- property filters ------------------------------------------------------------------------


def _parse_filter(key: str, raw: str, schema: TableSchema, dialect: Dialect) -> PropertyFilter:
    name, _, op_name = key.partition("__")
    op_name = op_name or "exact"
    if name not in schema.field_names:
        raise _unknown_parameter(key, name, schema, dialect)
    field_type = schema.field(name).type
    operator = OPERATORS.get(op_name)
    if operator is None:
        raise QueryError(
            f"unknown operator '{op_name}' in parameter '{key}'; operators are: "
            f"{', '.join(OPERATORS)}",
            key,
        )
    if not operator.applies_to(field_type):
        raise QueryError(
            f"operator '{op_name}' does not apply to {field_type} field '{name}'; it needs a "
            f"field of type {', '.join(sorted(operator.types or ()))}", key)
    match operator.shape:
        case "flag":
            return PropertyFilter(name, op_name, _flag(raw, key))
        case "list":
            parts = raw.split(",")
            if not raw:
                raise QueryError(f"parameter '{key}' needs a comma-separated list of values",
                                 key)
            if len(parts) > MAX_LIST_VALUES:
                raise QueryError(f"parameter '{key}' lists more than {MAX_LIST_VALUES} values",
                                 key)
            return PropertyFilter(name, op_name,
                                  tuple(_typed(field_type, p, key) for p in parts))
    return PropertyFilter(name, op_name, _typed(field_type, raw, key))


def _unknown_parameter(key: str, name: str, schema: TableSchema,
                       dialect: Dialect) -> QueryError:
    """The refusal of a name that is neither the dialect's nor a field, saying what the
    parameter is called here when another surface spells it differently."""
    concept = next((d.parameters[key] for d in DIALECTS if key in d.parameters), None)
    if concept is not None:
        here = dialect.spellings.get(concept)
        hint = f"use '{here}'" if here else \
            f"this endpoint takes: {', '.join(dialect.parameters)} and field filters"
        return QueryError(f"parameter '{key}' does not apply to this endpoint; {hint}", key)
    return QueryError(
        f"unknown field '{name}' in parameter '{key}'; filterable fields are: "
        f"{', '.join(schema.field_names)}; other parameters are: "
        f"{', '.join(dialect.parameters)}",
        key,
    )


def _typed(field_type: str, raw: str, key: str) -> Any:
    try:
        return parse_value(field_type, raw)
    except ValueError:
        raise QueryError(type_error_detail(field_type, raw, key), key) from None


def _flag(raw: str, key: str) -> bool:
    try:
        return parse_flag(raw)
    except ValueError:
        raise QueryError(f"parameter '{key}' must be true or false, not {raw!r}", key) from None


def record_key(schema: TableSchema, raw: str) -> tuple[str, Any]:
    """The column and typed value that name one record: its single-column primary key, else
    its row number ``_fid`` (the same id GeoJSON features carry).

    Raises :class:`LookupError` when no record can have this id (a value of the wrong type),
    which callers answer with 404 rather than 400: an id is a name, not a query.
    """
    if len(schema.primary_key) == 1:
        name = schema.primary_key[0]
        try:
            return name, parse_value(schema.field(name).type, raw)
        except ValueError:
            raise LookupError(raw) from None
    if not raw.isdigit() or len(raw) > 18:
        raise LookupError(raw)
    return "_fid", int(raw)


# -- text, paging, projection -----------------------------------------------------------------


# The longest `q`, in characters as sent (hub.api.v1 declares it).
Q_MAX_LENGTH = 200


def _parse_q(raw: str | None) -> str | None:
    """``q`` folded by the rule that folded the stored ``_search`` text (hub.textfold)."""
    if raw is None:
        return None
    if len(raw) > Q_MAX_LENGTH:
        raise QueryError(f"parameter 'q' is longer than {Q_MAX_LENGTH} characters", "q")
    return fold_query(raw).strip() or None


def _parse_limit(raw: str | None, limits: PageLimits) -> int:
    if raw is None:
        return limits.default
    try:
        limit = int(raw)
    except ValueError:
        raise QueryError(f"parameter 'limit' must be an integer, not {raw!r}", "limit") from None
    return limits.checked(limit)


def _parse_fields(raw: str | None, schema: TableSchema, param: str) -> tuple[str, ...] | None:
    if raw is None or raw.strip() == "":
        return None
    names = tuple(n.strip() for n in raw.split(",") if n.strip())
    unknown = [n for n in names if n not in schema.field_names]
    if unknown:
        raise QueryError(
            f"parameter '{param}' names unknown field(s) {', '.join(unknown)}; "
            f"fields are: {', '.join(schema.field_names)}",
            param,
        )
    return names


def _parse_sort(raw: str | None, schema: TableSchema, near: object | None,
                param: str) -> tuple[SortKey, ...]:
    if raw is None or raw.strip() == "":
        return (SortKey("distance_m"),) if near else ()
    keys: list[SortKey] = []
    for part in raw.split(","):
        part = part.strip()
        descending = part.startswith("-")
        name = part.lstrip("-+")
        if name == "distance_m":
            if near is None:
                raise QueryError("sorting by 'distance_m' needs 'near'", param)
        elif name not in schema.field_names:
            raise QueryError(
                f"parameter '{param}' names unknown field '{name}'; sortable fields are: "
                f"{', '.join(schema.field_names)}" + (", distance_m" if near else ""),
                param,
            )
        keys.append(SortKey(name, descending))
    if len({k.field for k in keys}) != len(keys):
        raise QueryError(f"parameter '{param}' names a field twice", param)
    return tuple(keys)


def _parse_filter_expression(raw: dict[str, str], schema: TableSchema,
                             has_geometry: bool) -> dict[str, Any] | None:
    """OGC Part 3 ``filter`` (CQL2) with its ``filter-lang`` and ``filter-crs``; those
    qualifiers alone qualify nothing and are ignored, as ``bbox-crs`` without ``bbox``."""
    if "filter" not in raw:
        if "filter-crs" in raw:  # its value is still checked: the document lists the CRSs
            crs_by_uri(raw["filter-crs"], "filter-crs")
        check_language(raw.get("filter-lang", "cql2-text"))
        return None
    filter_crs = crs_by_uri(raw["filter-crs"], "filter-crs") if "filter-crs" in raw \
        else CRS84_CRS
    return parse_cql2(raw["filter"], raw.get("filter-lang", "cql2-text"), schema,
                      has_geometry=has_geometry, to_crs84=to_crs84(filter_crs))


# -- geometry -------------------------------------------------------------------------------


def _require_geometry(has_geometry: bool, param: str) -> None:
    if not has_geometry:
        raise QueryError(f"parameter '{param}' needs a dataset with geometry; this one has none",
                         param)


def _parse_bbox(raw: dict[str, str], has_geometry: bool) -> tuple[float, float, float, float] \
        | None:
    """``bbox`` in its ``bbox-crs``. A ``bbox-crs`` alone qualifies nothing and is ignored,
    as a client filling a URL template with the qualifier always and the box sometimes
    expects (OpenAPI cannot relate the two parameters, so the document cannot forbid it)."""
    if "bbox" not in raw:
        if "bbox-crs" in raw:  # its value is still checked: the document lists the CRSs
            crs_by_uri(raw["bbox-crs"], "bbox-crs")
        return None
    _require_geometry(has_geometry, "bbox")
    crs = crs_by_uri(raw["bbox-crs"], "bbox-crs") if "bbox-crs" in raw else CRS84_CRS
    return parse_bbox(raw["bbox"], crs)


def _parse_nearness(raw: dict[str, str], has_geometry: bool, limits: PageLimits,
                    resolver: ReferenceResolver | None) -> tuple[Near | None, NearSet | None]:
    """``near`` (a point) or ``near_route``/``near_stop`` (stops of a GTFS dataset), with the
    ``radius`` they share."""
    # An empty reference (a form field left blank) is no reference, as an empty `cursor` is
    # the first page: the schema's plain string allows it, and a client means "none".
    references = [p for p in ("near_route", "near_stop") if raw.get(p)]
    radius = parse_radius(raw["radius"], limits.max_radius_m) if "radius" in raw else None
    if not references:
        if "near" not in raw:
            # A `radius` alone qualifies nothing and is ignored, as a lone `bbox-crs` is
            # (OpenAPI cannot relate two parameters, so the documents allow it alone); its
            # value was still checked above.
            return None, None
        _require_geometry(has_geometry, "near")
        lat, lon = _parse_point(raw["near"])
        return Near(lat, lon, radius), None
    param = references[-1]
    if len(references) > 1:
        raise QueryError("give one of 'near_route' or 'near_stop', once", param)
    if "near" in raw:
        raise QueryError("use either 'near' or 'near_route'/'near_stop', not both", "near")
    reference = parse_near_reference(raw[param], param)
    if radius is None:
        raise QueryError(f"parameter '{param}' needs 'radius' (metres)", "radius")
    _require_geometry(has_geometry, param)
    if resolver is None:
        raise QueryError(f"parameter '{param}' is not available on this endpoint", param)
    return None, resolver.near_set(reference, radius)


# What `near_route` and `near_stop` hold: `<dataset>[@[v]<version>]:<id>`, the version a
# number without leading zeros of at most nine digits (as VERSION_PATTERN). Written so that
# Python and ECMA-262 (JSON Schema's patterns, hub.api.v1) read it alike; no NUL anywhere.
NEAR_REFERENCE_PATTERN = r"^([^:@\x00]+)(@v?([1-9][0-9]{0,8}))?:([^\x00]+)$"
_NEAR_REFERENCE = re.compile(NEAR_REFERENCE_PATTERN)


def parse_near_reference(raw: str, param: str) -> NearReference:
    """``<dataset>[@<version>]:<id>`` of ``near_route``/``near_stop``."""
    found = _NEAR_REFERENCE.fullmatch(raw)
    if found is None:
        raise QueryError(
            f"parameter '{param}' must be <dataset>[@<version>]:<id>, e.g. "
            f"bus-routes-muroran:100310 or bus-routes-muroran@1:100310 (a version is a "
            f"positive integer); got {raw!r}", param)
    dataset_id, _, version, key = found.groups()
    return NearReference(param, dataset_id, int(version) if version else None, key)


def _parse_point(raw: str) -> tuple[float, float]:
    parts = raw.split(",")
    if len(parts) != 2:
        raise QueryError("parameter 'near' must be lat,lon (two numbers)", "near")
    lat, lon = (number_in(p, "a coordinate", "near") for p in parts)
    if not -90 <= lat <= 90:
        raise QueryError(
            f"latitude {lat} in 'near' is outside -90..90 (near is lat,lon: latitude first)",
            "near",
        )
    if not -180 <= lon <= 180:
        raise QueryError(f"longitude {lon} in 'near' is outside -180..180", "near")
    return lat, lon


def parse_radius(raw: str, max_radius_m: float) -> float:
    """A search radius in metres, more than 0 and at most ``max_radius_m``."""
    radius = number_in(raw, "the radius", "radius")
    if not 0 < radius <= max_radius_m:
        raise QueryError(
            f"parameter 'radius' must be more than 0 and at most {max_radius_m:g} metres, "
            f"not {radius:g}",
            "radius",
        )
    return radius


def _parse_geometry(raw: str, param: str, has_geometry: bool, *,
                    polygonal: bool) -> BaseGeometry:
    """GeoJSON geometry or WKT (EPSG:4326, lon lat) -> a valid shapely geometry."""
    _require_geometry(has_geometry, param)
    text = raw.strip()
    try:
        if text.startswith("{"):
            geometry = shape(json.loads(text))
        else:
            geometry = shapely.from_wkt(text)
    except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.GEOSException) as exc:
        raise QueryError(
            f"parameter '{param}' is neither a GeoJSON geometry nor WKT: {exc}", param
        ) from None
    if geometry is None:
        raise QueryError(f"parameter '{param}' is an empty geometry", param)
    problem = vertex_problem(geometry)
    if problem:
        raise QueryError(f"parameter '{param}' {problem}", param)
    if polygonal and geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise QueryError(
            f"parameter '{param}' must be a Polygon or MultiPolygon, not {geometry.geom_type}",
            param,
        )
    problem = placement_problem(geometry, coordinates_hint="coordinates are lon lat, EPSG:4326")
    if problem:
        raise QueryError(f"parameter '{param}' {problem}", param)
    return geometry


# -- cursor ---------------------------------------------------------------------------------


def _sort_signature(query: FeatureQuery) -> str:
    return ",".join(("-" if k.descending else "") + k.field for k in query.sort)


def encode_cursor(values: tuple[Any, ...], fid: int, query: FeatureQuery) -> str:
    """Opaque keyset cursor; it records the sort so it cannot be replayed on another one."""
    encoded = [v.isoformat() if isinstance(v, date | datetime | time) else v for v in values]
    payload = json.dumps({"s": _sort_signature(query), "v": encoded, "f": fid},
                         separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(raw: str, query: FeatureQuery, schema: TableSchema) -> Cursor:
    """The keyset position of ``raw``, its values typed again as their sort fields (JSON
    carries dates and times as ISO text)."""
    try:
        padded = raw + "=" * (-len(raw) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        signature, values, fid = data["s"], data["v"], data["f"]
        if not isinstance(values, list) or not isinstance(fid, int):
            raise ValueError
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise QueryError(
            "parameter 'cursor' is malformed; use the 'next' link of a previous page", "cursor"
        ) from None
    if signature != _sort_signature(query) or len(values) != len(query.sort):
        raise QueryError(
            "parameter 'cursor' belongs to a query with a different sort; use the 'next' link "
            "of a previous page of this same query",
            "cursor",
        )
    try:
        typed = tuple(_cursor_value(schema, key.field, value)
                      for key, value in zip(query.sort, values, strict=True))
    except ValueError:
        raise QueryError("parameter 'cursor' is malformed; use the 'next' link of a previous "
                         "page", "cursor") from None
    return Cursor(typed, fid)


def _cursor_value(schema: TableSchema, name: str, value: Any) -> Any:
    if isinstance(value, str) and name in schema.field_names:
        field_type = schema.field(name).type
        if field_type in ("date", "datetime", "time"):
            return parse_value(field_type, value)
    return value

"""OGC API - Features query parameters -> the same :class:`FeatureQuery` as ``/v1``.

Part 1 (``bbox``, ``datetime``, ``limit``, ``field=value``), Part 2 (``crs``, ``bbox-crs``)
and Part 3 (``filter``, ``filter-lang``, ``filter-crs``). Property filters and the cursor are
handed to :func:`hub.query.params.parse_records_query`, so names are checked and values typed
exactly as in ``/v1``; what is OGC-specific is only translated here. Query values (bbox,
filter geometries) are reprojected into CRS84, never the stored column.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import lru_cache

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

from hub.catalog import PublishedVersion, SchemaField, TableSchema
from hub.query.cql2 import parse_cql2
from hub.query.model import FeatureQuery, OutputCrs, PropertyFilter, QueryError
from hub.query.params import parse_records_query

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@dataclass(frozen=True)
class SupportedCrs:
    """A CRS the OGC surface can read query values in and write geometries in."""

    uri: str
    srid: int
    lat_lon: bool  # first axis is latitude (EPSG:4326 and JGD2011 by their definitions)
    projected: bool
    title: str

    @property
    def output(self) -> OutputCrs | None:
        if self.uri == CRS84:
            return None  # as stored: no transform at all
        return OutputCrs(self.uri, self.srid, self.lat_lon, 2 if self.projected else 7)


SUPPORTED_CRS: tuple[SupportedCrs, ...] = (
    SupportedCrs(CRS84, 4326, False, False, "WGS 84 longitude/latitude (CRS84)"),
    SupportedCrs("http://www.opengis.net/def/crs/EPSG/0/4326", 4326, True, False,
                 "WGS 84 latitude/longitude (EPSG:4326)"),
    SupportedCrs("http://www.opengis.net/def/crs/EPSG/0/6668", 6668, True, False,
                 "JGD2011 latitude/longitude (EPSG:6668)"),
    SupportedCrs("http://www.opengis.net/def/crs/EPSG/0/3857", 3857, False, True,
                 "WGS 84 / Pseudo-Mercator (EPSG:3857)"),
)
_BY_URI = {c.uri: c for c in SUPPORTED_CRS}
# Lenient spellings clients use: EPSG:4326, OGC:CRS84, https://, [EPSG:4326] safe CURIEs.
_ALIASES = {
    "ogc:crs84": CRS84, "crs84": CRS84, "urn:ogc:def:crs:ogc:1.3:crs84": CRS84,
    **{f"epsg:{c.srid}": c.uri for c in SUPPORTED_CRS if c.uri != CRS84},
    **{f"urn:ogc:def:crs:epsg::{c.srid}": c.uri for c in SUPPORTED_CRS if c.uri != CRS84},
}

OGC_PARAMETERS = frozenset({"f", "limit", "bbox", "bbox-crs", "crs", "datetime", "filter",
                            "filter-lang", "filter-crs"})


def crs_by_uri(raw: str, parameter: str) -> SupportedCrs:
    """The supported CRS named by ``raw`` (URI or a common short form) or a 400."""
    text = raw.strip().strip("[]")
    uri = text.replace("https://", "http://")
    uri = _ALIASES.get(uri.lower(), uri)
    if uri in _BY_URI:
        return _BY_URI[uri]
    raise QueryError(
        f"unsupported {parameter} {raw!r}; supported: {', '.join(_BY_URI)}", parameter
    )


@lru_cache(maxsize=16)
def _transformer(uri: str) -> Transformer:
    source = CRS.from_user_input("OGC:CRS84" if uri == CRS84 else f"EPSG:{_BY_URI[uri].srid}")
    # Authority axis order on both sides: EPSG:4326 input is (lat, lon), CRS84 is (lon, lat).
    return Transformer.from_crs(source, CRS.from_user_input("OGC:CRS84"))


def to_crs84(crs: SupportedCrs) -> Callable[[BaseGeometry], BaseGeometry] | None:
    """A function reprojecting a geometry given in ``crs`` into CRS84 (None: no-op)."""
    if crs.uri == CRS84:
        return None
    transformer = _transformer(crs.uri)

    def apply(geometry: BaseGeometry) -> BaseGeometry:
        def move(coords: np.ndarray) -> np.ndarray:
            x, y = transformer.transform(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(geometry, move)

    return apply


def temporal_field(schema: TableSchema) -> SchemaField | None:
    """The field ``datetime`` filters on: the schema's first datetime field, else its first
    date field (documented per collection in ``/queryables`` as ``x-ogc-role``)."""
    for wanted in ("datetime", "date"):
        for f in schema.fields:
            if f.type == wanted:
                return f
    return None


@dataclass(frozen=True)
class ItemsRequest:
    query: FeatureQuery
    crs: SupportedCrs  # what the geometries are written in (Content-Crs)


def parse_items_query(
    items: Iterable[tuple[str, str]], version: PublishedVersion, *,
    default_limit: int, max_limit: int, max_radius_m: float,
) -> ItemsRequest:
    """Parse an ``/items`` query string; raise :class:`QueryError` naming the parameter."""
    pairs = list(items)
    single: dict[str, str] = {}
    rest: list[tuple[str, str]] = []
    for key, value in pairs:
        if key in OGC_PARAMETERS:
            if key in single:
                raise QueryError(f"parameter '{key}' given more than once", key)
            single[key] = value
        else:
            rest.append((key, value))
    if single.get("f", "json") not in ("json", "geojson"):
        raise QueryError(f"unknown format f={single['f']!r}; formats are: json, geojson", "f")

    limit = _parse_limit(single.get("limit"), default_limit, max_limit)
    query = parse_records_query(
        [*rest, ("limit", str(limit))], version.schema, has_geometry=version.has_geometry,
        default_limit=default_limit, max_limit=max_limit, max_radius_m=max_radius_m,
    )
    crs = crs_by_uri(single["crs"], "crs") if "crs" in single else _BY_URI[CRS84]
    changes: dict[str, object] = {"output_crs": crs.output}
    if "bbox" in single:
        bbox_crs = crs_by_uri(single["bbox-crs"], "bbox-crs") if "bbox-crs" in single \
            else _BY_URI[CRS84]
        changes["bbox"] = parse_bbox(single["bbox"], bbox_crs, version.has_geometry)
    elif "bbox-crs" in single:
        raise QueryError("parameter 'bbox-crs' needs 'bbox'", "bbox-crs")
    if "datetime" in single:
        changes["filters"] = query.filters + datetime_filters(single["datetime"], version.schema)
    if "filter" in single:
        filter_crs = crs_by_uri(single["filter-crs"], "filter-crs") if "filter-crs" in single \
            else _BY_URI[CRS84]
        lang = single.get("filter-lang", "cql2-text")
        changes["cql2"] = parse_cql2(single["filter"], lang, version.schema,
                                     has_geometry=version.has_geometry,
                                     to_crs84=to_crs84(filter_crs))
    elif "filter-lang" in single or "filter-crs" in single:
        raise QueryError("parameters 'filter-lang' and 'filter-crs' need 'filter'", "filter")
    return ItemsRequest(replace(query, **changes), crs)  # type: ignore[arg-type]


def _parse_limit(raw: str | None, default: int, maximum: int) -> int:
    """OGC clients may ask for more than the server gives: clamp to the maximum (Part 1
    allows it) rather than refuse, so GDAL/QGIS paging with large pages keeps working."""
    if raw is None:
        return default
    try:
        limit = int(raw)
    except ValueError:
        raise QueryError(f"parameter 'limit' must be an integer, not {raw!r}", "limit") from None
    if limit < 1:
        raise QueryError(f"parameter 'limit' must be at least 1, not {limit}", "limit")
    return min(limit, maximum)


def parse_bbox(raw: str, crs: SupportedCrs, has_geometry: bool) -> tuple[float, ...]:
    """``bbox`` in ``crs`` axis order (4 or 6 numbers) -> (minlon, minlat, maxlon, maxlat)."""
    if not has_geometry:
        raise QueryError("parameter 'bbox' needs a collection with geometry", "bbox")
    parts = raw.split(",")
    if len(parts) not in (4, 6):
        raise QueryError(f"parameter 'bbox' must have 4 or 6 numbers, got {len(parts)}", "bbox")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise QueryError(f"parameter 'bbox' has a value that is not a number: {raw!r}",
                         "bbox") from None
    if not all(math.isfinite(v) for v in values):
        raise QueryError("parameter 'bbox' must be finite numbers", "bbox")
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    a, b, c, d = values
    if a > c or b > d:
        raise QueryError("parameter 'bbox' lower corner must be below and left of the upper "
                         "corner (antimeridian-crossing boxes are not supported)", "bbox")
    if crs.uri != CRS84:
        # Mercator and lat/lon axes are separable, so the transformed corners bound exactly.
        a, b, c, d = _transformer(crs.uri).transform_bounds(a, b, c, d)
        if not all(math.isfinite(v) for v in (a, b, c, d)):
            raise QueryError("parameter 'bbox' lies outside the area of bbox-crs", "bbox")
    minlon, minlat = max(a, -180.0), max(b, -90.0)
    maxlon, maxlat = min(c, 180.0), min(d, 90.0)
    if minlon > maxlon or minlat > maxlat:
        raise QueryError("parameter 'bbox' lies outside the world (check the axis order of "
                         "bbox-crs: EPSG:4326 is lat,lon)", "bbox")
    return (minlon, minlat, maxlon, maxlat)


def _instant(text: str, field: SchemaField) -> date | datetime | None:
    if text in ("..", ""):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(
            f"parameter 'datetime' has an invalid RFC 3339 date or timestamp: {text!r}",
            "datetime",
        ) from None
    if field.type == "date":
        return moment.date()
    return moment


def datetime_filters(raw: str, schema: TableSchema) -> tuple[PropertyFilter, ...]:
    """``datetime`` (instant, ``start/end``, open ``../end`` or ``start/..``) as property
    filters on the schema's temporal field (:func:`temporal_field`)."""
    field = temporal_field(schema)
    if field is None:
        raise QueryError("parameter 'datetime' needs a collection with a date or datetime "
                         "property; this one has none", "datetime")
    if "/" not in raw:
        instant = _instant(raw, field)
        if instant is None:
            raise QueryError("parameter 'datetime' is empty", "datetime")
        if field.type == "datetime" and len(raw) <= 10:  # a whole day of a datetime field
            day = instant.date() if isinstance(instant, datetime) else instant
            return (PropertyFilter(field.name, "gte", datetime.combine(day, datetime.min.time())),
                    PropertyFilter(field.name, "lte", datetime.combine(day, datetime.max.time())))
        return (PropertyFilter(field.name, "exact", instant),)
    start_text, _, end_text = raw.partition("/")
    start, end = _instant(start_text, field), _instant(end_text, field)
    if start is None and end is None:
        return ()
    if start is not None and end is not None and start > end:  # type: ignore[operator]
        raise QueryError("parameter 'datetime' starts after it ends", "datetime")
    filters = []
    if start is not None:
        filters.append(PropertyFilter(field.name, "gte", start))
    if end is not None:
        filters.append(PropertyFilter(field.name, "lte", end))
    return tuple(filters)


@dataclass(frozen=True)
class CollectionRef:
    """What a collection id names: ``{dataset}[.{layer}][@v{n}]``.

    ``kobe-aed`` is the current version's main layer, ``bus-routes.stops`` another layer,
    ``kobe-aed@v1`` a pinned (immutable) version. Dataset ids cannot hold ``.`` or ``@``, so
    the split is unambiguous; both characters are URL-path safe, which GDAL and QGIS need.
    """

    dataset_id: str
    layer: str | None
    version: int | None


def parse_collection_id(raw: str) -> CollectionRef:
    """Parse a collection id; :class:`LookupError` (404) when it cannot name anything."""
    name, at, pin = raw.partition("@")
    version = None
    if at:
        if not (pin.startswith("v") and pin[1:].isdigit() and 0 < int(pin[1:]) < 10**9):
            raise LookupError(raw)
        version = int(pin[1:])
    dataset_id, dot, layer = name.partition(".")
    if not dataset_id or (dot and not layer):
        raise LookupError(raw)
    return CollectionRef(dataset_id, layer or None, version)


def collection_id(dataset_id: str, layer: str | None, main_layer: str,
                  version: int | None = None) -> str:
    """The inverse of :func:`parse_collection_id` (the main layer has no suffix)."""
    name = dataset_id if layer in (None, main_layer) else f"{dataset_id}.{layer}"
    return name if version is None else f"{name}@v{version}"

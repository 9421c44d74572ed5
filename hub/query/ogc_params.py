"""What OGC API - Features adds to the records parameters: CRSs (Part 2), ``bbox`` in any
supported CRS, ``datetime`` intervals (Part 1) and collection ids.

:func:`hub.query.params.parse_records_query` reads these for every surface (``/v1``'s
``bbox`` is CRS84, the default here). Query values (bbox, filter geometries) are reprojected
into CRS84, never the stored column.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

from hub.catalog import SchemaField, TableSchema
from hub.query.model import OutputCrs, PropertyFilter, QueryError
from hub.query.values import parse_value

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
CRS84_CRS = _BY_URI[CRS84]
# Lenient spellings clients use: EPSG:4326, OGC:CRS84, https://, [EPSG:4326] safe CURIEs.
_ALIASES = {
    "ogc:crs84": CRS84, "crs84": CRS84, "urn:ogc:def:crs:ogc:1.3:crs84": CRS84,
    **{f"epsg:{c.srid}": c.uri for c in SUPPORTED_CRS if c.uri != CRS84},
    **{f"urn:ogc:def:crs:epsg::{c.srid}": c.uri for c in SUPPORTED_CRS if c.uri != CRS84},
}


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


# A number as query parameters write one (`-1`, `0.5`, `.5`, `1e-5`): the form the documents'
# patterns state (hub.api.v1), so `float`'s other spellings (" 1", "1_000", other scripts'
# digits) are refused as the documents refuse them.
NUMBER = r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?"
_NUMBER = re.compile(NUMBER)


def number_in(text: str, what: str, param: str) -> float:
    """A finite number written in parameter ``param``, or a 400 naming it."""
    if _NUMBER.fullmatch(text) is None:
        raise QueryError(f"{what} in '{param}' is not a number: {text!r}", param)
    value = float(text)
    if not math.isfinite(value):
        raise QueryError(f"{what} in '{param}' is not a finite number", param)
    return value


# How many numbers a bbox holds: two corners, or two corners with heights.
BBOX_LENGTHS = (4, 6)


def parse_bbox(raw: str, crs: SupportedCrs) -> tuple[float, float, float, float]:
    """``bbox`` in ``crs`` axis order (4 numbers, or 6 with heights) -> (minlon, minlat,
    maxlon, maxlat). A box reaching past the world is cut to it (map clients zoomed out send
    such boxes); one wholly outside it is refused."""
    parts = raw.split(",")
    if len(parts) not in BBOX_LENGTHS:
        raise QueryError(
            "parameter 'bbox' must be minLon,minLat,maxLon,maxLat (4 numbers, or 6 with "
            f"heights; in the axis order of bbox-crs), got {len(parts)}", "bbox")
    values = [number_in(p, "a coordinate", "bbox") for p in parts]
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    a, b, c, d = values
    if a > c:
        raise QueryError("bbox minLon is greater than maxLon (antimeridian-crossing boxes are "
                         "not supported; check the axis order of bbox-crs)", "bbox")
    if b > d:
        raise QueryError("bbox minLat is greater than maxLat (check the axis order of "
                         "bbox-crs: EPSG:4326 is lat,lon)", "bbox")
    if crs.uri != CRS84:
        # Mercator and lat/lon axes are separable, so the transformed corners bound exactly.
        a, b, c, d = _transformer(crs.uri).transform_bounds(a, b, c, d)
        if not all(math.isfinite(v) for v in (a, b, c, d)):
            raise QueryError("parameter 'bbox' lies outside the area of bbox-crs", "bbox")
    if b > 90 or d < -90:
        raise QueryError("bbox latitudes lie outside -90..90 (order is minLon,minLat,"
                         "maxLon,maxLat)", "bbox")
    if a > 180 or c < -180:
        raise QueryError("bbox longitudes lie outside -180..180", "bbox")
    return (max(a, -180.0), max(b, -90.0), min(c, 180.0), min(d, 90.0))


def _instant(text: str, field: SchemaField) -> date | datetime | None:
    if text in ("..", ""):
        return None
    try:
        moment = parse_value("datetime", text)
    except ValueError:
        raise QueryError(
            f"parameter 'datetime' has an invalid RFC 3339 date or timestamp: {text!r}",
            "datetime",
        ) from None
    if field.type == "date":
        return moment.date()
    return moment


def _comparable(start: date | datetime, end: date | datetime) -> bool:
    """Whether Python can order two ends: a day without a time (read at midnight, without an
    offset) and a time with an offset cannot be; the database still applies both bounds."""
    if isinstance(start, datetime) and isinstance(end, datetime):
        return (start.tzinfo is None) == (end.tzinfo is None)
    return True


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
    if start is not None and end is not None and _comparable(start, end) \
            and start > end:  # type: ignore[operator]
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

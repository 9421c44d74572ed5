"""HTTP query parameters -> :class:`FeatureQuery`, checking every name and value.

Property filters follow datasette's ``field__op=value`` convention (``category=cafe``,
``floors__gte=2``, ``ward__in=中央区,東区``, ``phone__isnull=true``) because it needs no
escaping, reads well in a URL and leaves plain ``field=value`` for the common case. Every
field name is checked against the version's schema here, so nothing unknown reaches SQL.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any

import shapely
from shapely.geometry import shape

from hub.catalog import SchemaField, TableSchema
from hub.query.model import (
    OPERATORS,
    Cursor,
    FeatureQuery,
    Near,
    NearSet,
    PropertyFilter,
    QueryError,
    SortKey,
)
from hub.textfold import fold_query

RESERVED = frozenset(
    {"q", "bbox", "near", "radius", "within", "intersects", "sort", "fields", "limit",
     "cursor", "f", "count", "near_route", "near_stop"}
)
MAX_POLYGON_VERTICES = 10_000
TRUE_WORDS = {"true", "1", "yes", "t"}
FALSE_WORDS = {"false", "0", "no", "f"}
ORDERABLE_OPS = {"lt", "lte", "gt", "gte"}
TEXT_OPS = {"contains", "startswith"}


def parse_records_query(
    items: Iterable[tuple[str, str]],
    schema: TableSchema,
    *,
    has_geometry: bool,
    default_limit: int,
    max_limit: int,
    max_radius_m: float,
    near_set: NearSet | None = None,
) -> FeatureQuery:
    """Parse query-string pairs; raise :class:`QueryError` naming the parameter on any fault.

    ``near_set`` is a reference set the caller already resolved from ``near_route`` /
    ``near_stop`` (it needs the database); its radius came from ``radius``.
    """
    pairs = list(items)
    for key, value in pairs:
        if "\x00" in key or "\x00" in value:
            raise QueryError(f"parameter {key!r} contains a NUL character", key)
    single: dict[str, str] = {}
    filters: list[PropertyFilter] = []
    for key, value in pairs:
        if key in RESERVED:
            if key in single:
                raise QueryError(f"parameter '{key}' given more than once", key)
            single[key] = value
            continue
        filters.append(_parse_filter(key, value, schema))

    if near_set is not None:
        if "near" in single:
            raise QueryError("use either 'near' or 'near_route'/'near_stop', not both", "near")
        near = None
    else:
        near = _parse_near(single, max_radius_m, has_geometry)
    query = FeatureQuery(
        filters=tuple(filters),
        q=_parse_q(single.get("q")),
        bbox=_parse_bbox(single["bbox"], has_geometry) if "bbox" in single else None,
        near=near,
        within_wkt=_parse_polygon(single["within"], "within", has_geometry)
        if "within" in single else None,
        sort=_parse_sort(single.get("sort"), schema, near or near_set),
        fields=_parse_fields(single.get("fields"), schema),
        limit=_parse_limit(single.get("limit"), default_limit, max_limit),
        extra={"intersects": _parse_polygon(single["intersects"], "intersects", has_geometry,
                                            polygonal=False)}
        if "intersects" in single else {},
        near_set=near_set,
    )
    if "cursor" in single:
        query = FeatureQuery(**{**query.__dict__, "cursor": decode_cursor(single["cursor"], query)})
    return query


# -- property filters ------------------------------------------------------------------------


def _parse_filter(key: str, raw: str, schema: TableSchema) -> PropertyFilter:
    name, _, op = key.partition("__")
    op = op or "exact"
    try:
        field = schema.field(name)
    except KeyError:
        raise QueryError(
            f"unknown field '{name}' in parameter '{key}'; filterable fields are: "
            f"{', '.join(schema.field_names)}",
            key,
        ) from None
    if op not in OPERATORS:
        raise QueryError(
            f"unknown operator '{op}' in parameter '{key}'; operators are: {', '.join(OPERATORS)}",
            key,
        )
    if op in TEXT_OPS and field.type != "string":
        raise QueryError(f"operator '{op}' needs a text field; '{name}' is {field.type}", key)
    if op in ORDERABLE_OPS and field.type == "boolean":
        raise QueryError(f"operator '{op}' does not apply to boolean field '{name}'", key)
    if op == "isnull":
        return PropertyFilter(name, "isnull", _parse_bool(raw, key))
    if op in ("in", "notin"):
        parts = [p for p in raw.split(",")]
        if not raw or not parts:
            raise QueryError(f"parameter '{key}' needs a comma-separated list of values", key)
        if len(parts) > 500:
            raise QueryError(f"parameter '{key}' lists more than 500 values", key)
        return PropertyFilter(name, op, tuple(_convert(field, p, key) for p in parts))
    return PropertyFilter(name, op, _convert(field, raw, key))  # type: ignore[arg-type]


def _convert(field: SchemaField, raw: str, key: str) -> Any:
    """Convert a filter value to the field's type; text is NFKC-normalised like stored data."""
    value = unicodedata.normalize("NFKC", raw).strip()
    try:
        match field.type:
            case "string":
                return value
            case "integer" | "year":
                number = int(value)
                if not -(2**63) <= number < 2**63:
                    raise ValueError("out of range")
                return number
            case "number":
                number = float(value)
                if not math.isfinite(number):
                    raise ValueError("not finite")
                return number
            case "boolean":
                return _parse_bool(value, key)
            case "date":
                return date.fromisoformat(value)
            case "datetime":
                return datetime.fromisoformat(value)
            case "time":
                return time.fromisoformat(value)
    except ValueError:
        pass
    examples = {"integer": "42", "year": "2024", "number": "3.5", "boolean": "true",
                "date": "2024-04-01", "datetime": "2024-04-01T09:00:00+09:00", "time": "09:30"}
    raise QueryError(
        f"value {raw!r} of parameter '{key}' is not a valid {field.type} "
        f"(example: {examples.get(field.type, 'text')})",
        key,
    )


def record_key(schema: TableSchema, raw: str) -> tuple[str, Any]:
    """The column and typed value that name one record: its single-column primary key, else
    its row number ``_fid`` (the same id GeoJSON features carry).

    Raises :class:`LookupError` when no record can have this id (a value of the wrong type),
    which callers answer with 404 rather than 400: an id is a name, not a query.
    """
    if len(schema.primary_key) == 1:
        name = schema.primary_key[0]
        try:
            return name, _convert(schema.field(name), raw, name)
        except QueryError:
            raise LookupError(raw) from None
    if not raw.isdigit() or len(raw) > 18:
        raise LookupError(raw)
    return "_fid", int(raw)


def _parse_bool(raw: str, key: str) -> bool:
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise QueryError(f"parameter '{key}' must be true or false, not {raw!r}", key)


# -- text, paging, projection -----------------------------------------------------------------


def _parse_q(raw: str | None) -> str | None:
    """``q`` folded by the rule that folded the stored ``_search`` text (hub.textfold)."""
    if raw is None:
        return None
    if len(raw.strip()) > 200:
        raise QueryError("parameter 'q' is longer than 200 characters", "q")
    return fold_query(raw).strip() or None


def _parse_limit(raw: str | None, default: int, maximum: int) -> int:
    if raw is None:
        return default
    try:
        limit = int(raw)
    except ValueError:
        raise QueryError(f"parameter 'limit' must be an integer, not {raw!r}", "limit") from None
    if not 1 <= limit <= maximum:
        raise QueryError(f"parameter 'limit' must be between 1 and {maximum}, not {limit}", "limit")
    return limit


def _parse_fields(raw: str | None, schema: TableSchema) -> tuple[str, ...] | None:
    if raw is None or raw.strip() == "":
        return None
    names = tuple(n.strip() for n in raw.split(",") if n.strip())
    unknown = [n for n in names if n not in schema.field_names]
    if unknown:
        raise QueryError(
            f"parameter 'fields' names unknown field(s) {', '.join(unknown)}; "
            f"fields are: {', '.join(schema.field_names)}",
            "fields",
        )
    return names


def _parse_sort(raw: str | None, schema: TableSchema, near: object | None) -> tuple[SortKey, ...]:
    if raw is None or raw.strip() == "":
        return (SortKey("distance_m"),) if near else ()
    keys: list[SortKey] = []
    for part in raw.split(","):
        part = part.strip()
        descending = part.startswith("-")
        name = part.lstrip("-+")
        if name == "distance_m":
            if near is None:
                raise QueryError("sorting by 'distance_m' needs 'near'", "sort")
        elif name not in schema.field_names:
            raise QueryError(
                f"parameter 'sort' names unknown field '{name}'; sortable fields are: "
                f"{', '.join(schema.field_names)}" + (", distance_m" if near else ""),
                "sort",
            )
        keys.append(SortKey(name, descending))
    if len({k.field for k in keys}) != len(keys):
        raise QueryError("parameter 'sort' names a field twice", "sort")
    return tuple(keys)


# -- geometry -------------------------------------------------------------------------------


def _number(text: str, what: str, param: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise QueryError(f"{what} in '{param}' is not a number: {text!r}", param) from None
    if not math.isfinite(value):
        raise QueryError(f"{what} in '{param}' is not a finite number", param)
    return value


def _require_geometry(has_geometry: bool, param: str) -> None:
    if not has_geometry:
        raise QueryError(f"parameter '{param}' needs a dataset with geometry; this one has none",
                         param)


def _parse_bbox(raw: str, has_geometry: bool) -> tuple[float, float, float, float]:
    _require_geometry(has_geometry, "bbox")
    parts = raw.split(",")
    if len(parts) != 4:
        raise QueryError(
            f"parameter 'bbox' must be minLon,minLat,maxLon,maxLat (4 numbers), got {len(parts)}",
            "bbox",
        )
    minlon, minlat, maxlon, maxlat = (_number(p, "a coordinate", "bbox") for p in parts)
    if not (-180 <= minlon <= 180 and -180 <= maxlon <= 180):
        raise QueryError("bbox longitudes must be between -180 and 180", "bbox")
    if not (-90 <= minlat <= 90 and -90 <= maxlat <= 90):
        raise QueryError("bbox latitudes must be between -90 and 90 (order is minLon,minLat,"
                         "maxLon,maxLat)", "bbox")
    if minlat > maxlat:
        raise QueryError("bbox minLat is greater than maxLat", "bbox")
    if minlon > maxlon:
        raise QueryError("bbox minLon is greater than maxLon (antimeridian-crossing boxes are "
                         "not supported)", "bbox")
    return (minlon, minlat, maxlon, maxlat)


def _parse_near(single: dict[str, str], max_radius_m: float, has_geometry: bool) -> Near | None:
    if "near" not in single:
        if "radius" in single:
            raise QueryError("parameter 'radius' needs 'near=lat,lon'", "radius")
        return None
    _require_geometry(has_geometry, "near")
    parts = single["near"].split(",")
    if len(parts) != 2:
        raise QueryError("parameter 'near' must be lat,lon (two numbers)", "near")
    lat, lon = (_number(p, "a coordinate", "near") for p in parts)
    if not -90 <= lat <= 90:
        raise QueryError(
            f"latitude {lat} in 'near' is outside -90..90 (near is lat,lon: latitude first)",
            "near",
        )
    if not -180 <= lon <= 180:
        raise QueryError(f"longitude {lon} in 'near' is outside -180..180", "near")
    radius = parse_radius(single["radius"], max_radius_m) if "radius" in single else None
    return Near(lat, lon, radius)


def parse_radius(raw: str, max_radius_m: float) -> float:
    """A search radius in metres, more than 0 and at most ``max_radius_m``."""
    radius = _number(raw, "the radius", "radius")
    if not 0 < radius <= max_radius_m:
        raise QueryError(
            f"parameter 'radius' must be more than 0 and at most {max_radius_m:g} metres, "
            f"not {radius:g}",
            "radius",
        )
    return radius


def _parse_polygon(raw: str, param: str, has_geometry: bool, *, polygonal: bool = True) -> str:
    """Accept GeoJSON geometry or WKT (EPSG:4326, lon lat); return valid WKT."""
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
    if geometry is None or geometry.is_empty:
        raise QueryError(f"parameter '{param}' is an empty geometry", param)
    if polygonal and geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise QueryError(
            f"parameter '{param}' must be a Polygon or MultiPolygon, not {geometry.geom_type}",
            param,
        )
    if shapely.get_num_coordinates(geometry) > MAX_POLYGON_VERTICES:
        raise QueryError(f"parameter '{param}' has more than {MAX_POLYGON_VERTICES} vertices",
                         param)
    minx, miny, maxx, maxy = geometry.bounds
    if not (minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90):
        raise QueryError(
            f"parameter '{param}' has coordinates outside lon -180..180 / lat -90..90 "
            "(coordinates are lon lat, EPSG:4326)",
            param,
        )
    if not geometry.is_valid:
        raise QueryError(
            f"parameter '{param}' is not a valid geometry: {shapely.is_valid_reason(geometry)}",
            param,
        )
    return geometry.wkt


# -- cursor ---------------------------------------------------------------------------------


def _sort_signature(query: FeatureQuery) -> str:
    return ",".join(("-" if k.descending else "") + k.field for k in query.sort)


def encode_cursor(values: tuple[Any, ...], fid: int, query: FeatureQuery) -> str:
    """Opaque keyset cursor; it records the sort so it cannot be replayed on another one."""
    encoded = [v.isoformat() if isinstance(v, date | datetime | time) else v for v in values]
    payload = json.dumps({"s": _sort_signature(query), "v": encoded, "f": fid},
                         separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(raw: str, query: FeatureQuery) -> Cursor:
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
    return Cursor(tuple(values), fid)

"""CQL2 filters (OGC API - Features Part 3) -> one SQLAlchemy predicate on a version table.

Parsing is done by the ``cql2`` package (Rust-backed, maintained with the STAC tooling): it
reads both encodings, CQL2 text and CQL2 JSON, and gives back the standard's own JSON tree,
so a single walker serves both. pygeofilter 0.4 was the other candidate; it has no
``S_DWITHIN`` in its text grammar, mis-parses CQL2-JSON ``between`` and uses ``.`` as the
single-character LIKE wildcard, so we do not use it.

Two steps, both pure:

* :func:`parse_cql2` checks the tree against the version's schema (every property must be a
  field, or ``geometry``), types every literal like the field it is compared with, reprojects
  geometry literals from ``filter-crs`` into CRS84 (the value, never the stored column) and
  returns a normalised tree. Anything it does not understand is a :class:`QueryError`
  (400 problem), never SQL.
* :func:`cql2_predicate` turns that normalised tree into SQL expressions with bound values.

Normalised tree: ``{"op": ..., "args": [...]}`` nodes whose leaves are ``{"property": name}``,
``{"wkt": text}`` (CRS84 geometry) or plain typed Python values.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import cql2 as cql2_parser
import orjson
import shapely
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, FromClause, and_, func, literal, not_, or_, true
from sqlalchemy.types import Boolean

from hub.catalog import SchemaField, TableSchema
from hub.query.geodesic import within_metres_of_geometry
from hub.query.geometry_input import placement_problem, vertex_problem
from hub.query.model import QueryError
from hub.query.values import parse_value

GEOMETRY_PROPERTY = "geometry"
GEOMETRY_ALIASES = frozenset({"geometry", "geom"})
LANGUAGES = {"cql2-text": "text", "cql2-json": "json", "cql-text": "text", "cql-json": "json"}
MAX_NODES = 1000
MAX_DEPTH = 100  # brackets (or NOTs); the parser overflows its stack at ~2000
MAX_LIST = 500
MAX_FILTER_LENGTH = 100_000

COMPARISONS = {"=", "<>", "<", "<=", ">", ">="}
LOGICAL = {"and", "or", "not"}
SPATIAL = {
    "s_intersects": "ST_Intersects",
    "s_within": "ST_Within",
    "s_contains": "ST_Contains",
    "s_disjoint": "ST_Disjoint",
    "s_equals": "ST_Equals",
    "s_touches": "ST_Touches",
    "s_crosses": "ST_Crosses",
    "s_overlaps": "ST_Overlaps",
}
# When the literal comes first, "A within geom" is "geom contains A".
SPATIAL_REVERSED = {"s_within": "s_contains", "s_contains": "s_within"}
DISTANCE_UNITS = {"meters": 1.0, "metres": 1.0, "m": 1.0, "kilometers": 1000.0,
                  "kilometres": 1000.0, "km": 1000.0}

GeometryTransform = Callable[[BaseGeometry], BaseGeometry]

PARAM = "filter"


def _error(message: str) -> QueryError:
    return QueryError(message, PARAM)


# -- parse and check -----------------------------------------------------------------------


def check_language(lang: str) -> None:
    """A ``filter-lang`` the hub reads, or a 400 naming it (also when it comes without a
    filter: the document lists the languages)."""
    if lang not in LANGUAGES:
        raise QueryError(
            f"unknown filter-lang {lang!r}; supported: cql2-text, cql2-json", "filter-lang"
        )


def parse_cql2(
    raw: str, lang: str, schema: TableSchema, *, has_geometry: bool,
    to_crs84: GeometryTransform | None = None,
) -> dict[str, Any]:
    """Parse a CQL2 text or JSON filter and check it against ``schema``.

    ``lang`` is ``cql2-text`` or ``cql2-json`` (the pre-1.0 names ``cql-text``/``cql-json``,
    which GDAL 3.6 sends, are accepted too). ``to_crs84`` reprojects geometry literals given
    in ``filter-crs``; None means they are CRS84 already.
    """
    check_language(lang)
    if len(raw) > MAX_FILTER_LENGTH:
        raise _error(f"filter is longer than {MAX_FILTER_LENGTH} characters")
    if "\x00" in raw:
        raise _error("filter contains a NUL character")
    _check_nesting(raw)
    try:
        if LANGUAGES[lang] == "text":
            parsed = cql2_parser.parse_text(raw)
        else:
            parsed = cql2_parser.parse_json(raw)
        tree = parsed.to_json()
    except (ValueError, TypeError, cql2_parser.ParseError, cql2_parser.ValidationError) as exc:
        message = " ".join(str(exc).split())
        raise _error(f"filter is not valid {lang}: {message[:300]}") from None
    checker = _Checker(schema, has_geometry, to_crs84)
    node = checker.boolean(tree)
    return node


def _check_nesting(raw: str) -> None:
    """Refuse deep nesting before the parser sees it: the Rust parser recurses per level and
    a few thousand levels overflow the thread's stack (the process dies, not the request)."""
    depth = deepest = 0
    for char in raw:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    nots = len(re.findall(r"\bnot\b", raw, flags=re.IGNORECASE))
    if deepest > MAX_DEPTH or nots > MAX_DEPTH:
        raise _error(f"filter is nested more than {MAX_DEPTH} levels deep")


class _Checker:
    """One walk over the CQL2-JSON tree: check names and operators, type the literals."""

    def __init__(self, schema: TableSchema, has_geometry: bool,
                 to_crs84: GeometryTransform | None) -> None:
        self.schema = schema
        self.has_geometry = has_geometry
        self.to_crs84 = to_crs84
        self.nodes = 0

    def _count(self) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _error(f"filter has more than {MAX_NODES} nodes")

    # A boolean expression: logical, comparison, like, between, in, isNull, spatial.
    def boolean(self, node: Any) -> Any:
        self._count()
        if isinstance(node, bool):
            return node
        if not isinstance(node, dict) or "op" not in node:
            raise _error(f"expected a condition, found {_show(node)}")
        op = str(node["op"]).lower()
        args = node.get("args")
        if not isinstance(args, list):
            raise _error(f"operator '{op}' needs an 'args' list")
        if op in ("and", "or"):
            if len(args) < 2:
                raise _error(f"'{op}' needs at least two conditions")
            return {"op": op, "args": [self.boolean(a) for a in args]}
        if op == "not":
            _arity(op, args, 1)
            return {"op": "not", "args": [self.boolean(args[0])]}
        if op in COMPARISONS:
            _arity(op, args, 2)
            left, right = self.scalar(args[0]), self.scalar(args[1])
            left, right = self._type_pair(op, left, right)
            return {"op": op, "args": [left, right]}
        if op == "like":
            _arity(op, args, 2)
            subject = self.scalar(args[0])
            pattern = self.scalar(args[1])
            if _field_of(subject, self.schema) is not None and \
                    _field_of(subject, self.schema).type != "string":  # type: ignore[union-attr]
                raise _error(f"LIKE needs a text property; '{_name(subject)}' is "
                             f"{_field_of(subject, self.schema).type}")  # type: ignore[union-attr]
            if not (isinstance(pattern, str) or _is_casei(pattern)):
                raise _error("the pattern of LIKE must be a text literal")
            return {"op": "like", "args": [subject, pattern]}
        if op == "between":
            _arity(op, args, 3)
            subject = self.scalar(args[0])
            low = self._typed_like(subject, self.scalar(args[1]), op)
            high = self._typed_like(subject, self.scalar(args[2]), op)
            return {"op": "between", "args": [subject, low, high]}
        if op == "in":
            _arity(op, args, 2)
            subject = self.scalar(args[0])
            values = args[1]
            if not isinstance(values, list) or not values:
                raise _error("IN needs a non-empty list of values")
            if len(values) > MAX_LIST:
                raise _error(f"IN lists more than {MAX_LIST} values")
            typed = [self._typed_like(subject, self.scalar(v), op) for v in values]
            return {"op": "in", "args": [subject, typed]}
        if op == "isnull":
            _arity("isNull", args, 1)
            return {"op": "isNull", "args": [self.scalar(args[0])]}
        if op in SPATIAL:
            _arity(op, args, 2)
            return self._spatial(op, args)
        if op == "s_dwithin":
            if len(args) not in (3, 4):
                raise _error("S_DWITHIN needs a geometry property, a geometry, a distance "
                             "and optionally units (meters)")
            return self._dwithin(args)
        if op in ("+", "-", "*", "/", "%", "^", "div"):
            raise _error("arithmetic expressions are not supported in filters")
        if op.startswith("t_"):
            raise _error(f"temporal operator '{op}' is not supported; compare the date "
                         "property with <, >, BETWEEN or use the 'datetime' parameter")
        if op.startswith("a_"):
            raise _error(f"array operator '{op}' is not supported")
        raise _error(f"operator '{node['op']}' is not supported; see /ogc/conformance")

    # A scalar operand: property, literal or CASEI(...).
    def scalar(self, node: Any) -> Any:
        self._count()
        if node is None or isinstance(node, bool | int | float | str):
            if isinstance(node, float) and not math.isfinite(node):
                raise _error("numbers in filters must be finite")
            if isinstance(node, str):
                return unicodedata.normalize("NFKC", node)
            return node
        if isinstance(node, dict):
            if "property" in node:
                return {"property": self._property(node["property"])}
            if "date" in node:
                return _date(node["date"])
            if "timestamp" in node:
                return _timestamp(node["timestamp"])
            if str(node.get("op", "")).lower() == "casei":
                args = node.get("args") or []
                _arity("casei", args, 1)
                inner = self.scalar(args[0])
                field = _field_of(inner, self.schema)
                if field is not None and field.type != "string":
                    raise _error(f"CASEI needs a text property; '{_name(inner)}' is {field.type}")
                if not (isinstance(inner, str) or field is not None):
                    raise _error("CASEI applies to a text property or a text literal")
                return {"op": "casei", "args": [inner]}
            if "type" in node or "bbox" in node:
                raise _error("a geometry can only be used inside a spatial operator "
                             "(S_INTERSECTS, S_WITHIN, ...)")
            if "interval" in node:
                raise _error("intervals are not supported; use BETWEEN on a date property")
            if str(node.get("op")) in ("+", "-", "*", "/", "%", "^", "div"):
                raise _error("arithmetic expressions are not supported in filters")
            if "op" in node:
                raise _error(f"'{node['op']}' cannot be used as a value here")
        raise _error(f"unexpected value {_show(node)} in filter")

    def _property(self, name: Any) -> str:
        if not isinstance(name, str):
            raise _error("property names must be text")
        if name in GEOMETRY_ALIASES:
            if not self.has_geometry:
                raise _error("this collection has no geometry to filter on")
            return GEOMETRY_PROPERTY
        if name not in self.schema.field_names:
            raise _error(
                f"unknown property '{name}' in filter; queryables are: "
                f"{', '.join(self.schema.field_names)}"
                + (f", {GEOMETRY_PROPERTY}" if self.has_geometry else "")
            )
        return name

    def _type_pair(self, op: str, left: Any, right: Any) -> tuple[Any, Any]:
        for side in (left, right):
            if _name(side) == GEOMETRY_PROPERTY:
                raise _error(f"'{op}' does not apply to the geometry; use S_INTERSECTS etc.")
        left_field, right_field = _field_of(left, self.schema), _field_of(right, self.schema)
        if left_field is not None and right_field is None:
            right = _convert(left_field, right, op)
        elif right_field is not None and left_field is None:
            left = _convert(right_field, left, op)
        if op not in ("=", "<>") and (isinstance(left, bool) or isinstance(right, bool)):
            raise _error(f"'{op}' does not apply to booleans")
        return left, right

    def _typed_like(self, subject: Any, value: Any, op: str) -> Any:
        field = _field_of(subject, self.schema)
        if _name(subject) == GEOMETRY_PROPERTY:
            raise _error(f"'{op}' does not apply to the geometry")
        return _convert(field, value, op) if field is not None else value

    def _geometry(self, node: Any) -> dict[str, str]:
        self._count()
        if not isinstance(node, dict):
            raise _error(f"expected a geometry, found {_show(node)}")
        try:
            if "bbox" in node:
                values = [float(v) for v in node["bbox"]]
                if len(values) == 6:
                    values = [values[0], values[1], values[3], values[4]]
                if len(values) != 4:
                    raise ValueError("a bbox has 4 (or 6) numbers")
                geometry: BaseGeometry = box(*values)
            else:
                geometry = shape(node)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError,
                shapely.errors.GEOSException) as exc:
            raise _error(f"invalid geometry in filter: {exc}") from None
        problem = vertex_problem(geometry)
        if problem is None:
            if self.to_crs84 is not None:
                geometry = self.to_crs84(geometry)
            problem = placement_problem(
                geometry, coordinates_hint="CQL2 geometries are lon lat (CRS84) unless "
                "filter-crs says otherwise")
        if problem:
            raise _error(f"a geometry in the filter {problem}")
        return {"wkt": geometry.wkt}

    def _is_geometry_property(self, node: Any) -> bool:
        return (isinstance(node, dict) and "property" in node
                and self._property(node["property"]) == GEOMETRY_PROPERTY)

    def _spatial(self, op: str, args: list[Any]) -> dict[str, Any]:
        first, second = args
        if self._is_geometry_property(first):
            return {"op": op, "args": [{"property": GEOMETRY_PROPERTY}, self._geometry(second)]}
        if self._is_geometry_property(second):
            flipped = SPATIAL_REVERSED.get(op, op)
            return {"op": flipped,
                    "args": [{"property": GEOMETRY_PROPERTY}, self._geometry(first)]}
        raise _error(f"{op.upper()} needs the geometry property and a geometry literal")

    def _dwithin(self, args: list[Any]) -> dict[str, Any]:
        subject, other, distance = args[0], args[1], args[2]
        if not self._is_geometry_property(subject):
            subject, other = other, subject
            if not self._is_geometry_property(subject):
                raise _error("S_DWITHIN needs the geometry property and a geometry literal")
        if isinstance(distance, bool) or not isinstance(distance, int | float) \
                or not math.isfinite(distance) or distance < 0:
            raise _error("the distance of S_DWITHIN must be a non-negative number")
        factor = 1.0
        if len(args) == 4:
            unit = args[3]
            if isinstance(unit, dict):
                unit = unit.get("property")
            if not isinstance(unit, str) or unit.lower() not in DISTANCE_UNITS:
                raise _error("S_DWITHIN units must be meters or kilometers")
            factor = DISTANCE_UNITS[unit.lower()]
        return {"op": "s_dwithin", "args": [{"property": GEOMETRY_PROPERTY},
                                            self._geometry(other), float(distance) * factor]}


def _arity(op: str, args: list[Any], n: int) -> None:
    if len(args) != n:
        raise _error(f"'{op}' takes {n} argument(s), got {len(args)}")


def _is_casei(node: Any) -> bool:
    return isinstance(node, dict) and node.get("op") == "casei"


def _name(node: Any) -> str | None:
    if isinstance(node, dict):
        if "property" in node:
            return node["property"]
        if _is_casei(node):
            return _name(node["args"][0])
    return None


def _field_of(node: Any, schema: TableSchema) -> SchemaField | None:
    name = _name(node)
    if name is None or name == GEOMETRY_PROPERTY:
        return None
    return schema.field(name)


def _show(node: Any) -> str:
    text = orjson.dumps(node, default=str).decode() if not isinstance(node, str) else repr(node)
    return text if len(text) < 80 else text[:77] + "..."


def _date(value: Any) -> date:
    try:
        return parse_value("date", str(value))
    except ValueError:
        raise _error(f"invalid DATE {value!r} (expected YYYY-MM-DD)") from None


def _timestamp(value: Any) -> datetime:
    try:
        return parse_value("datetime", str(value))
    except ValueError:
        raise _error(f"invalid TIMESTAMP {value!r} (expected RFC 3339)") from None


def _convert(field: SchemaField, value: Any, op: str) -> Any:
    """A literal compared with ``field``, in the field's Python type.

    Text goes through the records parameters' converter (:mod:`hub.query.values`); GDAL
    writes dates as ``'2020-01-01T'``, so a bare trailing ``T`` is dropped first, and a date
    field compared with a timestamp compares its day. JSON numbers and booleans arrive
    typed and are only checked against the field type.
    """
    if value is None or isinstance(value, dict):
        return value  # NULL, another property or CASEI(...)
    try:
        if isinstance(value, str):
            text = value.removesuffix("T")
            if field.type == "date":
                text = text.split("T")[0]
            return parse_value(field.type, text)
        match field.type:
            case "integer" | "year" if isinstance(value, int | float) \
                    and not isinstance(value, bool):
                return int(value) if float(value).is_integer() else float(value)
            case "number" if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
            case "boolean" if isinstance(value, bool):
                return value
            case "date" if isinstance(value, date):
                return value.date() if isinstance(value, datetime) else value
            case "datetime" if isinstance(value, date):
                return value if isinstance(value, datetime) \
                    else datetime(value.year, value.month, value.day)
    except ValueError:
        pass
    raise _error(f"value {_show(value)} cannot be compared ({op}) with property '{field.name}' "
                 f"of type {field.type}")


# -- translate ------------------------------------------------------------------------------


def cql2_predicate(node: Any, table: FromClause) -> ColumnElement[bool]:
    """The normalised tree of :func:`parse_cql2` as one SQL predicate with bound values."""
    if isinstance(node, bool):
        return true() if node else not_(true())
    op = node["op"]
    args = node["args"]
    if op == "and":
        return and_(*(cql2_predicate(a, table) for a in args))
    if op == "or":
        return or_(*(cql2_predicate(a, table) for a in args))
    if op == "not":
        return not_(cql2_predicate(args[0], table))
    if op in COMPARISONS:
        left, right = _operand(args[0], table), _operand(args[1], table)
        return {
            "=": lambda: left == right,
            "<>": lambda: left != right,
            "<": lambda: left < right,
            "<=": lambda: left <= right,
            ">": lambda: left > right,
            ">=": lambda: left >= right,
        }[op]()
    if op == "like":
        # CQL2's wildcards (% and _) and escape (\) are PostgreSQL's LIKE defaults.
        return _operand(args[0], table).like(_operand(args[1], table))
    if op == "between":
        return _operand(args[0], table).between(_operand(args[1], table),
                                                _operand(args[2], table))
    if op == "in":
        return _operand(args[0], table).in_([_value(v) for v in args[1]])
    if op == "isNull":
        return _operand(args[0], table).is_(None)
    if op in SPATIAL:
        other = func.ST_GeomFromText(args[1]["wkt"], 4326)
        return getattr(func, SPATIAL[op])(table.c.geom, other)
    if op == "s_dwithin":
        # Boxes around the literal on the geom index, then metres (hub.query.geodesic).
        other = func.ST_GeomFromText(args[1]["wkt"], 4326)
        return within_metres_of_geometry(table.c.geom, other, args[2])
    raise AssertionError(op)  # parse_cql2 only produces the operators above


def _value(value: Any) -> Any:
    return literal(value, Boolean()) if isinstance(value, bool) else literal(value)


def _operand(node: Any, table: FromClause) -> ColumnElement[Any]:
    if isinstance(node, dict):
        if "property" in node:
            return table.c[node["property"]]
        if node.get("op") == "casei":
            return func.lower(_operand(node["args"][0], table))
    if node is None:
        return literal(None)
    return _value(node)

"""One representation of a records query, whatever surface it came from.

HTTP parameters (``/v1`` today, OGC API and CKAN-compatible surfaces later) are parsed into a
:class:`FeatureQuery`; :mod:`hub.query.records` turns it into one SQLAlchemy statement with
bound values. Field names in here have already been checked against the version's schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from shapely.geometry.base import BaseGeometry

if TYPE_CHECKING:
    from hub.settings import Settings

OverLimit = Literal["clamp", "refuse"]


class QueryError(ValueError):
    """A query parameter is invalid; ``detail`` says which and why (becomes a 400 problem)."""

    def __init__(self, detail: str, parameter: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.parameter = parameter


class UnknownReference(QueryError):
    """A well-formed parameter that names something the catalogue does not hold (the route
    or stop of ``near_route``/``near_stop``): a 422, as a body naming a missing version is,
    rather than the 400 of a malformed value the document forbids."""


# The JSON Schema of the rule below, which hub.api.query_text states on every text query
# parameter of the API.
NUL_FREE: dict[str, object] = {"pattern": "^[^\x00]*$"}


def refuse_nul(parameter: str, value: str) -> None:
    """Text parameters may not hold a NUL character: PostgreSQL text cannot store one, so it
    would fail inside the database instead of being refused as the client's mistake."""
    if "\x00" in parameter or "\x00" in value:
        raise QueryError(f"parameter {parameter!r} contains a NUL character", parameter)


def refuse_repeats(names: Iterable[str], takes_one: Callable[[str], bool]) -> None:
    """A parameter that takes one value may be given once. Readers keep one of several
    values (FastAPI and ``dict(query)`` the last), so ``?organisation=a&organisation=b``
    would silently answer a question the client did not ask; which of the values was meant
    is the client's to say."""
    seen: set[str] = set()
    for name in names:
        if not takes_one(name):
            continue
        if name in seen:
            raise QueryError(f"parameter '{name}' takes one value: give it once, not more "
                             "than once", name)
        seen.add(name)


@dataclass(frozen=True)
class PropertyFilter:
    """``field <op> value``; ``value`` is already converted to the field's Python type."""

    field: str
    op: str  # a name of hub.query.operators.OPERATORS
    value: Any


@dataclass(frozen=True)
class PageLimits:
    """How many records a page holds and how far a radius reaches, built once from settings.

    ``over_limit`` says what a ``limit`` above ``maximum`` gets: ``refuse`` (a 400 naming the
    maximum) or ``clamp`` (the maximum; OGC API Features lets servers do that and GDAL/QGIS
    ask for large pages expecting it).
    """

    default: int
    maximum: int
    max_radius_m: float
    over_limit: OverLimit = "refuse"

    def checked(self, limit: int) -> int:
        """``limit`` as this surface serves it: clamped or refused above the maximum, refused
        below 1."""
        if limit > self.maximum and self.over_limit == "clamp":
            return self.maximum
        if not 1 <= limit <= self.maximum:
            raise QueryError(f"parameter 'limit' must be between 1 and {self.maximum}, "
                             f"not {limit}", "limit")
        return limit

    @classmethod
    def from_settings(cls, settings: Settings, over_limit: OverLimit) -> PageLimits:
        return cls(settings.default_limit, settings.max_limit, settings.max_radius_m,
                   over_limit)


@dataclass(frozen=True)
class Near:
    """A point (WGS84) with an optional search radius in metres."""

    lat: float
    lon: float
    radius_m: float | None = None


@dataclass(frozen=True)
class SortKey:
    field: str  # a schema field, or "distance_m" when ``near`` is set
    descending: bool = False


@dataclass(frozen=True)
class Cursor:
    """Keyset position: the sort values and ``_fid`` of the last row of the previous page."""

    values: tuple[Any, ...]
    fid: int


@dataclass(frozen=True)
class OutputCrs:
    """The CRS output geometries are written in (OGC API Part 2 ``crs``).

    ``srid`` is the EPSG code PostGIS transforms to; ``lat_lon`` means the CRS's axis order
    is latitude first (EPSG:4326, EPSG:6668), so coordinates are flipped after the
    transform; ``digits`` is the GeoJSON precision (degrees vs metres).
    """

    uri: str
    srid: int
    lat_lon: bool = False
    digits: int = 7


@dataclass(frozen=True)
class NearSet:
    """Records must lie within ``radius_m`` of ANY geometry of a reference set, e.g. the stops
    of a bus route in another dataset. ``reference`` is a SELECT of (``ref_id``, ``ref_name``,
    ``geom``) built by :mod:`hub.query.transit`; ``id_label``/``name_label`` name the output
    columns that report the nearest reference (``nearest_stop_id`` ...).

    The answer depends on the reference dataset too: ``content_sha256`` is that version's
    content hash (part of the ETag) and ``pinned`` says the request named the version, so
    the answer can never change."""

    reference: Any
    radius_m: float
    id_label: str = "nearest_id"
    name_label: str = "nearest_name"
    content_sha256: str = ""
    pinned: bool = False
    dataset_id: str = ""  # the reference version, for the answer's cache tags
    version: int = 0


@dataclass(frozen=True)
class FeatureQuery:
    filters: tuple[PropertyFilter, ...] = ()
    q: str | None = None
    bbox: tuple[float, float, float, float] | None = None  # minlon, minlat, maxlon, maxlat
    near: Near | None = None
    within: BaseGeometry | None = None  # valid (multi)polygon, lon lat EPSG:4326
    intersects: BaseGeometry | None = None  # valid geometry, lon lat EPSG:4326
    sort: tuple[SortKey, ...] = ()
    fields: tuple[str, ...] | None = None  # None: all schema fields
    limit: int = 100
    cursor: Cursor | None = None
    # A CQL2 filter as CQL2-JSON (the standard's own tree, whatever encoding it came in),
    # with every property already checked against the schema (hub.query.cql2).
    cql2: dict[str, Any] | None = None
    # Output geometry CRS; None means CRS84 as stored (no transform).
    output_crs: OutputCrs | None = None
    # Near any geometry of another dataset's layer (stops of a route, a station's poles).
    near_set: NearSet | None = None
    # ``field IN (SELECT ...)``: membership in a set another statement defines (the stops a
    # route serves); the field name is checked by the caller, the SELECT built by a builder.
    member_of: tuple[str, Any] | None = None

    @property
    def is_unfiltered(self) -> bool:
        """True when every row of the version matches (so the stored row count is exact)."""
        return not (self.filters or self.q or self.bbox or self.within is not None
                    or (self.near and self.near.radius_m is not None)
                    or self.intersects is not None or self.cql2 is not None
                    or self.near_set is not None or self.member_of is not None)

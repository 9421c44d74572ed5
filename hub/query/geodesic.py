"""``within N metres`` on the WGS84 spheroid, read through the ``geom`` GiST index.

Three clauses, cheapest first, and the answer is still the exact spheroid one:

1. **A box test the geometry index serves**: ``geom && box``, where the box (in degrees)
   provably holds every point within N metres of the reference (:func:`half_widths`).
   Version tables have no index on ``geography(geom)``: PostGIS builds that GiST without
   sorting, at about four times the CPU of the sort-built one on ``geom`` (bench/README.md),
   and it served nothing but this prefilter.
2. **The sphere**: PostGIS measures geography on the spheroid by default, about five times
   the work of the sphere. The two distances never differ by more than about 0.56% (the
   spheroid's radii of curvature lie between 0.9944 and 1.0045 times the sphere's mean
   radius), so a row within 99% of the radius on the sphere is within it on the spheroid,
   and a row beyond 101% is not.
3. **The spheroid**, asked only about rows in that thin ring (about 4% of the circle's area).

Why the box holds every answer. On a surface of revolution the length element is
``ds^2 = M(phi)^2 dphi^2 + (N(phi) cos phi)^2 dlambda^2``, M the meridional and N the prime
vertical radius of curvature. On WGS84, ``M >= b^2/a`` (~6,335,439 m, at the equator) and
``N >= a`` (6,378,137 m, also at the equator). Take a reference point P and any point Q at
geodesic distance ``d`` from it, and the geodesic between them:

- latitude: ``d >= integral of M |dphi| >= (b^2/a) |phi_Q - phi_P|``, so Q's latitude is
  within ``d / (b^2/a)`` radians of P's. Every point of the geodesic is itself within ``d``
  of P, so the whole path stays in that latitude band;
- longitude: along the path ``ds >= N cos phi |dlambda| >= a cos(phi_max) |dlambda|`` with
  ``phi_max`` the band's largest absolute latitude, so the path turns through at most
  ``d / (a cos phi_max)`` radians of longitude. When the band reaches a pole
  (``phi_max = 90``), any longitude is possible: the whole range;
- the antimeridian: Q's longitude is P's plus that turn, modulo 360 degrees. A box reaching
  past +-180 degrees is tested again shifted by 360 degrees (stored longitudes lie in
  [-180, 180]: a publish refuses coordinates outside).

For a line or polygon reference the same holds from each of its points, so its bounding box
is widened by the same half-widths, ``phi_max`` taken over the whole box. The widths are
computed for ``metres * (1 + BOX_MARGIN) + EDGE_BOW_M``: the relative margin absorbs
rounding; the absolute one covers the bow of a line's or polygon's edge, which geography
reads as a great-circle arc. Such an arc bows poleward of its end points (by about
``L^2 tan(phi) / (8 R)`` for an edge of length L at latitude phi), outside the bounding box
``&&`` compares, so a row whose only point within the radius lies on a long edge's bow could
be missed: EDGE_BOW_M covers edges up to 16 km at 45 degrees, 19 km at 35 degrees (city data
has far shorter edges; points have none). Geometries whose edges cross the antimeridian are
outside this rule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from geoalchemy2 import Geography, Geometry
from sqlalchemy import (
    ColumnElement,
    Float,
    Text,
    and_,
    bindparam,
    cast,
    false,
    func,
    literal,
    literal_column,
    or_,
)

# Sphere-vs-spheroid margin: twice the largest relative difference, so rounding never matters.
SPHERE_MARGIN = 0.01

WGS84_A = 6_378_137.0  # equatorial radius, metres
WGS84_B = 6_356_752.314245  # polar radius, metres
MIN_MERIDIONAL_RADIUS_M = WGS84_B ** 2 / WGS84_A  # M at the equator, ~6,335,439 m
MIN_PARALLEL_SCALE_M = WGS84_A  # N >= a: a parallel at phi has radius >= a cos(phi)
BOX_MARGIN = 1e-3
EDGE_BOW_M = 5.0
# Degrees of latitude / of longitude (at the equator) per metre, at the smallest radii.
LAT_DEGREES_PER_M = 180.0 / (math.pi * MIN_MERIDIONAL_RADIUS_M)
LON_DEGREES_PER_M = 180.0 / (math.pi * MIN_PARALLEL_SCALE_M)
WHOLE_TURN = 360.0


def geography_of(geom: ColumnElement[Any]) -> ColumnElement[Any]:
    """``geography(geom)``: the distance expression of every metric question. Versions
    published before the box rule kept an index on exactly this expression, which a cast
    with a type modifier would not match."""
    return func.geography(geom, type_=Geography(srid=4326))


def half_widths(metres: Any, abs_latitude: Any) -> tuple[Any, Any]:
    """(longitude, latitude) half-widths in degrees of a box around a reference whose
    largest absolute latitude is ``abs_latitude`` that holds every point within ``metres``
    (module docstring). The one formula for both callers: with Python numbers it computes
    the widths; with SQL expressions (a radius only known inside a statement) it builds
    them. Half-widths of 360 (longitude) and 180 (latitude) mean every value, and keep an
    unbounded radius (``Infinity``) a finite box."""
    padded = metres * (1 + BOX_MARGIN) + EDGE_BOW_M
    reach = _least(90.0, abs_latitude + padded * LAT_DEGREES_PER_M)
    dlon = _least(WHOLE_TURN, _over(padded * LON_DEGREES_PER_M, _cos_degrees(reach)))
    return dlon, _least(180.0, padded * LAT_DEGREES_PER_M)  # 180: every latitude, finite


def point_boxes(lon: float, lat: float, metres: float) -> list[ColumnElement[Any]]:
    """The boxes around a constant point, computed here and bound as EWKT values: one,
    or two when the circle reaches past +-180 degrees (the part beyond, moved by 360)."""
    dlon, dlat = half_widths(float(metres), abs(lat))
    south, north = lat - dlat, lat + dlat
    if dlon >= 180.0:
        spans = [(-180.0, 180.0)]
    else:
        west, east = lon - dlon, lon + dlon
        spans = [(max(west, -180.0), min(east, 180.0))]
        if west < -180.0:
            spans.append((west + WHOLE_TURN, 180.0))
        if east > 180.0:
            spans.append((-180.0, east - WHOLE_TURN))
    return [_bound_box(f"point_box_{i}", x0, south, x1, north)
            for i, (x0, x1) in enumerate(spans)]


def reference_box(reference: ColumnElement[Any], metres: Any,
                  abs_latitude: Any = None) -> ColumnElement[Any]:
    """The box around a reference geometry known only in SQL (a row of a subquery, a
    literal, or a point with a radius the statement computes): its bounding box widened by
    :func:`half_widths`. ``abs_latitude`` may be given when the caller knows it (a constant
    point); else it is the larger of the bounding box's absolute latitudes. Test it with
    :func:`across_the_antimeridian`."""
    if abs_latitude is None:
        abs_latitude = func.greatest(func.abs(func.ST_YMin(reference)),
                                     func.abs(func.ST_YMax(reference)))
    dlon, dlat = half_widths(metres, abs_latitude)
    return func.ST_Expand(reference, dlon, dlat, type_=Geometry(srid=4326))


def across_the_antimeridian(box: ColumnElement[Any],
                            lon: float | None = None) -> list[ColumnElement[Any]]:
    """``box`` and copies moved a whole turn: a box reaching past +-180 degrees finds the
    stored points on the other side in a moved copy. Each is an ``&&`` of its own in
    :func:`within_metres`, so each is an index scan.

    Around a point at longitude ``lon`` one copy is enough. Its box is
    ``[lon - w, lon + w]``, w at most 360; for ``lon >= 0`` a stored longitude outside it
    lies beyond +180 from the box's view, so in the copy moved west: reaching it from the
    copy moved east would need ``w >= 180 + lon``, and then the box itself already spans
    [-180, 180] (``lon < 0`` mirrors this). A reference with extent needs both copies."""
    turns = (-WHOLE_TURN,) if lon is not None and lon >= 0 else (
        (WHOLE_TURN,) if lon is not None else (WHOLE_TURN, -WHOLE_TURN))
    return [box, *(func.ST_Translate(box, _written(turn), _written(0.0),
                                     type_=Geometry(srid=4326)) for turn in turns)]


def within_metres(geom: ColumnElement[Any], reference: ColumnElement[Any], metres: Any,
                  boxes: Sequence[ColumnElement[Any]]) -> ColumnElement[bool]:
    """``ST_DWithin(geography(geom), reference, metres)`` on the spheroid, for the stored
    ``geom`` column and a geography ``reference``, with ``boxes`` from :func:`point_boxes`
    or :func:`reference_box` (through :func:`across_the_antimeridian`) for the same
    reference and radius.

    The box test is the clause the ``geom`` index serves; PostgreSQL evaluates the ``OR``
    left to right and stops at the first true arm, so the spheroid is only asked about rows
    between the two sphere radii.
    """
    a = geography_of(geom)
    return and_(
        or_(*(geom.op("&&")(box) for box in boxes)),
        func.ST_DWithin(a, reference, metres * (1 + SPHERE_MARGIN), false()),
        or_(func.ST_DWithin(a, reference, metres * (1 - SPHERE_MARGIN), false()),
            func.ST_DWithin(a, reference, metres)),
    )


def within_metres_of_geometry(geom: ColumnElement[Any], reference: ColumnElement[Any],
                              metres: Any) -> ColumnElement[bool]:
    """:func:`within_metres` of a reference geometry known in SQL (a subquery's rows, a
    literal): the boxes are the reference's own bounding box widened, with both
    antimeridian copies, so for each reference the ``geom`` index is scanned."""
    return within_metres(geom, geography_of(reference), metres,
                         across_the_antimeridian(reference_box(reference, metres)))

def _bound_box(name: str, west: float, south: float, east: float,
               north: float) -> ColumnElement[Any]:
    """One box as one bound EWKT value (``repr``: the shortest text of the same double)."""
    ring = (f"{west!r} {south!r},{east!r} {south!r},{east!r} {north!r},"
            f"{west!r} {north!r},{west!r} {south!r}")
    return cast(bindparam(name, f"SRID=4326;POLYGON(({ring}))", type_=Text()),
                Geometry(srid=4326))


def _least(limit: float, x: Any) -> Any:
    if isinstance(x, (int, float)):
        return min(limit, x)
    return func.least(_written(limit), x)


def _written(value: float) -> ColumnElement[float]:
    """A whole-number constant written into the SQL, not bound: the same in every
    statement, and shorter than a placeholder (a nearest page must stay under psycopg's
    query-cache limits, hub.query.records.sql_text)."""
    assert value == int(value)
    return literal_column(str(int(value)), Float(precision=53))


def _over(a: Any, b: Any) -> Any:
    """``a / b``; in SQL a plain double division (SQLAlchemy would cast the divisor)."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a / b
    if isinstance(a, (int, float)):
        a = literal(a, Float(precision=53))
    return a.op("/", return_type=Float(precision=53))(b)


def _cos_degrees(x: Any) -> Any:
    if isinstance(x, (int, float)):
        return math.cos(math.radians(x))
    return func.cos(func.radians(x), type_=Float(precision=53))

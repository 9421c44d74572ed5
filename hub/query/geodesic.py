"""``within N metres`` on the WGS84 spheroid, with most rows decided on the sphere.

PostGIS measures geography on the spheroid by default, about five times the work of the
sphere, and a radius query asks it twice per candidate row: once to filter (``ST_DWithin``)
and once to order (``ST_Distance``). The two distances never differ by more than about 0.56%
(the spheroid's radii of curvature lie between 0.9944 and 1.0045 times the sphere's mean
radius), so a row within 99% of the radius on the sphere is within it on the spheroid, and a
row beyond 101% is not. Only rows in that thin ring (about 4% of the circle's area) need the
spheroid, and the answer is still the exact spheroid one.
"""

from __future__ import annotations

from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import ColumnElement, and_, false, func, or_

# Sphere-vs-spheroid margin: twice the largest relative difference, so rounding never matters.
SPHERE_MARGIN = 0.01


def geography_of(geom: ColumnElement[Any]) -> ColumnElement[Any]:
    """``geography(geom)``: the same expression as the version tables' indexed
    ``(geom::geography)``; a cast with a type modifier would not be, and the planner would
    ignore the index."""
    return func.geography(geom, type_=Geography(srid=4326))


def within_metres(a: ColumnElement[Any], b: ColumnElement[Any], metres: Any
                  ) -> ColumnElement[bool]:
    """``ST_DWithin(a, b, metres)`` on the spheroid for two geography expressions.

    The first clause is the one an index serves (``a`` should be the indexed expression);
    PostgreSQL evaluates the ``OR`` left to right and stops at the first true arm, so the
    spheroid is only asked about rows between the two sphere radii.
    """
    return and_(
        func.ST_DWithin(a, b, metres * (1 + SPHERE_MARGIN), false()),
        or_(func.ST_DWithin(a, b, metres * (1 - SPHERE_MARGIN), false()),
            func.ST_DWithin(a, b, metres)),
    )

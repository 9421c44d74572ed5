"""What a geometry sent in a query must be: few enough vertices, on the globe, valid.

Query parameters (``within``, ``intersects``), CQL2 filters and request areas all take a
geometry from the caller; each used to spell its own vertex bound. A caller's polygon costs
the database work per vertex for every candidate row, so the bound is a cost cap, and it is
the same wherever a geometry arrives. The count is checked before anything else touches the
geometry (a reprojection of a million vertices is itself the cost to avoid).
"""

from __future__ import annotations

import shapely
from shapely.geometry.base import BaseGeometry

MAX_QUERY_VERTICES = 10_000


def vertex_problem(geometry: BaseGeometry) -> str | None:
    """Why ``geometry`` is too big to query with, or None."""
    if geometry.is_empty:
        return "is an empty geometry"
    count = shapely.get_num_coordinates(geometry)
    if count > MAX_QUERY_VERTICES:
        return f"has {count:,} vertices, more than the {MAX_QUERY_VERTICES:,} a query accepts"
    return None


def placement_problem(geometry: BaseGeometry, *, coordinates_hint: str) -> str | None:
    """Why a geometry in lon/lat (CRS84) cannot be used, or None: outside the globe, or
    invalid (self-intersecting rings give wrong answers from every spatial predicate)."""
    minx, miny, maxx, maxy = geometry.bounds
    if not (minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90):
        return f"has coordinates outside lon -180..180 / lat -90..90 ({coordinates_hint})"
    if not geometry.is_valid:
        return f"is not a valid geometry: {shapely.is_valid_reason(geometry)}"
    return None

"""Where a request wants data: a GeoJSON geometry inside Japan, or a municipality's name.

A geometry is checked here (parsable, valid, within Japan's extent) so a bad one is refused
with a reason before anything is stored; the database only stores it.
"""

from __future__ import annotations

import json
from typing import Any

import shapely
from shapely.errors import ShapelyError
from shapely.geometry import shape

from hub.cocreation.errors import InvalidInput
from hub.cocreation.text import SHORT_MAX, clean_text

# Japan's extent, generous enough for Okinotorishima, Minamitorishima and Yonaguni.
JAPAN_BBOX = (122.0, 20.0, 154.0, 46.0)


def check_area(value: dict[str, Any] | str | None) -> tuple[str | None, str | None]:
    """``(geojson text, municipality)``: one of them, or neither when no area was given."""
    if value is None:
        return None, None
    if isinstance(value, str):
        return None, clean_text("area", value, SHORT_MAX)
    try:
        geometry = shape(value)
    except (ShapelyError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidInput(f"'area' is not a GeoJSON geometry: {exc}", "area") from None
    if geometry.is_empty:
        raise InvalidInput("'area' is an empty geometry", "area")
    if not geometry.is_valid:
        reason = shapely.is_valid_reason(geometry)
        raise InvalidInput(f"'area' is not a valid geometry: {reason}", "area")
    west, south, east, north = geometry.bounds
    j_west, j_south, j_east, j_north = JAPAN_BBOX
    if west < j_west or east > j_east or south < j_south or north > j_north:
        raise InvalidInput(f"'area' lies outside Japan (bounds {west:.4f},{south:.4f},"
                           f"{east:.4f},{north:.4f}; coordinates are longitude, latitude in "
                           "that order)", "area")
    return json.dumps(value), None

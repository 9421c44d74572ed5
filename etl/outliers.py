"""Points that sit far from all the other points of the same file.

A coordinate typed wrong can stay inside Japan and pass every range check: a DMS value written
as a decimal (``34.5230`` for 34°52'30") moves a toilet about 40 km. Such a point is far from
the file's other points, so each file is measured against itself with a robust rule that a
few wrong points cannot pull (medians, not means):

- the centre is the median longitude and the median latitude of the file's points;
- each point's great-circle distance ``d`` from that centre is taken, and the typical
  distance ``median(d)`` and spread ``MAD = median(|d - median(d)|)``;
- a point is an outlier when ``d - median(d)`` is more than :data:`MADS` MADs **and** more
  than :data:`FLOOR_KM`: the MAD scales with the file (a ward or a prefecture), the floor
  keeps a tightly clustered file (one park, MAD of a few hundred metres) from flagging an
  ordinary point a few kilometres off.

It needs :data:`MIN_POINTS` points at least; with fewer the median says too little. The rule
only warns: a far point may be true (an island, a facility the city runs elsewhere), so it is
never dropped or refused by this rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_POINTS = 8
MADS = 10.0
FLOOR_KM = 30.0
EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)


@dataclass(frozen=True)
class FarPoints:
    """Positions of the far points, every point's distance from the centre (km, NaN where
    there is no point), the centre (lon, lat) and the distance beyond which a point is far."""

    positions: np.ndarray
    distance_km: np.ndarray
    centre: tuple[float, float]
    limit_km: float


def far_points(lon: np.ndarray, lat: np.ndarray) -> FarPoints | None:
    """The points of ``lon``/``lat`` (degrees, NaN where missing) far from the others, or
    None when there are fewer than :data:`MIN_POINTS` points to judge by."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    present = np.isfinite(lon) & np.isfinite(lat)
    if present.sum() < MIN_POINTS:
        return None
    centre_lon = float(np.median(lon[present]))
    centre_lat = float(np.median(lat[present]))
    distance = np.full(len(lon), np.nan)
    distance[present] = haversine_km(lon[present], lat[present], centre_lon, centre_lat)
    typical = float(np.median(distance[present]))
    spread = float(np.median(np.abs(distance[present] - typical)))
    limit = typical + max(MADS * spread, FLOOR_KM)
    far = present & (np.nan_to_num(distance, nan=0.0) > limit)
    return FarPoints(np.flatnonzero(far), distance, (centre_lon, centre_lat), limit)


def haversine_km(lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float) -> np.ndarray:
    """Great-circle distance in km from (lon0, lat0); a sphere is exact enough for a rule
    measured in tens of kilometres."""
    phi, phi0 = np.radians(lat), np.radians(lat0)
    dphi, dlambda = phi - phi0, np.radians(lon - lon0)
    a = np.sin(dphi / 2) ** 2 + np.cos(phi) * np.cos(phi0) * np.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))

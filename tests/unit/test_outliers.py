"""etl.outliers: the robust far-point rule, on the file's own points."""

from __future__ import annotations

import numpy as np

from etl.outliers import FLOOR_KM, MIN_POINTS, far_points, haversine_km


def city(n: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """n points on a 10 km x 10 km grid around Yaizu."""
    rng = np.random.default_rng(7)
    return 138.32 + rng.uniform(-0.05, 0.05, n), 34.86 + rng.uniform(-0.045, 0.045, n)


def test_a_dms_value_written_as_decimal_is_far() -> None:
    lon, lat = city()
    lat[5] = 34.5230  # 34°52'30" written as 34.5230
    far = far_points(lon, lat)
    assert far is not None and far.positions.tolist() == [5]
    assert far.distance_km[5] > 30 and far.limit_km >= FLOOR_KM


def test_an_ordinary_spread_file_has_no_far_points() -> None:
    lon, lat = city(200)
    far = far_points(lon, lat)
    assert far is not None and not len(far.positions)


def test_missing_points_are_ignored_and_few_points_not_judged() -> None:
    lon, lat = city(MIN_POINTS)
    lon[0] = np.nan
    assert far_points(lon, lat) is None  # 7 points with a location
    lon, lat = city(MIN_POINTS + 2)
    lat[1] = np.nan
    lat[2] = 35.5
    far = far_points(lon, lat)
    assert far is not None and far.positions.tolist() == [2] and np.isnan(far.distance_km[1])


def test_a_few_wrong_points_cannot_move_the_centre() -> None:
    lon, lat = city(30)
    lat[:4] = 35.9  # four points ~115 km north
    far = far_points(lon, lat)
    assert far is not None and far.positions.tolist() == [0, 1, 2, 3]


def test_haversine_km() -> None:
    # one degree of latitude is ~111.2 km on the mean sphere
    assert abs(haversine_km(np.array([139.0]), np.array([36.0]), 139.0, 35.0)[0] - 111.19) < 0.01

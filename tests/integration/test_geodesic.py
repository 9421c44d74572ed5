"""``within_metres`` decides most rows on the sphere: it must still give the spheroid's answer
exactly at the edge of the circle, at every latitude and bearing (points placed by pyproj's
geodesic, not by the SQL under test)."""

from __future__ import annotations

import pytest
from pyproj import Geod
from sqlalchemy import create_engine, func, literal, select

from hub.query.geodesic import point_boxes, within_metres
from tests.conftest import create_test_database, drop_test_database

GEOD = Geod(ellps="WGS84")
RADIUS_M = 500.0
FACTORS = (0.98, 0.991, 0.995, 0.9999, 1.0001, 1.005, 1.009, 1.02)


def _geometry(lon: float, lat: float):
    return func.ST_SetSRID(func.ST_MakePoint(literal(lon), literal(lat)), 4326)


def _geography(lon: float, lat: float):
    return func.geography(_geometry(lon, lat))


@pytest.fixture(scope="module")
def engine(pg_cluster):
    url = create_test_database(pg_cluster)
    engine = create_engine(url)
    yield engine
    engine.dispose()
    drop_test_database(pg_cluster, url)


@pytest.mark.parametrize("lat", [0.0, 35.66, 60.0, 84.0, -45.0])
def test_within_metres_agrees_with_the_spheroid_at_the_edge(engine, lat: float) -> None:
    lon = 139.7
    centre = _geography(lon, lat)
    cases = []
    for bearing in range(0, 360, 20):
        for factor in FACTORS:
            x, y, _back = GEOD.fwd(lon, lat, bearing, RADIUS_M * factor)
            ours = within_metres(_geometry(x, y), centre, RADIUS_M,
                                 point_boxes(lon, lat, RADIUS_M))
            cases.append((bearing, factor, ours,
                          func.ST_DWithin(_geography(x, y), centre, RADIUS_M)))
    with engine.connect() as conn:
        row = conn.execute(select(*[c for case in cases for c in case[2:]])).one()
    for i, (bearing, factor, _ours, _exact) in enumerate(cases):
        ours, exact = row[2 * i], row[2 * i + 1]
        assert ours is (factor <= 1.0), (lat, bearing, factor)
        assert ours == exact, (lat, bearing, factor)

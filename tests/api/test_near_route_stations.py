"""``near_route`` counts a route's stations as well as the stops its trips stop at, and works
on a feed that has no stations at all (no ``parent_station`` column), through the real app.

Two small feeds are published with our own ETL. The feed's own stops layer is asked which stops
lie within a few metres of the route: the stations of MINI_FEED sit about 14 m from their poles,
so at 5 m a station is in the answer only when it is one of the points ``near_route`` measures
from.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from etl.gtfs import prepare_feed
from etl.publish import publish
from hub.api.app import create_app
from tests.conftest import create_test_database, drop_test_database, make_settings
from tests.gtfs_feeds import transit_definition, write_feed

# The poles and the lone stop of MINI_FEED, with no stations and no station columns.
STOPS_WITHOUT_STATIONS = ("stop_id,stop_name,stop_lat,stop_lon\n"
                          "0001_A,駅前,35.0001,135.0001\n"
                          "1_A,市役所,35.0101,135.0101\n"
                          "9,病院,35.02,135.02\n")


@pytest.fixture(scope="module")
def client(pg_cluster, tmp_path_factory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("feeds")
    url = create_test_database(pg_cluster)
    engine = create_engine(url)
    for dataset_id, files in (("with-stations", {}),
                              ("without-stations", {"stops.txt": STOPS_WITHOUT_STATIONS})):
        definition = transit_definition(tmp / "datasets", dataset_id)
        prepared = prepare_feed(definition, write_feed(tmp / dataset_id, files))
        assert prepared.report.ok, prepared.report.to_dict()
        publish(engine, prepared)
    engine.dispose()
    with TestClient(create_app(make_settings(url))) as test_client:
        yield test_client
    drop_test_database(pg_cluster, url)


def stops_near_route(client: TestClient, dataset_id: str) -> dict[str, dict]:
    response = client.get(f"/v1/datasets/{dataset_id}/layers/stops/records",
                          params={"near_route": f"{dataset_id}:R1", "radius": 5})
    assert response.status_code == 200, response.text
    return {r["stop_id"]: r for r in response.json()["records"]}


def test_a_route_counts_the_stations_of_its_stops(client: TestClient) -> None:
    found = stops_near_route(client, "with-stations")
    # poles 0001_A and 1_A, the stop 9 without a station, and the two stations
    assert set(found) == {"0001_A", "1_A", "9", "0001", "1"}
    for stop_id, record in found.items():  # each is nearest to itself
        assert (record["nearest_stop_id"], record["distance_m"]) == (stop_id, 0)
        assert record["nearest_stop_name"] == record["stop_name"]


def test_a_feed_without_stations_measures_from_its_stops(client: TestClient) -> None:
    found = stops_near_route(client, "without-stations")
    assert set(found) == {"0001_A", "1_A", "9"}
    assert all(r["distance_m"] == 0 for r in found.values())

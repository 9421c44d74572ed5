"""Database trouble is answered as 503 problem+json, and the hub recovers by itself.

Each case forces its outcome. ``pg_terminate_backend(pid, timeout)`` returns only once the
backend has exited, so the next request finds its pooled connection dead (without the
timeout it only signals, and a request could still reach the backend before it exits).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, text

from hub.db.cluster import LocalCluster
from tests.api.conftest import Hub

URL = "/v1/datasets/test-shops/versions/1/records"
RECORD = "/v1/datasets/test-shops/versions/1/records/S0001"


def _database(hub: Hub) -> str:
    return hub.client.app.state.data.engine.url.database  # type: ignore[attr-defined]


def _as_admin(cluster: LocalCluster, sql: str, **params: object) -> None:
    admin = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(sql), params)
    admin.dispose()


def _kill_connections(hub: Hub, cluster: LocalCluster) -> None:
    """What a database restart does to the pools' connections, finished before returning."""
    _as_admin(cluster, "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                       "WHERE datname = :name AND pid <> pg_backend_pid()", name=_database(hub))


def _assert_unavailable(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    problem = response.json()
    assert problem["type"].endswith("database-unavailable") and "retried" in problem["detail"]


@pytest.fixture
def refusing(hub: Hub, pg_cluster: LocalCluster) -> Iterator[Callable[[], None]]:
    """The hub's database refuses new connections (as one that is down does) and the
    connections the pools hold are killed; the test gets the function that lets
    connections in again (called in any case when the test ends)."""
    name = _database(hub)

    def accept_connections() -> None:
        _as_admin(pg_cluster, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

    _as_admin(pg_cluster, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    try:
        _kill_connections(hub, pg_cluster)
        yield accept_connections
    finally:
        accept_connections()


def test_a_lost_connection_is_503_and_the_next_request_gets_a_fresh_one(
        hub: Hub, pg_cluster: LocalCluster) -> None:
    assert hub.client.get(URL, params={"limit": 1}).status_code == 200  # a pooled connection
    _kill_connections(hub, pg_cluster)
    _assert_unavailable(hub.client.get(URL, params={"limit": 1}))
    assert hub.client.get(URL, params={"limit": 1}).status_code == 200


def test_a_database_refusing_connections_is_503_until_it_accepts_them(
        hub: Hub, refusing: Callable[[], None]) -> None:
    for _ in range(3):  # a killed pooled connection, then refused new ones
        _assert_unavailable(hub.client.get(URL, params={"limit": 1}))
    refusing()
    answer = hub.client.get(URL, params={"limit": 1})
    assert answer.status_code == 200, answer.text


def test_single_records_survive_a_database_restart(hub: Hub, pg_cluster: LocalCluster) -> None:
    """Single records use their own (async) pool. A restart kills its idle connections; the
    lookup, a single read-only statement, is retried on a fresh one, so nobody sees it."""
    for _ in range(3):
        assert hub.client.get(RECORD).status_code == 200
        _kill_connections(hub, pg_cluster)
        answer = hub.client.get(RECORD)
        assert answer.status_code == 200, answer.text
        assert answer.json()["shop_id"] == "S0001"

"""Database trouble is answered as 503 problem+json, and the hub recovers by itself."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from tests.api.conftest import Hub

URL = "/v1/datasets/test-shops/versions/1/records"


def test_lost_connections_are_503_then_recover(hub: Hub, pg_cluster) -> None:
    assert hub.client.get(URL, params={"limit": 1}).status_code == 200
    admin = create_engine(pg_cluster.url("postgres"))
    with admin.connect() as conn:  # what a database restart does to the pool's connections
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname LIKE 'test_%' AND pid <> pg_backend_pid()"))
    admin.dispose()
    first = hub.client.get(URL, params={"limit": 1})
    assert first.status_code in (200, 503)
    if first.status_code == 503:
        assert first.headers["content-type"] == "application/problem+json"
        assert first.headers["retry-after"] == "1"
        assert "retried" in first.json()["detail"]
    assert hub.client.get(URL, params={"limit": 1}).status_code == 200


def test_single_records_survive_a_database_restart(hub: Hub, pg_cluster) -> None:
    """Single records use their own (async) pool. A restart kills its idle connections; the
    lookup, a single read-only statement, is retried on a fresh one, so nobody sees it."""
    record = "/v1/datasets/test-shops/versions/1/records/S0001"
    for _ in range(3):
        assert hub.client.get(record).status_code == 200
        admin = create_engine(pg_cluster.url("postgres"))
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname LIKE 'test_%' AND pid <> pg_backend_pid()"))
        admin.dispose()
        answer = hub.client.get(record)
        assert answer.status_code == 200, answer.text
        assert answer.json()["shop_id"] == "S0001"

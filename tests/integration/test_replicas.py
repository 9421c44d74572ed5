"""Read replicas: a real primary and a real streaming replica made by the hub's own
``hub db replica add`` code, the real app over HTTP, and the replica's ``pg_stat_activity`` as
the witness of where a read ran."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from typer.testing import CliRunner

from etl.prepare import prepare
from etl.publish import publish
from etl.withdraw import withdraw
from hub.api.app import create_app
from hub.catalog import load_definition
from hub.cli import app as cli
from hub.db.cluster import LocalCluster, free_port
from hub.db.engine import REPLICA_APPLICATION_NAME
from hub.db.replicas import list_replicas
from tests.conftest import make_settings
from tests.shopdata import make_shops, write_csv

DATASET = "test-shops"
LATEST = f"/v1/datasets/{DATASET}/records"


@dataclass
class Pair:
    primary: LocalCluster
    replica: LocalCluster
    primary_engine: Engine
    replica_admin: Engine  # autocommit, for pg_stat_activity and replay pause/resume
    folder: Path


def hub_cli(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    """An embedded cluster and one replica, made by the CLI as an operator would."""
    root = Path(tempfile.mkdtemp(prefix="hub-test-replica-", dir="/tmp"))
    root.chmod(0o755)  # the server user must reach it when tests run as root
    env = {"HUB_DATA_DIR": str(root), "HUB_DB_PORT": str(free_port()), "HUB_DATABASE_URL": ""}
    primary = LocalCluster(root=root, port=int(env["HUB_DB_PORT"]), database="hub")
    try:
        hub_cli(env, "db", "up")
        replica_url = hub_cli(env, "db", "replica", "add").strip().splitlines()[-1]
        (replica,) = list_replicas(primary)
        assert replica_url == replica.url("hub")
        listed = hub_cli(env, "db", "replica", "list")
        assert str(replica.port) in listed and "running" in listed
        pair = Pair(primary, replica, create_engine(primary.url()),
                    create_engine(replica_url, isolation_level="AUTOCOMMIT",
                                  pool_pre_ping=True),
                    tmp_path_factory.mktemp("shops"))
        try:
            yield pair
        finally:
            pair.primary_engine.dispose()
            pair.replica_admin.dispose()
            hub_cli(env, "db", "replica", "remove", str(replica.port))
            assert list_replicas(primary) == []
    finally:
        for made in list_replicas(primary):
            made.destroy()
        primary.destroy()


def publish_shops(pair: Pair, n: int, name: str) -> int:
    """Publish ``n`` shops as the next version; returns its WAL stamp."""
    settings = make_settings(pair.primary.url())
    definition = load_definition(DATASET, settings.datasets_dir, settings.schemas_dir)
    result = publish(pair.primary_engine,
                     prepare(definition, write_csv(pair.folder / f"{name}.csv", make_shops(n))))
    with pair.primary_engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT published_lsn FROM hub.versions WHERE dataset_id = :d AND version = :v"),
            {"d": DATASET, "v": result.version}).scalar_one())


def table_of(pair: Pair, version: int) -> str:
    with pair.primary_engine.connect() as conn:
        return str(conn.execute(text(
            "SELECT table_name FROM hub.versions WHERE dataset_id = :d AND version = :v"),
            {"d": DATASET, "v": version}).scalar_one())


def replayed(pair: Pair) -> int:
    with pair.replica_admin.connect() as conn:
        return int(conn.execute(text("SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn"))
                   .scalar_one())


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    """Poll a condition that depends on replication (asynchronous by nature)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def replica_queries(pair: Pair) -> list[str]:
    """The last statement of each of the hub's sessions on the replica."""
    with pair.replica_admin.connect() as conn:
        return [str(q) for q in conn.execute(text(
            "SELECT query FROM pg_stat_activity WHERE application_name = :a"),
            {"a": REPLICA_APPLICATION_NAME}).scalars()]


def app_for(pair: Pair, **overrides: object) -> TestClient:
    values: dict[str, object] = {
        "database_replica_urls": [pair.replica.url()],
        "replica_lsn_cache_s": 0.0,  # ask the replica on every read: no timing in the test
        "replica_max_lag_s": 600.0,  # a paused replay is behind, not lagging
        "usage_stats": False,
        "webhooks_worker": False,
    }
    values.update(overrides)
    return TestClient(create_app(make_settings(pair.primary.url(), **values)))


def test_reads_go_to_a_replica_that_has_replayed_the_version(pair: Pair) -> None:
    lsn = publish_shops(pair, 300, "first")
    wait_for(lambda: replayed(pair) >= lsn, "the replica to replay the first publish")
    v1_table = table_of(pair, 1)
    with app_for(pair) as client:
        response = client.get(f"/v1/datasets/{DATASET}/versions/1/records",
                              params={"limit": 1000})
        assert response.status_code == 200, response.text
        assert len(response.json()["records"]) == 300
        assert any(v1_table in query for query in replica_queries(pair))

        search = client.get("/v1/datasets")
        assert search.status_code == 200 and search.json()["total"] == 1
        assert any("hub.datasets" in query for query in replica_queries(pair))


def test_a_version_the_replica_has_not_replayed_is_read_from_the_primary(pair: Pair) -> None:
    if not table_of_exists(pair, 1):
        publish_shops(pair, 300, "first")
    with pair.replica_admin.connect() as conn:
        conn.execute(text("SELECT pg_wal_replay_pause()"))
    try:
        with app_for(pair) as client:
            number = client.get(f"/v1/datasets/{DATASET}").json()["current_version"]
            shops = 250 + number  # a row count no earlier version has
            publish_shops(pair, shops, f"paused-{number + 1}")
            new_table = table_of(pair, number + 1)

            response = client.get(LATEST, params={"limit": 1000})
            assert response.status_code == 200, response.text
            assert len(response.json()["records"]) == shops  # the new version, at once

            catalogue = client.get("/v1/datasets").json()["datasets"][0]
            assert catalogue["current_version"] == number + 1
            assert catalogue["row_count"] == shops

            assert not any(new_table in query for query in replica_queries(pair))
            # the replica has not replayed the new version at all: it still serves the old one
            pinned = client.get(f"/v1/datasets/{DATASET}/versions/1/records",
                                params={"limit": 1000})
            assert pinned.status_code == 200, pinned.text
            assert any(table_of(pair, 1) in query for query in replica_queries(pair))
    finally:
        with pair.replica_admin.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_resume()"))


def table_of_exists(pair: Pair, version: int) -> bool:
    with pair.primary_engine.connect() as conn:
        return conn.execute(text(
            "SELECT 1 FROM hub.versions WHERE dataset_id = :d AND version = :v"),
            {"d": DATASET, "v": version}).first() is not None


def test_stopping_the_replica_under_load_fails_no_request(pair: Pair) -> None:
    if not table_of_exists(pair, 1):
        publish_shops(pair, 300, "first")
    with pair.primary_engine.connect() as conn:
        lsn = int(conn.execute(text("SELECT max(published_lsn) FROM hub.versions")).scalar_one())
    wait_for(lambda: replayed(pair) >= lsn, "the replica to catch up")
    urls = [f"/v1/datasets/{DATASET}/versions/1/records?limit=50",
            f"/ogc/collections/{DATASET}@v1/items?bbox=139.68,35.64,139.72,35.67&limit=5",
            "/v1/datasets"]
    # replay positions cached longer than the test: reads keep going to the replica after it
    # stops, until one fails there and is answered by the primary
    with app_for(pair, replica_retry_s=0.2, replica_lsn_cache_s=300.0) as client:
        routing = client.app.state.data.reads  # type: ignore[attr-defined]
        statuses: list[int] = []
        stop = threading.Event()

        def reader() -> None:
            i = 0
            while not stop.is_set():
                statuses.append(client.get(urls[i % len(urls)]).status_code)
                i += 1

        thread = threading.Thread(target=reader, name="replica-test-reader")
        thread.start()
        try:
            wait_for(lambda: len(statuses) >= 10, "reads before the stop")
            assert routing.replicas[0].in_rotation
            pair.replica.stop()
            before = len(statuses)
            wait_for(lambda: len(statuses) >= before + 30, "reads while the replica is down")
            assert not routing.replicas[0].in_rotation

            pair.replica.start()
            wait_for(lambda: routing.replicas[0].in_rotation, "the replica back in rotation")
            back = len(statuses)
            wait_for(lambda: len(statuses) >= back + 10, "reads after the restart")
        finally:
            stop.set()
            thread.join()
        assert statuses and set(statuses) == {200}, sorted(set(statuses))
        response = client.get(urls[0])
        assert response.status_code == 200
        assert any(table_of(pair, 1) in query for query in replica_queries(pair))


def test_a_withdrawal_the_replica_has_not_replayed_is_read_from_the_primary(pair: Pair) -> None:
    if not table_of_exists(pair, 2):
        publish_shops(pair, 300, "first")
        publish_shops(pair, 280, "second")
    with app_for(pair) as client:
        before = client.get("/v1/datasets").json()["datasets"][0]["current_version"]
        with pair.replica_admin.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_pause()"))
        try:
            withdraw(pair.primary_engine, DATASET, before, "wrong coordinates")
            catalogue = client.get("/v1/datasets").json()["datasets"][0]
            assert catalogue["current_version"] < before
            gone = client.get(f"/v1/datasets/{DATASET}/versions/{before}/records")
            assert gone.status_code == 410
        finally:
            with pair.replica_admin.connect() as conn:
                conn.execute(text("SELECT pg_wal_replay_resume()"))

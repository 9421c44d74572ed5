"""`hub publish` SIGKILLed at each stage: the previous version serves, nothing half-made is
visible, and `hub db gc` leaves no staging table behind.

The process is stopped at a stage by the publish's test-only fault hook
(``HUB_FAULT_PAUSE_AT``, :mod:`etl.fault_hook`): it writes a file when it gets there and
waits, so each kill lands at its stage every time, with no timing guesswork.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, inspect, text

from etl.fault_hook import PAUSE_AT_ENV, READY_FILE_ENV, STAGES
from etl.load import SEARCH_INDEX_BUCKETS
from etl.pipeline import FileSource, publish_dataset
from etl.prepare import prepare
from etl.publish import publish
from hub.api.app import create_app
from hub.catalog import load_definition
from hub.db.staging import (
    LOCK_CLASS,
    drop_orphaned_staging,
    staging_lease,
    staging_table_name,
    staging_tables,
)
from hub.settings import Settings
from tests.shopdata import make_shops, write_csv

# Stages after which the killed publish has committed staging tables for gc to find.
LEAVES_STAGING = {"index", "register"}


@pytest.fixture
def published_v1(settings: Settings, tmp_path: Path):
    engine = create_engine(settings.database_url)
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    publish(engine, prepare(definition, write_csv(tmp_path / "v1.csv", make_shops(25))))
    yield engine, definition
    engine.dispose()


def _hub(settings: Settings, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli", *args],
        env={**os.environ, "HUB_DATABASE_URL": str(settings.database_url),
             "HUB_DATASETS_DIR": str(settings.datasets_dir),
             "HUB_SCHEMAS_DIR": str(settings.schemas_dir), **env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _wait_for(ready: Path, process: subprocess.Popen[str], timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready.exists():
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"hub publish ended before its stage: {output}")
        if time.monotonic() > deadline:
            raise AssertionError("hub publish never reached its stage")
        time.sleep(0.05)


def _wait_until_sessions_gone(engine: Engine, timeout_s: float = 60) -> None:
    """The server ends a dead client's sessions when it notices the closed socket: wait for
    that (no session in a transaction, no staging lock held) before looking at what is left."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            busy = conn.execute(text(
                "SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = "
                "current_database() AND pid <> pg_backend_pid() AND state <> 'idle') + "
                "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND classid = :c)"), {"c": LOCK_CLASS}).scalar_one()
        if not busy:
            return
        time.sleep(0.1)
    raise AssertionError("the killed publish's sessions did not end")


def _assert_only_version_one(engine: Engine, settings: Settings) -> None:
    assert sorted(inspect(engine).get_table_names(schema="data")) == ["test_shops__v1"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM hub.versions")).scalar_one() == 1
        assert conn.execute(text("SELECT current_version FROM hub.datasets")).scalar_one() == 1
    with TestClient(create_app(settings)) as client:
        latest = client.get("/v1/datasets/test-shops/records?limit=100")
        assert latest.status_code == 200
        assert latest.json()["version"] == 1 and len(latest.json()["records"]) == 25
        assert client.get("/v1/datasets/test-shops/versions/2/records").status_code == 404


@pytest.mark.parametrize("stage", STAGES)
def test_publish_killed_at_stage(settings: Settings, published_v1, tmp_path: Path,
                                 stage: str) -> None:
    engine, _definition = published_v1
    ready = tmp_path / "ready"
    csv = write_csv(tmp_path / "v2.csv", make_shops(40, seed=11))
    process = _hub(settings, "publish", "test-shops", str(csv),
                   **{PAUSE_AT_ENV: stage, READY_FILE_ENV: str(ready)})
    try:
        _wait_for(ready, process)
        # Paused at its stage: the new version is nowhere to be seen yet.
        with engine.connect() as conn:
            visible = staging_tables(conn)
        assert bool(visible) == (stage in LEAVES_STAGING)
        _assert_only_version_one_served(settings)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    _wait_until_sessions_gone(engine)
    with engine.connect() as conn:
        orphans = staging_tables(conn)
    assert bool(orphans) == (stage in LEAVES_STAGING)

    gc = _hub(settings, "db", "gc")
    output, _ = gc.communicate(timeout=120)
    assert gc.returncode == 0, output
    for name in orphans:
        assert f"dropped staging table data.{name}" in output
    assert f"{len(orphans)} orphaned staging table(s) dropped" in output
    with engine.connect() as conn:
        assert staging_tables(conn) == []
    _assert_only_version_one(engine, settings)


def _assert_only_version_one_served(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        response = client.get("/v1/datasets/test-shops/records?limit=1")
        assert response.status_code == 200 and response.json()["version"] == 1


def test_next_publish_drops_a_killed_publishs_staging(settings: Settings, published_v1,
                                                      tmp_path: Path) -> None:
    engine, definition = published_v1
    ready = tmp_path / "ready"
    process = _hub(settings, "publish", "test-shops",
                   str(write_csv(tmp_path / "v2.csv", make_shops(40, seed=11))),
                   **{PAUSE_AT_ENV: "index", READY_FILE_ENV: str(ready)})
    try:
        _wait_for(ready, process)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    _wait_until_sessions_gone(engine)
    with engine.connect() as conn:
        assert len(staging_tables(conn)) == 1
    outcome = publish_dataset(definition, FileSource(write_csv(tmp_path / "v3.csv",
                                                               make_shops(30, seed=12))),
                              engine=engine)
    assert outcome.version == 2
    assert sorted(inspect(engine).get_table_names(schema="data")) == [
        "test_shops__v1", "test_shops__v2"]


def test_gc_leaves_a_running_publishs_staging_alone(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    try:
        with staging_lease(engine) as token:
            name = staging_table_name(token, 0)
            with engine.begin() as conn:
                conn.execute(text(f'CREATE TABLE data."{name}" (x int)'))
            assert drop_orphaned_staging(engine) == []
            with engine.connect() as conn:
                assert staging_tables(conn) == [name]
        assert drop_orphaned_staging(engine) == [name]
        with engine.connect() as conn:
            assert staging_tables(conn) == []
    finally:
        engine.dispose()


def test_registered_version_keeps_no_staging_names(settings: Settings, published_v1,
                                                   tmp_path: Path) -> None:
    """The rename gives the table and every index its version name."""
    engine, definition = published_v1
    publish_dataset(definition, FileSource(write_csv(tmp_path / "v2.csv",
                                                     make_shops(40, seed=11))), engine=engine)
    with engine.connect() as conn:
        names = conn.execute(text(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'data' "
            "AND tablename = 'test_shops__v2' ORDER BY 1")).scalars().all()
    search_parts = [f"test_shops__v2_search_{n}" for n in range(SEARCH_INDEX_BUCKETS)]
    assert names == ["test_shops__v2_geom", "test_shops__v2_pk", "test_shops__v2_pkey",
                     *search_parts]
    # _fid's key is built after the rows and attached at registration: still the table's
    # primary key (GDAL and QGIS take a PostGIS layer's feature id from it), by that name
    key = inspect(engine).get_pk_constraint("test_shops__v2", schema="data")
    assert (key["constrained_columns"], key["name"]) == (["_fid"], "test_shops__v2_pkey")

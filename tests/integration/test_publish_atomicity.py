"""A publish that dies half-way leaves the previous version serving and no trace of the new one.

Two real failures: the ``hub publish`` process is SIGKILLed while its COPY is running, and
the database connection is terminated mid-load by the server (``pg_terminate_backend``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from etl.prepare import prepare
from etl.publish import publish
from hub.catalog import load_definition
from hub.settings import Settings
from tests.shopdata import make_shops, write_csv

BIG_ROWS = 150_000


def _copy_backend_pid(engine, timeout_s: float = 120.0) -> int:
    """Wait until some session is running our COPY and return its backend pid."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            pid = conn.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE query LIKE 'COPY data.%' "
                "AND pid <> pg_backend_pid()")).scalar()
        if pid:
            return int(pid)
        time.sleep(0.05)
    raise AssertionError("the publish never reached COPY")


def _assert_only_version_one(engine, rows: int) -> None:
    assert sorted(inspect(engine).get_table_names(schema="data")) == ["test_shops__v1"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT current_version FROM hub.datasets")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM hub.versions")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM data.test_shops__v1")).scalar_one() == rows


@pytest.fixture
def published_v1(settings: Settings, tmp_path: Path):
    engine = create_engine(settings.database_url)
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    publish(engine, prepare(definition, write_csv(tmp_path / "v1.csv", make_shops(25))))
    yield engine, definition
    engine.dispose()


@pytest.mark.slow
def test_killed_publish_leaves_previous_version(settings, published_v1, tmp_path) -> None:
    engine, _definition = published_v1
    big = write_csv(tmp_path / "big.csv", make_shops(BIG_ROWS, seed=3), messy=False)
    env = {**os.environ, "HUB_DATABASE_URL": settings.database_url,
           "HUB_DATASETS_DIR": str(settings.datasets_dir),
           "HUB_SCHEMAS_DIR": str(settings.schemas_dir)}
    process = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "publish", "test-shops", str(big)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _copy_backend_pid(engine)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    # the server notices the dead client and rolls its transaction back
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            busy = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY data.%' "
                "AND pid <> pg_backend_pid()")).scalar_one()
        if not busy:
            break
        time.sleep(0.1)
    _assert_only_version_one(engine, 25)
    from fastapi.testclient import TestClient

    from hub.api.app import create_app

    with TestClient(create_app(settings)) as client:
        response = client.get("/v1/datasets/test-shops/records?limit=1")
        assert response.status_code == 200 and response.json()["version"] == 1


@pytest.mark.slow
def test_lost_connection_mid_load_leaves_previous_version(settings, published_v1, tmp_path) -> None:
    engine, definition = published_v1
    prepared = prepare(definition, write_csv(tmp_path / "big.csv",
                                             make_shops(BIG_ROWS, seed=4), messy=False))
    killer_engine = create_engine(settings.database_url)

    def terminate_copy() -> None:
        pid = _copy_backend_pid(killer_engine)
        with killer_engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    killer = threading.Thread(target=terminate_copy)
    killer.start()
    publish_engine = create_engine(settings.database_url)
    with pytest.raises(Exception, match=r"terminat|closed|connection"):
        publish(publish_engine, prepared)
    killer.join(timeout=60)
    publish_engine.dispose()
    killer_engine.dispose()
    _assert_only_version_one(engine, 25)

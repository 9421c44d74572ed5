"""A publish that dies half-way leaves the previous version serving and no trace of the new one.

Real failures at every step of the publish transaction: the ``hub publish`` process is
SIGKILLed while its COPY is running; the server terminates the connection mid-load
(``pg_terminate_backend``); and, after COPY, PostgreSQL itself refuses the index build (an
event trigger), the change summary (the previous version's table locked by another session,
past ``lock_timeout``) and the version row (a trigger on ``hub.versions``). Two concurrent
publishes of one dataset queue on the dataset row and both land, as N+1 and N+2.
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

from etl.pipeline import FileSource, PublishOutcome, publish_dataset
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
        leftovers = conn.execute(text(
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'data' AND relname LIKE '%v2%'")).scalars().all()
        assert leftovers == []  # no table, index or sequence of the failed version


def _assert_version_one_serves(settings: Settings) -> None:
    from fastapi.testclient import TestClient

    from hub.api.app import create_app

    with TestClient(create_app(settings)) as client:
        response = client.get("/v1/datasets/test-shops/records?limit=1")
        assert response.status_code == 200 and response.json()["version"] == 1


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


# --- failures after COPY, raised by PostgreSQL itself --------------------------------------------

INDEX_BUILD_FAILS = """
CREATE FUNCTION refuse_index() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'injected: index build failed'; END $$;
CREATE EVENT TRIGGER refuse_index ON ddl_command_end WHEN TAG IN ('CREATE INDEX')
EXECUTE FUNCTION refuse_index();
"""
VERSION_ROW_FAILS = """
CREATE FUNCTION refuse_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'injected: version row refused'; END $$;
CREATE TRIGGER refuse_version BEFORE INSERT ON hub.versions
FOR EACH ROW EXECUTE FUNCTION refuse_version();
"""


def _next_csv(tmp_path: Path, seed: int = 11) -> FileSource:
    return FileSource(write_csv(tmp_path / f"v2-{seed}.csv", make_shops(40, seed=seed)))


@pytest.mark.parametrize(("fault", "message"), [
    (INDEX_BUILD_FAILS, "index build failed"),
    (VERSION_ROW_FAILS, "version row refused"),
], ids=["index-build", "version-row"])
def test_failure_after_copy_leaves_previous_version(settings, published_v1, tmp_path,
                                                    fault, message) -> None:
    engine, definition = published_v1
    with engine.begin() as conn:
        conn.execute(text(fault))
    with pytest.raises(Exception, match=message):
        publish_dataset(definition, _next_csv(tmp_path), engine=engine)
    _assert_only_version_one(engine, 25)
    _assert_version_one_serves(settings)


def test_change_summary_failure_leaves_previous_version(settings, published_v1,
                                                         tmp_path) -> None:
    """The summary is the first step to read the previous version's table: another session
    holding it locked makes that read fail (lock_timeout) after the new table was filled."""
    engine, definition = published_v1
    impatient = create_engine(settings.database_url,
                              connect_args={"options": "-c lock_timeout=1000"})
    blocker = engine.connect()
    try:
        blocker.execute(text("LOCK TABLE data.test_shops__v1 IN ACCESS EXCLUSIVE MODE"))
        with pytest.raises(Exception, match="lock timeout"):
            publish_dataset(definition, _next_csv(tmp_path), engine=impatient)
    finally:
        blocker.rollback()
        blocker.close()
        impatient.dispose()
    _assert_only_version_one(engine, 25)
    _assert_version_one_serves(settings)


# --- two publishes of one dataset at once ------------------------------------------------------


def _waiting_behind(engine, holder_pid: int) -> int:
    """How many sessions wait, directly or through another waiter, on ``holder_pid``'s locks.

    A second session queued on a row waits on the first waiter's tuple lock, not on the
    holder, hence the walk. Counting every session in a lock wait would also count a
    publish's ANALYZE waiting briefly on its own index builds.
    """
    with engine.connect() as conn:
        return conn.execute(text("""
            WITH RECURSIVE waiting(pid) AS (
                SELECT pid FROM pg_stat_activity WHERE :holder = ANY(pg_blocking_pids(pid))
                UNION
                SELECT a.pid FROM pg_stat_activity a JOIN waiting w
                    ON w.pid = ANY(pg_blocking_pids(a.pid)))
            SELECT count(*) FROM waiting"""), {"holder": holder_pid}).scalar_one()


def test_concurrent_publishes_both_land_in_order(settings, published_v1, tmp_path) -> None:
    """Both publishes are held at the dataset row (a third session locks it first) until
    both wait, so they truly overlap; released, they queue and become versions 2 and 3."""
    engine, definition = published_v1
    sources = {30: FileSource(write_csv(tmp_path / "a.csv", make_shops(30, seed=21))),
               35: FileSource(write_csv(tmp_path / "b.csv", make_shops(35, seed=22)))}
    outcomes: dict[int, PublishOutcome] = {}
    errors: list[BaseException] = []

    def run(rows: int) -> None:
        own = create_engine(settings.database_url)
        try:
            outcomes[rows] = publish_dataset(definition, sources[rows], engine=own)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            own.dispose()

    gate = engine.connect()
    gate_pid = gate.execute(text("SELECT pg_backend_pid()")).scalar_one()
    gate.execute(text("SELECT 1 FROM hub.datasets WHERE id = 'test-shops' FOR UPDATE"))
    threads = [threading.Thread(target=run, args=(rows,)) for rows in sources]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 120
    while _waiting_behind(engine, gate_pid) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    both_waited = _waiting_behind(engine, gate_pid) >= 2
    gate.rollback()
    gate.close()
    for thread in threads:
        thread.join(timeout=300)
    assert both_waited, "the two publishes never waited on the dataset row together"
    assert not errors, errors
    assert sorted(o.version for o in outcomes.values()) == [2, 3]
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT version, row_count, table_name, change_summary FROM hub.versions "
            "ORDER BY version")).mappings().all()
        assert [r["version"] for r in rows] == [1, 2, 3]
        for r in rows:  # every version's table holds exactly its rows: nothing lost or doubled
            count = conn.execute(text(f'SELECT count(*) FROM data."{r["table_name"]}"'))
            assert count.scalar_one() == r["row_count"]
        assert conn.execute(text("SELECT current_version FROM hub.datasets")).scalar_one() == 3
    assert sorted(inspect(engine).get_table_names(schema="data")) == [
        "test_shops__v1", "test_shops__v2", "test_shops__v3"]
    second, third = rows[1], rows[2]
    assert {second["row_count"], third["row_count"]} == {30, 35}
    assert outcomes[second["row_count"]].version == 2
    # version 3 was summarised against version 2, not against the version 1 both started from
    assert third["change_summary"]["previous_version"] == 2
    first_ids = {s.shop_id for s in make_shops(second["row_count"],
                                                seed=21 if second["row_count"] == 30 else 22)}
    third_ids = {s.shop_id for s in make_shops(third["row_count"],
                                                seed=21 if third["row_count"] == 30 else 22)}
    assert third["change_summary"]["added"] == len(third_ids - first_ids)
    assert third["change_summary"]["removed"] == len(first_ids - third_ids)

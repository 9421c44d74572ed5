"""The HTTP cache purge outbox: every publish and withdrawal queues a purge in its own
transaction; the purger sends it as a BAN with the stale tags, keeps it when a cache does not
accept it (retried later, the publish unaffected), and two purgers never send one twice."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select

from etl.prepare import prepare
from etl.publish import publish
from etl.withdraw import withdraw
from hub.catalog import load_definition
from hub.db.cluster import free_port
from hub.db.tables import http_cache_purges
from hub.http_cache.purger import CachePurger
from hub.settings import Settings
from tests.shopdata import make_shops, write_csv
from tests.webhook_receiver import Answer, Receiver

LATER = timedelta(days=1)  # a moment when every retry is due


@pytest.fixture
def engine(db_url: str) -> Engine:
    engine = create_engine(db_url)
    yield engine
    engine.dispose()


def _publish(engine: Engine, settings: Settings, folder: Path, rows: int) -> int:
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    csv = write_csv(folder / f"shops-{rows}.csv", make_shops(rows))
    return publish(engine, prepare(definition, csv)).version


def _queued(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(http_cache_purges)).mappings()]


def test_a_publish_bans_latest_and_a_withdrawal_the_version_too(
        engine: Engine, settings: Settings, tmp_path: Path) -> None:
    first = _publish(engine, settings, tmp_path, 30)
    _publish(engine, settings, tmp_path, 20)
    withdraw(engine, "test-shops", first, "wrong coordinates")
    assert len(_queued(engine)) == 3
    with Receiver() as receiver:
        purger = CachePurger(engine, [receiver.url])
        assert purger.run_once() == 3
    assert [r.headers["Hub-Cache-Ban"] for r in receiver.received] == [
        "test-shops@latest", "test-shops@latest", f"test-shops@{first} test-shops@latest"]
    assert all(r.path == "/hook" for r in receiver.received)
    assert _queued(engine) == []


def test_a_purge_no_cache_accepts_is_kept_and_retried(engine: Engine, settings: Settings,
                                                      tmp_path: Path) -> None:
    _publish(engine, settings, tmp_path, 30)  # commits although no cache is reachable
    closed = f"http://127.0.0.1:{free_port()}/"
    now = datetime.now(UTC)
    assert CachePurger(engine, [closed], timeout_s=1).run_once(now) == 1
    [kept] = _queued(engine)
    assert kept["attempts"] == 1 and "ConnectError" in kept["last_error"]
    assert kept["next_attempt_at"] > now
    with Receiver() as receiver:
        receiver.script.append(Answer(status=503))
        purger = CachePurger(engine, [receiver.url])
        assert purger.run_once(now) == 0  # not due yet
        assert purger.run_once(now + LATER) == 1  # due, refused with 503: kept again
        [again] = _queued(engine)
        assert again["attempts"] == 2 and "HTTP 503" in again["last_error"]
        assert purger.run_once(now + 2 * LATER) == 1
    assert _queued(engine) == []
    assert len(receiver.received) == 2


def test_two_purgers_never_send_the_same_purge(engine: Engine, settings: Settings,
                                               tmp_path: Path) -> None:
    for rows in (30, 20, 10):
        _publish(engine, settings, tmp_path, rows)
    with Receiver() as receiver:
        receiver.script.append(Answer(hang=True))  # the first purger holds its claim here
        first, second = CachePurger(engine, [receiver.url]), CachePurger(engine,
                                                                         [receiver.url])
        sent: list[int] = []
        busy = threading.Thread(target=lambda: sent.append(first.run_once()))
        busy.start()
        assert receiver.arrived.wait(10)
        assert second.run_once() == 0  # every due purge is claimed by the first: skipped
        receiver.released.set()
        busy.join(10)
    assert sent == [3]
    assert len(receiver.received) == 3
    assert _queued(engine) == []

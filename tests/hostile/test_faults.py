"""Faults the hub survives: the bulk-file store's disk filling up while files are built, and
PostgreSQL restarting while the API is under load and a publish is under way."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from hub.data.people import People as PeopleStore
from hub.db.cluster import LocalCluster
from hub.people.scopes import Scope
from tests.api.conftest import Hub
from tests.e2e.live_hub import running_hub
from tests.fakes.full_disk import full_disk
from tests.people_hub import issue_key
from tests.shopdata import make_shops, write_csv

PINNED = "/v1/datasets/test-shops/versions/1/download"


def test_a_full_disk_gives_a_clear_503_keeps_nothing_partial_and_a_rebuild_works(
        hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    artifacts = Path(hub.client.app.state.settings.artifact_dir)
    with full_disk(monkeypatch, budget=4096) as disk:
        full = hub.client.get(f"{PINNED}.csv")
        assert full.status_code == 503, full.text[:300]
        assert full.headers["content-type"].startswith("application/problem+json")
        assert full.headers["retry-after"] == "60"
        assert "file store is full" in full.json()["detail"]
        assert disk.used == 4096  # the disk really filled: a file was cut short
        # nothing of the half-built version is visible, and the staging area is empty
        assert not (artifacts / "test-shops" / "v1").exists()
        staging = artifacts / ".staging"
        assert not staging.exists() or not any(staging.iterdir())
        # the listing does not offer a file that was never completed
        assert hub.client.get(f"{PINNED}.csv").status_code == 503
        disk.free_space()
        rebuilt = hub.client.get(f"{PINNED}.csv")
    assert rebuilt.status_code == 200
    # the checksum the hub states is the checksum of what it served
    digest = base64.b64encode(hashlib.sha256(rebuilt.content).digest()).decode()
    assert rebuilt.headers["repr-digest"] == f"sha-256=:{digest}:"
    assert len(rebuilt.content.splitlines()) == 301  # the header and every shop: not truncated


# -- PostgreSQL restarted under load ---------------------------------------------------------


@pytest.fixture
def live(pg_cluster: LocalCluster, tmp_path_factory):
    with running_hub(pg_cluster, tmp_path_factory.mktemp("restart"), datasets=(),
                     rate_limit_anonymous=0) as hub:
        yield hub


def _publisher(database_url: str) -> str:
    engine = create_engine(database_url)
    _id, token = issue_key(PeopleStore(engine), "restart", Scope.PUBLISH)
    engine.dispose()
    return token


# A restart of the cluster takes a second or two here; after it the hub answers again at
# once (the pool replaces dead connections). The stated bound, docs/security.md: 10 s.
RECOVERY_S = 10.0


def test_a_database_restart_under_load_gives_only_503s_and_loses_or_doubles_no_publish(
        live, pg_cluster: LocalCluster, tmp_path: Path) -> None:
    token = _publisher(live.database_url)
    stop = threading.Event()
    answers: list[tuple[float, int, str | None]] = []

    def reader(path: str) -> None:
        with httpx.Client(base_url=live.url, timeout=30) as client:
            while not stop.is_set():
                try:
                    r = client.get(path)
                    answers.append((time.monotonic(), r.status_code,
                                    r.headers.get("retry-after")))
                except httpx.TransportError:
                    answers.append((time.monotonic(), -1, None))

    paths = ["/v1/datasets/test-shops/versions/1/records?limit=5",
             "/v1/datasets/test-shops/versions/1/records/S0001", "/v1/datasets"]
    threads = [threading.Thread(target=reader, args=(p,)) for p in paths]
    for thread in threads:
        thread.start()
    publishes: list[int] = []
    try:
        time.sleep(1.0)
        files = [write_csv(tmp_path / f"v{n}.csv", make_shops(50 + n)) for n in range(3)]
        restart_at = time.monotonic()
        restarter = threading.Thread(target=lambda: (pg_cluster.stop(), pg_cluster.start()))
        restarter.start()
        for path in files:  # each publish retried, as a client would, until it is answered
            publishes.append(_publish_with_retries(live.url, token, path))
        restarter.join(timeout=120)
        back_at = time.monotonic()
        time.sleep(2.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    statuses = Counter(status for _t, status, _r in answers)
    print(f"answers while the database restarted: {dict(statuses)}; recovered "
          f"{max((t for t, s, _r in answers if s != 200), default=restart_at) - restart_at:.1f} s "
          "after the restart began")
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[200] > 0 and all(r is not None for _t, s, r in answers if s == 503)
    last_failure = max((t for t, s, _r in answers if s != 200), default=restart_at)
    assert last_failure - restart_at < RECOVERY_S + (back_at - restart_at), statuses
    # every publish answered 201 exactly once and made exactly one version
    engine = create_engine(live.database_url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT version, row_count FROM hub.versions WHERE dataset_id = 'test-shops' "
            "AND version > 2 ORDER BY version")).all()
    engine.dispose()
    assert [r.row_count for r in rows] == [50, 51, 52]
    assert publishes == [3, 4, 5]


def _publish_with_retries(base: str, token: str, path: Path) -> int:
    deadline = time.monotonic() + 90
    with httpx.Client(base_url=base, timeout=60) as client:
        while time.monotonic() < deadline:
            try:
                r = client.post("/v1/datasets/test-shops/versions",
                                headers={"Authorization": f"Bearer {token}"},
                                files={"file": (path.name, path.read_bytes(), "text/csv")})
            except httpx.TransportError:
                time.sleep(0.5)
                continue
            if r.status_code == 503:
                time.sleep(float(r.headers.get("retry-after", "1")))
                continue
            assert r.status_code in (200, 201), r.text[:500]
            return int(r.json()["version"])
    raise AssertionError("the publish was never answered")

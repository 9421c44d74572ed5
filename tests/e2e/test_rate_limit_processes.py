"""Quotas hold across server processes: two real uvicorn processes share one real Redis.

Each process is the hub as deployed (``uvicorn hub.api.asgi:app``, settings from the
environment); requests alternate between them, and the quota is reached after the same
number of requests as with one process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine

from hub.data.people import People
from hub.db.cluster import free_port
from hub.people.scopes import Scope
from tests.conftest import ROOT
from tests.e2e.processes import wait_for_port
from tests.people_hub import issue_key

pytestmark = pytest.mark.slow


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    if not shutil.which("redis-server"):
        pytest.skip("redis-server not installed (apt-get install redis-server, or make deps)")
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process, tmp_path / "none")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _start_hubs(count: int, env: dict[str, str],
                tmp_path: Path) -> list[tuple[str, subprocess.Popen]]:
    hubs = []
    for n in range(count):
        port = free_port()
        log = tmp_path / f"hub{n}.log"
        with log.open("wb") as handle:
            process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "hub.api.asgi:app", "--host", "127.0.0.1",
                 "--port", str(port), "--no-access-log", "--log-level", "warning"],
                env={**os.environ, **env}, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)
        hubs.append((f"http://127.0.0.1:{port}", process))
        wait_for_port(port, process, log)
    return hubs


def test_counters_are_shared_by_two_server_processes(db_url: str, redis_url: str,
                                                     tmp_path: Path) -> None:
    engine = create_engine(db_url)
    _id, token = issue_key(People(engine), "shared", Scope.CONTRIBUTE, rate_limit=4)
    engine.dispose()
    env = {"HUB_DATABASE_URL": db_url, "HUB_RATE_LIMIT_STORAGE": redis_url,
           "HUB_RATE_LIMIT_ANONYMOUS": "5", "HUB_DATA_DIR": str(tmp_path / "data")}
    hubs = _start_hubs(2, env, tmp_path)
    try:
        bases = [base for base, _process in hubs]
        with httpx.Client(timeout=30) as client:
            keyed = [client.get(f"{bases[n % 2]}/v1/me",
                                headers={"Authorization": f"Bearer {token}"})
                     for n in range(5)]
            assert [r.status_code for r in keyed] == [200, 200, 200, 200, 429]
            assert keyed[3].headers["RateLimit"].startswith('"key";r=0;')
            assert keyed[4].headers["content-type"].startswith("application/problem+json")
            assert int(keyed[4].headers["Retry-After"]) > 0

            anonymous = [client.get(f"{bases[n % 2]}/v1/datasets").status_code
                         for n in range(6)]
            assert anonymous == [200] * 5 + [429]
            # the other process refuses too: the count is the shared one
            assert client.get(f"{bases[1]}/v1/datasets").status_code == 429
    finally:
        for _base, process in hubs:
            process.terminate()
        for _base, process in hubs:
            process.wait(timeout=20)

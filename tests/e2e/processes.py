"""The hub as deployed, in its own processes: ``hub serve --workers N`` (and Varnish in front,
tests/e2e/test_varnish.py) over a test database, settings from the environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import FIXTURES, ROOT

STARTED = "Application startup complete"  # uvicorn's log line, once per worker


def wait_for_port(port: int, process: subprocess.Popen, log: Path,
                  timeout_s: float = 60) -> None:
    """Until something accepts connections on ``port``; the process's log if it died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited: {log.read_text(errors='replace')[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"port {port} not ready: {log.read_text(errors='replace')[-2000:]}")


def hub_env(database_url: str, data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of a hub over the test fixtures' datasets; ``settings`` are more
    ``HUB_*`` variables (without the prefix, lower case)."""
    return {"HUB_DATABASE_URL": database_url, "HUB_DATASETS_DIR": str(FIXTURES / "datasets"),
            "HUB_SCHEMAS_DIR": str(FIXTURES / "schemas"), "HUB_DATA_DIR": str(data_dir),
            **{f"HUB_{name.upper()}": value for name, value in settings.items()}}


@contextmanager
def serving(env: dict[str, str], port: int, workers: int, log: Path) -> Iterator[str]:
    """``hub serve --workers`` on ``port``; yields its base URL once every worker has run
    its start-up (uvicorn logs it once per worker) and ``/healthz`` answers."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "serve", "--host", "127.0.0.1", "--port",
             str(port), "--workers", str(workers)],
            env={**os.environ, **env}, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_port(port, process, log)
        deadline = time.monotonic() + 90
        while log.read_text(errors="replace").count(STARTED) < workers:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"hub workers not started: {log.read_text(errors='replace')}")
            time.sleep(0.2)
        assert httpx.get(f"{base}/healthz", timeout=30).status_code == 200
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

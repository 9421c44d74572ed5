"""`hub serve-cached` (what `make serve-cached` runs): Varnish on HUB_PORT answers for the
hub's workers on HUB_PORT + 1, and stopping the command stops both."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from hub.db.cluster import free_port
from hub.http_cache.varnish import VarnishError, varnishd
from tests.conftest import ROOT
from tests.e2e.processes import hub_env, wait_for_port

pytestmark = pytest.mark.slow


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_serve_cached_puts_varnish_in_front_and_stops_both(db_url: str, tmp_path: Path) -> None:
    try:
        varnishd()
    except VarnishError as exc:
        pytest.skip(f"{exc}: `hub serve-cached` needs Debian's varnish package")
    port = free_port()
    log = tmp_path / "serve-cached.log"
    env = {**os.environ, **hub_env(db_url, tmp_path / "data", port=str(port))}
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "hub.cli", "serve-cached",
                                    "--workers", "2", "--backend-port", str(port + 1)],
                                   env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process, log)
        deadline = time.monotonic() + 60
        while (answer := httpx.get(f"http://127.0.0.1:{port}/v1/datasets",
                                   timeout=30)).status_code != 200:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        assert "varnish" in answer.headers["via"].lower()
        assert answer.headers["x-cache"] == "PASS"  # a catalogue list: never stored
        assert _listening(port + 1)  # the workers themselves
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert not _listening(port) and not _listening(port + 1)

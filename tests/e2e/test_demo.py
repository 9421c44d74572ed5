"""`hub demo` (what `make demo` runs after installing): embedded PostGIS, every dataset under
datasets/ published, a server answering /v1/datasets with the demo catalogue on HUB_PORT; the
portal's URL printed first and a staff key for the console, kept under the data directory
(mode 0600, not in the repository)."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from hub.catalog import load_definitions
from hub.db.cluster import free_port
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_demo_serves_the_whole_catalogue() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="hub-demo-", dir="/tmp"))
    data_dir.chmod(0o755)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"HUB_DATA_DIR": str(data_dir / ".hub"), "HUB_DB_PORT": str(free_port()),
                "HUB_PORT": str(port)})
    expected = sorted(load_definitions(ROOT / "datasets", ROOT / "schemas"))
    demo = subprocess.Popen([sys.executable, "-m", "hub.cli", "demo"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        body = None
        deadline = time.monotonic() + 420
        while time.monotonic() < deadline and demo.poll() is None:
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/v1/datasets?limit=100",
                                 timeout=5).json()
                break
            except httpx.TransportError:
                time.sleep(0.5)
        assert body is not None, f"demo never served: {demo.stdout.read() if demo.poll() else ''}"
        assert sorted(d["id"] for d in body["datasets"]) == expected
        synthetic = next(d for d in body["datasets"] if "synthetic" in d["id"])
        assert "SYNTHETIC" in synthetic["title"]["en"] and "合成データ" in synthetic["title"]["ja"]
        kobe = httpx.get(f"http://127.0.0.1:{port}/v1/datasets/kobe-aed/records",
                         params={"near": "34.6946,135.1956", "limit": 3}, timeout=10).json()
        assert kobe["numberReturned"] == 3
        kept = data_dir / ".hub" / "demo-staff-key"
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        token = kept.read_text(encoding="utf-8").strip()
        me = httpx.get(f"http://127.0.0.1:{port}/v1/me", timeout=10,
                       headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text
        assert {"publish", "moderate"} <= set(me.json()["scopes"])
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            demo.kill()
        output = demo.stdout.read().splitlines()
        subprocess.run([sys.executable, "-m", "hub.cli", "db", "down"], env=env, cwd=ROOT,
                       capture_output=True, timeout=120)
        shutil.rmtree(data_dir, ignore_errors=True)
    assert output[0].startswith(f"Portal: http://127.0.0.1:{port}/ "), output[:3]
    key_lines = [line for line in output if line.startswith("Staff key")]
    assert len(key_lines) == 2 and token in key_lines[0], output  # at the start and the end
    ignored = subprocess.run(["git", "check-ignore", "-q", ".hub/demo-staff-key"], cwd=ROOT)
    assert ignored.returncode == 0  # the checkout's .hub/ (the default) is never committed

"""The newcomer's path, for real: `hub db up` creates and starts the embedded PostGIS,
`hub publish` loads data, `hub serve` answers HTTP on its port, `hub db down` stops it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from hub.db.cluster import free_port
from tests.conftest import FIXTURES
from tests.shopdata import make_shops, write_csv

pytestmark = pytest.mark.slow


def run_hub(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "hub.cli", *args], env=env,
                            capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, f"hub {' '.join(args)}: {result.stdout}\n{result.stderr}"
    return result


@pytest.fixture
def hub_env():
    data_dir = Path(tempfile.mkdtemp(prefix="hub-e2e-", dir="/tmp"))
    data_dir.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({
        "HUB_DATA_DIR": str(data_dir / ".hub"),
        "HUB_DB_PORT": str(free_port()),
        "HUB_DATASETS_DIR": str(FIXTURES / "datasets"),
        "HUB_SCHEMAS_DIR": str(FIXTURES / "schemas"),
    })
    yield env, data_dir
    run_hub(env, "db", "down", check=False)
    shutil.rmtree(data_dir, ignore_errors=True)


def test_db_up_publish_serve_down(hub_env, tmp_path) -> None:
    env, _data_dir = hub_env
    status = run_hub(env, "db", "status", check=False)
    assert status.returncode == 3 and "hub db up" in (status.stdout + status.stderr)
    run_hub(env, "db", "up")
    run_hub(env, "db", "up")  # idempotent
    versions = Path(__file__).resolve().parents[2] / "hub" / "db" / "migrations" / "versions"
    head = max(p.name[:4] for p in versions.glob("[0-9][0-9][0-9][0-9]_*.py"))
    assert f"migration: {head}" in run_hub(env, "db", "status").stdout
    assert run_hub(env, "db", "url").stdout.startswith("postgresql+psycopg://hub:")
    # The server and the publisher log in as their own roles (docs/security.md).
    for role, login in (("api", "hub_api"), ("publish", "hub_publish")):
        url = run_hub(env, "db", "url", "--role", role).stdout
        assert url.startswith(f"postgresql+psycopg://{login}:")

    source = write_csv(tmp_path / "shops.csv", make_shops(40))
    published = run_hub(env, "publish", "test-shops", str(source))
    assert "version 1" in published.stderr + published.stdout
    unchanged = run_hub(env, "publish", "test-shops", str(source))
    assert "unchanged" in unchanged.stderr + unchanged.stdout

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "hub.cli", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        body = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/v1/datasets", timeout=2).json()
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert body is not None, "server did not answer"
        assert [d["id"] for d in body["datasets"]] == ["test-shops"]
        assert body["datasets"][0]["row_count"] == 40
    finally:
        server.terminate()
        server.wait(timeout=30)
    run_hub(env, "db", "down")
    assert run_hub(env, "db", "status", check=False).returncode == 3


def test_publish_reports_errors_with_exit_code(hub_env, tmp_path) -> None:
    env, _ = hub_env
    bad = tmp_path / "bad.csv"
    bad.write_text("店舗ID,名称,階数,緯度,経度\r\nS1,店,三,35.6,139.7\r\nS1,店2,2,35.6,139.7\r\n",
                   encoding="utf-8")
    result = run_hub(env, "validate", "test-shops", str(bad), "--report", "json", check=False)
    assert result.returncode == 1
    import json

    report = json.loads(result.stdout)
    rules = {(i["row"], i["column"], i["rule"]) for i in report["issues"]
             if i["severity"] == "error"}
    assert (2, "階数", "type:integer") in rules
    assert any(rule in ("unique", "primary-key") and row == 3 for row, _c, rule in rules)
    missing = run_hub(env, "validate", "no-such-dataset", str(bad), check=False)
    assert missing.returncode == 2 and "unknown dataset" in missing.stderr
    help_text = run_hub(env, "publish", "--help").stdout
    assert "--skip-invalid" in help_text and "--dry-run" in help_text and "Example" in help_text

"""Secrets never shown: the database password, the CKAN key, webhook secrets and key tokens
appear in no log, no error body, no `--help` text and no repr of the settings.

One scenario through the real programs: `hub` commands (help texts, a publish, a key
created, a CKAN push to an unreachable site, commands against a database URL with a wrong
password) with their output and Python logging captured, `hub serve` in its own process with
its output captured while it takes a webhook subscription, an HTTP publish (which queues a
delivery the worker signs with the webhook's secret and fails to send) and requests with
wrong tokens. Then every captured text, the PostgreSQL server log included, is searched for
every secret.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from hub.cli import app as cli
from hub.db.cluster import LocalCluster, free_port
from hub.settings import Settings
from tests.conftest import FIXTURES
from tests.shopdata import make_shops, write_csv

HUB = [sys.executable, "-m", "hub.cli"]


class Transcript:
    """Every text the scenario saw, by where it came from."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    def add(self, where: str, text: str) -> str:
        self.texts[where] = self.texts.get(where, "") + text
        return text

    def run(self, where: str, args: list[str], env: dict[str, str]) -> Result:
        """``hub args`` in this process with ``env`` as its environment."""
        result = CliRunner().invoke(cli, args, env=env, catch_exceptions=True)
        self.add(where, result.output + (repr(result.exception) if result.exception else ""))
        return result


@pytest.fixture
def environment(db_url: str, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "COLUMNS": "200",
            "HUB_DATABASE_URL": db_url,
            "HUB_DATA_DIR": str(tmp_path / "data"),
            "HUB_DATASETS_DIR": str(FIXTURES / "datasets"),
            "HUB_SCHEMAS_DIR": str(FIXTURES / "schemas"),
            "HUB_ARTIFACT_DIR": str(tmp_path / "artifacts"),
            "HUB_CKAN_URL": "http://127.0.0.1:9",  # nothing listens: every call fails
            "HUB_CKAN_API_KEY": f"ckan-{secrets.token_hex(16)}",
            "HUB_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "127.0.0.0/8",
            "HUB_WEBHOOKS_POLL_S": "0.2", "HUB_WEBHOOKS_BACKOFF_S": "0.2",
            "HUB_USAGE_FLUSH_S": "0.5"}


@pytest.fixture
def server(environment: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        process = subprocess.Popen([*HUB, "serve", "--port", str(port)], env=environment,
                                   stdout=sink, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):  # readiness, not a timing assertion
                if process.poll() is not None:
                    pytest.fail(f"hub serve exited: {log.read_text()}")
                try:
                    if httpx.get(f"{base}/v1/datasets", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            yield base, log
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_no_secret_appears_in_logs_errors_help_or_reprs(
        environment: dict[str, str], server: tuple[str, Path], pg_cluster: LocalCluster,
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seen = Transcript()
    base, serve_log = server
    database_password = unquote(urlsplit(environment["HUB_DATABASE_URL"]).password or "")
    assert database_password
    wrong_password = f"wrong-{secrets.token_hex(12)}"
    found: dict[str, str] = {"database password": database_password,
                             "CKAN key": environment["HUB_CKAN_API_KEY"],
                             "wrong database password": wrong_password}

    for args in (["--help"], ["serve", "--help"], ["publish", "--help"], ["db", "up", "--help"],
                 ["db", "status", "--help"], ["ckan", "push", "--help"],
                 ["keys", "create", "--help"]):
        assert seen.run("help " + " ".join(args), args, environment).exit_code == 0

    source = write_csv(tmp_path / "shops.csv", make_shops(30))
    assert seen.run("hub publish", ["publish", "test-shops", str(source)],
                    environment).exit_code == 0
    created = CliRunner().invoke(cli, ["keys", "create", "--name", "ops", "--scopes", "admin",
                                       "--output", "json"], env=environment)
    assert created.exit_code == 0, created.output
    admin_token = json.loads(created.stdout)["token"]  # shown once, here and nowhere else
    found["admin token"] = admin_token
    seen.run("hub ckan push", ["ckan", "push", "--dataset", "test-shops"], environment)

    bearer = {"Authorization": f"Bearer {admin_token}"}
    subscribed = httpx.post(f"{base}/v1/webhooks", headers=bearer, json={
        "url": "http://127.0.0.1:9/hook", "events": ["version.published"]})
    assert subscribed.status_code == 201, subscribed.text
    found["webhook secret"] = subscribed.json()["secret"]
    issued = httpx.post(f"{base}/v1/keys", headers=bearer,
                        json={"name": "uploads", "scopes": ["publish"]})
    assert issued.status_code == 201, issued.text
    found["issued token"] = issued.json()["token"]
    with source.open("rb") as upload:
        published = httpx.post(f"{base}/v1/datasets/test-shops/versions?force=true",
                               headers=bearer, files={"file": ("shops.csv", upload)})
    assert published.status_code in (200, 201), published.text
    seen.add("HTTP publish answer", published.text)
    for token in (admin_token + "x", found["issued token"][:-1], "not-a-token"):
        answer = httpx.get(f"{base}/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401
        seen.add("401 answers", answer.text)
    for path in ("/v1/webhooks", "/v1/keys", "/v1/audit", "/v1/nowhere"):
        seen.add(f"GET {path}", httpx.get(f"{base}{path}", headers=bearer).text)
    deliveries = f"{base}/v1/webhooks/{subscribed.json()['id']}/deliveries"
    for _ in range(300):  # until the worker has tried (and failed) to deliver
        listed = httpx.get(deliveries, headers=bearer).json()
        if any(d.get("attempts") for d in listed.get("deliveries", [])):
            break
        time.sleep(0.1)
    assert any(d["attempts"] for d in listed["deliveries"]), listed  # signed and sent
    seen.add("deliveries", json.dumps(listed))

    broken = {**environment, "HUB_DATABASE_URL": environment["HUB_DATABASE_URL"].replace(
        f":{urlsplit(environment['HUB_DATABASE_URL']).password}@", f":{wrong_password}@")}
    for args in (["db", "status"], ["db", "migrate"], ["publish", "test-shops", str(source)],
                 ["keys", "list"]):
        result = seen.run("wrong password: " + " ".join(args), args, broken)
        assert result.exit_code != 0

    settings = Settings(database_url=environment["HUB_DATABASE_URL"],
                        publish_database_url=broken["HUB_DATABASE_URL"],
                        ckan_api_key=environment["HUB_CKAN_API_KEY"])
    seen.add("Settings repr", repr(settings) + str(settings))
    seen.add("hub serve output", serve_log.read_text())
    seen.add("Python logging", caplog.text)
    seen.add("PostgreSQL log", pg_cluster.log_file.read_text(errors="replace"))

    assert "password authentication failed" in seen.texts["wrong password: db status"]
    leaks = [(what, where) for what, secret in found.items()
             for where, text in seen.texts.items() if secret in text]
    assert not leaks, f"secrets shown: {leaks}"

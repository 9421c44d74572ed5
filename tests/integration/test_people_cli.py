"""`hub keys create|list|revoke` and `hub audit` against a real database; `hub publish` and
`hub withdraw` leave audit entries naming the local operator."""

from __future__ import annotations

import getpass
import hashlib
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from hub.api.app import create_app
from hub.cli import app as cli
from tests.conftest import FIXTURES
from tests.shopdata import make_shops, write_csv


@pytest.fixture
def env(settings, tmp_path, monkeypatch):
    values = {"HUB_DATABASE_URL": settings.database_url,
              "HUB_DATASETS_DIR": str(FIXTURES / "datasets"),
              "HUB_SCHEMAS_DIR": str(FIXTURES / "schemas"),
              "HUB_ARTIFACT_DIR": str(tmp_path / "artifacts")}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("COLUMNS", "160")  # rich lays tables out for the terminal's width
    return settings


def _run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args))


def _audit(*args: str) -> list[dict]:
    result = _run("audit", "--output", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_keys_create_list_revoke(env) -> None:
    created = _run("keys", "create", "--name", "parks uploads", "--scopes", "publish,contribute",
                   "--datasets", "parks,trees", "--expires", "90d", "--output", "json")
    assert created.exit_code == 0, created.output
    key = json.loads(created.stdout)
    token = key["token"]
    assert token.startswith("hub_")
    assert key["scopes"] == ["contribute", "publish"] and key["datasets"] == ["parks", "trees"]
    assert key["created_by"] == f"cli:{getpass.getuser()}"
    engine = create_engine(env.database_url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT token_sha256 FROM hub.api_keys")).scalar_one()
    engine.dispose()
    assert bytes(stored) == hashlib.sha256(token.encode()).digest()

    listed = _run("keys", "list", "--output", "json")
    assert listed.exit_code == 0 and token not in listed.stdout
    assert [k["name"] for k in json.loads(listed.stdout)] == ["parks uploads"]
    table = _run("keys", "list")
    assert "parks uploads" in table.stdout and token[12:] not in table.stdout

    with TestClient(create_app(env)) as client:
        auth = {"Authorization": f"Bearer {token}"}
        assert client.get("/v1/me", headers=auth).status_code == 200
        revoked = _run("keys", "revoke", str(key["id"]), "--reason", "left the team")
        assert revoked.exit_code == 0, revoked.output
        refused = client.get("/v1/me", headers=auth)
        assert refused.status_code == 401 and "left the team" in refused.json()["detail"]

    entries = _audit("--object-id", str(key["id"]))
    assert [e["action"] for e in entries] == ["key.revoke", "key.create"]
    assert all(e["actor"] == f"cli:{getpass.getuser()}" and e["key_id"] is None
               for e in entries)


@pytest.mark.parametrize(("args", "message"), [
    (["--scopes", "root"], "unknown scope 'root'"),
    (["--scopes", "publish", "--expires", "forever"], "invalid duration"),
    (["--scopes", "admin", "--datasets", "parks"], "cannot be limited"),
])
def test_keys_create_refuses_bad_input(env, args: list[str], message: str) -> None:
    result = _run("keys", "create", "--name", "x", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert _audit() == []


def test_revoking_an_unknown_key_fails(env) -> None:
    result = _run("keys", "revoke", "4242")
    assert result.exit_code == 2 and "no key with id 4242" in result.output


def test_publish_and_withdraw_are_audited(env, tmp_path) -> None:
    shops = make_shops(30)
    for number, rows in ((1, shops), (2, shops[:25])):
        result = _run("publish", "test-shops", str(write_csv(tmp_path / f"v{number}.csv", rows)))
        assert result.exit_code == 0, result.output
    unchanged = _run("publish", "test-shops", str(tmp_path / "v2.csv"))
    assert unchanged.exit_code == 0, unchanged.output
    withdrawn = _run("withdraw", "test-shops", "2", "--reason", "wrong coordinates")
    assert withdrawn.exit_code == 0, withdrawn.output
    refused = _run("withdraw", "test-shops", "9", "--reason", "typo")
    assert refused.exit_code == 2

    entries = list(reversed(_audit()))
    assert [(e["action"], e["object_id"], e["result"]) for e in entries] == [
        ("version.publish", "test-shops/1", "ok"),
        ("version.publish", "test-shops/2", "ok"),
        ("version.publish", "test-shops", "unchanged"),
        ("version.withdraw", "test-shops/2", "ok"),
        ("version.withdraw", "test-shops/9", "failed"),
    ]
    assert entries[0]["detail"]["rows"] == 30 and entries[0]["detail"]["source"] == "v1.csv"
    assert entries[3]["detail"]["reason"] == "wrong coordinates"
    assert {e["actor"] for e in entries} == {f"cli:{getpass.getuser()}"}
    assert [e["action"] for e in _audit("--action", "version.withdraw")] == \
        ["version.withdraw"] * 2
    table = _run("audit")
    assert table.exit_code == 0 and "version.publish" in table.stdout

"""`hub publish --with-files` writes bulk files after commit, plain `hub publish` leaves them
to the first download; `hub export` writes the same bytes;
`hub withdraw` makes pinned URLs 410 with the reason and moves `latest` back."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
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
    return settings.model_copy(update={"artifact_dir": tmp_path / "artifacts"})


def _run(*args: str) -> object:
    result = CliRunner().invoke(cli, list(args))
    return result


def test_publish_export_withdraw(env, tmp_path) -> None:
    shops = make_shops(80)
    for number, rows, options in ((1, shops, ["--with-files"]), (2, shops[:70], [])):
        result = _run("publish", "test-shops",
                      str(write_csv(tmp_path / f"v{number}.csv", rows)), *options)
        assert result.exit_code == 0, result.output
        # --with-files: the after-publish hook wrote the version's files; without it the
        # publish returns as soon as the version is committed and writes no files
        built = (env.artifact_dir / "test-shops" / f"v{number}" / "manifest.json").exists()
        assert built == bool(options)

    exported = tmp_path / "out.parquet"
    result = _run("export", "test-shops", "--format", "parquet", "--output", str(exported))
    assert result.exit_code == 0, result.output
    with TestClient(create_app(env), follow_redirects=False) as client:
        served = client.get("/v1/datasets/test-shops/versions/2/download.parquet").content
        assert exported.read_bytes() == served
        assert hashlib.sha256(served).hexdigest() in result.output.replace("\n", "")

        result = _run("withdraw", "test-shops", "2", "--reason", "wrong coordinates")
        assert result.exit_code == 0, result.output
        assert not (env.artifact_dir / "test-shops" / "v2").exists()

        for path in ("/v1/datasets/test-shops/versions/2/records",
                     "/v1/datasets/test-shops/versions/2/download.csv"):
            gone = client.get(path)
            assert gone.status_code == 410, path
            assert gone.headers["content-type"] == "application/problem+json"
            assert gone.json()["reason"] == "wrong coordinates"
            assert "wrong coordinates" in gone.json()["detail"]
        assert client.head("/v1/datasets/test-shops/versions/2/download.csv").status_code == 410

        listed = client.get("/v1/datasets/test-shops/versions").json()["versions"]
        v2 = next(v for v in listed if v["version"] == 2)
        assert v2["status"] == "withdrawn" and v2["withdrawn_reason"] == "wrong coordinates"
        assert v2.get("withdrawn_at")

        cited = client.get("/v1/datasets/test-shops/versions/1").json()["citation"]
        assert cited["version"] == 1 and cited["publisher"] == "テスト市 (Test City)"
        assert cited["checksum"].startswith("sha256:") and cited["cff"]["version"] == "1"
        assert cited["url"].endswith("/v1/datasets/test-shops/versions/1")
        assert "Test shops [テスト店舗一覧] (Version 1) [Data set]" in cited["text"]
        assert cited["bibtex"].startswith("@misc{test_shops_v1,")

        latest = client.get("/v1/datasets/test-shops/records?limit=1")
        assert latest.headers["x-hub-version"] == "1"
        redirect = client.get("/v1/datasets/test-shops/download.csv")
        assert redirect.headers["location"].endswith("/versions/1/download.csv")
        assert client.get("/v1/datasets/test-shops").json()["current_version"] == 1

        again = _run("withdraw", "test-shops", "2", "--reason", "twice")
        assert again.exit_code == 2 and "already withdrawn" in again.output
        no_reason = _run("withdraw", "test-shops", "1", "--reason", "  ")
        assert no_reason.exit_code == 2

        assert _run("withdraw", "test-shops", "1", "--reason", "all wrong").exit_code == 0
        assert client.get("/v1/datasets/test-shops/download.csv").status_code == 404
        assert client.get("/v1/datasets/test-shops/versions/1/download.zip").status_code == 410
        kinds = [(c["kind"], c["version"]) for c in client.get("/v1/changes").json()["changes"]]
        assert kinds == [("publish", 1), ("publish", 2), ("withdraw", 2), ("withdraw", 1)]

        # a new publish becomes version 3 and latest again
        result = _run("publish", "test-shops", str(tmp_path / "v1.csv"))
        assert result.exit_code == 0, result.output
        assert client.get("/v1/datasets/test-shops").json()["current_version"] == 3

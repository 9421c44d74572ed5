"""`hub stats` against a real database: the per-day rows the server wrote, as a table or CSV,
and a clear error for an unknown dataset."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from typer.testing import CliRunner

from etl.prepare import prepare
from etl.publish import publish
from hub.api.app import create_app
from hub.catalog import load_definition
from hub.cli import app as cli
from tests.conftest import FIXTURES
from tests.shopdata import make_shops, write_csv


@pytest.fixture
def env(settings, tmp_path, monkeypatch):
    for key, value in {"HUB_DATABASE_URL": settings.database_url,
                       "HUB_DATASETS_DIR": str(FIXTURES / "datasets"),
                       "HUB_SCHEMAS_DIR": str(FIXTURES / "schemas")}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("COLUMNS", "160")
    engine = create_engine(settings.database_url)
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    publish(engine, prepare(definition, write_csv(tmp_path / "shops.csv", make_shops(40))))
    engine.dispose()
    return settings


def test_hub_stats_prints_what_the_server_counted(env) -> None:
    app = create_app(env.model_copy(update={"webhooks_worker": False}))
    with TestClient(app) as client:
        for limit in (3, 4):
            assert client.get("/v1/datasets/test-shops/records",
                              params={"limit": limit}).status_code == 200
    # leaving the TestClient ran the shutdown, which writes the last counts
    result = CliRunner().invoke(cli, ["stats", "--dataset", "test-shops", "--csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["dataset"], r["version"], r["kind"], r["requests"], r["records"], r["clients"])
            for r in rows] == [("test-shops", "1", "records", "2", "7", "1")]
    table = CliRunner().invoke(cli, ["stats"])
    assert table.exit_code == 0 and "test-shops" in table.stdout and "records" in table.stdout


def test_hub_stats_refuses_an_unknown_dataset_and_a_bad_date(env) -> None:
    unknown = CliRunner().invoke(cli, ["stats", "--dataset", "no-such"])
    assert unknown.exit_code == 1 and "no-such" in unknown.output
    bad = CliRunner().invoke(cli, ["stats", "--since", "yesterday"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output

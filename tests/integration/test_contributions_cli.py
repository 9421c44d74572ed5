"""`hub contributions list|decide`, `hub publish-contributions` and a later city file's
`hub publish` keeping or dropping community rows as the dataset declares, through the real
CLI, app and PostGIS; and the publish of accepted contributions refused as a whole."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from etl.pipeline import FileSource, PublishOptions, publish_dataset
from hub.api.app import create_app
from hub.catalog import load_definition
from hub.cli import app
from hub.cli_contributions import load_example_contributions
from hub.cocreation.contribution_publishing import publish_contributions
from hub.cocreation.errors import Conflict
from hub.data import Data
from hub.data.contributions import Contributions
from hub.people.scopes import KeyKind, Scope
from tests.api.contrib_hub import new_shop
from tests.conftest import FIXTURES, make_settings
from tests.people_hub import issue_key
from tests.shopdata import make_shops, write_csv


def cli(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    return result


@pytest.fixture
def datasets_dir(tmp_path: Path) -> Path:
    """A copy of the fixture datasets, so a test can change what test-shops declares."""
    folder = tmp_path / "datasets"
    shutil.copytree(FIXTURES / "datasets", folder)
    return folder


@pytest.fixture
def env(db_url: str, datasets_dir: Path, monkeypatch, tmp_path: Path) -> Any:
    for key, value in {"HUB_DATABASE_URL": db_url, "HUB_DATASETS_DIR": str(datasets_dir),
                       "HUB_SCHEMAS_DIR": str(FIXTURES / "schemas"),
                       "HUB_ARTIFACT_DIR": str(tmp_path / "artifacts"),
                       "HUB_USAGE_STATS": "false", "HUB_WEBHOOKS_WORKER": "false"}.items():
        monkeypatch.setenv(key, value)
    settings = make_settings(db_url, datasets_dir=datasets_dir, usage_stats=False,
                             webhooks_worker=False)
    csv = write_csv(tmp_path / "shops.csv", make_shops(20))
    first = cli("publish", "test-shops", str(csv))
    assert first.exit_code == 0, first.output
    with TestClient(create_app(settings)) as client:
        _id, token = issue_key(client.app.state.people, "resident", Scope.CONTRIBUTE,
                               kind=KeyKind.SELF)
        client.headers["Authorization"] = f"Bearer {token}"
        engine = create_engine(db_url)
        yield client, engine, csv, settings
        engine.dispose()


def propose(client: TestClient, body: dict[str, Any]) -> int:
    answer = client.post("/v1/datasets/test-shops/contributions", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def provenance_keys(client: TestClient, version: int) -> list[str]:
    answer = client.get(f"/v1/datasets/test-shops/versions/{version}/provenance").json()
    return sorted(answer.get("records", {}))


def moderated_and_published(client: TestClient) -> tuple[int, int]:
    """A new shop and a correction, both accepted on the CLI and published: version 2."""
    added = propose(client, {**new_shop("コミュニティ薬局"), "display_name": "Ken"})
    fixed = propose(client, {"kind": "correction", "key": "S0003", "changes": {"floors": 9},
                             "comment": "9階", "licence_consent": True})
    listing = cli("contributions", "list", "--dataset", "test-shops")
    assert listing.exit_code == 0, listing.output
    assert "S0003" in listing.output and "floors:" in listing.output
    for cid in (added, fixed):
        decided = cli("contributions", "decide", str(cid), "accept", "--reason", "確認済み")
        assert decided.exit_code == 0, decided.output
    again = cli("contributions", "decide", str(added), "reject", "--reason", "x")
    assert again.exit_code == 1 and "already accepted" in again.output
    published = cli("publish-contributions", "test-shops")
    assert published.exit_code == 0, published.output
    assert "version 2" in published.output and "(+1 -0 ~1)" in published.output
    return added, fixed


def test_cli_moderation_publish_and_city_file_keeps_community_rows(env) -> None:
    client, _engine, csv, _ = env
    added, _fixed = moderated_and_published(client)
    diff = client.get("/v1/datasets/test-shops/versions/1/diff/2").json()
    assert {(c["change"], c["key"]["shop_id"], c["provenance"]["source"])
            for c in diff["changes"]} == {("added", f"community-{added}", "community"),
                                          ("changed", "S0003", "community")}
    assert provenance_keys(client, 2) == ["S0003", f"community-{added}"]

    again = cli("publish", "test-shops", str(csv))  # the city's file once more
    assert again.exit_code == 0, again.output
    assert "community-kept" in again.output and f"community-{added}" in again.output
    assert "community-replaced" in again.output and "S0003" in again.output
    assert "version 3" in again.output
    assert provenance_keys(client, 3) == [f"community-{added}"]
    kept = client.get(f"/v1/datasets/test-shops/versions/3/records/community-{added}")
    assert kept.status_code == 200 and kept.json()["name"] == "コミュニティ薬局"
    version = client.get("/v1/datasets/test-shops/versions/3").json()
    assert version["provenance"]["contributors"] == ["Ken"]


def test_city_file_drops_community_rows_when_declared(env, datasets_dir: Path) -> None:
    client, _engine, csv, _ = env
    added, _fixed = moderated_and_published(client)
    toml = datasets_dir / "test-shops" / "dataset.toml"
    toml.write_text(toml.read_text() + '\n[community]\non_city_publish = "drop"\n')
    again = cli("publish", "test-shops", str(csv))
    assert again.exit_code == 0, again.output
    assert "community-dropped" in again.output and f"community-{added}" in again.output
    assert provenance_keys(client, 3) == []
    gone = client.get(f"/v1/datasets/test-shops/versions/3/records/community-{added}")
    assert gone.status_code == 404


def test_a_result_that_fails_validation_is_refused_as_a_whole(env) -> None:
    client, engine, _csv, settings = env
    cid = propose(client, {"kind": "correction", "key": "S0004", "changes": {"floors": 77},
                           "comment": "77階", "licence_consent": True})
    assert cli("contributions", "decide", str(cid), "accept", "--reason", "ok").exit_code == 0
    with engine.begin() as conn:  # as if the schema had tightened since it arrived
        conn.execute(text("UPDATE hub.contributions SET proposed = '{\"floors\": 999}' "
                          "WHERE id = :id"), {"id": cid})
    store = Contributions(engine, 10)
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    version = Data(engine).version("test-shops", None)
    audits: list = []
    outcome, ids = publish_contributions(definition, version, store, publisher="test",
                                         audit=audits.append)
    assert outcome.refused is not None and ids == [cid]
    assert [e.rule for e in outcome.report.errors] == ["maximum"]
    assert [(a.result, a.detail["contributions"]) for a in audits] == [("refused", [cid])]
    assert Data(engine).version("test-shops", None).version == 1
    assert store.get(cid)["status"] == "accepted"
    result = cli("publish-contributions", "test-shops")
    assert result.exit_code == 1 and "maximum" in result.output


def test_two_new_records_with_one_key_refuse_the_whole_publish(env) -> None:
    client, engine, _csv, settings = env
    first = propose(client, new_shop("同じ鍵の店", shop_id="X9"))
    second = propose(client, new_shop("同じ鍵の店2", lon=139.72, shop_id="X9"))
    for cid in (first, second):
        assert cli("contributions", "decide", str(cid), "accept", "--reason", "ok") \
            .exit_code == 0
    store = Contributions(engine, 10)
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    with pytest.raises(Conflict, match=f"contribution {second} adds record 'X9'"):
        publish_contributions(definition, Data(engine).version("test-shops", None), store,
                              publisher="test", audit=lambda entry: None)
    assert Data(engine).version("test-shops", None).version == 1
    assert {store.get(c)["status"] for c in (first, second)} == {"accepted"}


def test_demo_loads_one_example_contribution_once(db_url: str) -> None:
    root = Path(__file__).resolve().parents[2]
    settings = make_settings(db_url, datasets_dir=root / "datasets",
                             schemas_dir=root / "schemas")
    engine = create_engine(db_url)
    definition = load_definition("yaizu-accessible-shops", settings.datasets_dir,
                                 settings.schemas_dir)
    outcome = publish_dataset(definition, FileSource(
        definition.directory / definition.source["file"]),
        PublishOptions(skip_invalid=bool(definition.source.get("skip_invalid"))),
        engine=engine, publisher="demo")
    assert outcome.status == "published", outcome.refused
    assert load_example_contributions(settings, engine) == 1
    assert load_example_contributions(settings, engine) == 0
    [example] = Contributions(engine, 10).page(status="pending")
    assert example["example"] is True and example["key_id"] is None
    assert example["proposed"]["wheelchair_entry"] is True
    assert example["proposed"]["phone"] == "054-628-0000"
    engine.dispose()

"""`hub ckan push` against a real CKAN 2.11 (own venv, own database, real Redis, FakeSolr).

The tests in this module run in order and share one hub database and one CKAN: publish three
demo datasets, push, push again (no writes), publish a new version (only that package
changes), dry-run, a bad key, a conflict, a delete, and push-after-publish recording.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ckanapi
import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from etl.ckan import state
from etl.ckan.client import CkanClient
from etl.ckan.plan import organisation_name
from etl.ckan.sync import run_push
from etl.publish import publish
from etl.sources import prepare_source
from hub.catalog import load_definition
from hub.cli import app
from hub.settings import Settings
from tests.ckan_harness import CkanInstance, ckan_skip_reason, shared_ckan
from tests.conftest import ROOT, create_test_database, drop_test_database, make_settings

pytestmark = [pytest.mark.ckan, pytest.mark.slow]
if reason := ckan_skip_reason():
    pytestmark.append(pytest.mark.skip(reason=reason))

DATASETS = ("takamatsu-pedestrian-counts", "yaizu-public-facilities", "yaizu-aed")
HUB_URL = "http://hub.test"
BAD_KEY = "not-a-real-token-5f3a9c"


@pytest.fixture(scope="session")
def ckan(pg_cluster) -> Iterator[CkanInstance]:
    with shared_ckan(pg_cluster) as instance:
        yield instance


@dataclass
class Env:
    ckan: CkanInstance
    settings: Settings
    engine: Any
    remote: ckanapi.RemoteCKAN

    def cli_env(self, **extra: str) -> dict[str, str]:
        values = {
            "HUB_DATABASE_URL": self.settings.database_url or "",
            "HUB_DATASETS_DIR": str(self.settings.datasets_dir),
            "HUB_SCHEMAS_DIR": str(self.settings.schemas_dir),
            "HUB_PUBLIC_URL": HUB_URL,
            "HUB_ARTIFACT_DIR": str(self.settings.artifact_dir),
            "HUB_CKAN_URL": self.ckan.url,
            "HUB_CKAN_API_KEY": self.ckan.api_token,
        }
        values.update(extra)
        return values

    def push(self, *args: str, **env: str) -> Any:
        return CliRunner().invoke(app, ["ckan", "push", *args], env=self.cli_env(**env))

    def client(self, key: str | None = None) -> CkanClient:
        return CkanClient(self.ckan.url, key or self.ckan.api_token, retries=1, backoff_s=0.05)

    def run(self, client: CkanClient | None = None, **options: Any) -> Any:
        """run_push with the bulk files listed as the CLI lists them (sizes and hashes)."""
        from hub.cli import _artifact_lister

        return run_push(self.settings, self.engine, client or self.client(),
                        artifacts=_artifact_lister(self.settings, self.engine), **options)

    def publish(self, dataset_id: str, force: bool = False, **settings: Any) -> Any:
        definition = load_definition(dataset_id, self.settings.datasets_dir,
                                     self.settings.schemas_dir)
        prepared = prepare_source(definition, definition.directory / definition.source["file"])
        hook = None
        if settings:  # push after publish with these settings
            from etl.ckan.sync import push_after_publish
            from hub.cli import _artifact_lister

            configured = self.settings.model_copy(update=settings)

            def hook(result: Any) -> None:
                push_after_publish(configured, self.engine, result.dataset_id,
                                   artifacts=_artifact_lister(configured, self.engine),
                                   client=CkanClient(str(configured.ckan_url),
                                                     configured.ckan_api_key, retries=1,
                                                     backoff_s=0.01, timeout_s=5))
        return publish(self.engine, prepared, publisher="test", force=force,
                       after_publish=hook)

    def current_version(self, dataset_id: str) -> int:
        from hub.db.tables import datasets

        with self.engine.connect() as conn:
            return conn.execute(select(datasets.c.current_version).where(
                datasets.c.id == dataset_id)).scalar_one()

    def activity_count(self, name: str) -> int:
        return len(self.remote.action.package_activity_list(id=name, limit=100))


@pytest.fixture(scope="module")
def env(ckan: CkanInstance, pg_cluster, tmp_path_factory) -> Iterator[Env]:
    url = create_test_database(pg_cluster)
    settings = make_settings(url, datasets_dir=ROOT / "datasets", schemas_dir=ROOT / "schemas",
                             public_url=HUB_URL,
                             artifact_dir=tmp_path_factory.mktemp("artifacts"))
    engine = create_engine(url)
    environment = Env(ckan, settings, engine, ckanapi.RemoteCKAN(ckan.url,
                                                                 apikey=ckan.api_token))
    for dataset_id in DATASETS:
        environment.publish(dataset_id)
    yield environment
    engine.dispose()
    drop_test_database(pg_cluster, url)


def _extras(package: dict[str, Any]) -> dict[str, str]:
    return {e["key"]: e["value"] for e in package["extras"]}


def test_first_push_creates_organisations_packages_and_resources(env: Env) -> None:
    result = env.push()
    assert result.exit_code == 0, result.output
    assert "create" in result.output
    for dataset_id in DATASETS:
        definition = load_definition(dataset_id, env.settings.datasets_dir,
                                     env.settings.schemas_dir)
        package = env.remote.action.package_show(id=dataset_id)
        org = env.remote.action.organization_show(id=organisation_name(definition.organisation))
        assert org["title"] == definition.organisation
        assert package["organization"]["name"] == org["name"]
        assert package["title"] == definition.title_ja
        assert definition.description_ja.split("。")[0] in package["notes"]
        extras = _extras(package)
        assert extras["hub_managed"] == "true"
        assert extras["hub_dataset_id"] == dataset_id
        assert extras["hub_version"] == "1"
        assert extras["hub_url"] == f"{HUB_URL}/v1/datasets/{dataset_id}"
        with env.engine.connect() as conn:
            from hub.db.tables import versions

            sha = conn.execute(select(versions.c.content_sha256).where(
                versions.c.dataset_id == dataset_id)).scalar_one()
        assert extras["hub_content_sha256"] == sha
        tags = {t["name"] for t in package["tags"]}
        assert tags and all("/" not in t for t in tags)
        formats = {r["format"] for r in package["resources"]}
        assert {"CSV", "GeoJSON", "ZIP"} <= formats
        for resource in package["resources"]:
            assert resource["url"].startswith(f"{HUB_URL}/v1/datasets/{dataset_id}/versions/1/")
            assert int(resource["size"]) > 0
            assert resource["hash"].startswith("sha256:") and len(resource["hash"]) == 71
    # yaizu-aed and yaizu-public-facilities share one organisation
    assert env.remote.action.organization_show(id="yaizu-city")["package_count"] == 2
    # the hash is the real file's: compare one with the artifact store
    package = env.remote.action.package_show(id="yaizu-aed")
    csv = next(r for r in package["resources"] if r["url"].endswith("/download.csv"))
    stored = Path(env.settings.artifact_dir) / "yaizu-aed" / "v1" / "download.csv"
    import hashlib

    assert csv["hash"] == "sha256:" + hashlib.sha256(stored.read_bytes()).hexdigest()
    assert int(csv["size"]) == stored.stat().st_size


def test_second_push_makes_no_write_calls(env: Env) -> None:
    before = {d: env.activity_count(d) for d in DATASETS}
    client = env.client()
    report = env.run(client)
    assert report.ok
    assert report.stats.writes == 0, report.stats.write_calls()
    assert {i.action for i in report.items} == {"unchanged"}
    assert {d: env.activity_count(d) for d in DATASETS} == before
    result = env.push()
    assert result.exit_code == 0, result.output
    assert "nothing to do" in result.output and "0 write calls" in result.output


def test_new_version_updates_exactly_that_package(env: Env) -> None:
    before = {d: env.activity_count(d) for d in DATASETS}
    assert env.publish("yaizu-aed", force=True).version == 2
    client = env.client()
    report = env.run(client)
    actions = {i.name: (i.action, i.status) for i in report.packages}
    assert actions == {"takamatsu-pedestrian-counts": ("unchanged", "unchanged"),
                       "yaizu-public-facilities": ("unchanged", "unchanged"),
                       "yaizu-aed": ("update", "ok")}
    assert client.stats.write_calls() == {"package_update": 1}
    package = env.remote.action.package_show(id="yaizu-aed")
    assert _extras(package)["hub_version"] == "2"
    urls = [r["url"] for r in package["resources"]]
    assert urls and all("/versions/2/" in u for u in urls)  # version 1's files are gone
    after = {d: env.activity_count(d) for d in DATASETS}
    assert after["yaizu-aed"] == before["yaizu-aed"] + 1
    assert {d: after[d] for d in DATASETS if d != "yaizu-aed"} == \
        {d: before[d] for d in DATASETS if d != "yaizu-aed"}


def test_dry_run_prints_the_plan_and_writes_nothing(env: Env) -> None:
    assert env.publish("takamatsu-pedestrian-counts", force=True).version == 2
    before = env.activity_count("takamatsu-pedestrian-counts")
    result = env.push("--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output
    line = next(x for x in result.output.splitlines() if "takamatsu-pedestrian-counts" in x)
    assert "update" in line and "hub_version: 1 -> 2" in line
    assert "unchanged" in next(x for x in result.output.splitlines() if "yaizu-aed" in x)
    assert "0 write calls" in result.output
    package = env.remote.action.package_show(id="takamatsu-pedestrian-counts")
    assert _extras(package)["hub_version"] == "1"
    assert env.activity_count("takamatsu-pedestrian-counts") == before
    as_json = env.push("--dry-run", "--output", "json")
    report = json.loads(as_json.stdout)
    assert report["dry_run"] is True and report["writes"] == 0


def test_invalid_api_key_fails_per_dataset_without_showing_the_key(env: Env) -> None:
    result = env.push("--api-key", BAD_KEY)
    assert result.exit_code == 1, result.output
    assert BAD_KEY not in result.output
    line = next(x for x in result.output.splitlines() if "takamatsu-pedestrian-counts" in x)
    assert "failed" in line and "auth" in line
    # the others needed no write and are reported unchanged; the push went on past the failure
    assert "unchanged" in next(x for x in result.output.splitlines() if "yaizu-aed" in x)
    rows = {r["dataset_id"]: r for r in state.all_rows(env.engine)}
    assert rows["takamatsu-pedestrian-counts"]["status"] == "failed"
    assert BAD_KEY not in rows["takamatsu-pedestrian-counts"]["message"]
    # the next push with the right key retries it
    result = env.push()
    assert result.exit_code == 0, result.output
    rows = {r["dataset_id"]: r for r in state.all_rows(env.engine)}
    assert rows["takamatsu-pedestrian-counts"]["status"] == "ok"


def test_same_named_package_not_created_by_the_hub_is_left_alone(env: Env) -> None:
    env.publish("yaizu-public-toilets")
    theirs = env.remote.action.package_create(
        name="yaizu-public-toilets", title="Made by city staff", owner_org="yaizu-city",
        extras=[{"key": "maintainer_note", "value": "hands off"}])
    result = env.push("--dataset", "yaizu-public-toilets")
    assert result.exit_code == 1, result.output
    assert "conflict" in result.output and "not created by the hub" in result.output
    after = env.remote.action.package_show(id="yaizu-public-toilets")
    assert after["title"] == "Made by city staff"
    assert after["metadata_modified"] == theirs["metadata_modified"]
    env.remote.action.dataset_purge(id="yaizu-public-toilets")


def test_packages_of_datasets_gone_from_the_hub_are_deleted(env: Env) -> None:
    env.remote.action.package_create(
        name="old-hub-dataset", title="Gone", owner_org="yaizu-city",
        extras=[{"key": "hub_managed", "value": "true"},
                {"key": "hub_dataset_id", "value": "old-hub-dataset"},
                {"key": "hub_url", "value": f"{HUB_URL}/v1/datasets/old-hub-dataset"}])
    other_hub = env.remote.action.package_create(
        name="other-hubs-dataset", title="Someone else's", owner_org="yaizu-city",
        extras=[{"key": "hub_managed", "value": "true"},
                {"key": "hub_url", "value": "http://another-hub.test/v1/datasets/x"}])
    # a --dataset push never deletes
    partial = env.run(only=["yaizu-aed"])
    assert [i.action for i in partial.packages] == ["unchanged"]
    report = env.run()
    deleted = [i.name for i in report.packages if i.action == "delete"]
    assert deleted == ["old-hub-dataset"]
    assert env.remote.action.package_show(id="old-hub-dataset")["state"] == "deleted"
    assert env.remote.action.package_show(id=other_hub["id"])["state"] == "active"


def test_push_after_publish_never_fails_the_publish_and_is_recorded(env: Env) -> None:
    # Versions counted from the current one: earlier tests may or may not have published one.
    current = env.current_version("yaizu-aed")
    # CKAN unreachable: the publish still succeeds, the failure is recorded
    dead = "http://127.0.0.1:9"
    result = env.publish("yaizu-aed", force=True, ckan_push_on_publish=True, ckan_url=dead,
                         ckan_api_key=SecretStr(env.ckan.api_token))
    assert result.version == current + 1
    rows = {r["dataset_id"]: r for r in state.failed(env.engine, dead)}
    assert rows["yaizu-aed"]["status"] == "failed"
    assert "connect" in rows["yaizu-aed"]["message"]
    assert env.ckan.api_token not in rows["yaizu-aed"]["message"]
    # the next push retries it: that version arrives
    report = env.run()
    assert report.ok
    assert _extras(env.remote.action.package_show(id="yaizu-aed"))["hub_version"] == \
        str(current + 1)
    # pointed at the real CKAN, a publish pushes by itself
    result = env.publish("yaizu-aed", force=True, ckan_push_on_publish=True,
                         ckan_url=env.ckan.url, ckan_api_key=SecretStr(env.ckan.api_token))
    assert result.version == current + 2
    assert _extras(env.remote.action.package_show(id="yaizu-aed"))["hub_version"] == \
        str(current + 2)
    assert env.run().nothing_to_do  # and it pushed the same files a full push would

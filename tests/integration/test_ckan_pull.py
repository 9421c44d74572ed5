"""`hub ckan pull` against a real CKAN 2.11: an organisation created directly in CKAN, with one
CSV uploaded to CKAN itself, one served from a local HTTP server and one package with no CSV,
is imported into the hub and its records are read back through the hub's API."""

from __future__ import annotations

import functools
import threading
import tomllib
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import ckanapi
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from etl.ckan.pull import infer_type
from hub.api.app import create_app
from hub.catalog import DatasetDefinition
from hub.cli import app
from tests.ckan_harness import CkanInstance, ckan_skip_reason, shared_ckan
from tests.conftest import create_test_database, drop_test_database, make_settings

pytestmark = [pytest.mark.ckan, pytest.mark.slow]
if reason := ckan_skip_reason():
    pytestmark.append(pytest.mark.skip(reason=reason))

BIKE_RACKS = """名称,住所,緯度,経度,収容台数,区コード,郵便番号
中央駅前駐輪場,中央区1-1,34.6913,135.1830,120,01,650-0001
市役所北駐輪場,中央区2-3,34.6901,135.1955,80,01,650-0002
港公園駐輪場,中央区3-5,34.6822,135.1870,45,02,650-0003
"""
EVENTS = """event,date,visitors
Harbour festival,2024-07-20,12000
Night market,2024-08-03,3500
"""


@pytest.fixture(scope="session")
def ckan(pg_cluster) -> Iterator[CkanInstance]:
    with shared_ckan(pg_cluster) as instance:
        yield instance


@pytest.fixture(scope="module")
def files_server(tmp_path_factory) -> Iterator[str]:
    """A local HTTP server for a CSV hosted outside CKAN (as many portals link them)."""
    root = tmp_path_factory.mktemp("served")
    (root / "events.csv").write_text(EVENTS, encoding="utf-8")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def portal(ckan: CkanInstance, files_server: str, tmp_path_factory) -> str:
    """An organisation as a city would have it in CKAN, built with ckanapi."""
    remote = ckanapi.RemoteCKAN(ckan.url, apikey=ckan.api_token)
    remote.action.organization_create(name="pull-city", title="Pull City 引越し市")
    remote.action.package_create(
        name="bike_racks", title="駐輪場一覧", owner_org="pull-city", license_id="cc-by",
        notes="市内の駐輪場", tags=[{"name": "駐輪場"}, {"name": "bicycles"}],
        extras=[{"key": "title_en", "value": "Bicycle parking"}])
    upload = tmp_path_factory.mktemp("upload") / "bike_racks.csv"
    upload.write_text(BIKE_RACKS, encoding="utf-8")
    with upload.open("rb") as handle:
        remote.action.resource_create(package_id="bike_racks", name="一覧 CSV", format="CSV",
                                      upload=handle)
    remote.action.package_create(
        name="city-events", title="Events", owner_org="pull-city", license_id="odc-odbl",
        resources=[{"name": "events", "url": f"{files_server}/events.csv", "format": "csv"}])
    remote.action.package_create(
        name="city-map", title="Map only", owner_org="pull-city",
        resources=[{"name": "map", "url": f"{files_server}/map.html", "format": "HTML"}])
    return "pull-city"


def test_conservative_types() -> None:
    import pandas as pd

    assert infer_type(pd.Series(["120", "80", ""])) == "integer"
    assert infer_type(pd.Series(["01", "02"])) == "string"  # codes keep their zeros
    assert infer_type(pd.Series(["34.69", "-1.5e3"])) == "number"
    assert infer_type(pd.Series(["1,200", "3,500"])) == "integer"
    assert infer_type(pd.Series(["2024-07-20"])) == "string"
    assert infer_type(pd.Series(["650-0001"])) == "string"


def test_pull_imports_csv_packages_and_publishes_them(ckan: CkanInstance, portal: str,
                                                      pg_cluster, tmp_path: Path) -> None:
    url = create_test_database(pg_cluster)
    datasets_dir, schemas_dir = tmp_path / "datasets", tmp_path / "schemas"
    try:
        env = {"HUB_DATABASE_URL": url, "HUB_CKAN_URL": ckan.url,
               "HUB_DATASETS_DIR": str(datasets_dir), "HUB_SCHEMAS_DIR": str(schemas_dir)}
        dry = CliRunner().invoke(app, ["ckan", "pull", "--organization", portal, "--dry-run"],
                                 env=env)
        assert dry.exit_code == 0, dry.output
        assert "planned" in dry.output and not datasets_dir.exists()

        result = CliRunner().invoke(app, ["ckan", "pull", "--organization", portal], env=env)
        assert result.exit_code == 0, result.output
        lines = {line.split()[1]: line for line in result.output.splitlines()
                 if "->" in line}
        assert "published" in lines["bike_racks"] and "version 1" in lines["bike_racks"]
        assert "published" in lines["city-events"]
        assert "skipped" in lines["city-map"] and "no CSV" in lines["city-map"]

        toml = tomllib.loads((datasets_dir / "bike-racks" / "dataset.toml").read_text("utf-8"))
        assert toml["title"] == {"ja": "駐輪場一覧", "en": "Bicycle parking"}
        assert toml["organisation"] == "Pull City 引越し市"
        assert sorted(toml["keywords"]) == ["bicycles", "駐輪場"]
        assert toml["geometry"]["kind"] == "latlon"
        assert toml["source"]["ckan_package"] == "bike_racks"
        # cc-by names no version: kept as CKAN states it, never guessed to be CC BY 4.0
        assert toml["licence"]["id"] == "other" and "cc-by" in toml["licence"]["note"]
        events = tomllib.loads((datasets_dir / "city-events" / "dataset.toml").read_text("utf-8"))
        assert events["licence"] == {"id": "ODbL-1.0"}
        definition = DatasetDefinition.load(datasets_dir / "bike-racks" / "dataset.toml",
                                             schemas_dir)
        types = {f.title: f.type for f in definition.schema.fields}
        assert types == {"名称": "string", "住所": "string", "緯度": "number", "経度": "number",
                         "収容台数": "integer", "区コード": "string", "郵便番号": "string"}

        settings = make_settings(url, datasets_dir=datasets_dir, schemas_dir=schemas_dir)
        with TestClient(create_app(settings)) as client:
            response = client.get("/v1/datasets/bike-racks/records",
                                  params={"near": "34.6913,135.1830", "radius": 200})
            assert response.status_code == 200, response.text
            body = response.json()
            records = body.get("records") or body.get("features") or body.get("items")
            assert records is not None, body
            names = [r.get("properties", r).get("col_1") for r in records]
            assert names == ["中央駅前駐輪場"]
            every = client.get("/v1/datasets/bike-racks/records").json()
            rows = every.get("records") or every.get("features") or every.get("items")
            assert len(rows) == 3
            first = rows[0].get("properties", rows[0])
            assert first["col_6"] == "01" and first["col_5"] == 120
            events = client.get("/v1/datasets/city-events/records").json()
            event_rows = events.get("records") or events.get("features") or events.get("items")
            assert [r.get("properties", r)["event"] for r in event_rows] == \
                ["Harbour festival", "Night market"]

        again = CliRunner().invoke(app, ["ckan", "pull", "--organization", portal], env=env)
        assert again.exit_code == 0, again.output
        assert "exists" in again.output  # never overwritten
    finally:
        drop_test_database(pg_cluster, url)

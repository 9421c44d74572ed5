"""A module-scoped hub with the test shops published (twice: versions 1 and 2)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from etl.prepare import prepare
from etl.publish import publish
from hub.api.app import create_app
from hub.catalog import load_definition
from tests.conftest import create_test_database, drop_test_database, make_settings
from tests.shopdata import Shop, make_shops, write_csv


@dataclass
class Hub:
    client: TestClient
    shops_v1: list[Shop]
    shops_v2: list[Shop]
    url: str  # the test database, for a second app with other settings


@pytest.fixture(scope="module")
def hub(pg_cluster, tmp_path_factory) -> Iterator[Hub]:
    url = create_test_database(pg_cluster)
    settings = make_settings(url, max_limit=500, max_radius_m=5000)
    engine = create_engine(url)
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    folder: Path = tmp_path_factory.mktemp("shops")
    v1 = make_shops(300)
    v2 = make_shops(300)[:-10]  # version 2 drops the last ten shops
    publish(engine, prepare(definition, write_csv(folder / "v1.csv", v1)))
    publish(engine, prepare(definition, write_csv(folder / "v2.csv", v2, encoding="cp932")))
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        yield Hub(client, v1, v2, url)
    drop_test_database(pg_cluster, url)

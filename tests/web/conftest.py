"""A module-scoped hub for the portal's server-side tests: the test shops (versions 1 and 2,
no geometry change), the demo AEDs of Yaizu (points) and the Muroran GTFS feed (routes and
stops), all published with the hub's own ETL into a real PostGIS."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser
from sqlalchemy import create_engine

from etl.prepare import prepare
from etl.publish import publish
from etl.sources import prepare_source
from hub.api.app import create_app
from hub.catalog import load_definition
from tests.conftest import ROOT, create_test_database, drop_test_database, make_settings
from tests.e2e.live_hub import LiveHub
from tests.shopdata import Shop, make_shops, write_csv
from tests.web.browser import GuardedContext, chromium, guarded_context

DEMO = ("yaizu-aed", "bus-routes-muroran")
BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@dataclass
class Portal:
    client: TestClient
    shops_v1: list[Shop]
    shops_v2: list[Shop]

    def page(self, path: str, **headers: str):  # type: ignore[no-untyped-def]
        """GET ``path`` as a browser would (HTML first)."""
        return self.client.get(path, headers={**BROWSER, **headers})


def publish_demo(url: str, folder: Path, datasets: tuple[str, ...] = DEMO) -> tuple[
        list[Shop], list[Shop]]:
    """Publish the test shops twice and the named demo datasets with the real ETL."""
    settings = make_settings(url)
    engine = create_engine(url)
    try:
        shops = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
        v1, v2 = make_shops(300), make_shops(300)[:-10]
        publish(engine, prepare(shops, write_csv(folder / "v1.csv", v1)))
        publish(engine, prepare(shops, write_csv(folder / "v2.csv", v2)))
        for dataset_id in datasets:
            definition = load_definition(dataset_id, ROOT / "datasets", ROOT / "schemas")
            source = definition.directory / definition.source["file"]
            publish(engine, prepare_source(definition, source), publisher="test")
    finally:
        engine.dispose()
    return v1, v2


@pytest.fixture(scope="module")
def portal(pg_cluster, tmp_path_factory) -> Iterator[Portal]:
    url = create_test_database(pg_cluster)
    folder = tmp_path_factory.mktemp("portal")
    v1, v2 = publish_demo(url, folder)
    settings = make_settings(url, assets_dir=ROOT / "node_modules")
    with TestClient(create_app(settings)) as client:
        yield Portal(client, v1, v2)
    drop_test_database(pg_cluster, url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, one per test module."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def guarded(browser: Browser, live: LiveHub) -> Iterator[GuardedContext]:
    """A browser context on the module's live hub (its ``live`` fixture) that fails the test
    when a request leaves the hub, the quota refuses one, or the page's policy refuses a load."""
    context = guarded_context(browser, live.url, locale="ja-JP")
    yield context
    context.context.close()
    assert context.foreign == [], f"requests left the hub: {context.foreign}"
    assert context.rate_limited == [], f"the quota refused: {context.rate_limited}"
    assert context.csp_refused == [], f"the page's policy refused: {context.csp_refused}"

"""A module-scoped hub for the portal's server-side tests: the test shops (versions 1 and 2,
no geometry change), the demo AEDs of Yaizu (points) and the Muroran GTFS feed (routes and
stops), all published with the hub's own ETL into a real PostGIS."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page

from hub.api.app import create_app
from hub.db.cluster import LocalCluster
from tests.conftest import ROOT, create_test_database, drop_test_database, make_settings
from tests.e2e.live_hub import LiveHub, publish_catalogue
from tests.shopdata import Shop
from tests.web.browser import GuardedContext, chromium, guarded_context

DEMO = ("yaizu-aed", "bus-routes-muroran")
BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@dataclass
class Portal:
    client: TestClient
    shops_v1: list[Shop]
    shops_v2: list[Shop]
    url: str  # the database, for the checks a test makes on what was stored

    def page(self, path: str, **headers: str):  # type: ignore[no-untyped-def]
        """GET ``path`` as a browser would (HTML first)."""
        return self.client.get(path, headers={**BROWSER, **headers})


@contextmanager
def serve_portal(cluster: LocalCluster, folder: Path,
                 datasets: tuple[str, ...] = DEMO) -> Iterator[Portal]:
    """The app (serving the portal's assets) over a new database holding the test shops and
    ``datasets`` of the demo catalogue; the database is dropped when the app has stopped."""
    url = create_test_database(cluster)
    try:
        v1, v2 = publish_catalogue(url, folder, datasets)
        settings = make_settings(url, assets_dir=ROOT / "node_modules")
        with TestClient(create_app(settings)) as client:
            yield Portal(client, v1, v2, url)
    finally:
        drop_test_database(cluster, url)


@pytest.fixture(scope="module")
def portal(pg_cluster, tmp_path_factory) -> Iterator[Portal]:
    with serve_portal(pg_cluster, tmp_path_factory.mktemp("portal")) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, one per test module."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(guarded: GuardedContext) -> Page:
    """A page in the guarded context."""
    return guarded.new_page()


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

"""The portal in a real browser (Debian's Chromium via Playwright) against a live hub.

Journeys: search, open a dataset, see its features drawn on the map (read through MapLibre's
own API, not pixels), filter the table, download a file and check its SHA-256, switch
language; axe-core on every page; no request may leave the hub.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.live_hub import LiveHub, running_hub
from tests.web.browser import axe_violations, guarded_context

pytestmark = pytest.mark.slow

DATASETS = ("yaizu-aed", "yaizu-accessible-shops", "bus-routes-muroran")
MAP_TIMEOUT_MS = 30_000  # generous: two shared cores; speed is measured in bench/, not here


@pytest.fixture(scope="module")
def live(pg_cluster, tmp_path_factory) -> Iterator[LiveHub]:
    with running_hub(pg_cluster, tmp_path_factory.mktemp("portal-live"), DATASETS) as hub:
        yield hub


def features_drawn(page: Page, layer_type: str | None = None) -> int:
    """Features MapLibre has rendered, once the map has settled (its own API, not pixels)."""
    page.wait_for_function("() => window.hubMap && window.hubMap.loaded() "
                           "&& window.hubMap.queryRenderedFeatures().length > 0",
                           timeout=MAP_TIMEOUT_MS)
    return page.evaluate(
        "(kind) => window.hubMap.queryRenderedFeatures().filter("
        "f => !kind || f.layer.type === kind).length", layer_type)


def assert_accessible(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], f"axe on {page.url}: {violations}"


def test_search_then_open_a_dataset_and_see_its_points_on_the_map(page: Page,
                                                                   live: LiveHub) -> None:
    page.goto(f"{live.url}/")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    page.get_by_role("searchbox").fill("AED")
    page.get_by_role("searchbox").press("Enter")
    cards = page.locator(".card h3 a")
    expect(cards).to_have_count(1)
    expect(cards.first).to_have_attribute("href", "/datasets/yaizu-aed")
    assert_accessible(page)
    cards.first.click()
    expect(page.locator("h1")).to_have_text("焼津市 AED設置箇所一覧")
    assert features_drawn(page, "circle") > 0
    assert_accessible(page)


def test_gtfs_map_draws_routes_as_lines_and_stops_as_points(page: Page, live: LiveHub) -> None:
    """MapLibre finds each layer's tiles through its TileJSON."""
    tilejson: list[str] = []
    page.on("request", lambda r: tilejson.append(r.url) if r.url.endswith("tilejson.json")
            else None)
    page.goto(f"{live.url}/datasets/bus-routes-muroran")
    page.wait_for_function("() => window.hubMap && window.hubMap.loaded() && "
                           "window.hubMap.queryRenderedFeatures().some(f => f.layer.type === "
                           "'line') && window.hubMap.queryRenderedFeatures().some("
                           "f => f.layer.type === 'circle')", timeout=MAP_TIMEOUT_MS)
    assert features_drawn(page, "line") > 0
    assert features_drawn(page, "circle") > 0
    assert any(u.endswith("/bus-routes-muroran.stops@v1/tiles/WebMercatorQuad/tilejson.json")
               for u in tilejson), tilejson
    assert_accessible(page)


def test_filter_the_table_matches_the_same_query_in_the_api(page: Page, live: LiveHub) -> None:
    page.goto(f"{live.url}/datasets/test-shops")
    shop = live.shops_v2[7]
    page.get_by_label("いずれかの文字列項目に含まれる語").fill(shop.name)
    page.get_by_role("button", name="適用").click()
    rows = page.locator("table.records tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(shop.name)
    api = page.locator("a.api-link").get_attribute("href")
    assert api is not None and "q=" in api
    body = httpx.get(f"{live.url}{api}").json()
    assert [r["name"] for r in body["records"]] == [shop.name]
    assert_accessible(page)


def test_download_a_file_and_check_its_hash(page: Page, live: LiveHub, tmp_path: Path) -> None:
    page.goto(f"{live.url}/datasets/yaizu-aed")
    link = page.locator("ul.downloads a[href$='download.csv']")
    expected = link.get_attribute("data-sha256")
    with page.expect_download() as info:
        link.click()
    saved = tmp_path / "aed.csv"
    info.value.save_as(saved)
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == expected
    assert saved.read_text(encoding="utf-8").count("\n") == 82 + 1  # header + every AED


def test_switch_language_is_remembered(page: Page, live: LiveHub) -> None:
    page.goto(f"{live.url}/datasets/yaizu-aed")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Yaizu: AED locations")
    page.get_by_role("link", name="Catalogue", exact=True).first.click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Open data catalogue")
    assert_accessible(page)


@pytest.mark.parametrize("path", [
    "/", "/?has_map=true&lang=en", "/datasets/test-shops", "/datasets/test-shops?lang=en",
    "/datasets/bus-routes-muroran?layer=stops", "/datasets/test-shops/diff?from=1&to=2",
    "/requests", "/showcases", "/staff", "/datasets/no-such-dataset",
])
def test_axe_finds_nothing_serious_on_every_page(page: Page, live: LiveHub, path: str) -> None:
    page.goto(f"{live.url}{path}")
    assert_accessible(page)


def test_api_docs_come_from_the_hub(page: Page, live: LiveHub) -> None:
    page.goto(f"{live.url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Co-Creation Hub",
                                                                      timeout=20_000)


def test_keyboard_reaches_the_skip_link_first(page: Page, live: LiveHub) -> None:
    page.goto(f"{live.url}/datasets/yaizu-aed")
    page.keyboard.press("Tab")
    focused: dict[str, Any] = page.evaluate(
        "() => ({text: document.activeElement.textContent, "
        "href: document.activeElement.getAttribute('href')})")
    assert focused == {"text": "本文へ移動", "href": "#main"}


def test_phone_width_has_no_sideways_scrolling(browser: Browser, live: LiveHub) -> None:
    guarded = guarded_context(browser, live.url, viewport={"width": 360, "height": 740})
    try:
        page = guarded.new_page()
        for path in ("/", "/datasets/test-shops", "/datasets/yaizu-aed"):
            page.goto(f"{live.url}{path}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, f"{path} is {width}px wide on a 360px screen"
    finally:
        guarded.context.close()
    assert guarded.foreign == []
    assert guarded.rate_limited == []

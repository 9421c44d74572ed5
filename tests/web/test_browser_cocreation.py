"""The co-creation pages in a real browser (Debian's Chromium via Playwright) against a live
hub holding requests, votes, a comment, a published answer and an approved showcase with an
image, all made through the API: axe-core finds nothing serious, no request leaves the hub,
and the pages fit a phone-width screen."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from hub.people.scopes import KeyKind, Scope
from tests.e2e.live_hub import LiveHub, running_hub
from tests.people_hub import bearer, issue_key, key_store
from tests.web.browser import axe_violations, guarded_context

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(pg_cluster, tmp_path_factory) -> Iterator[LiveHub]:
    with running_hub(pg_cluster, tmp_path_factory.mktemp("cocreation-live"), ()) as hub:
        yield hub


@pytest.fixture(scope="module")
def made(live: LiveHub) -> dict[str, int]:
    """A request answered by test-shops v2 with a vote and a comment, and its showcase."""
    with key_store(live.database_url) as store:
        user = bearer(issue_key(store, "resident", Scope.CONTRIBUTE, kind=KeyKind.SELF)[1])
        staff = bearer(issue_key(store, "staff", Scope.MODERATE, kind=KeyKind.STAFF)[1])
    with httpx.Client(base_url=live.url) as api:
        def post(path: str, body: dict | None, headers: dict[str, str]) -> dict:
            response = api.post(path, json=body, headers=headers)
            assert response.status_code in (200, 201), response.text
            return response.json()

        rid = post("/v1/requests", {"title": "公衆トイレの設備", "description": "多目的トイレ",
                                    "purpose": "車いす利用者の外出"}, user)["id"]
        post(f"/v1/requests/{rid}/votes", None, user)
        post(f"/v1/requests/{rid}/comments", {"text": "駅の近くも"}, user)
        post(f"/v1/requests/{rid}/status", {"status": "published", "note": "公開しました",
                                            "dataset": "test-shops", "version": 2}, staff)
        sid = post("/v1/showcases", {
            "title": "だれでもトイレマップ", "url": "https://example.jp/toilets", "kind": "app",
            "description": "車いすで使えるトイレ", "datasets": [{"dataset": "test-shops",
                                                        "version": 2}],
            "request": rid}, user)["id"]
        image = io.BytesIO()
        Image.new("RGB", (40, 30), (20, 90, 160)).save(image, format="PNG")
        response = api.put(f"/v1/showcases/{sid}/image", content=image.getvalue(),
                           headers={**user, "Content-Type": "image/png"})
        assert response.status_code == 200, response.text
        post(f"/v1/showcases/{sid}/decision", {"decision": "approve"}, staff)
    return {"request": rid, "showcase": sid}


@pytest.mark.parametrize("path", [
    "/requests", "/requests?lang=en&status=published", "/requests/{request}",
    "/requests/{request}?lang=en", "/showcases", "/showcases?lang=en",
    "/datasets/test-shops?lang=en",
])
def test_axe_finds_nothing_serious_on_the_co_creation_pages(
        page: Page, live: LiveHub, made: dict[str, int], path: str) -> None:
    page.goto(live.url + path.format(**made))
    violations = axe_violations(page)
    assert violations == [], f"axe on {page.url}: {violations}"


def test_from_the_board_to_the_request_and_its_showcase(page: Page, live: LiveHub,
                                                         made: dict[str, int]) -> None:
    page.goto(f"{live.url}/requests?lang=en")
    page.get_by_role("link", name="公衆トイレの設備").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("公衆トイレの設備")
    expect(page.locator(".votes")).to_have_text("1")
    page.get_by_role("link", name="だれでもトイレマップ").click()
    card = page.locator(f"#showcase-{made['showcase']}")
    expect(card.locator(".kind")).to_have_text("App")
    # The image loads lazily: wait until the browser has decoded it (or failed to).
    page.wait_for_function("(id) => document.querySelector(`#showcase-${id} img`).complete",
                           arg=made["showcase"])
    assert card.locator("img").evaluate("img => img.naturalWidth") == 40  # served by the hub


def test_co_creation_pages_fit_a_phone(browser: Browser, live: LiveHub,
                                       made: dict[str, int]) -> None:
    guarded = guarded_context(browser, live.url, viewport={"width": 360, "height": 740})
    try:
        page = guarded.new_page()
        for path in ("/requests", f"/requests/{made['request']}", "/showcases"):
            page.goto(f"{live.url}{path}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, f"{path} is {width}px wide on a 360px screen"
    finally:
        guarded.context.close()
    assert guarded.foreign == [] and guarded.rate_limited == []

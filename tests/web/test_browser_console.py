"""The staff console in a real browser (Debian's Chromium via Playwright) against a live hub:
staff sign in, upload a file with an error and see its row and column, upload a good file and
publish it, accept a contribution on its map; axe-core finds nothing serious on any console
page, no request leaves the hub, and the pages fit a phone-width screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from hub.people.scopes import KeyKind, Scope
from tests.e2e.live_hub import LiveHub, running_hub
from tests.people_hub import issue_key, key_store
from tests.shopdata import make_shops, with_bad_floor, write_csv
from tests.web.browser import axe_violations, guarded_context

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(pg_cluster, tmp_path_factory) -> Iterator[LiveHub]:
    with running_hub(pg_cluster, tmp_path_factory.mktemp("console-live"), ()) as hub:
        yield hub


@pytest.fixture(scope="module")
def keys(live: LiveHub) -> dict[str, str]:
    """Staff (publish and moderate), a contributor; issued as `hub keys create` does."""
    with key_store(live.database_url) as store:
        return {name: issue_key(store, name, *scopes, kind=kind)[1] for name, scopes, kind in (
            ("staff", (Scope.PUBLISH, Scope.MODERATE), KeyKind.STAFF),
            ("resident", (Scope.CONTRIBUTE,), KeyKind.SELF))}


@pytest.fixture(scope="module")
def made(live: LiveHub, keys: dict[str, str]) -> dict[str, int]:
    """A proposed new record (a point) and a data request, through the API."""
    user = {"Authorization": f"Bearer {keys['resident']}"}
    with httpx.Client(base_url=live.url) as api:
        proposed = api.post("/v1/datasets/test-shops/contributions", headers=user, json={
            "kind": "new", "comment": "新しく開店した店です", "licence_consent": True,
            "display_name": "Hanako",
            "feature": {"type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [139.7016, 35.658]},
                        "properties": {"shop_id": "S9001", "name": "バリアフリー喫茶",
                                       "category": "カフェ"}}})
        assert proposed.status_code == 201, proposed.text
        corrected = api.post("/v1/datasets/test-shops/contributions", headers=user, json={
            "kind": "correction", "key": "S0003", "changes": {"floors": "9"},
            "comment": "9階建てです", "licence_consent": True})
        assert corrected.status_code == 201, corrected.text
        filed = api.post("/v1/requests", headers=user, json={
            "title": "駐輪場の位置", "description": "台数も", "purpose": "通勤"})
        assert filed.status_code == 201, filed.text
    return {"contribution": proposed.json()["id"], "correction": corrected.json()["id"],
            "request": filed.json()["id"]}


def sign_in(page: Page, live: LiveHub, token: str, path: str = "/staff?lang=en") -> None:
    """Open a console page signed out (the sign-in form), type the key, come back to it."""
    page.goto(live.url + path)
    page.locator("#signin-key").fill(token)
    page.locator('form[action="/signin"] button').click()
    expect(page.locator("form.signout")).to_be_visible()


def test_staff_sign_in_upload_an_error_then_a_good_file_and_publish_it(
        page: Page, live: LiveHub, keys: dict[str, str], tmp_path: Path) -> None:
    page.goto(f"{live.url}/staff?lang=en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.get_by_role("textbox", name="Key").fill(keys["staff"])
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff console")
    assert keys["staff"] not in page.content()
    cookie = next(c for c in page.context.cookies() if c["name"] == "hub_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie").find("hub_session") == -1

    publishing = page.get_by_role("region", name="Publish a file")
    publishing.get_by_role("link", name="Test shops").click()
    bad = with_bad_floor(tmp_path / "bad.csv", make_shops(30), line=6)
    page.get_by_label("File", exact=True).set_input_files(str(bad))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", name="Not published: the file bad.csv has errors")
           ).to_be_visible()
    error = page.locator("table.report tr.issue-error").first
    expect(error.locator("td.row")).to_have_text("6")
    expect(error.locator("td.column")).to_have_text("階数")
    expect(error.locator("td.value")).to_have_text("三階")
    expect(page.locator("#publish-button")).to_have_count(0)

    good = write_csv(tmp_path / "good.csv", make_shops(50))
    page.get_by_label("File", exact=True).set_input_files(str(good))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", name="The file good.csv passed the checks")
           ).to_be_visible()
    page.get_by_role("button", name="Publish this file").click()
    expect(page.get_by_role("heading", name="Version 3 published")).to_be_visible()
    latest = httpx.get(f"{live.url}/v1/datasets/test-shops/versions/latest").json()
    assert latest["version"] == 3 and latest["row_count"] == 50


def test_staff_accept_a_contribution_seen_on_its_map(
        page: Page, live: LiveHub, keys: dict[str, str], made: dict[str, int]) -> None:
    cid = made["contribution"]
    sign_in(page, live, keys["staff"], "/staff/moderation?lang=en")
    card = page.locator(f"#contribution-{cid}")
    expect(card.get_by_role("heading")).to_contain_text("New record")
    expect(card.locator("table.record")).to_contain_text("バリアフリー喫茶")
    # The point is drawn: ask the map itself, not its pixels.
    page.wait_for_function(
        "(id) => window.hubPointMaps && window.hubPointMaps[id] && window.hubPointMaps[id]"
        ".loaded() && window.hubPointMaps[id].queryRenderedFeatures({layers: ['proposed']})"
        ".length === 1", arg=str(cid), timeout=20_000)
    card.get_by_label("Accept").check()
    card.get_by_label("Reason (the contributor sees it)").fill("現地で確認しました")
    card.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_role("status")).to_contain_text(f"Contribution {cid} decided")
    expect(page.locator(f"#contribution-{cid}")).to_have_count(0)
    decided = httpx.get(f"{live.url}/v1/contributions/{cid}",
                        headers={"Authorization": f"Bearer {keys['staff']}"}).json()
    assert decided["status"] == "accepted"
    assert decided["decision"]["reason"] == "現地で確認しました"


def test_signing_out_ends_the_console(page: Page, live: LiveHub, keys: dict[str, str]) -> None:
    sign_in(page, live, keys["staff"])
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator(".account")).to_contain_text("Sign in")
    page.goto(f"{live.url}/staff")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


CONSOLE_PAGES = ["/staff", "/staff?lang=ja", "/staff/moderation", "/staff/moderation?lang=ja",
                 "/staff/requests", "/staff/requests?lang=ja", "/staff/usage?dataset=test-shops",
                 "/staff/usage?dataset=test-shops&lang=ja", "/staff/datasets/test-shops/upload",
                 "/staff/datasets/new"]


@pytest.mark.parametrize("path", CONSOLE_PAGES)
def test_axe_finds_nothing_serious_on_the_console(
        page: Page, live: LiveHub, keys: dict[str, str], made: dict[str, int],
        path: str) -> None:
    sign_in(page, live, keys["staff"], "/staff?lang=en")
    page.goto(live.url + path)
    assert page.url.endswith(path)
    violations = axe_violations(page)
    assert violations == [], f"axe on {page.url}: {violations}"


def test_axe_on_the_sign_in_page_the_report_and_the_403_page(
        page: Page, live: LiveHub, keys: dict[str, str], tmp_path: Path) -> None:
    page.goto(f"{live.url}/signin?lang=ja")
    assert axe_violations(page) == []
    sign_in(page, live, keys["staff"], "/staff/datasets/test-shops/upload?lang=ja")
    page.get_by_label("ファイル", exact=True).set_input_files(
        str(with_bad_floor(tmp_path / "bad.csv", make_shops(30), line=4)))
    page.get_by_role("button", name="ファイルを検証する").click()
    expect(page.locator("table.report")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_label("ファイル", exact=True).set_input_files(
        str(write_csv(tmp_path / "ok.csv", make_shops(12))))
    page.get_by_role("button", name="ファイルを検証する").click()
    expect(page.locator("#publish-button")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="サインアウト").click()
    sign_in(page, live, keys["resident"], "/signin?lang=en")
    page.goto(f"{live.url}/staff")
    expect(page.locator(".problem")).to_contain_text("this page needs one of")
    assert axe_violations(page) == []


def test_the_console_fits_a_phone(browser: Browser, live: LiveHub, keys: dict[str, str],
                                  made: dict[str, int]) -> None:
    guarded = guarded_context(browser, live.url, viewport={"width": 360, "height": 740})
    try:
        page = guarded.new_page()
        sign_in(page, live, keys["staff"])
        for path in ("/staff", "/staff/moderation", "/staff/requests",
                     "/staff/usage?dataset=test-shops", "/staff/datasets/test-shops/upload"):
            page.goto(f"{live.url}{path}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, f"{path} is {width}px wide on a 360px screen"
    finally:
        guarded.context.close()
    assert guarded.foreign == [] and guarded.rate_limited == [] and guarded.csp_refused == []

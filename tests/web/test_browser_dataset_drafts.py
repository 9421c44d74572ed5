"""The new-dataset journey in a real browser (Debian's Chromium via Playwright) against a live
hub: sign in, upload Kobe's sheet, correct the name column with its select, create the
dataset; axe-core finds nothing serious on any of the pages and no request leaves the hub."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from hub.people.scopes import KeyKind, Scope
from tests.conftest import ROOT
from tests.e2e.live_hub import LiveHub, running_hub
from tests.people_hub import issue_key, key_store
from tests.web.browser import axe_violations

pytestmark = pytest.mark.slow

KOBE = ROOT / "datasets" / "kobe-ud-toilets" / "UDseibisisetu.xlsx"


@pytest.fixture(scope="module")
def live(pg_cluster, tmp_path_factory) -> Iterator[LiveHub]:
    folder = tmp_path_factory.mktemp("new-dataset-live")
    with running_hub(pg_cluster, folder, (), datasets_dir=folder / "datasets",
                     schemas_dir=ROOT / "schemas", assets_dir=ROOT / "node_modules") as hub:
        yield hub


@pytest.fixture(scope="module")
def staff_token(live: LiveHub) -> str:
    with key_store(live.database_url) as store:
        return issue_key(store, "Kobe staff", Scope.PUBLISH, kind=KeyKind.STAFF)[1]


def no_serious_violations(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], f"axe on {page.url}: {violations}"


def test_upload_correct_and_create_a_dataset(page: Page, live: LiveHub, staff_token: str,
                                             tmp_path_factory) -> None:
    page.goto(f"{live.url}/staff/datasets/new")
    page.locator("#signin-key").fill(staff_token)
    page.locator("#signin-key").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "ファイルから新しいデータセットを作る")
    no_serious_violations(page)

    page.locator("#new-file").set_input_files(str(KOBE))
    page.locator("#new-id").fill("kobe-ud-browser")
    page.get_by_role("button", name="提案を見る").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("UDseibisisetu.xlsx の提案")
    expect(page.locator("#candidates tr.chosen")).to_contain_text("public-toilets.json")
    expect(page.locator("#geometry")).to_contain_text("緯度、経度")
    expect(page.locator("#unmapped")).to_contain_text("施　設　名_2")
    no_serious_violations(page)

    page.get_by_label("列「施　設　名_2」の項目").select_option("name")
    page.get_by_label("列「施　設　名」の項目").select_option("")
    page.get_by_role("button", name="提案を更新").click()
    expect(page.locator("#draft")).to_contain_text('"施　設　名_2" = "name"')
    expect(page.get_by_label("列「施　設　名_2」の項目")).to_have_value("name")
    expect(page.locator("#unmapped")).to_contain_text("施　設　名")

    page.get_by_role("button", name="データセット kobe-ud-browser を作る").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "データセット kobe-ud-browser を作りました")
    no_serious_violations(page)
    page.goto(f"{live.url}/staff/datasets/new?lang=en")
    expect(page.get_by_role("heading", level=1)).to_have_text("New dataset from a file")

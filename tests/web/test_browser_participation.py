"""Residents take part in a real browser (Debian's Chromium via Playwright) against a live
hub: take a contributor key on the sign-in page, file a request and vote for it, propose a
record by clicking the map (a field error first, then success and "my proposals"), switch
language, see the flagship question drawn on the home page's map; axe-core finds nothing
serious on any of these pages and no request leaves the hub (the guarded context)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.live_hub import LiveHub, running_hub
from tests.web.browser import axe_violations

pytestmark = pytest.mark.slow

KOBE = ("kobe-subway", "kobe-ud-toilets", "kobe-aed")


@pytest.fixture(scope="module")
def live(pg_cluster, tmp_path_factory) -> Iterator[LiveHub]:
    with running_hub(pg_cluster, tmp_path_factory.mktemp("participation-live"), KOBE) as hub:
        yield hub


def take_contributor_key(page: Page, live: LiveHub, name: str, next_path: str) -> None:
    page.goto(f"{live.url}/signin?lang=en&next={next_path}")
    page.get_by_label("Display name").fill(name)
    page.get_by_role("button", name="Take a key and sign in").click()
    expect(page.get_by_text(f"Signed in as {name}")).to_be_visible()


def assert_axe_clean(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], f"axe on {page.url}: {violations}"


def test_file_a_request_and_vote_for_it(page: Page, live: LiveHub) -> None:
    take_contributor_key(page, live, "Aiko", "/requests")
    assert page.url.endswith("/requests")
    assert_axe_clean(page)
    page.get_by_label("What data do you need?").fill("公園のベンチ")
    page.get_by_label("Describe it (fields, area, period)").fill("位置と数")
    page.get_by_label("What would you use it for?").fill("散歩の休憩地図")
    page.get_by_role("button", name="File the request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("公園のベンチ")
    expect(page.locator(".votes")).to_have_text("0")
    assert_axe_clean(page)
    page.get_by_role("button", name="Vote for this request").click()
    expect(page.locator(".votes")).to_have_text("1")
    expect(page.get_by_text("Your vote is counted.")).to_be_visible()
    page.get_by_role("link", name="Data requests").first.click()
    expect(page.locator(".card.request", has_text="公園のベンチ").locator(".votes")
           ).to_have_text("1")


def test_a_refused_request_shows_the_reason_beside_the_field(page: Page,
                                                             live: LiveHub) -> None:
    take_contributor_key(page, live, "Ben", "/requests/new")
    page.get_by_label("Describe it (fields, area, period)").fill("位置")
    page.get_by_label("What would you use it for?").fill("地図")
    page.get_by_role("button", name="File the request").click()
    title = page.get_by_label("What data do you need?")
    expect(title).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#r-title-error")).to_be_visible()
    assert_axe_clean(page)


def test_propose_a_record_on_the_map_field_error_then_success(page: Page,
                                                              live: LiveHub) -> None:
    take_contributor_key(page, live, "Chika", "/datasets/test-shops/propose")
    page.wait_for_function("() => window.hubProposeMap && window.hubProposeMap.loaded()")
    assert_axe_clean(page)
    box = page.locator("#propose-map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    latitude = page.locator("#f-lat")
    expect(latitude).not_to_have_value("")
    clicked = (float(latitude.input_value()), float(page.locator("#f-lon").input_value()))
    page.get_by_label("Floors").fill("三階")
    page.get_by_label("Step-free").check()
    page.get_by_label("Comment for the moderator").fill("開店しました")
    page.get_by_label("I agree", exact=False).check()
    page.get_by_role("button", name="Send the proposal").click()
    # The API's refusal, beside the field it names; what was typed and clicked is kept.
    floors = page.get_by_label("Floors")
    expect(floors).to_have_attribute("aria-invalid", "true")
    error = page.locator("#f-feature-properties-floors-error")
    expect(error).to_contain_text("not a whole number")
    assert "f-feature-properties-floors-error" in (floors.get_attribute("aria-describedby")
                                                   or "")
    expect(page.locator("#f-feature-properties-name-error")).to_be_visible()
    assert float(page.locator("#f-lat").input_value()) == pytest.approx(clicked[0])
    assert_axe_clean(page)
    floors.fill("2")
    page.get_by_label("Name", exact=False).first.fill("段差のない喫茶")
    page.get_by_label("Step-free").check()
    page.get_by_label("I agree", exact=False).check()
    page.get_by_role("button", name="Send the proposal").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My proposals")
    row = page.locator("tr.just-sent")
    expect(row).to_contain_text("段差のない喫茶")
    expect(row.locator(".status")).to_have_text("Waiting for a moderator")
    assert_axe_clean(page)
    page.get_by_role("link", name="日本語").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("自分の提案")
    expect(page.locator("tr", has_text="段差のない喫茶").locator(".status")
           ).to_have_text("審査待ち")


def test_the_point_can_be_typed_without_the_map(page: Page, live: LiveHub) -> None:
    """The keyboard alternative: the inputs are the form's fields; the map follows them."""
    take_contributor_key(page, live, "Daichi", "/datasets/test-shops/propose")
    page.wait_for_function("() => window.hubProposeMap && window.hubProposeMap.loaded()")
    page.locator("#f-lat").fill("35.6581")
    page.locator("#f-lon").fill("139.7017")
    page.locator("#f-lon").press("Tab")
    assert page.locator(".maplibregl-marker").count() == 1
    page.get_by_label("Name", exact=False).first.fill("角の本屋")
    page.get_by_label("Comment for the moderator").fill("新しくできた")
    page.get_by_label("I agree", exact=False).check()
    page.get_by_role("button", name="Send the proposal").click()
    expect(page.locator("tr.just-sent")).to_contain_text("角の本屋")


@pytest.mark.parametrize("path", ["/datasets/test-shops/propose", "/requests/new",
                                  "/showcases/new", "/showcases", "/?lang=en",
                                  "/datasets/kobe-ud-toilets?lang=en", "/datasets/kobe-aed"])
def test_axe_finds_nothing_serious_signed_out(page: Page, live: LiveHub, path: str) -> None:
    page.goto(live.url + path)
    assert_axe_clean(page)


def test_switch_language_on_the_forms(page: Page, live: LiveHub) -> None:
    page.goto(f"{live.url}/datasets/test-shops/propose")
    expect(page.locator("label[for=f-feature-properties-name]")).to_contain_text("名称")
    expect(page.get_by_text("（必須）").first).to_be_visible()
    page.get_by_role("link", name="English").click()
    expect(page.locator("label[for=f-feature-properties-name]")).to_contain_text("Name")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"{live.url}/requests")  # the choice is remembered
    expect(page.get_by_role("button", name="File the request")).to_be_visible()


def test_the_flagship_question_is_drawn_on_the_home_pages_map(page: Page,
                                                              live: LiveHub) -> None:
    page.goto(f"{live.url}/?lang=en")
    heading = page.locator("#flagship-heading")
    expect(heading).to_have_text(
        "Multipurpose toilets and AEDs within 300 m of the stations of the 西神・山手線")
    page.wait_for_function("() => document.getElementById('flagship-map')"
                           ".dataset.loaded === 'true'")
    page.wait_for_function("() => window.hubFlagshipMap.loaded()")
    drawn = page.evaluate("""() => {
        const map = window.hubFlagshipMap;
        const count = (layer) => new Set(map.queryRenderedFeatures({layers: [layer]})
            .map((f) => JSON.stringify(f.geometry.coordinates))).size;
        return {toilets: count("kobe-ud-toilets"), aeds: count("kobe-aed"),
                stations: count("stations"), line: count("line")};
    }""")
    assert drawn["stations"] >= 17 and drawn["line"] >= 1
    # Every answer lies within the map fitted to it; points at one spot are drawn once.
    assert 0 < drawn["toilets"] <= 29 and 0 < drawn["aeds"] <= 143
    counts = page.locator(".flagship-answer .count")
    expect(counts.nth(0)).to_have_attribute("data-count", "29")
    expect(counts.nth(1)).to_have_attribute("data-count", "143")
    assert_axe_clean(page)

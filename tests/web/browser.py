"""Debian's Chromium driven by Playwright, for the portal's browser tests.

Playwright's own browser download cannot work here (and must never be needed): the tests
launch ``/usr/bin/chromium`` (apt package ``chromium``, installed by ``make test``). Every
page is guarded: any request to a host other than the hub is recorded and aborted, and the
test fails on it. axe-core comes from ``node_modules`` (``npm ci``) and is injected into the
page as a script, so it is not a network request either.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Response,
    Route,
    sync_playwright,
)

from tests.conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    # WebGL for MapLibre without a GPU: Chromium's software rasteriser.
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")


@contextmanager
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium "
                           "(apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class GuardedContext:
    """A browser context that lets requests reach only the hub; ``foreign`` lists the rest.
    ``rate_limited`` lists the hub's 429 answers: a page, asset or tile refused by the quota
    would make a journey fail for a reason that is not the portal's."""

    context: BrowserContext
    hub: str
    foreign: list[str] = field(default_factory=list)
    rate_limited: list[str] = field(default_factory=list)

    def new_page(self) -> Page:
        return self.context.new_page()


def guarded_context(browser: Browser, hub_url: str, **options: Any) -> GuardedContext:
    context = browser.new_context(accept_downloads=True, **options)
    hub = urlsplit(hub_url).netloc
    guarded = GuardedContext(context, hub)

    def only_the_hub(route: Route) -> None:
        url = urlsplit(route.request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != hub:
            guarded.foreign.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    def watch_quota(response: Response) -> None:
        if response.status == 429:
            guarded.rate_limited.append(response.url)

    context.route("**/*", only_the_hub)
    context.on("response", watch_quota)
    return guarded


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: `make` runs `npm ci` to install axe-core")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [n["target"] for n in v["nodes"][:5]]}
        for v in result["violations"] if v["impact"] in BLOCKING_IMPACTS
    ]

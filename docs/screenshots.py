"""Take the README's screenshot of the dataset page (Kobe's universal-design toilets with
their map) from a running demo hub, with Playwright driving Debian's Chromium.

    .venv/bin/hub demo &                                  # or: make demo, in another terminal
    .venv/bin/python docs/screenshots.py [http://127.0.0.1:8000]

Writes docs/img/dataset-page.png once the map has drawn the toilets (asked through
MapLibre's own API, not by waiting a fixed time), reduced to a 256-colour palette so the
file stays small (a README image, well under 300 KB). Japanese text needs a Japanese font
on the machine (Debian: fonts-ipafont-gothic or fonts-noto-cjk); without one it shows as
boxes.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# WebGL for MapLibre without a GPU: Chromium's software rasteriser.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--use-angle=swiftshader",
                 "--enable-unsafe-swiftshader"]
OUT = Path(__file__).resolve().parent / "img" / "dataset-page.png"
DATASET = "kobe-ud-toilets"
VIEWPORT = {"width": 1200, "height": 1080}
MAX_BYTES = 300_000


def dataset_page_png(hub: str, language: str = "en") -> bytes:
    """The top of the dataset page as a PNG, after the map's first features are drawn."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT, locale=f"{language}-JP",
                                    device_scale_factor=1)
            page.goto(f"{hub}/datasets/{DATASET}?lang={language}")
            page.wait_for_function("() => window.hubMap && window.hubMap.loaded() "
                                   "&& window.hubMap.queryRenderedFeatures().length > 0",
                                   timeout=30_000)
            return page.screenshot(full_page=False)
        finally:
            browser.close()


def small_png(png: bytes) -> bytes:
    """The screenshot with a 256-colour palette: pages are flat colours and text."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    reduced = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.NONE)
    out = io.BytesIO()
    reduced.save(out, format="PNG", optimize=True)
    return out.getvalue()


def main(argv: list[str]) -> int:
    hub = (argv[1] if len(argv) > 1 else "http://127.0.0.1:8000").rstrip("/")
    data = small_png(dataset_page_png(hub))
    if len(data) > MAX_BYTES:
        print(f"{OUT.name}: {len(data)} bytes, more than {MAX_BYTES}", file=sys.stderr)
        return 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(data)
    print(f"wrote {OUT} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

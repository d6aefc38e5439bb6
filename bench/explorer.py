"""The explorer page in headless Chromium: how soon it is usable, and how much JS heap it holds.

For each page `meshkit catalog` wrote in the run, a fresh browser context opens it from file:// (Debian's
Chromium, driven by Playwright for Python, as the tests do) `repeat` times. *First render* is the page's
own mark, `data-first-render-ms`: performance.now() (milliseconds since navigation start) when the search
box is there and the project graph is drawn. *Heap* is V8's used heap then (CDP Runtime.getHeapUsage), and
again after one search, which builds the search index over every model and column. Nothing is asserted:
the figures are reported, like every other bench figure.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
QUERY = "amount"


def measure(page_file: Path, repeat: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    renders: list[float] = []
    heaps: list[float] = []
    searched: list[float] = []
    search_ms: list[float] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for _ in range(repeat):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                page.goto(page_file.resolve().as_uri() + "#/")
                page.wait_for_selector("body[data-first-render-ms]", state="attached", timeout=120_000)
                renders.append(float(page.get_attribute("body", "data-first-render-ms") or "nan"))
                cdp = context.new_cdp_session(page)
                heaps.append(cdp.send("Runtime.getHeapUsage")["usedSize"] / 2**20)
                page.fill("#q", QUERY)
                page.wait_for_selector(f"#q-results[data-query='{QUERY}']", state="attached", timeout=120_000)
                search_ms.append(float(page.get_attribute("#q-results", "data-ms") or "nan"))
                searched.append(cdp.send("Runtime.getHeapUsage")["usedSize"] / 2**20)
                context.close()
        finally:
            browser.close()
    return {
        "page": str(page_file),
        "page_bytes": page_file.stat().st_size,
        "first_render_ms": statistics.median(renders),
        "first_render_ms_runs": renders,
        "heap_mib": statistics.median(heaps),
        "first_search_ms": statistics.median(search_ms),
        "heap_after_search_mib": statistics.median(searched),
        "repeat": repeat,
    }

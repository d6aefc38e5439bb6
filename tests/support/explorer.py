"""Driving the mesh explorer page in Debian's Chromium with Playwright for Python.

The page is opened from file:// as users open a CI artefact. It runs under its own Content-Security-Policy,
which forbids eval: so the tests wait on DOM attributes the page sets (`data-ready`, `data-route`), never on
a JavaScript predicate, and only the axe audit (which must inject axe-core) opens the page with the policy
bypassed. Each page collects its console and errors, so a CSP violation or a script error fails the test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from support import browser
from support.helpers import REPO

AXE_JS = REPO / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"


def axe_js() -> Path:
    if not AXE_JS.is_file():
        pytest.fail(f"axe-core is not installed ({AXE_JS.relative_to(REPO)}): run `npm ci` in tests/js", pytrace=False)
    return AXE_JS


@dataclass
class Explorer:
    """One open page of the explorer, with what it logged and every URL it asked the browser for."""

    page: Any
    url: str
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def open(self, route: str = "#/") -> Explorer:
        self.page.goto(self.url + route)
        return self.wait(route)

    def wait(self, route: str) -> Explorer:
        """Until the view of route has rendered (its graph laid out too)."""
        self.page.wait_for_selector(f"body[data-ready='1'][data-route={json.dumps(route)}]", state="attached")
        return self

    def route(self) -> str:
        return str(self.page.evaluate("location.hash"))

    def attr(self, selector: str, name: str) -> str | None:
        value = self.page.get_attribute(selector, name)
        return None if value is None else str(value)

    def csp_violations(self) -> list[str]:
        return [m for m in self.console if "Content Security Policy" in m or "Content-Security-Policy" in m]

    def problems(self) -> list[str]:
        return self.errors + [m for m in self.console if m.startswith("error")]


@contextmanager
def launched() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=browser.chromium(), args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def explorer(
    chromium: Any, page_file: Path, *, dark: bool = False, bypass_csp: bool = False, width: int = 1280
) -> Iterator[Explorer]:
    context = chromium.new_context(
        viewport={"width": width, "height": 1000}, color_scheme="dark" if dark else "light", bypass_csp=bypass_csp
    )
    try:
        page = context.new_page()
        found = Explorer(page, page_file.resolve().as_uri())
        page.on("console", lambda message: found.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: found.errors.append(str(error)))
        page.on("request", lambda request: found.requests.append(request.url))
        yield found
    finally:
        context.close()

"""Headless Chromium for the browser tests: dump a page's DOM after its scripts ran, or screenshot it.

`make test` installs Chromium (Debian's package) and the pinned Mermaid (tests/js, `npm ci`)
through its `browser-deps` target. When either is missing the tests fail with a message
saying so: a skipped browser test would hide exactly the regressions it exists to catch.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from support.helpers import REPO

JS_DIR = REPO / "tests" / "js"
MERMAID_JS = JS_DIR / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
# MESHKIT_CHROMIUM names another Chromium-based binary; otherwise the first of these on PATH.
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-sync",
    "--disable-component-update",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
)
_INSTALL_HINT = "run `make browser-deps` (or `make test`, which runs it first)"


def chromium() -> str:
    """The Chromium binary, or fail the test (never skip) saying how to install it."""
    override = os.environ.get("MESHKIT_CHROMIUM")
    if override:
        found = shutil.which(override)
        if not found:
            pytest.fail(f"MESHKIT_CHROMIUM={override!r} is not an executable", pytrace=False)
        return found
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"Chromium is not installed (none of {', '.join(_CANDIDATES)} on PATH): {_INSTALL_HINT}", pytrace=False)


def mermaid_js() -> Path:
    if not MERMAID_JS.is_file():
        pytest.fail(
            f"Mermaid is not installed ({MERMAID_JS.relative_to(REPO)} is missing): {_INSTALL_HINT}", pytrace=False
        )
    return MERMAID_JS


def _run(url: str, *flags: str, budget_ms: int, timeout: int) -> subprocess.CompletedProcess[str]:
    # A private profile per launch: two xdist workers sharing one would fight over its lock.
    with tempfile.TemporaryDirectory(prefix="meshkit-chromium-") as profile:
        cmd = [chromium(), *_FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}", *flags, url]
        result = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, "LANG": "C.UTF-8"}
        )
    if result.returncode != 0:
        pytest.fail(f"chromium exited {result.returncode} on {url}:\n{result.stderr[-3000:]}", pytrace=False)
    return result


def file_url(path: Path, query: str = "") -> str:
    return path.resolve().as_uri() + (f"?{query}" if query else "")


@dataclass
class Page:
    dom: Element
    console: list[str]  # the page's console messages, CSP violations included

    def csp_violations(self) -> list[str]:
        return [m for m in self.console if "Content Security Policy" in m]


# Chromium logs each console message (CSP violations too) to stderr as `...:INFO:CONSOLE:<line>] "<text>", source: ...`.
_CONSOLE = re.compile(r":CONSOLE[^\]]*\] (.*)$", re.MULTILINE)


def load(url: str, *, budget_ms: int = 5000, allow_file_access: bool = False, timeout: int = 120) -> Page:
    """The DOM as serialised after the page's scripts ran (up to budget_ms of virtual time), and its console."""
    flags = ["--allow-file-access-from-files"] if allow_file_access else []
    result = _run(
        url, *flags, "--enable-logging=stderr", "--log-level=0", "--dump-dom", budget_ms=budget_ms, timeout=timeout
    )
    if "<html" not in result.stdout:
        pytest.fail(f"chromium dumped no DOM for {url}:\n{result.stderr[-3000:]}", pytrace=False)
    return Page(parse_html(result.stdout), _CONSOLE.findall(result.stderr))


def screenshot(
    url: str, output: Path, *, width: int = 1280, height: int = 1600, budget_ms: int = 5000, timeout: int = 120
) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.unlink(missing_ok=True)
    _run(url, f"--window-size={width},{height}", f"--screenshot={output}", budget_ms=budget_ms, timeout=timeout)
    if not output.is_file():
        pytest.fail(f"chromium wrote no screenshot to {output}", pytrace=False)
    return output


# ---- a small DOM, parsed with the standard library ------------------------------------------------

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)
    parent: Element | None = None

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrs.get(name, default)

    def iter(self) -> Iterator[Element]:
        """This element and every descendant, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs: str | bool) -> list[Element]:
        """Descendants (and self) matching tag, a class and attributes (`True` means present; `_` for `-`)."""
        found = []
        for element in self.iter():
            if tag is not None and element.tag != tag:
                continue
            if cls is not None and cls not in element.classes:
                continue
            if all(_attr_matches(element, name.replace("_", "-"), want) for name, want in attrs.items()):
                found.append(element)
        return found

    def find(self, tag: str | None = None, cls: str | None = None, **attrs: str | bool) -> Element:
        found = self.find_all(tag, cls, **attrs)
        assert found, f"no <{tag or '*'}> class={cls!r} {attrs} under <{self.tag} {self.attrs}>"
        return found[0]

    def one(self, tag: str | None = None, cls: str | None = None, **attrs: str | bool) -> Element:
        found = self.find_all(tag, cls, **attrs)
        assert len(found) == 1, f"expected one <{tag or '*'}> class={cls!r} {attrs}, found {len(found)}"
        return found[0]

    def text(self) -> str:
        parts: list[str] = []
        for child in self.children:
            parts.append(child if isinstance(child, str) else child.text())
        return "".join(parts)

    def squashed(self) -> str:
        """text() with runs of whitespace collapsed, as a reader sees it."""
        return " ".join(self.text().split())


Document = Element


def _attr_matches(element: Element, name: str, want: str | bool) -> bool:
    if want is True:
        return name in element.attrs
    return element.attrs.get(name) == want


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, parent=self.stack[-1])
        self.stack[-1].children.append(element)
        if tag not in _VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, parent=self.stack[-1])
        self.stack[-1].children.append(element)

    def handle_endtag(self, tag: str) -> None:
        # Chromium serialises a well-formed tree, so the end tag closes the nearest open match.
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_html(text: str) -> Document:
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root

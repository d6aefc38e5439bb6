"""The fenced examples of the docs and the README, with what the line before each says about testing it.

A block is preceded (blank lines aside) by an optional marker, `<!-- example: WORD [WORD ...] -->`:

    exit=N             a bash block that must exit N (default 0)
    output             a text block: each of its lines is printed by the bash block before it
    not-run=REASON     a bash block that cannot run in the test (REASONS says which reasons count)
    tested-by=PATH     a bash block another test file runs; that file names the page

Bash blocks without `not-run` or `tested-by` run, in order per page, in a copy of the demo mesh.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from support.helpers import REPO

DOCS = REPO / "docs"
REASONS = {
    "cloud": "needs a cloud account (S3, GCS or Azure)",
    "github": "needs a GitHub repository and token",
    "release": "installs meshkit from a package index",
    "suite": "is the test suite, or part of it",
    "entry": "is one of the two entry points, make demo and make test",
}
_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+)(?P<lang>[\w-]*)\s*$")
_MARKER = re.compile(r"^\s*<!-- example: (?P<words>[^>]*?) -->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, its text and the marker words before it."""

    page: str
    line: int
    lang: str
    text: str
    marker: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def runs(self) -> bool:
        return self.lang == "bash" and "not-run" not in self.marker and "tested-by" not in self.marker

    @property
    def exit_code(self) -> int:
        return int(self.marker.get("exit", "0"))


def _marker(words: str) -> dict[str, str]:
    parsed = {}
    for word in words.split():
        key, _, value = word.partition("=")
        parsed[key] = value
    return parsed


def blocks(path: Path) -> list[Block]:
    """Every fenced block of a markdown file, dedented by its fence's indent (blocks inside admonitions)."""
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    page = str(path.relative_to(REPO))
    marker: dict[str, str] = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        opening = _FENCE.match(line)
        if opening is None:
            match = _MARKER.match(line)
            if match:
                marker = _marker(match.group("words"))
            elif line.strip():
                marker = {}
            index += 1
            continue
        indent, fence = len(opening.group("indent")), opening.group("fence")
        body: list[str] = []
        index += 1
        while index < len(lines) and lines[index].strip() != fence:
            body.append(lines[index][indent:])
            index += 1
        found.append(Block(page, index - len(body), opening.group("lang"), "\n".join(body) + "\n", marker))
        marker = {}
        index += 1
    return found


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md")) + [REPO / "README.md"]


def all_blocks() -> list[Block]:
    return [block for path in pages() for block in blocks(path)]

"""Markdown bodies for PR comments: the hidden marker and GitHub's size limit."""

from __future__ import annotations

import re
from collections.abc import Callable

# GitHub rejects issue and PR comment bodies over 65,536 characters; keep a margin for
# characters GitHub may count differently from Python.
GITHUB_COMMENT_LIMIT = 65_536
COMMENT_BUDGET = GITHUB_COMMENT_LIMIT - 1_536
TRUNCATED_NOTICE = "\n\n> ⚠️ Truncated to fit GitHub's comment limit.\n"


# KIND and PROJECT of comment_marker; validate --all joins several projects with "+".
_MARKER_LINE = re.compile(r"<!-- meshkit:[A-Za-z0-9_+.-]+:[A-Za-z0-9_+.-]+ -->")


def comment_marker(kind: str, project: str) -> str:
    """The hidden first line that lets `meshkit comment` find and update one comment per kind and project."""
    return f"<!-- meshkit:{kind}:{project} -->"


def first_line(body: str) -> str:
    return body.split("\n", 1)[0].rstrip("\r")


def is_comment_marker(line: str) -> bool:
    """True for a line comment_marker could have written."""
    return _MARKER_LINE.fullmatch(line) is not None


def fit_comment(render: Callable[[int | None, bool], str], total_rows: int, budget: int = COMMENT_BUDGET) -> str:
    """Render, then drop the details block, then rows, until the body fits; the template shows what was cut."""
    body = render(None, True)
    if len(body) <= budget:
        return body
    body = render(None, False)
    rows = total_rows
    while len(body) > budget and rows > 0:
        rows = rows * 3 // 4
        body = render(rows, False)
    return fit_text(body, budget)


def fit_text(body: str, budget: int = COMMENT_BUDGET) -> str:
    """A finished body cut to budget (whole lines, never inside a code fence) with a visible notice.

    For bodies meshkit did not render itself, e.g. the file `meshkit comment` posts.
    """
    if len(body) <= budget:
        return body
    return _cut(body, budget - len(TRUNCATED_NOTICE)) + TRUNCATED_NOTICE


def _cut(body: str, size: int) -> str:
    """The body's first whole lines within size, outside any code fence.

    A cut inside the mermaid fence would leave it open: the notice would render as
    diagram source and the half diagram as a Mermaid error, so the open fence goes too.
    """
    lines = body[:size].split("\n")[:-1]  # the last piece is a partial line (or empty)
    fences = [index for index, line in enumerate(lines) if line.lstrip().startswith("```")]
    if len(fences) % 2:
        lines = lines[: fences[-1]]
    return "\n".join(lines).rstrip("\n")

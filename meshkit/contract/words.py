"""Words for people: counts ("1 change", "3 changes"), model names with their version ("orders v2"), and
text lines that a name from someone's manifest cannot split."""

from __future__ import annotations

import re

# C0 and C1 controls, DEL and Unicode's line and paragraph separators: each could end a line of output, so a
# name holding one could start a line of its own, such as `::error::...`, which a GitHub step runs as a command.
# And the bidirectional controls (U+202E reverses what follows it): they make a reviewer read text other than
# what it is ("Trojan Source"), in a terminal, a step summary or a PR comment.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

NOBODY = "no consumer reads it"  # what check (and the explorer's what-if) says of a change that reaches no one


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def printable(text: str) -> str:
    """One line, whatever it holds: control characters written as escapes (\\n, \\x1b, \\u2028)."""
    return _CONTROL.sub(_escape, text)


def text_lines(lines: list[str]) -> str:
    """Text output: each entry exactly one line, so only the reporter decides where lines start."""
    return "".join(printable(line) + "\n" for line in lines)


def plural(count: int, singular: str, many: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (many or singular + 's')}"


def model_label(name: str, version: str | None) -> str:
    return f"{name} v{version}" if version else name


def node_name(node_id: str) -> str:
    """`model.down.revenue` -> `revenue`, but `model.down.revenue.v2` -> `revenue v2`, not a bare `v2`."""
    parts = node_id.split(".")
    if parts[0] == "model" and len(parts) >= 4:
        return f"{parts[2]} {'.'.join(parts[3:])}"
    return parts[-1]

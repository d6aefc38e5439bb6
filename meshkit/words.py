"""Counting words for people: "1 change", "3 changes"."""

from __future__ import annotations


def plural(count: int, singular: str, many: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (many or singular + 's')}"

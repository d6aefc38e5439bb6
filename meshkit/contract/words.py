"""Words for people: counts ("1 change", "3 changes") and model names with their version ("orders v2")."""

from __future__ import annotations


def plural(count: int, singular: str, many: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (many or singular + 's')}"


def model_label(name: str, version: str | None) -> str:
    return f"{name} v{version}" if version else name

"""Defusing Jinja in strings from another team's manifest.

dbt renders Jinja inside source descriptions and meta, where `{{ env_var(...) }}`
can read the consumer's secrets. Putting a space after every `{` that opens a Jinja
delimiter keeps the text readable and makes it inert. A regex with lookahead is
used because a plain replace of `{{` leaves `{{{` half-open.
"""

from __future__ import annotations

import re
from typing import Any

_JINJA_OPEN = re.compile(r"\{(?=[{%#])")


def neutralise_text(text: str) -> str:
    return _JINJA_OPEN.sub("{ ", text)


def neutralise(value: Any) -> Any:
    """Apply neutralise_text to every string, key or value, at any depth."""
    if isinstance(value, str):
        return neutralise_text(value)
    if isinstance(value, dict):
        return {neutralise(k): neutralise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [neutralise(item) for item in value]
    return value

"""Jinja2 environments: markdown reports (table-safe cells), the YAML `meshkit init` writes, HTML (autoescaped)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from meshkit.contract.words import printable

if TYPE_CHECKING:  # imported when a template is first rendered: text and JSON output never pay for Jinja
    import jinja2

_MD_SPECIAL = re.compile(r"([\\|`*_\[\]<>#])")
# Where GitHub would turn text into a mention (@team notifies it) or a link (https://, www., a@b.c).
_LIVE = re.compile(r"@|:(?=//)|(?<![A-Za-z0-9])(?i:www)(?=\.)")
WORD_JOINER = "\u2060"  # invisible, and it breaks the pattern: `@\u2060acme` notifies nobody


def inert(text: str) -> str:
    """Text from a manifest or a record, shown on GitHub without mentioning anyone or becoming a link."""
    return _LIVE.sub(lambda match: match.group(0) + WORD_JOINER, text)


def md_cell(value: object) -> str:
    """Make any text safe inside one markdown table cell: no markup, no mention, no autolink."""
    text = printable(" ".join(str(value if value is not None else "").split()))
    return inert(_MD_SPECIAL.sub(r"\\\1", text))


def md_code(value: object) -> str:
    """A code span that also survives inside a table cell (GFM splits cells on `|` even in code)."""
    text = printable(" ".join(str(value if value is not None else "").split())).replace("`", "'").replace("|", "\\|")
    return f"`{text}`"


# YAML 1.1 and 1.2 read these plain scalars as something other than a string.
_YAML_SPECIAL = re.compile(r"(?i:y|n|yes|no|true|false|on|off|null|~)|[-+]?[0-9][0-9_.:eE+-]*|\.[0-9].*")
_YAML_PLAIN = re.compile(r"[A-Za-z0-9_./@-][A-Za-z0-9_./@:+=,-]*")


def yaml_scalar(value: str) -> str:
    """A YAML scalar for a checked value: plain when YAML reads it back as this string, else double-quoted."""
    if _YAML_PLAIN.fullmatch(value) and not _YAML_SPECIAL.fullmatch(value) and ": " not in value:
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text_env(**filters: Callable[..., str]) -> jinja2.Environment:
    """Templates of text formats (markdown, YAML): no HTML escaping, block tags that leave no blank lines."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("meshkit", "templates"),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(filters)
    return env


@cache
def markdown_env() -> jinja2.Environment:
    return _text_env(cell=md_cell, code=md_code)


@cache
def init_env() -> jinja2.Environment:
    """For the YAML files `meshkit init` writes: values go through the yaml filter, already pattern-checked."""
    return _text_env(yaml=yaml_scalar)


@cache
def html_env() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("meshkit", "templates"),
        autoescape=jinja2.select_autoescape(["html", "html.j2"], default=True),
        undefined=jinja2.StrictUndefined,
    )

"""The mesh explorer: one self-contained HTML page that renders the catalog's data in the browser.

The page holds the catalog JSON (inert: a `type="application/json"` script element), the vendored
graph layout library (elkjs) and the explorer's own script and style, all inline. Its
Content-Security-Policy allows exactly those inline scripts and style, by hash, and no fetch at all,
so the page works from a file, a CI artefact or GitHub Pages, and a hostile name in someone's
manifest cannot load anything: the script only ever writes data into the page as text.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from html import escape
from importlib import resources
from string import Template

from meshkit import __version__
from meshkit.report.catalog import Catalog, catalog_json
from meshkit.report.check import NOBODY

_DATA_SLOT = "\x00meshkit-data\x00"  # where the JSON goes: spliced as bytes, never through the template


def csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@cache
def _assets() -> tuple[Template, str, str, str]:
    """The page, the explorer's style and script, and the vendored layout library (read once per process)."""
    assets = resources.files("meshkit") / "assets"
    return (
        Template((assets / "explorer.html").read_text(encoding="utf-8")),
        (assets / "explorer.css").read_text(encoding="utf-8"),
        (assets / "explorer.js").read_text(encoding="utf-8"),
        (assets / "vendor" / "elk.bundled.js").read_text(encoding="utf-8"),
    )


def inert_json(data: bytes) -> bytes:
    """JSON that cannot end its script element: every `<` (only ever inside strings) as its \\u003c escape."""
    return data.replace(b"<", b"\\u003c")


def render_explorer(catalog: Catalog) -> bytes:
    """The page as bytes. Its few text slots are HTML-escaped here; no template engine is loaded, since the
    page is one fixed shell (explorer.html) and all registry data reaches the page as JSON, shown as text."""
    page, style, script, layout = _assets()
    csp = (
        f"default-src 'none'; style-src {csp_hash(style)}; script-src {csp_hash(layout)} {csp_hash(script)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    text = page.substitute(
        csp=escape(csp),
        version=escape(__version__),
        title=escape(", ".join(catalog.projects) or "empty registry"),
        nobody=escape(NOBODY),
        registry=escape(catalog.registry),
        today=escape(catalog.today),
        style=style,
        layout=layout,
        script=script,
        data=_DATA_SLOT,
    )
    head, tail = text.split(_DATA_SLOT)
    return b"".join((head.encode(), inert_json(catalog_json(catalog)), tail.encode()))

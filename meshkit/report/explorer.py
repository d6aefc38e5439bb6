"""The mesh explorer: one self-contained HTML page that renders the catalog's data in the browser.

The page holds the catalog JSON (inert: a `type="application/json"` script element), the vendored
graph layout library (elkjs) and the explorer's own script and style, all inline. Its
Content-Security-Policy allows exactly those inline scripts and style, by hash, and no fetch at all,
so the page works from a file, a CI artefact or GitHub Pages, and a hostile name in someone's
manifest cannot load anything: the script only ever writes data into the page as text.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from functools import cache
from html import escape
from pathlib import Path
from string import Template

from meshkit import __version__
from meshkit.contract.words import NOBODY
from meshkit.report.catalog import Catalog, catalog_json

_ASSETS = Path(__file__).resolve().parent.parent / "assets"  # package data, installed beside the code
_INLINED = ("style", "layout", "script", "data")  # slots filled with bytes, spliced in after the template
_INLINED_SLOT = re.compile("\x00(" + "|".join(_INLINED) + ")\x00")


def csp_hash(content: bytes) -> str:
    return "'sha256-" + binascii.b2a_base64(hashlib.sha256(content).digest(), newline=False).decode() + "'"


@cache
def _assets() -> tuple[Template, bytes, bytes, bytes]:
    """The page, the explorer's style and script, and the vendored layout library, as bytes (read once per process)."""
    assets = _ASSETS
    return (
        Template((assets / "explorer.html").read_text(encoding="utf-8")),
        (assets / "explorer.css").read_bytes(),
        (assets / "explorer.js").read_bytes(),
        (assets / "vendor" / "elk.bundled.js").read_bytes(),
    )


def inert_json(data: bytes) -> bytes:
    """JSON that cannot end its script element: every `<` (only ever inside strings) as its \\u003c escape."""
    return data.replace(b"<", b"\\u003c")


def render_explorer(catalog: Catalog) -> bytes:
    """The page as bytes. Its few text slots are HTML-escaped here; no template engine is loaded, since the
    page is one fixed shell (explorer.html) and all registry data reaches the page as JSON, shown as text.
    The style, scripts and data are spliced in as bytes: megabytes that need no escaping, decoding or copying."""
    page, style, script, layout = _assets()
    csp = (
        f"default-src 'none'; style-src {csp_hash(style)}; script-src {csp_hash(layout)} {csp_hash(script)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    shell = page.substitute(
        csp=escape(csp),
        version=escape(__version__),
        title=escape(", ".join(catalog.projects) or "empty registry"),
        nobody=escape(NOBODY),
        registry=escape(catalog.registry),
        today=escape(catalog.today),
        **{slot: f"\x00{slot}\x00" for slot in _INLINED},
    )
    inlined = {"style": style, "layout": layout, "script": script, "data": inert_json(catalog_json(catalog))}
    parts = _INLINED_SLOT.split(shell)  # text, slot, text, slot, ..., text
    return b"".join(inlined[part] if index % 2 else part.encode() for index, part in enumerate(parts))

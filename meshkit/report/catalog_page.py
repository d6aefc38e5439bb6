"""The catalog as one self-contained HTML page: inline CSS, inline SVG lineage, a few lines of inline JS.

The Content-Security-Policy allows only the page's own inline script and style (by
hash) and no fetches at all, so the page works from a file, an artefact or an
intranet share, and a hostile name in someone's manifest cannot load anything.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from meshkit import __version__
from meshkit.contract.words import model_label
from meshkit.report.catalog import Catalog, ModelCard
from meshkit.report.templating import html_env

NODE_WIDTH = 250
NODE_HEIGHT = 24
ROW_GAP = 6
LANE_PADDING = 28
LANE_GAP = 24
COLUMN_GAP = 140
MARGIN = 16


@dataclass
class PlacedNode:
    key: str
    text: str
    x: int
    y: int
    kind: str  # public, deprecated or consumer


@dataclass
class Lane:
    title: str
    x: int
    y: int
    height: int
    nodes: list[PlacedNode] = field(default_factory=list)


@dataclass(frozen=True)
class PlacedEdge:
    path: str
    kind: str  # normal, deprecated or stale
    title: str


@dataclass
class Drawing:
    env: str
    width: int
    height: int
    lanes: list[Lane]
    edges: list[PlacedEdge]


def _depths(publishers: set[str], feeds: dict[str, set[str]]) -> dict[str, int]:
    """Column of each project: 0 for sources of the mesh, else one right of its deepest upstream."""
    depth: dict[str, int] = {}

    def visit(project: str, seen: frozenset[str]) -> int:
        if project in depth:
            return depth[project]
        upstreams = [u for u, downs in feeds.items() if project in downs and u not in seen]
        depth[project] = 1 + max((visit(u, seen | {project}) for u in upstreams), default=-1)
        return depth[project]

    for project in sorted(publishers | {d for downs in feeds.values() for d in downs}):
        visit(project, frozenset())
    return depth


def draw_env(catalog: Catalog, env: str) -> Drawing:
    entries = [e for e in catalog.entries if e.env == env and not e.problem]
    lanes: dict[str, list[tuple[str, str, str]]] = {}
    edges: list[tuple[str, str, str, str]] = []
    feeds: dict[str, set[str]] = {}
    for entry in entries:
        rows = lanes.setdefault(entry.project, [])
        for card in entry.models:
            kind = "deprecated" if card.deprecation_date else "public"
            rows.append((card.unique_id, model_label(card.name, card.version), kind))
            for reader in card.readers:
                feeds.setdefault(entry.project, set()).add(reader.downstream)
                for model in reader.models:
                    edges.append(
                        (
                            card.unique_id,
                            model,
                            "stale" if reader.stale else ("deprecated" if card.deprecation_date else "normal"),
                            f"{reader.via}: {reader.downstream}",
                        )
                    )
                    lanes.setdefault(reader.downstream, [])
                    if all(model != key for key, _, _ in lanes[reader.downstream]):
                        lanes[reader.downstream].append((model, model.split(".")[-1], "consumer"))
    depth = _depths({e.project for e in entries}, feeds)
    columns: dict[int, list[str]] = {}
    for project in sorted(lanes):
        columns.setdefault(depth.get(project, 0), []).append(project)
    placed: list[Lane] = []
    where: dict[str, PlacedNode] = {}
    height = 0
    for column, projects in sorted(columns.items()):
        x = MARGIN + column * (NODE_WIDTH + COLUMN_GAP)
        y = MARGIN
        for project in projects:
            rows = lanes[project]
            lane_height = LANE_PADDING + len(rows) * (NODE_HEIGHT + ROW_GAP) + ROW_GAP
            lane = Lane(project, x - 8, y, lane_height)
            for index, (key, text, kind) in enumerate(rows):
                node = PlacedNode(key, text, x, y + LANE_PADDING + index * (NODE_HEIGHT + ROW_GAP), kind)
                lane.nodes.append(node)
                where.setdefault(key, node)
            placed.append(lane)
            y += lane_height + LANE_GAP
        height = max(height, y)
    drawn = []
    for source, target, kind, title in edges:
        a, b = where.get(source), where.get(target)
        if a is None or b is None:
            continue
        x1, y1 = a.x + NODE_WIDTH, a.y + NODE_HEIGHT // 2
        x2, y2 = b.x, b.y + NODE_HEIGHT // 2
        bend = max(40, (x2 - x1) // 2)
        drawn.append(PlacedEdge(f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}", kind, title))
    width = MARGIN * 2 + (max(columns, default=0) + 1) * (NODE_WIDTH + COLUMN_GAP) - COLUMN_GAP
    return Drawing(env, width, max(height, 60), placed, drawn)


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _card_renderer() -> Callable[[ModelCard], str]:
    """Each distinct card rendered once: the same contract in several envs (dev, staging, prod) repeats
    thousands of identical cards, and the cards are most of the page. The card template autoescapes;
    the page inserts its output with `| safe`."""
    template = html_env().get_template("catalog_card.html.j2")

    @cache
    def card_html(card: ModelCard) -> str:
        return template.render(m=card)

    return card_html


def render_catalog_html(catalog: Catalog) -> str:
    env = html_env()
    assets = resources.files("meshkit") / "assets"
    style = (assets / "catalog.css").read_text(encoding="utf-8")
    script = (assets / "catalog.js").read_text(encoding="utf-8")
    drawings = [draw_env(catalog, name) for name in sorted({e.env for e in catalog.entries})]
    csp = (
        f"default-src 'none'; style-src {_csp_hash(style)}; script-src {_csp_hash(script)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    return env.get_template("catalog.html.j2").render(
        catalog=catalog,
        drawings=drawings,
        style=style,
        script=script,
        csp=csp,
        card_html=_card_renderer(),
        version=__version__,
        node_width=NODE_WIDTH,
        node_height=NODE_HEIGHT,
    )

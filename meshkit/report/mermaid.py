"""Mermaid flowcharts of cross-project lineage, bounded so GitHub will render them.

Labels come from other teams' manifests, so they are written only inside quoted
labels with Mermaid's entity codes for anything that could end the label or open
HTML; node ids are generated, never taken from input.
"""

from __future__ import annotations

import msgspec

from meshkit.contract.words import plural

# GitHub renders Mermaid with the default maxTextSize of 50,000 characters; above it the
# block shows an error instead of a diagram, so stay under it (recce caps the same way).
MAX_MERMAID_TEXT_SIZE = 50_000
# Mermaid also refuses a flowchart with more than maxEdges (default 500) links, however short
# the text: "Edge limit exceeded". A wide mesh hits this long before the size limit.
MAX_MERMAID_EDGES = 500

_ENTITIES = {'"': "#quot;", "<": "#lt;", ">": "#gt;", "#": "#35;", "`": "#96;", "&": "#amp;", "|": "#124;"}
_BREAKING_STYLE = "stroke:#d73a49,stroke-width:3px,color:#d73a49"


def label(text: str) -> str:
    """A quoted Mermaid label that no input can break out of."""
    flat = " ".join(str(text).split())
    return '"' + "".join(_ENTITIES.get(ch, ch) for ch in flat) + '"'


class Node(msgspec.Struct):
    key: str
    text: str
    broken: bool = False


class Group(msgspec.Struct):
    """A subgraph: one project, or one project's env."""

    title: str
    nodes: list[Node] = msgspec.field(default_factory=list)


class Edge(msgspec.Struct, frozen=True):
    source: str
    target: str
    text: str = ""
    broken: bool = False
    dashed: bool = False  # a hop through another project's public column: reached, not read directly


class Lineage(msgspec.Struct):
    groups: list[Group] = msgspec.field(default_factory=list)
    edges: list[Edge] = msgspec.field(default_factory=list)

    def group(self, title: str) -> Group:
        for group in self.groups:
            if group.title == title:
                return group
        self.groups.append(Group(title))
        return self.groups[-1]

    def add_node(self, group: str, key: str, text: str, *, broken: bool = False) -> None:
        """One node per key across all groups: edges name nodes by key, so a key drawn twice
        (a project that both reads an upstream and is read by another) would be ambiguous."""
        for existing in self.groups:
            for node in existing.nodes:
                if node.key == key:
                    node.broken = node.broken or broken
                    return
        self.group(group).nodes.append(Node(key, text, broken))

    def has_node(self, key: str) -> bool:
        return any(node.key == key for group in self.groups for node in group.nodes)

    def add_edge(self, source: str, target: str, text: str = "", *, broken: bool = False, dashed: bool = False) -> None:
        edge = Edge(source, target, text, broken, dashed)
        if edge not in self.edges:
            self.edges.append(edge)


def _detailed(lineage: Lineage) -> tuple[str, int]:
    ids: dict[str, str] = {}
    lines = ["flowchart LR", "  classDef broken fill:#ffeef0,stroke:#d73a49,stroke-width:2px,color:#b31d28"]
    for g_index, group in enumerate(lineage.groups):
        lines.append(f"  subgraph g{g_index}[{label(group.title)}]")
        lines.append("    direction TB")
        for node in group.nodes:
            if node.key in ids:
                continue  # hand-built groups may repeat a key; `n{len(ids)}` would then hand out an id twice
            ids[node.key] = f"n{len(ids)}"
            suffix = ":::broken" if node.broken else ""
            lines.append(f"    {ids[node.key]}[{label(node.text)}]{suffix}")
        lines.append("  end")
    broken_links = []
    drawn = 0
    for edge in lineage.edges:
        if edge.source not in ids or edge.target not in ids:
            continue
        line = "-.->" if edge.dashed else "-->"
        arrow = f"{line}|{label(edge.text)}|" if edge.text else line
        lines.append(f"  {ids[edge.source]} {arrow} {ids[edge.target]}")
        if edge.broken:
            broken_links.append(str(drawn))
        drawn += 1
    if broken_links:
        lines.append(f"  linkStyle {','.join(broken_links)} {_BREAKING_STYLE}")
    return "\n".join(lines) + "\n", drawn


def _project_level(lineage: Lineage) -> tuple[str, int]:
    """One node per group, one edge per group pair with a count: small whatever the mesh size."""
    owner: dict[str, int] = {}
    for index, group in enumerate(lineage.groups):
        for node in group.nodes:
            owner.setdefault(node.key, index)  # the first group drawing a key owns it, as in _detailed
    counts: dict[tuple[int, int], list[int]] = {}
    for edge in lineage.edges:
        if edge.source in owner and edge.target in owner and owner[edge.source] != owner[edge.target]:
            tally = counts.setdefault((owner[edge.source], owner[edge.target]), [0, 0])
            tally[0] += 1
            tally[1] += int(edge.broken)
    lines = ["flowchart LR", "  classDef broken fill:#ffeef0,stroke:#d73a49,stroke-width:2px,color:#b31d28"]
    broken_groups = {owner[e.target] for e in lineage.edges if e.broken and e.target in owner}
    for index, group in enumerate(lineage.groups):
        suffix = ":::broken" if index in broken_groups else ""
        lines.append(f"  p{index}[{label(group.title + ' (' + plural(len(group.nodes), 'model') + ')')}]{suffix}")
    broken_links = []
    for drawn, ((a, b), (total, broken)) in enumerate(sorted(counts.items())):
        text = plural(total, "edge") + (f", {broken} breaking" if broken else "")
        lines.append(f"  p{a} -->|{label(text)}| p{b}")
        if broken:
            broken_links.append(str(drawn))
    if broken_links:
        lines.append(f"  linkStyle {','.join(broken_links)} {_BREAKING_STYLE}")
    return "\n".join(lines) + "\n", len(counts)


def render(
    lineage: Lineage, *, limit: int = MAX_MERMAID_TEXT_SIZE, max_edges: int = MAX_MERMAID_EDGES
) -> tuple[str | None, str]:
    """(diagram text or None, level): "models", "projects" when too big, or "omitted" when even that is.

    Too big means over Mermaid's default maxTextSize or maxEdges, either of which makes
    GitHub show an error box instead of the diagram.

    An empty lineage gives (None, "empty"): GitHub would draw a blank box under a Lineage heading.
    """
    if not any(group.nodes for group in lineage.groups):
        return None, "empty"
    for level, draw in (("models", _detailed), ("projects", _project_level)):
        text, edges = draw(lineage)
        if _js_length(text) <= limit and edges <= max_edges:
            return text, level
    return None, "omitted"


def _js_length(text: str) -> int:
    """The length Mermaid compares with maxTextSize: JavaScript counts UTF-16 units, so an emoji is 2."""
    return len(text.encode("utf-16-le")) // 2

"""The Mermaid diagrams meshkit writes into markdown parse and render with the real, pinned Mermaid.

GitHub renders ```mermaid blocks client-side with Mermaid; a diagram Mermaid rejects shows
as an error box in the PR comment. So every kind of diagram meshkit emits is rendered in
headless Chromium by tests/js/mermaid-harness.html with Mermaid from tests/js (npm ci), and
the rendered SVG is read back: labels as text, breaking nodes and links marked, nothing
injected. All diagrams go through one page load (each Chromium launch costs a second or two).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from meshkit.report import mermaid
from meshkit.report.mermaid import Lineage
from support import browser
from support.helpers import REPO, meshkit

PIN = json.loads((browser.JS_DIR / "package.json").read_text())["dependencies"]["mermaid"]
HARNESS = browser.JS_DIR / "mermaid-harness.html"
DIAGRAMS_ELEMENT = re.compile(r'(<script type="application/json" id="diagrams">).*?(</script>)', re.DOTALL)
FENCE = re.compile(r"^```mermaid\n(.*?)^```$", re.DOTALL | re.MULTILINE)
# Tags and attributes a label must never turn into, whatever the manifest or consumer record said.
INJECTED_TAGS = {"script", "img", "iframe", "object", "embed", "a", "image", "use", "animate", "set", "form", "input"}
HOSTILE = (
    'x"] <script>alert(1)</script> `tick` #quot; #35; a|b|c [b] (p) {c} \n'
    'end subgraph "><img src=x onerror=alert(2)> & &amp; ;'
)

UP_NODES = {"public_orders", "public_customers v1", "public_customers v2"}
DOWN_NODES = {"legacy_customer_names", "customer_lifetime_value", "orders_by_status"}
LOOM_NODES = {"loom_legacy_customers", "loom_customer_orders", "loom_orders_by_status"}
# The models whose SQL reads public_orders.status (loom_customer_orders reads public_orders, but not status).
BROKEN_BY_STATUS_DROP = {"customer_lifetime_value", "orders_by_status", "loom_orders_by_status"}


@dataclass
class Rendered:
    """One diagram's outcome in the harness page, read from the dumped DOM."""

    status: str
    message: str
    section: browser.Element

    @property
    def svg(self) -> browser.Element:
        return self.section.one("svg")

    def node_labels(self) -> dict[str, str]:
        """Flowchart node id (n0, p1) -> its label as the reader sees it."""
        labels = {}
        for node in self.svg.find_all("g", "node"):
            match = re.search(r"-flowchart-([a-z]\d+)-\d+$", node.get("id", ""))
            assert match, node.attrs
            labels[match.group(1)] = node.squashed()
        return labels

    def cluster_titles(self) -> set[str]:
        return {cluster.squashed() for cluster in self.svg.find_all("g", "cluster")}

    def edge_labels(self) -> list[str]:
        return [label.squashed() for label in self.svg.find_all("span", "edgeLabel") if label.squashed()]

    def broken_nodes(self) -> set[str]:
        return {node.squashed() for node in self.svg.find_all("g", "node") if "broken" in node.classes}

    def links(self) -> dict[tuple[str, str], str]:
        """(source label, target label) -> the link's inline style (where linkStyle lands)."""
        labels = self.node_labels()
        found = {}
        for path in self.svg.find_all("path", "flowchart-link"):
            match = re.search(r"-L_([a-z]\d+)_([a-z]\d+)_\d+$", path.get("id", ""))
            assert match, path.attrs
            found[(labels[match.group(1)], labels[match.group(2)])] = path.get("style", "")
        return found

    def red_links(self) -> set[tuple[str, str]]:
        return {pair for pair, style in self.links().items() if "stroke:#d73a49" in style.replace(" ", "")}

    def assert_clean(self) -> None:
        """Nothing in the SVG is an element or attribute a label could have smuggled in."""
        for element in self.svg.iter():
            assert element.tag not in INJECTED_TAGS, (element.tag, element.attrs)
            handlers = [name for name in element.attrs if name.startswith("on")]
            assert not handlers, (element.tag, element.attrs)
            for name in ("href", "xlink:href", "src"):
                assert not element.get(name, "").strip().lower().startswith("javascript"), element.attrs


def harness_page(diagrams: list[str | dict[str, object]], folder: Path) -> Path:
    """A copy of the harness with the diagrams embedded, and a <base> so `node_modules/...` still resolves.

    The diagrams travel as a JSON array inside <script type="application/json">; `<`, `>` and `&`
    are \\u-escaped so no diagram text can close that element, whatever it contains.
    """
    payload = json.dumps(diagrams).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    page = HARNESS.read_text(encoding="utf-8")
    page, embedded = DIAGRAMS_ELEMENT.subn(lambda m: m.group(1) + payload + m.group(2), page, count=1)
    assert embedded == 1, "the harness lost its diagrams element"
    page = page.replace("<head>", f'<head>\n<base href="{browser.JS_DIR.as_uri()}/">', 1)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mermaid-harness.html"
    path.write_text(page, encoding="utf-8")
    return path


def render_all(diagrams: dict[str, str], folder: Path, parse_only: frozenset[str] = frozenset()) -> dict[str, Rendered]:
    browser.mermaid_js()
    names = list(diagrams)
    items = [{"text": diagrams[n], "parseOnly": True} if n in parse_only else diagrams[n] for n in names]
    page = browser.load(browser.file_url(harness_page(items, folder)), budget_ms=20_000, allow_file_access=True)
    body = page.dom.one("body")
    assert body.get("data-error") is None, body.get("data-error")
    assert body.get("data-done") == "1", f"the harness did not finish: {page.console[-5:]}"
    assert body.get("data-alerted") == "0", "a diagram ran script"
    sections = {int(s.get("data-index")): s for s in page.dom.find_all("section", "result")}
    assert sorted(sections) == list(range(len(names))), page.console[-5:]
    return {
        name: Rendered(sections[i].get("data-status"), sections[i].one("pre", "message").text(), sections[i])
        for i, name in enumerate(names)
    }


def mermaid_block(markdown: str) -> str:
    blocks = FENCE.findall(markdown)
    assert len(blocks) == 1, markdown
    return blocks[0]


def hostile_lineage() -> Lineage:
    lineage = Lineage()
    lineage.add_node(HOSTILE, "up.hostile", HOSTILE, broken=True)
    lineage.add_node(HOSTILE, "up.plain", "public_orders")
    lineage.add_node("end", "down.end", "end")
    lineage.add_node("end", "down.subgraph", "subgraph")
    lineage.add_node("subgraph", "down.graph", "graph TD")
    lineage.add_edge("up.hostile", "down.end", HOSTILE, broken=True)
    lineage.add_edge("up.plain", "down.subgraph", "-->|x|")
    lineage.add_edge("up.plain", "down.graph", "dbt-loom")
    return lineage


def wide_lineage(edges: int) -> Lineage:
    """One upstream model read by `edges` downstream models in three projects: short text, many links."""
    lineage = Lineage()
    lineage.add_node("dbt_up (prod)", "model.dbt_up.public_orders", "public_orders")
    for index in range(edges):
        key = f"model.down{index % 3}.m{index}"
        lineage.add_node(f"down{index % 3}", key, f"m{index}", broken=index == 0)
        lineage.add_edge("model.dbt_up.public_orders", key, "dbt-loom", broken=index == 0)
    return lineage


def emoji_lineage() -> Lineage:
    """Labels of characters outside the BMP: each is one character to Python, two to JavaScript."""
    lineage = Lineage()
    for index in range(100):
        lineage.add_node("dbt_up (prod)", f"model.dbt_up.m{index}", f"m{index} " + "\U0001f4e6" * 300)
    return lineage


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def diagrams(built_mesh: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every diagram under test, by name: two from the real CLI on the built mesh, the rest built here."""
    work = tmp_path_factory.mktemp("mermaid")
    mesh = work / "mesh"
    shutil.copytree(built_mesh, mesh, ignore=shutil.ignore_patterns("logs", "__pycache__"), symlinks=True)

    recorded = meshkit("validate", "--all", "--record-consumer", "--registry", "registry", cwd=mesh)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    validated = meshkit("validate", "--all", "--registry", "registry", "--format", "markdown", cwd=mesh)
    assert validated.returncode == 0, validated.stdout + validated.stderr

    # The "new build" of dbt_up: its manifest with a contracted column dropped from public_orders.
    manifest = orjson.loads((mesh / "dbt_up" / "target" / "manifest.json").read_bytes())
    del manifest["nodes"]["model.dbt_up.public_orders"]["columns"]["status"]
    new_build = work / "new_build_manifest.json"
    new_build.write_bytes(orjson.dumps(manifest))
    checked = meshkit(
        "check",
        "--project-dir",
        "dbt_up",
        "--manifest",
        new_build,
        "--registry",
        "registry",
        "--format",
        "markdown",
        cwd=mesh,
    )
    assert checked.returncode == 1, checked.stdout + checked.stderr

    hostile, hostile_level = mermaid.render(hostile_lineage())
    # Just too big for the model level: the project level, with the same hostile titles, must take over.
    hostile_projects, projects_level = mermaid.render(hostile_lineage(), limit=len(hostile) - 1)
    wide, wide_level = mermaid.render(wide_lineage(mermaid.MAX_MERMAID_EDGES + 1))
    at_limit, at_limit_level = mermaid.render(wide_lineage(mermaid.MAX_MERMAID_EDGES))
    emoji, emoji_level = mermaid.render(emoji_lineage())
    emoji_models, _ = mermaid.render(emoji_lineage(), limit=10**9)
    assert len(emoji_models) <= mermaid.MAX_MERMAID_TEXT_SIZE < len(emoji_models.encode("utf-16-le")) // 2
    assert (hostile_level, projects_level, wide_level, at_limit_level, emoji_level) == (
        "models",
        "projects",
        "projects",
        "models",
        "projects",
    )
    return {
        "check": mermaid_block(checked.stdout),
        "validate": mermaid_block(validated.stdout),
        "hostile": hostile,
        "hostile_projects": hostile_projects,
        "wide": wide,
        "at_edge_limit": at_limit,
        # The control: the harness must be able to fail, or every OK above proves nothing.
        "invalid": 'flowchart LR\n  n0["unclosed] --> n1\n',
        "over_edge_limit": _detailed_anyway(wide_lineage(mermaid.MAX_MERMAID_EDGES + 1)),
        "emoji": emoji,
        # What render() gave before it counted as JavaScript does: under 50,000 characters, over 50,000 units.
        "over_text_size": emoji_models,
    }


# Laying out 500 links takes Mermaid ~20 s; its edge limit is enforced while parsing, so these stop there.
PARSE_ONLY = frozenset({"at_edge_limit", "over_edge_limit"})


def _detailed_anyway(lineage: Lineage) -> str:
    """The model-level text render() refuses for this lineage: what GitHub would have been given before."""
    text, level = mermaid.render(lineage, max_edges=10**6)
    assert level == "models"
    return text


@pytest.fixture(scope="module")
def rendered(diagrams: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    return render_all(diagrams, tmp_path_factory.mktemp("mermaid-harness"), PARSE_ONLY)


def test_pinned_mermaid_is_the_one_installed() -> None:
    installed = browser.mermaid_js().parent.parent / "package.json"
    assert PIN == "12.3.0"
    assert json.loads(installed.read_text())["version"] == PIN, "tests/js/node_modules is stale: run make browser-deps"


def test_harness_reports_errors(rendered: dict[str, Rendered]) -> None:
    assert rendered["invalid"].status == "ERR"
    assert "Parse error" in rendered["invalid"].message
    over = rendered["over_edge_limit"]
    assert over.status == "ERR"
    assert "Edge limit exceeded" in over.message
    too_long = rendered["over_text_size"]
    assert too_long.status == "ERR"
    assert "Maximum text size in diagram exceeded" in too_long.message


def test_check_diagram_renders_breaking_lineage(rendered: dict[str, Rendered], diagrams: dict[str, str]) -> None:
    result = rendered["check"]
    assert result.status == "OK", (result.message, diagrams["check"])
    result.assert_clean()
    # The picture may leave out untouched models, but never the broken ones or their readers.
    labels = set(result.node_labels().values())
    assert {"public_orders"} | BROKEN_BY_STATUS_DROP <= labels <= UP_NODES | DOWN_NODES | LOOM_NODES
    assert result.cluster_titles() == {"dbt_up (prod)", "dbt_down", "dbt_down_loom"}
    assert set(result.edge_labels()) == {"mesh-source", "dbt-loom"}
    # Breaking: public_orders lost `status`, so it and the three models reading it are red, and
    # exactly the links to them; loom_customer_orders, the customers versions and their readers are not.
    assert result.broken_nodes() == {"public_orders"} | BROKEN_BY_STATUS_DROP
    assert result.red_links() == {("public_orders", model) for model in BROKEN_BY_STATUS_DROP}
    assert set(result.links()) >= result.red_links()


def test_validate_diagram_renders_every_dependency(rendered: dict[str, Rendered], diagrams: dict[str, str]) -> None:
    result = rendered["validate"]
    assert result.status == "OK", (result.message, diagrams["validate"])
    result.assert_clean()
    assert set(result.node_labels().values()) == UP_NODES | DOWN_NODES | LOOM_NODES
    assert result.cluster_titles() == {"dbt_up (prod)", "dbt_down", "dbt_down_loom"}
    assert result.broken_nodes() == set()
    assert result.red_links() == set()
    assert set(result.links()) == {
        ("public_customers v1", "legacy_customer_names"),
        ("public_customers v2", "customer_lifetime_value"),
        ("public_orders", "customer_lifetime_value"),
        ("public_orders", "orders_by_status"),
        ("public_customers v1", "loom_legacy_customers"),
        ("public_customers v2", "loom_customer_orders"),
        ("public_orders", "loom_customer_orders"),
        ("public_orders", "loom_orders_by_status"),
    }


def test_hostile_labels_render_as_text(rendered: dict[str, Rendered], diagrams: dict[str, str]) -> None:
    result = rendered["hostile"]
    assert result.status == "OK", (result.message, diagrams["hostile"])
    result.assert_clean()
    # Every label reads exactly as given (whitespace folded), entity codes and all.
    assert sorted(result.node_labels().values()) == sorted(
        [flat(HOSTILE), "public_orders", "end", "subgraph", "graph TD"]
    )
    assert result.cluster_titles() == {flat(HOSTILE), "end", "subgraph"}
    assert sorted(result.edge_labels()) == sorted([flat(HOSTILE), "-->|x|", "dbt-loom"])
    assert result.broken_nodes() == {flat(HOSTILE)}
    assert result.red_links() == {(flat(HOSTILE), "end")}
    assert len(result.links()) == 3


def test_project_level_fallback_renders(rendered: dict[str, Rendered], diagrams: dict[str, str]) -> None:
    result = rendered["hostile_projects"]
    assert result.status == "OK", (result.message, diagrams["hostile_projects"])
    result.assert_clean()
    assert sorted(result.node_labels().values()) == sorted(
        [f"{flat(HOSTILE)} (2 models)", "end (2 models)", "subgraph (1 model)"]
    )
    assert sorted(result.edge_labels()) == ["1 edge", "2 edges, 1 breaking"]
    assert result.red_links() == {(f"{flat(HOSTILE)} (2 models)", "end (2 models)")}


def test_too_many_edges_fall_back_to_project_level(rendered: dict[str, Rendered], diagrams: dict[str, str]) -> None:
    """Mermaid refuses more than 500 links however short the text; render() must not hand it that."""
    edges = mermaid.MAX_MERMAID_EDGES + 1
    assert len(diagrams["over_edge_limit"]) < mermaid.MAX_MERMAID_TEXT_SIZE  # the size limit alone would not catch it
    result = rendered["wide"]
    assert result.status == "OK", result.message
    result.assert_clean()
    counts = {0: (edges + 2) // 3, 1: (edges + 1) // 3, 2: edges // 3}
    assert sorted(result.node_labels().values()) == sorted(
        ["dbt_up (prod) (1 model)", *(f"down{i} ({n} models)" for i, n in counts.items())]
    )
    assert sorted(result.edge_labels()) == sorted(
        [f"{counts[0]} edges, 1 breaking", f"{counts[1]} edges", f"{counts[2]} edges"]
    )
    # The bound is Mermaid's own: exactly MAX_MERMAID_EDGES links still parse at model level.
    at_limit = diagrams["at_edge_limit"]
    assert at_limit.count(" --> ") + at_limit.count(" -->|") == mermaid.MAX_MERMAID_EDGES
    assert rendered["at_edge_limit"].status == "OK", rendered["at_edge_limit"].message


def test_text_size_is_counted_as_javascript_does(rendered: dict[str, Rendered]) -> None:
    """Mermaid measures maxTextSize in UTF-16 units; render() must too, or it hands over an error box."""
    result = rendered["emoji"]
    assert result.status == "OK", result.message
    result.assert_clean()
    assert list(result.node_labels().values()) == ["dbt_up (prod) (100 models)"]


def test_harness_is_committed_next_to_the_lock() -> None:
    """The relative script path in the harness is what the per-test copies resolve through <base>."""
    assert 'src="node_modules/mermaid/dist/mermaid.min.js"' in HARNESS.read_text()
    assert (browser.JS_DIR / "package-lock.json").is_file()
    assert "tests/js/node_modules/" in (REPO / ".gitignore").read_text().splitlines()

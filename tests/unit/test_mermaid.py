"""Unit tests for meshkit.report.mermaid: labels from other teams' manifests cannot break out, and diagrams stay bounded."""

from __future__ import annotations

import re

import pytest

from meshkit.report.mermaid import MAX_MERMAID_TEXT_SIZE, Lineage, label, render

HOSTILE = [
    'say "hi"',
    "closes]the[box",
    "pipe|edge|label",
    "<script>alert(1)</script>",
    "`code` and ```fence",
    "#35; and #quot; look like entities",
    "new\nline\r\nand\ttabs\u2028too",
    'a"]\n  click n0 call alert()\n  n9["',
    "%%{init: {'theme': 'dark'}}%%",
    "amp & <b>bold</b>",
    "end",
]
_ENTITY = re.compile(r"#(?:\d+|[a-z]+);")
# Every line the renderer may emit; anything else would mean input escaped its label.
_LINE_FORMS = [
    re.compile(r"flowchart LR"),
    re.compile(r'  classDef broken [^"\n]*'),
    re.compile(r'  subgraph g\d+\["[^"\n]*"\]'),
    re.compile(r"    direction TB"),
    re.compile(r'    n\d+\["[^"\n]*"\](:::broken)?'),
    re.compile(r"  end"),
    re.compile(r'  (n|p)\d+ -->(\|"[^"\n]*"\|)? (n|p)\d+'),
    re.compile(r'  p\d+\["[^"\n]*"\](:::broken)?'),
    re.compile(r"  linkStyle \d+(,\d+)* stroke:#d73a49,stroke-width:3px,color:#d73a49"),
]


def _inside(quoted: str) -> str:
    assert quoted.startswith('"') and quoted.endswith('"')
    return quoted[1:-1]


def _assert_well_formed(text: str) -> None:
    for line in text.rstrip("\n").split("\n"):
        assert any(form.fullmatch(line) for form in _LINE_FORMS), f"unexpected line: {line!r}"


@pytest.mark.parametrize("text", HOSTILE)
def test_label_cannot_break_out(text):
    inner = _inside(label(text))
    for raw in ('"', "<", ">", "`", "|", "\n", "\r", "\t", "\u2028", "&"):
        assert raw not in inner
    assert "#" not in _ENTITY.sub("", inner), "a '#' that does not start an entity code"


def test_label_entities():
    assert label('a"b') == '"a#quot;b"'
    assert label("<b>") == '"#lt;b#gt;"'
    assert label("#1") == '"#35;1"'
    assert label("x`y") == '"x#96;y"'
    assert label("a&b") == '"a#amp;b"'
    assert label("a|b") == '"a#124;b"'
    assert label("  many \n  lines ") == '"many lines"'
    assert label("]") == '"]"'  # harmless inside quotes
    assert label(42) == '"42"'


def _hostile_lineage() -> Lineage:
    lineage = Lineage()
    for index, text in enumerate(HOSTILE):
        lineage.add_node(f"up {text}", f"model.up.{index}", text)
        lineage.add_node(text, f"model.down.{index}", text, broken=index % 2 == 0)
        lineage.add_edge(f"model.up.{index}", f"model.down.{index}", text, broken=index % 2 == 0)
    return lineage


def test_hostile_names_stay_inside_their_labels():
    text, level = render(_hostile_lineage())
    assert level == "models"
    _assert_well_formed(text)
    assert "<script" not in text and "```" not in text
    assert not any(line.lstrip().startswith(("click", "%%")) for line in text.splitlines())


def test_hostile_names_stay_inside_their_labels_at_project_level():
    text, level = render(_hostile_lineage(), limit=2_500)
    assert level == "projects"
    _assert_well_formed(text)


def test_node_ids_are_generated_never_taken_from_input():
    lineage = Lineage()
    lineage.add_node("up", "n1", "first")  # a key that looks like a generated id
    lineage.add_node("up", 'x"];click', "second")
    lineage.add_node("down", "model.down.n0", "third")
    lineage.add_node("down", "evil id", "fourth")
    lineage.add_edge("n1", "evil id")
    lineage.add_edge('x"];click', "model.down.n0")
    text, _ = render(lineage)
    assert re.findall(r"^    (\S+)\[", text, flags=re.M) == ["n0", "n1", "n2", "n3"]
    assert re.findall(r"^  (\S+) --> (\S+)$", text, flags=re.M) == [("n0", "n3"), ("n1", "n2")]
    assert "evil" not in text and "click" not in text and "model.down" not in text


def test_breaking_edges_get_link_style_by_drawn_index():
    lineage = Lineage()
    for key in "abcde":
        lineage.add_node("g", key, key)
    lineage.add_edge("a", "b")
    lineage.add_edge("a", "c", broken=True)
    lineage.add_edge("a", "missing", broken=True)  # not drawn: must not shift the indices after it
    lineage.add_edge("b", "d")
    lineage.add_edge("c", "e", "via", broken=True)
    text, _ = render(lineage)
    edges = [line for line in text.splitlines() if "-->" in line]
    assert edges == ["  n0 --> n1", "  n0 --> n2", "  n1 --> n3", '  n2 -->|"via"| n4']
    assert text.splitlines()[-1] == "  linkStyle 1,3 stroke:#d73a49,stroke-width:3px,color:#d73a49"


def test_no_link_style_without_breaking_edges_and_broken_nodes_get_the_class():
    lineage = Lineage()
    lineage.add_node("g", "a", "a")
    lineage.add_node("g", "b", "b", broken=True)
    lineage.add_edge("a", "b")
    text, _ = render(lineage)
    assert "linkStyle" not in text
    assert '    n1["b"]:::broken' in text.splitlines()


def test_nodes_and_edges_are_deduplicated_and_broken_sticks():
    lineage = Lineage()
    lineage.add_node("g", "a", "a", broken=True)
    lineage.add_node("g", "a", "a again")
    lineage.add_node("h", "a", "a elsewhere")
    lineage.add_node("h", "b", "b")
    lineage.add_edge("a", "b")
    lineage.add_edge("a", "b")
    assert [[(n.key, n.text, n.broken) for n in g.nodes] for g in lineage.groups] == [
        [("a", "a", True)],
        [("b", "b", False)],
    ]
    assert len(lineage.edges) == 1


def test_a_key_in_two_groups_is_one_node_with_unique_ids():
    """A project that reads an upstream and is read by another appears once; ids are never handed out twice."""
    lineage = Lineage()
    lineage.add_node("B (prod)", "model.B.x", "x")
    lineage.add_node("A", "model.A.m", "m")
    lineage.add_node("A (prod)", "model.A.m", "m")
    lineage.add_node("C", "model.C.y", "y")
    lineage.add_edge("model.B.x", "model.A.m")
    lineage.add_edge("model.A.m", "model.C.y")
    text, _ = render(lineage)
    ids = re.findall(r"^    (n\d+)\[", text, flags=re.M)
    assert ids == ["n0", "n1", "n2"]
    assert re.findall(r"^  (\S+) --> (\S+)$", text, flags=re.M) == [("n0", "n1"), ("n1", "n2")]
    assert "A (prod)" not in text  # no empty subgraph


def test_empty_lineage_draws_nothing():
    assert render(Lineage()) == (None, "empty")


def _huge(models: int = 3_000) -> Lineage:
    lineage = Lineage()
    for index in range(models):
        lineage.add_node("shop (prod)", f"model.shop.m{index}", f"public_model_{index}")
        group = ("finance", "marketing")[index % 2]
        lineage.add_node(group, f"model.{group}.m{index}", f"downstream_{index}", broken=index % 3 == 0)
        lineage.add_edge(f"model.shop.m{index}", f"model.{group}.m{index}", "dbt-loom", broken=index % 3 == 0)
    lineage.add_edge("model.finance.m0", "model.finance.m2")  # inside one group: not drawn at project level
    return lineage


def test_huge_lineage_falls_back_to_project_level():
    text, level = render(_huge())
    assert level == "projects"
    assert len(text) <= MAX_MERMAID_TEXT_SIZE
    _assert_well_formed(text)
    assert text == (
        "flowchart LR\n"
        "  classDef broken fill:#ffeef0,stroke:#d73a49,stroke-width:2px,color:#b31d28\n"
        '  p0["shop (prod) (3000 models)"]\n'
        '  p1["finance (1500 models)"]:::broken\n'
        '  p2["marketing (1500 models)"]:::broken\n'
        '  p0 -->|"1500 edges, 500 breaking"| p1\n'
        '  p0 -->|"1500 edges, 500 breaking"| p2\n'
        "  linkStyle 0,1 stroke:#d73a49,stroke-width:3px,color:#d73a49\n"
    )


def test_diagram_just_under_the_limit_stays_at_model_level():
    lineage = _huge(40)
    text, level = render(lineage)
    assert level == "models"
    assert render(lineage, limit=len(text)) == (text, "models")
    assert render(lineage, limit=len(text) - 1)[1] == "projects"


def test_too_big_even_at_project_level_is_omitted():
    assert render(_huge(), limit=100) == (None, "omitted")


def test_too_many_edges_falls_back_even_when_the_text_is_small():
    """Mermaid's maxEdges (500) fails the diagram whatever its size."""
    lineage = Lineage()
    for index in range(600):
        lineage.add_node("a", f"a{index}", "x")
        lineage.add_node("b", f"b{index}", "y")
        lineage.add_edge(f"a{index}", f"b{index}")
    text, level = render(lineage, limit=10**9)
    assert level == "projects"
    assert '  p0 -->|"600 edges"| p1' in text.splitlines()


def test_limit_counts_utf16_units_as_mermaid_does():
    lineage = Lineage()
    lineage.add_node("g", "a", "🚀" * 20)
    text, level = render(lineage)
    assert level == "models"
    assert render(lineage, limit=len(text) + 20)[1] == "models"
    assert render(lineage, limit=len(text) + 19)[1] == "projects"  # each rocket is two UTF-16 units

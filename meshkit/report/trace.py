"""`meshkit lineage` as text, JSON (meshkit-lineage/1) or a Mermaid flowchart."""

from __future__ import annotations

import itertools
from typing import Any

from meshkit.contract.words import node_name
from meshkit.mesh.trace import ARROW, Read, Trace
from meshkit.report.impacts import impact_dict
from meshkit.report.mermaid import Lineage, render
from meshkit.report.render import LINEAGE_SCHEMA, to_json

FORMATS_LINEAGE = ("text", "json", "mermaid")


def _read(read: Read) -> dict[str, Any]:
    return {
        "project": read.project,
        "node": read.node,
        "name": read.name,
        "columns": None if read.columns is None else list(read.columns),
        "via": read.via,
        "reason": read.reason,
    }


def lineage_json(result: Trace) -> str:
    t = result.target
    return to_json(
        "lineage",
        {
            "schema": LINEAGE_SCHEMA,
            "env": result.env,
            "registry": result.registry,
            "target": {
                "project": t.project,
                "unique_id": t.unique_id,
                "name": t.name,
                "version": t.version,
                "column": t.column,
                "public": t.public,
                "label": t.label,
            },
            "upstream": [list(path) for path in result.upstream],
            "unknown": result.unknown,
            "reads": [_read(r) for r in result.reads],
            "downstream": [impact_dict(i) for i in result.downstream],
        },
    )


def _columns(read: Read) -> str:
    if read.columns is None:
        return f"any column (its column lineage is unknown: {read.reason})"
    return ", ".join(read.columns) or "no column (it reads the table only)"


def lineage_text(result: Trace) -> str:
    t = result.target
    kind = "public" if t.public else "consumer model"
    lines = [f"meshkit lineage: {t.label} ({kind}), env {result.env} in {result.registry}", ""]
    if t.public:
        lines.append("upstream (where it comes from)")
        lines += [f"  {ARROW.join(path)}" for path in result.upstream] or ["  nothing: it reads no other project"]
        lines += [f"  ? {why}" for why in result.unknown]
    else:
        lines.append("upstream (what it reads)")
        lines += [f"  {r.project}.{r.name} ({r.via}): {_columns(r)}" for r in result.reads] or ["  nothing recorded"]
    lines += ["", "downstream (who reads it: what `check` would name if it were removed)"]
    for impact in result.downstream:
        lines += [f"  {ARROW.join((*impact.path, f'{impact.downstream}.{node_name(m)}'))}" if impact.path
                  else f"  {impact.label}.{node_name(m)} ({impact.via})" for m in impact.models]  # fmt: skip
        lines += [
            f"  {impact.label}.{node_name(m)} (may read it: its column lineage is unknown)" for m in impact.may_break
        ]
    if not any(i.named for i in result.downstream):
        lines.append("  nobody" if t.public else "  nobody: it is not public")
    return "\n".join(lines) + "\n"


def lineage_mermaid(result: Trace) -> str:
    """Upstream paths and downstream readers, each project a subgraph; hops through another project dashed."""
    picture = Lineage()
    t = result.target
    picture.add_node(t.project, t.label, t.label.split(".", 1)[1], broken=True)
    for path in result.upstream:
        for source, target in itertools.pairwise(path):
            for key in (source, target):
                picture.add_node(key.split(".", 1)[0], key, key.split(".", 1)[1])
            picture.add_edge(source, target, dashed=True)
    for read in result.reads:
        key = f"{read.project}.{read.name}"
        picture.add_node(read.project, key, read.name)
        picture.add_edge(key, t.label, ", ".join(read.columns) if read.columns else read.via)
    for impact in result.downstream:
        previous = t.label
        for hop in impact.path[1:]:
            picture.add_node(hop.split(".", 1)[0], hop, hop.split(".", 1)[1])
            picture.add_edge(previous, hop, dashed=True)
            previous = hop
        for model in impact.named:
            key = f"{impact.downstream}.{node_name(model)}"
            picture.add_node(impact.downstream, key, node_name(model))
            picture.add_edge(previous, key, impact.via, dashed=impact.transitive)
    text, _ = render(picture)
    return "```mermaid\n" + (text or "flowchart LR\n") + "```\n"


def render_lineage(result: Trace, fmt: str) -> str:
    return {"json": lineage_json, "mermaid": lineage_mermaid}.get(fmt, lineage_text)(result)

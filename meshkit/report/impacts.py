"""How an impact reads: as JSON (check, lineage and the explorer's what-if share these fields) and in one line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from meshkit.contract.words import NOBODY, node_name

if TYPE_CHECKING:
    from meshkit.mesh.impact import Impact


def impact_dict(impact: Impact) -> dict[str, Any]:
    return {
        "downstream": impact.downstream,
        "repository": impact.repository,
        "via": impact.via,
        "node": impact.node,
        "models": list(impact.models),
        "may_break": list(impact.may_break),
        "path": list(impact.path),
        "transitive": impact.transitive,
        "stale": impact.stale,
        "age_days": impact.age_days,
    }


def impacts_text(impacts: tuple[Impact, ...]) -> str:
    """`down: a, b; other: c (may break); exec: d (via up.orders.amount → mid.revenue.amount)`, or NOBODY."""
    by_downstream: dict[str, list[str]] = {}
    for impact in impacts:
        label = impact.label + (" (stale record)" if impact.stale else "")
        via = f" (via {' → '.join(impact.path)})" if impact.transitive else ""
        names = [node_name(m) + via for m in impact.models]
        names += [f"{node_name(m)} (may break: its column lineage is unknown){via}" for m in impact.may_break]
        entry = by_downstream.setdefault(label, [])
        entry.extend(n for n in names or [node_name(impact.node) + via] if n not in entry)
    return "; ".join(f"{d}: {', '.join(models)}" for d, models in by_downstream.items()) or NOBODY

"""Lineage pictures built from results: what a check reaches, what a downstream reads."""

from __future__ import annotations

from typing import TYPE_CHECKING

from meshkit.contract.diff import BREAKING, INFO
from meshkit.contract.words import model_label, node_name
from meshkit.report.mermaid import Lineage

if TYPE_CHECKING:  # reports are rendered from results; importing the commands that make them is not needed
    from meshkit.mesh.check import CheckReport
    from meshkit.mesh.validate import ValidateReport


def _focus(report: CheckReport) -> set[str] | None:
    """The public models the picture is about: those with consequential changes, else any change, else all."""
    for wanted in (lambda a: a.change.severity != INFO, lambda a: True):
        uids = {a.change.unique_id for a in report.assessed if wanted(a)}
        if uids:
            return uids
    return None


def check_lineage(report: CheckReport) -> Lineage:
    """The affected part of the mesh: changed public models, each consumer project as a subgraph, breaking edges red."""
    lineage = Lineage()
    upstream = f"{report.project} ({report.env})"
    focus = _focus(report)
    for assessed in report.assessed:
        change = assessed.change
        if focus is None or change.unique_id in focus:
            lineage.add_node(
                upstream,
                change.unique_id,
                model_label(change.model, change.version),
                broken=change.severity == BREAKING,
            )
    broken_pairs = {(a.change.unique_id, i.node) for a in report.breaking for i in a.impacts if not i.transitive}
    broken_models = {(a.change.unique_id, m) for a in report.breaking for i in a.impacts for m in i.named}
    for status in report.consumers:
        if status.record is None:
            continue
        repository = f" ({status.record.repository})" if status.record.repository else ""
        group = f"{status.downstream}{repository}" + (" (stale record)" if status.stale else "")
        for use in status.record.uses:
            if focus is not None and use.unique_id not in focus:
                continue
            lineage.add_node(upstream, use.unique_id, model_label(use.model, use.version))
            reached = (use.unique_id, use.node) in broken_pairs
            for model in use.downstream_models or (use.node,):
                # Without downstream models the record names only its node for the upstream model, which for
                # dbt-loom is the upstream's own unique_id: key it by downstream so it is not that same node.
                key = model if use.downstream_models else f"{status.downstream}/{model}"
                # by column: only the models reading what changed are red (a whole record without models: all)
                broken = reached and ((use.unique_id, model) in broken_models or not use.downstream_models)
                lineage.add_node(group, key, node_name(model), broken=broken)
                lineage.add_edge(use.unique_id, key, use.via, broken=broken)
    for assessed in report.assessed:  # reads through the consumer's own models, or other projects' public columns
        for impact in assessed.impacts:
            broken = assessed.change.severity == BREAKING
            if not impact.transitive:
                for model in impact.named:
                    if not lineage.has_node(model):
                        lineage.add_node(impact.downstream, model, node_name(model), broken=broken)
                        lineage.add_edge(
                            assessed.change.unique_id, model, "through its models", broken=broken, dashed=True
                        )
                continue
            middle = impact.source
            owner = impact.path[-1].split(".", 1)[0]
            lineage.add_node(f"{owner} (public)", middle, node_name(middle), broken=broken)
            lineage.add_edge(
                assessed.change.unique_id, middle, impact.path[-1].split(".", 1)[-1], broken=broken, dashed=True
            )
            for model in impact.named:
                lineage.add_node(impact.downstream, model, node_name(model), broken=broken)
                lineage.add_edge(middle, model, impact.via, broken=broken, dashed=True)
    return lineage


def validate_lineage(report: ValidateReport) -> Lineage:
    """Each upstream env's public models feeding each validated downstream's models; unresolved edges red."""
    lineage = Lineage()
    for project in report.projects:
        for dep in project.dependencies:
            group = f"{dep.upstream} ({dep.env})"
            broken = dep.contract_id is None
            source = dep.contract_id or dep.parent_id
            text = node_name(source) if dep.contract_id else f"{node_name(dep.parent_id)} (unresolved)"
            lineage.add_node(group, source, text, broken=broken)
            for consumer in dep.consumers:
                lineage.add_node(project.project, consumer, node_name(consumer), broken=broken)
                lineage.add_edge(source, consumer, dep.via, broken=broken)
    return lineage

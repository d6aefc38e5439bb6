"""Provenance: which upstream public columns each of a publisher's public columns derives from.

A project that consumes and also publishes (finance_mid between sales_core and exec_reporting) records it
in its contract, so a change to `sales_core.orders.amount` reaches exec_reporting's models that read
`finance_mid.revenue_daily.amount` (mesh.impact follows it). It is worked out at publish time from the
project's compiled SQL, against the contracts its dependencies resolve to in the registry, with the same
lineage `validate` records; analyses recorded before are reused where the SQL is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from meshkit.contract.dates import utc_today
from meshkit.contract.manifest import Manifest
from meshkit.contract.model import Derivation, Node, Provenance
from meshkit.lineage.graph import ProjectLineage
from meshkit.mesh.consumers import recorded_analyses
from meshkit.mesh.validate import ContractCache, Dependency, read_lineage, validate_manifest
from meshkit.registry import Registry


def provenance_of(
    manifest: Manifest, registry: Registry, env: str, fallback: Sequence[str] = ()
) -> dict[str, Provenance]:
    """Provenance of each public node that reaches an upstream; empty for a project that consumes nothing."""
    contracts = ContractCache(registry)
    report = validate_manifest(
        manifest, env=env, contracts=contracts, today=utc_today(), window_days=0, fallback=fallback
    )
    resolved = [dep for dep in report.dependencies if dep.contract_id is not None]
    if not resolved:
        return {}
    lineage = read_lineage(report, manifest, contracts, recorded_analyses(registry, manifest.project_name))
    return {
        uid: provenance
        for uid, node in sorted(manifest.public_models().items())
        if (provenance := _provenance(node, lineage, resolved)) is not None
    }


def _provenance(node: Node, lineage: ProjectLineage, deps: list[Dependency]) -> Provenance | None:
    by_parent = {dep.parent_id: dep for dep in deps}
    reaches = sorted(
        {(by_parent[p].upstream, by_parent[p].contract_id or "") for p, models in lineage.readers.items()
         if p in by_parent and node.unique_id in models}
    )  # fmt: skip
    if not reaches:
        return None
    outputs = lineage.outputs.get(node.unique_id)
    if outputs is None:
        return Provenance(reaches=[Derivation(project=p, node=n, column="") for p, n in reaches])
    declared = {name.lower(): name for name in node.columns}
    columns: dict[str, list[Derivation] | None] = {}
    for column, origins in sorted(outputs.items()):
        name = declared.get(column, column)
        if origins is None:
            columns[name] = None
            continue
        columns[name] = [
            Derivation(project=by_parent[p].upstream, node=by_parent[p].contract_id or "", column=c)
            for p, cols in sorted(origins.items())
            if p in by_parent
            for c in sorted(cols)
        ]
    return Provenance(reaches=[Derivation(project=p, node=n, column="") for p, n in reaches], columns=columns)

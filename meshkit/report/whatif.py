""" "What if this column were removed?": the consumer models `check` would name, worked out when the catalog is built.

The answer is check's own: the change is what `diff_surfaces` reports for the contract without that column,
and its reach is `impacts_of` with the same consumer index, registry and day, so it follows the same hops
across projects. The explorer only shows the result; it never decides who breaks.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec

from meshkit.contract.diff import ChangeCode, Surface, diff_surfaces
from meshkit.contract.manifest import Manifest
from meshkit.contract.model import Node
from meshkit.mesh.consumers import ConsumerIndex
from meshkit.mesh.impact import impacts_of, mesh_reads
from meshkit.registry import Registry
from meshkit.report.impacts import impact_dict, impacts_text


class WhatIf(msgspec.Struct, frozen=True, gc=False):
    """What `check` would say of a PR removing one column: its line, whom it affects (its words), and the impacts."""

    column: str
    code: str
    severity: str
    message: str
    affects: str
    impacts: list[dict[str, Any]]


class ModelWhatIf(msgspec.Struct, frozen=True, gc=False):
    unique_id: str
    columns: list[WhatIf]


def removal(node: Node, column: str, adapter: str, today: date) -> list[Any]:
    """The changes check reports for a build identical to the contract but for one column of one node."""
    kept = {name: value for name, value in node.columns.items() if name != column}
    without = msgspec.structs.replace(node, columns=kept)
    base = Surface(models={node.unique_id: node}, adapter=adapter, all_nodes={node.unique_id: node})
    current = Surface(models={node.unique_id: without}, adapter=adapter, all_nodes={node.unique_id: without})
    return diff_surfaces(base=base, current=current, today=today)


def what_if(
    manifest: Manifest, index: ConsumerIndex, *, registry: Registry, project: str, today: date
) -> list[ModelWhatIf]:
    """For every column of every public node some consumer record names: what removing it would break.

    A node no trusted record names reaches nobody (impacts_of starts from the uses naming the changed node),
    so its columns are left out: the explorer says "no consumer reads it" for them, as check does."""
    named = {use.unique_id for status in index.trusted if status.record for use in status.record.uses}
    reads = mesh_reads(registry, index, project=project, today=today)  # each contract and record read once
    found: list[ModelWhatIf] = []
    for uid in sorted(named):
        node = manifest.nodes.get(uid)
        if node is None or not node.is_public_node:
            continue  # a record naming what the contract no longer has: check reports that as a removal
        columns: list[WhatIf] = []
        for column in node.columns:
            for change in removal(node, column, manifest.adapter, today):
                if change.code != ChangeCode.COLUMN_REMOVED:
                    continue
                impacts = impacts_of(change, index, registry=registry, project=project, today=today, mesh=reads)
                columns.append(
                    WhatIf(
                        column,
                        str(change.code),
                        str(change.severity),
                        change.message,
                        impacts_text(impacts),
                        [impact_dict(i) for i in impacts],
                    )
                )
        found.append(ModelWhatIf(uid, columns))
    return found

"""Which consumer models a change to a public contract reaches: by column, and across projects to any depth.

A consumer record of format 2 says, for each model that reads an upstream node, which of its columns it
reads (anywhere in its SQL, or through the project's own models). A change that removes or retypes columns
reaches the models reading one of them; a change to the node as a whole (removed, moved, no longer public)
reaches every model reading it. A model whose columns are not known is named as "may break": never dropped.
Records of format 1 name models only, as before.

A consumer that also publishes records, in its contract, where its public columns come from (provenance):
when one of them derives from a changed column, its own consumers reading that column are reached too, one
hop further, with the path (`sales_core.orders.amount → finance_mid.revenue_daily.amount`). Hops are followed
through the registry's contracts and consumer records to any depth; a (project, node, columns) seen once is
not followed again, so a cycle ends.
"""

from __future__ import annotations

import contextlib
from datetime import date

import msgspec

from meshkit.contract.diff import INFO, Change, ChangeCode
from meshkit.contract.manifest import Manifest
from meshkit.contract.model import ContractMark
from meshkit.errors import MeshkitError
from meshkit.mesh.consumers import VIA_SOURCE, ConsumerIndex, Use, read_consumers
from meshkit.registry import Registry
from meshkit.registry.published import latest_sha256, published_envs, read_latest

_ARROW = " → "


class Impact(msgspec.Struct, frozen=True):
    """The consumer models a change reaches through one downstream node, and whether the record is fresh.

    models: those that read what changed. may_break: those whose column lineage is not known, so they may.
    path: for a change reached through other projects' public columns, those columns, upstream first."""

    downstream: str
    via: str
    node: str
    models: tuple[str, ...]
    stale: bool
    age_days: int | None
    repository: str | None = None  # the downstream's OWNER/REPO, when its record names it
    may_break: tuple[str, ...] = ()
    path: tuple[str, ...] = ()
    source: str = ""  # the public node read: the changed one, or for a transitive impact the intermediate's

    @property
    def label(self) -> str:
        """How reports name the consumer: its project, and its repository when recorded."""
        return f"{self.downstream} ({self.repository})" if self.repository else self.downstream

    @property
    def named(self) -> tuple[str, ...]:
        return self.models + self.may_break

    @property
    def transitive(self) -> bool:
        return len(self.path) > 1

    @property
    def route(self) -> str:
        """The path with the models it ends at: `orders.amount → finance_mid.revenue_daily.amount → exec.summary`."""
        ends = ", ".join(f"{self.downstream}.{m.rsplit('.', 1)[-1]}" for m in self.named)
        return _ARROW.join([*self.path, ends]) if self.path else ends


class Hop(msgspec.Struct, frozen=True):
    """Columns of one public node that a change reaches (all of them when columns is empty)."""

    project: str
    node: str
    name: str
    columns: tuple[str, ...]
    path: tuple[str, ...]
    certain: bool = True  # False once a hop passed a column whose provenance is unknown

    def describe(self) -> str:
        return f"{self.project}.{self.name}" + (f".{','.join(self.columns)}" if self.columns else "")


def reached(change: Change, use: Use, columns: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(models reading what changed, models that may) through one use; None when the change does not reach it.

    columns: the changed columns of use's node (empty: the node as a whole)."""
    if change.code == ChangeCode.LATEST_VERSION_MOVED and use.pinned:
        return None
    if change.code == ChangeCode.RELATION_MOVED and use.via != VIA_SOURCE:
        return None  # dbt-loom consumers pick up the new relation when they rebuild
    if use.readers is None or (not use.readers and not columns):  # a format 1 record: model level
        if columns and use.columns is not None and not {c.lower() for c in columns} & {c.lower() for c in use.columns}:
            return None
        return use.downstream_models, ()
    readers = [r for r in use.readers if not columns or r.reads_any(columns)]
    if not readers:
        return None
    return (
        tuple(r.model for r in readers if r.columns is not None),
        tuple(r.model for r in readers if r.columns is None),
    )


def _impacts(change: Change, index: ConsumerIndex, hop: Hop) -> list[Impact]:
    found = []
    for status in index.trusted:
        assert status.record is not None
        for use in status.record.uses:
            if use.unique_id != hop.node:
                continue
            names = reached(change, use, hop.columns)
            if names is None:
                continue
            models, may = names if hop.certain else ((), names[0] + names[1])
            found.append(
                Impact(
                    status.downstream, use.via, use.node, models, status.stale, status.age_days,
                    status.record.repository, may, hop.path if len(hop.path) > 1 else (), hop.node,
                )
            )  # fmt: skip
    return found


class MeshReads(msgspec.Struct):
    """One env's contracts and consumer indexes, each read from the registry once (impacts_of, meshkit lineage)."""

    registry: Registry
    env: str
    today: date
    max_age_days: int
    contracts: dict[str, Manifest | None] = msgspec.field(default_factory=dict)
    indexes: dict[str, ConsumerIndex] = msgspec.field(default_factory=dict)

    def projects(self) -> list[str]:
        return sorted({project for project, env in published_envs(self.registry) if env == self.env})

    def consumers(self, project: str) -> ConsumerIndex:
        if project not in self.indexes:
            self.indexes[project] = read_consumers(
                self.registry, project, self.env, today=self.today, max_age_days=self.max_age_days
            )
        return self.indexes[project]

    def contract(self, project: str) -> Manifest | None:
        """The project's latest contract, or None when it publishes nothing readable here."""
        if project not in self.contracts:
            self.contracts[project] = None  # not a publisher (the usual case), or damaged: its own checks say so
            if latest_sha256(self.registry, project, self.env) is not None:  # a pointer or two: cheap to ask first
                with contextlib.suppress(MeshkitError):
                    self.contracts[project] = read_latest(self.registry, project, self.env).manifest
        return self.contracts[project]

    def published_columns(self, project: str) -> ContractMark | None:
        """The project's contract mark, with the provenance of its public columns."""
        contract = self.contract(project)
        return contract.doc.meshkit if contract else None


def _next_hops(mesh: MeshReads, hop: Hop, downstream: str) -> list[Hop]:
    """The downstream's public columns that derive from hop's (or may), as hops one project further."""
    mark = mesh.published_columns(downstream)
    hops = []
    for uid, provenance in sorted((mark.provenance if mark else {}).items()):
        if not any(r.project == hop.project and r.node == hop.node for r in provenance.reaches):
            continue
        name = uid.split(".")[2] if uid.count(".") >= 2 else uid
        if provenance.columns is None:
            hops.append(Hop(downstream, uid, name, (), (*hop.path, f"{downstream}.{name}"), certain=False))
            continue
        certain: list[str] = []
        unsure: list[str] = []
        wanted = {c.lower() for c in hop.columns}
        for column, sources in sorted(provenance.columns.items()):
            if sources is None:
                unsure.append(column)
            elif any(
                s.project == hop.project and s.node == hop.node and (not wanted or s.column.lower() in wanted)
                for s in sources
            ):
                certain.append(column)
        for columns, sure in ((tuple(certain), True), (tuple(unsure), False)):
            if columns:
                step = Hop(downstream, uid, name, columns, ())
                hops.append(Hop(downstream, uid, name, columns, (*hop.path, step.describe()), hop.certain and sure))
    return hops


def mesh_reads(registry: Registry, index: ConsumerIndex, *, project: str, today: date) -> MeshReads:
    """What impacts_of reads from the registry, kept for many calls about one project's env (the catalog's what-if)."""
    return MeshReads(registry, index.env, today, index.max_age_days, indexes={project: index})


def impacts_of(
    change: Change,
    index: ConsumerIndex,
    *,
    registry: Registry | None = None,
    project: str = "",
    today: date | None = None,
    mesh: MeshReads | None = None,
) -> tuple[Impact, ...]:
    """Consumers a change matters to, through every hop; informational changes reach nobody, so name nobody.

    Without a registry, only the direct consumers in index are followed. mesh: reads kept from earlier calls
    about the same project and env (mesh_reads)."""
    if change.severity == INFO:
        return ()
    first = Hop(project, change.unique_id, change.model, change.columns, ())
    first = Hop(project, change.unique_id, change.model, change.columns, (first.describe(),))
    found = _impacts(change, index, first)
    if registry is None:
        return tuple(found)
    mesh = mesh or MeshReads(registry, index.env, today or date.today(), index.max_age_days, indexes={project: index})
    seen = {(first.project, first.node, first.columns)}
    pending = [(first, impact.downstream) for impact in found]
    while pending:
        hop, downstream = pending.pop(0)
        for step in _next_hops(mesh, hop, downstream):
            if (step.project, step.node, step.columns) in seen:
                continue
            seen.add((step.project, step.node, step.columns))
            more = _impacts(change, mesh.consumers(step.project), step)
            found.extend(more)
            pending.extend((step, impact.downstream) for impact in more)
    return tuple(found)

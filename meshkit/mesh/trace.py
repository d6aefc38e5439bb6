"""`meshkit lineage`: where one model or column of the mesh comes from, and who reads it, across projects.

Upstream paths follow the provenance publishers record in their contracts (mesh.provenance) to any depth;
for a consumer model that publishes nothing, its consumer records say which upstream columns it reads.
Downstream is exactly what `check` would name if the column (or the model) were removed: the same rule
(mesh.impact.impacts_of), so the two never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from meshkit.contract.diff import BREAKING, Change, ChangeCode
from meshkit.contract.model import Node, version_str
from meshkit.errors import InputError
from meshkit.mesh.consumers import Use
from meshkit.mesh.impact import Impact, MeshReads, impacts_of
from meshkit.registry import Registry

ARROW = " → "


@dataclass(frozen=True)
class Target:
    """What was asked about: a public node of a project's contract, or a consumer's own model."""

    project: str
    unique_id: str
    name: str
    version: str | None
    column: str | None
    public: bool

    @property
    def label(self) -> str:
        version = f".v{self.version}" if self.version else ""
        return f"{self.project}.{self.name}{version}" + (f".{self.column}" if self.column else "")


@dataclass(frozen=True)
class Read:
    """The upstream columns a consumer model reads of one public node (None: not known, `reason` says why)."""

    project: str
    node: str
    name: str
    columns: tuple[str, ...] | None
    via: str
    reason: str | None = None


@dataclass
class Trace:
    target: Target
    env: str
    registry: str
    upstream: list[tuple[str, ...]] = field(default_factory=list)  # paths, upstream first, ending at the target
    unknown: list[str] = field(default_factory=list)  # upstream hops whose provenance is not known
    reads: list[Read] = field(default_factory=list)  # a consumer model's reads
    downstream: tuple[Impact, ...] = ()


def _describe(project: str, node: Node | None, uid: str, column: str) -> str:
    name = node.name if node else uid.split(".")[2] if uid.count(".") >= 2 else uid
    version = version_str(node.version) if node else None
    return f"{project}.{name}" + (f".v{version}" if version else "") + (f".{column}" if column else "")


def _upstream(
    mesh: MeshReads, project: str, uid: str, column: str, seen: frozenset[tuple[str, str, str]], trace: Trace
) -> list[tuple[str, ...]]:
    """Paths from each root upstream column (or node, column "") to (project, uid, column)."""
    contract = mesh.contract(project)
    node = contract.public_models().get(uid) if contract else None
    here = _describe(project, node, uid, column)
    mark = contract.doc.meshkit if contract else None
    provenance = mark.provenance.get(uid) if mark else None
    if provenance is None or (project, uid, column) in seen:
        return [(here,)]
    sources = [(d.project, d.node, "") for d in provenance.reaches]
    if column:
        known = provenance.columns.get(column) if provenance.columns is not None else None
        if provenance.columns is None or (known is None and column in provenance.columns):
            trace.unknown.append(f"{here}: its column lineage is not known; it may derive from any column of "
                                 + ", ".join(_describe(p, None, n, "") for p, n, _ in sources))  # fmt: skip
        else:
            sources = [(d.project, d.node, d.column) for d in known or []]
    paths = []
    for source in sources:
        for path in _upstream(mesh, *source, seen | {(project, uid, column)}, trace):
            paths.append((*path, here))
    return paths or [(here,)]


def _find(mesh: MeshReads, wanted: str, project: str | None, version: str | None) -> Target:
    parts = wanted.split(".")
    projects = mesh.projects()
    if project is None and len(parts) > 1 and parts[0] in projects + _consumer_projects(mesh, projects):
        project, parts = parts[0], parts[1:]
    if not parts or len(parts) > 2 or not all(parts):
        raise InputError(f"cannot read {wanted!r}: name a model or a column as [PROJECT.]MODEL[.COLUMN]")
    name, column = parts[0], (parts[1] if len(parts) > 1 else None)
    found: list[Target] = []
    for candidate in [project] if project else projects:
        contract = mesh.contract(candidate) if candidate in projects else None
        nodes = [n for n in (contract.public_models().values() if contract else ()) if n.name == name]
        chosen = [n for n in nodes if (version_str(n.version) == version if version else _is_latest(n))]
        found += [Target(candidate, n.unique_id, n.name, version_str(n.version), column, True) for n in chosen]
    if not found:
        found = [
            Target(down, model, name, None, column, False)
            for down, model in _consumer_models(mesh, projects)
            if model.split(".")[2:3] == [name] and (project is None or down == project)
        ]
    unique = sorted(set(found), key=lambda t: t.label)
    if len(unique) > 1:
        raise InputError(
            f"{wanted!r} names more than one model in {mesh.env}: {', '.join(t.label for t in unique)}; "
            "name its project as PROJECT.MODEL"
        )
    if not unique:
        raise InputError(
            f"no public model or recorded consumer model {wanted!r} in env {mesh.env} "
            f"(published projects: {', '.join(projects) or 'none'}): check the name, --env and --version"
        )
    target = unique[0]
    if target.public and column:
        contract = mesh.contract(target.project)
        node = contract.public_models()[target.unique_id] if contract else None
        if node is not None and column.lower() not in {c.lower() for c in node.columns}:
            raise InputError(
                f"{target.project}.{target.name} has no column {column!r} in its contract "
                f"(it has: {', '.join(node.columns) or 'none'})"
            )
        names = {c.lower(): c for c in node.columns} if node else {}
        column = names.get(column.lower(), column)
        target = Target(target.project, target.unique_id, target.name, target.version, column, True)
    return target


def _is_latest(node: Node) -> bool:
    return node.version is None or version_str(node.version) == version_str(node.latest_version)


def _consumer_projects(mesh: MeshReads, projects: list[str]) -> list[str]:
    return sorted({down for down, _ in _consumer_models(mesh, projects)})


def _consumer_models(mesh: MeshReads, projects: list[str]) -> list[tuple[str, str]]:
    found = set()
    for upstream in projects:
        for status in mesh.consumers(upstream).trusted:
            assert status.record is not None
            for use in status.record.uses:
                for reader in use.readers or ():
                    found.add((status.downstream, reader.model))
                found.update((status.downstream, m) for m in use.downstream_models)
    return sorted(found)


def _reads(mesh: MeshReads, target: Target) -> list[Read]:
    reads = []
    for upstream in mesh.projects():
        for status in mesh.consumers(upstream).trusted:
            if status.downstream != target.project:
                continue
            assert status.record is not None
            for use in status.record.uses:
                for reader in use.readers or ():
                    if reader.model == target.unique_id:
                        columns = None if reader.columns is None else tuple(reader.columns)
                        reads.append(Read(upstream, use.unique_id, _name(use), columns, use.via, reader.reason))
                if use.readers is None and target.unique_id in use.downstream_models:
                    why = "recorded by an older meshkit, at model level"
                    reads.append(Read(upstream, use.unique_id, _name(use), None, use.via, why))
    return sorted(reads, key=lambda r: (r.project, r.node))


def _name(use: Use) -> str:
    return use.model + (f".v{use.version}" if use.version else "")


def trace(
    registry: Registry,
    wanted: str,
    *,
    env: str,
    today: date,
    project: str | None = None,
    version: str | None = None,
    max_age_days: int = 30,
) -> Trace:
    mesh = MeshReads(registry, env, today, max_age_days)
    target = _find(mesh, wanted, project, version)
    result = Trace(target, env, registry.url)
    if not target.public:
        result.reads = _reads(mesh, target)
        return result
    result.upstream = [
        p
        for p in _upstream(mesh, target.project, target.unique_id, target.column or "", frozenset(), result)
        if len(p) > 1
    ]
    code = ChangeCode.COLUMN_REMOVED if target.column else ChangeCode.MODEL_REMOVED
    what = Change(code, BREAKING, target.name, target.unique_id, "", target.version,
                  columns=(target.column,) if target.column else ())  # fmt: skip
    result.downstream = impacts_of(
        what, mesh.consumers(target.project), registry=registry, project=target.project, today=today, mesh=mesh
    )
    return result

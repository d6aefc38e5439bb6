"""A project's column lineage in terms of its upstreams' public columns, across its own model graph.

Each model that reaches an upstream public node (directly, or through the project's own models) is analysed
from its compiled SQL (lineage.sql), against its parents' known columns: the upstream contract's columns,
and for the project's own models the output columns already worked out for them, in graph order. Then
reads and derivations are composed: a staging model that passes `orders.amount` on as `amount` makes a
mart that reads the staging model's `amount` a (transitive) reader of `orders.amount`.

Where a model cannot be analysed (a Python model, no compiled code, SQL sqlglot cannot read) it, and
whatever reads its columns, falls back to model level for the upstream nodes it reaches, with the reason:
a change to those names it as "may break", never drops it. Analyses are keyed by a digest of everything they
depend on (the SQL, the dialect, the parents' relations and columns): a rerun over unchanged SQL parses nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import msgspec

from meshkit.contract.manifest import Manifest, decode_part
from meshkit.lineage.dialects import dialect_of
from meshkit.lineage.sql import Analysis, Parent, analyse

ANALYSER = "meshkit-sql-lineage/1"  # bump when analyse() would answer differently: it voids every cached analysis
_SQL_KINDS = ("model", "snapshot")
NO_CODE = "no compiled code: record after `dbt build` (or `dbt compile`), which compiles the SQL"
PYTHON = "a Python model: its reads cannot be read from SQL"


class _DependsOn(msgspec.Struct, gc=False):
    nodes: list[str] = []


class _Config(msgspec.Struct, gc=False):
    materialized: str | None = None


class _Column(msgspec.Struct, gc=False):
    name: str = ""


class LineageNode(msgspec.Struct, gc=False):
    """What lineage reads of a manifest node: decoded on its own, so nothing else ever decodes compiled SQL."""

    unique_id: str
    resource_type: str
    name: str = ""
    package_name: str = ""
    database: str | None = None
    schema: str | None = None
    alias: str | None = None
    identifier: str | None = None  # sources
    language: str | None = None
    compiled_code: str | None = None
    depends_on: _DependsOn | None = None
    config: _Config | None = None
    columns: dict[str, _Column] = {}

    @property
    def relation(self) -> tuple[str, ...]:
        parts = (self.database, self.schema, self.identifier or self.alias or self.name)
        return tuple(part.lower() for part in parts if part)

    @property
    def parents(self) -> list[str]:
        return self.depends_on.nodes if self.depends_on else []

    @property
    def ephemeral(self) -> bool:
        return bool(self.config and self.config.materialized == "ephemeral")


_NODE: msgspec.json.Decoder[LineageNode] = msgspec.json.Decoder(LineageNode)


class CachedAnalysis(msgspec.Struct, frozen=True, gc=False):
    """An analysis and the digest of what it was computed from (kept in consumer records)."""

    digest: str
    analysis: Analysis


class Upstream(msgspec.Struct, frozen=True):
    """An upstream public node as this project reads it: its contract node and the contract's columns."""

    contract_id: str
    columns: tuple[str, ...]


class Reading(msgspec.Struct):
    """How one model reads one upstream node: the columns (None: not known, `reason` says why), directly or not."""

    columns: set[str] | None = msgspec.field(default_factory=set)
    direct: bool = False
    through: set[str] = msgspec.field(default_factory=set)  # the project's own models the read passes through
    reason: str | None = None

    def add(self, columns: set[str] | None, *, direct: bool, through: str | None, reason: str | None) -> None:
        if columns is None or self.columns is None:
            self.reason = self.reason or reason
            self.columns = None
        else:
            self.columns |= columns
        self.direct = self.direct or direct
        if through is not None:
            self.through.add(through)


Outputs = dict[str, dict[str, set[str]] | None]  # output column -> upstream parent id -> columns (None: unknown)


class ProjectLineage(msgspec.Struct):
    """readers: upstream parent id -> model -> its Reading. outputs: model -> its columns' upstream sources."""

    readers: dict[str, dict[str, Reading]] = msgspec.field(default_factory=dict)
    outputs: dict[str, Outputs | None] = msgspec.field(default_factory=dict)
    analyses: dict[str, CachedAnalysis] = msgspec.field(default_factory=dict)
    parsed: int = 0  # models analysed now (the rest came from the cache)


def _node(manifest: Manifest, uid: str) -> LineageNode | None:
    if uid in manifest.nodes:
        return decode_part(_NODE, manifest.nodes.raw(uid), manifest.origin, f"$.nodes[{uid!r}]", manifest.fix)
    if uid in manifest.sources:
        source = manifest.sources[uid]
        columns = {name: _Column(name) for name in source.columns}
        return LineageNode(uid, "source", source.name, "", source.database, source.schema, None, source.identifier,
                           columns=columns)  # fmt: skip
    return None


class _Graph:
    def __init__(self, manifest: Manifest, upstreams: Mapping[str, Upstream]) -> None:
        self.manifest = manifest
        self.upstreams = upstreams
        self.project = manifest.project_name
        self.nodes: dict[str, LineageNode | None] = {}
        self.reach: dict[str, frozenset[str]] = {}

    def node(self, uid: str) -> LineageNode | None:
        if uid not in self.nodes:
            node = _node(self.manifest, uid)
            mapped = self.manifest.parent_map.get(uid, ())
            if node is not None and set(mapped) - set(node.parents):  # the parent map holds dbt's edges too
                node.depends_on = _DependsOn(list(dict.fromkeys([*node.parents, *mapped])))
            self.nodes[uid] = node
        return self.nodes[uid]

    def own(self, uid: str) -> bool:
        kind, _, rest = uid.partition(".")
        return kind in _SQL_KINDS and rest.partition(".")[0] == self.project

    def reached(self, uid: str, seen: frozenset[str] = frozenset()) -> frozenset[str]:
        """The upstream parent ids uid reads, directly or through the project's own models."""
        if uid in self.reach:
            return self.reach[uid]
        node = self.node(uid)
        found: set[str] = set()
        for parent in node.parents if node else ():
            if parent in self.upstreams:
                found.add(parent)
            elif self.own(parent) and parent not in seen:
                found |= self.reached(parent, seen | {uid})
        self.reach[uid] = frozenset(found)
        return self.reach[uid]

    def sql_parents(self, node: LineageNode) -> list[str]:
        """The parents the compiled SQL names: an ephemeral parent is inlined, so its own parents stand in for it."""
        found: list[str] = []
        pending = list(node.parents)
        seen: set[str] = set()
        while pending:
            uid = pending.pop(0)
            if uid in seen:
                continue
            seen.add(uid)
            parent = self.node(uid)
            if parent is not None and self.own(uid) and parent.ephemeral:
                pending.extend(parent.parents)
            else:
                found.append(uid)
        return found

    def order(self) -> list[str]:
        """The project's own SQL nodes that reach an upstream, parents before children."""
        ordered: list[str] = []
        state: dict[str, int] = {}
        for start in sorted(uid for uid in self.manifest.nodes if self.own(uid)):
            stack = [(start, False)]
            while stack:
                uid, done = stack.pop()
                if done:
                    state[uid] = 2
                    ordered.append(uid)
                    continue
                if state.get(uid):
                    continue
                state[uid] = 1
                stack.append((uid, True))
                node = self.node(uid)
                stack.extend((p, False) for p in (node.parents if node else ()) if self.own(p) and not state.get(p))
        return [uid for uid in ordered if self.reached(uid)]


def _digest(dialect: str, sql: str, parents: list[Parent]) -> str:
    key = msgspec.json.encode([ANALYSER, dialect, sql, [[p.key, list(p.relation), p.columns] for p in parents]])
    return hashlib.sha256(key).hexdigest()


def project_lineage(
    manifest: Manifest, upstreams: Mapping[str, Upstream], cache: Mapping[str, CachedAnalysis] | None = None
) -> ProjectLineage:
    """The lineage of every model of manifest's project that reaches one of `upstreams` (keyed by the parent id
    the project reads it through: a generated source's id, or the model dbt-loom injected)."""
    cache = cache or {}
    graph = _Graph(manifest, upstreams)
    dialect = dialect_of(manifest.doc.metadata.adapter_type)
    result = ProjectLineage()
    for uid in graph.order():
        node = graph.node(uid)
        assert node is not None
        readings: dict[str, Reading] = {}
        outputs: Outputs | None = None
        reason = PYTHON if node.language == "python" else (None if node.compiled_code else NO_CODE)
        if reason is None:
            assert node.compiled_code is not None
            parents = _parents(graph, node, result)
            digest = _digest(dialect, node.compiled_code, parents)
            cached = cache.get(uid)
            if cached is not None and cached.digest == digest:
                analysis = cached.analysis
            else:
                analysis = analyse(node.compiled_code, dialect, parents)
                result.parsed += 1
            result.analyses[uid] = CachedAnalysis(digest, analysis)
            reason = analysis.problem
            if reason is None:
                outputs = _compose(graph, uid, analysis, readings, result)
        if reason is not None:
            for upstream in graph.reached(uid):
                readings.setdefault(upstream, Reading()).add(
                    None, direct=upstream in node.parents, through=None, reason=reason
                )
        result.outputs[uid] = outputs
        for upstream, reading in readings.items():
            result.readers.setdefault(upstream, {})[uid] = reading
    return result


def _parents(graph: _Graph, node: LineageNode, result: ProjectLineage) -> list[Parent]:
    parents = []
    for uid in graph.sql_parents(node):
        parent = graph.node(uid)
        if parent is None:
            continue
        columns: tuple[str, ...] | None
        if uid in graph.upstreams:
            columns = tuple(c.lower() for c in graph.upstreams[uid].columns)
        elif (known := result.outputs.get(uid)) is not None:
            columns = tuple(sorted(known))
        else:
            columns = tuple(name.lower() for name in parent.columns) or None
        parents.append(Parent(uid, parent.relation, columns))
    return parents


def _compose(
    graph: _Graph, uid: str, analysis: Analysis, readings: dict[str, Reading], result: ProjectLineage
) -> Outputs | None:
    """Fill readings with uid's reads of upstream columns (through its own parents too); return its outputs."""

    def unknown_through(parent: str) -> None:
        why = f"it reads {parent}, whose column lineage is unknown"
        for upstream in graph.reached(parent):
            readings.setdefault(upstream, Reading()).add(None, direct=False, through=parent, reason=why)

    def sources_of(parent: str, columns: list[str]) -> dict[str, set[str]] | None:
        """The upstream columns parent's `columns` come from; None when not known."""
        if parent in graph.upstreams:
            return {parent: set(columns)}
        if not graph.reached(parent):
            return {}
        known = result.outputs.get(parent)
        if known is None:
            return None
        merged: dict[str, set[str]] = {}
        for column in columns:
            if column not in known:
                continue  # not one of its outputs: a column this SQL reads from another table
            origin = known[column]
            if origin is None:
                return None
            for upstream, upstream_columns in origin.items():
                merged.setdefault(upstream, set()).update(upstream_columns)
        return merged

    for parent in analysis.touched:
        if parent in graph.upstreams:
            readings.setdefault(parent, Reading()).add(set(), direct=True, through=None, reason=None)
    read = dict(analysis.reads)
    for parent in analysis.everything:
        if parent in graph.upstreams:
            read[parent] = list(graph.upstreams[parent].columns)
        elif (known := result.outputs.get(parent)) is not None:
            read[parent] = sorted(known)
        else:
            unknown_through(parent)
    for parent, columns in read.items():
        sources = sources_of(parent, columns)
        if sources is None:
            unknown_through(parent)
            continue
        direct = parent in graph.upstreams
        for upstream, upstream_columns in sources.items():
            readings.setdefault(upstream, Reading()).add(
                upstream_columns, direct=direct, through=None if direct else parent, reason=None
            )
    if analysis.outputs is None:
        return None
    outputs: Outputs = {}
    for column, origins in analysis.outputs.items():
        composed: dict[str, set[str]] | None = {}
        for parent, columns in origins.items():
            sources = sources_of(parent, columns)
            if sources is None or composed is None:
                composed = None
                continue
            for upstream, upstream_columns in sources.items():
                composed.setdefault(upstream, set()).update(upstream_columns)
        outputs[column] = composed
    return outputs

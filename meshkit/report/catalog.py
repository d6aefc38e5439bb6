"""The mesh catalog: every project, env, public model, version, consumer and publish in one registry.

Everything here is read from the registry alone, so the explorer can be built by anyone with read
access and shows only what was published: never upstream SQL. It is also `meshkit catalog --format
json` (schema meshkit-catalog/3), so the shapes below are typed Structs that encode straight to JSON.

The same contract is often published to several envs (dev, staging, prod): contracts are kept once,
by sha256, and each env entry names its contract.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import msgspec

from meshkit import __version__
from meshkit.contract.manifest import Manifest
from meshkit.contract.model import (
    Access,
    Derivation,
    ModelContract,
    NodeConfig,
    NodeFace,
    Provenance,
    RecordedChange,
    VersionValue,
    is_deprecated,
    publish_order,
    seed_columns,
)
from meshkit.errors import IntegrityError, MeshkitError
from meshkit.mesh.consumers import ConsumerIndex, Use, read_consumers
from meshkit.registry import Registry, layout
from meshkit.registry.published import latest_sha256, parse_summary, published_envs, read_latest

if TYPE_CHECKING:
    from meshkit.report.whatif import ModelWhatIf

CATALOG_SCHEMA = "meshkit-catalog/3"  # /2: contracts by sha256, column readers, recorded diffs, what-if; /3: columns as
# the contract has them (constraints as objects with their expression, a description may be null)


class ColumnConstraint(msgspec.Struct, frozen=True, gc=False):
    type: str
    expression: str | None = None


class Column(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """A contract column as the page shows it: decoded from the contract and encoded to the page as it is."""

    name: str
    data_type: str | None = None
    description: str | None = ""
    constraints: list[ColumnConstraint] = []


def _column(name: str, data_type: str) -> Column:
    return Column(name=name, data_type=data_type)


class PageNode(msgspec.Struct, NodeFace, kw_only=True, gc=False):
    """A public node of a contract, read for the page: the fields it shows, and those NodeFace derives from."""

    name: str
    resource_type: str
    unique_id: str
    database: str | None = None
    schema: str | None = None
    alias: str | None = None
    version: VersionValue = None
    latest_version: VersionValue = None
    deprecation_date: str | None = None
    access: Access | None = None
    group: str | None = None
    contract: ModelContract | None = None
    description: str | None = ""
    config: NodeConfig | None = None
    columns: dict[str, Column] = {}

    def __post_init__(self) -> None:
        types = self.config.column_types if self.config else None
        if self.resource_type == "seed" and isinstance(types, dict) and types:
            self.columns = seed_columns(self.columns, types, _column)


_PAGE_NODE: msgspec.json.Decoder[PageNode] = msgspec.json.Decoder(PageNode)


class Model(msgspec.Struct, frozen=True, gc=False):
    """One public model version (or seed, snapshot) of a contract."""

    unique_id: str
    name: str
    resource_type: str
    version: str | None
    latest_version: str | None
    is_latest: bool
    deprecation_date: str | None
    deprecated: bool  # past its deprecation date on the catalog's day
    relation: str
    description: str
    group: str | None
    owner: str | None  # the group's owner: name, else email
    materialized: str | None
    contract_enforced: bool
    columns: list[Column]


class ColumnSources(msgspec.Struct, frozen=True, gc=False):
    column: str
    sources: list[Derivation] | None  # None: not known, it may derive from anything the node reaches


class NodeProvenance(msgspec.Struct, frozen=True, gc=False):
    """Where one public node of a publishing consumer comes from: the upstream nodes it reaches, its columns'."""

    unique_id: str
    reaches: list[Derivation]
    columns: list[ColumnSources] | None  # None: not known


class Contract(msgspec.Struct, frozen=True, gc=False):
    sha256: str
    project: str
    adapter: str
    models: list[Model]
    provenance: list[NodeProvenance]  # a publishing consumer's: where its public columns come from


class Consumer(msgspec.Struct, frozen=True, gc=False):
    """A consumer record as read back: trusted, stale or unreadable (problem says why; then no uses)."""

    downstream: str
    key: str
    repository: str | None
    recorded_at: str | None
    git_commit: str | None
    contract_sha256: str | None
    age_days: int | None
    stale: bool
    problem: str | None
    uses: list[Use]


class Publish(msgspec.Struct, frozen=True, gc=False):
    history_id: str
    published_at: str | None
    sha256: str | None
    git_commit: str | None
    dbt_version: str | None
    public_models: int
    changes: int | None  # since the previous entry; None when not compared
    breaking: int | None
    problem: str | None = None
    diff: list[RecordedChange] | None = None  # the changes since the previous entry, in check's words
    diff_source: str | None = None  # recorded (by publish) or computed (here, from both manifests)


class Entry(msgspec.Struct, gc=False):
    project: str
    env: str
    sha256: str  # the latest contract's, a key of Catalog.contracts; "" when problem says why it could not be read
    published_at: str | None
    git_commit: str | None
    problem: str | None = None
    history: list[Publish] = []
    consumers: list[Consumer] = []
    what_if: list[ModelWhatIf] = []  # for each public node a record names: what removing each column would break


class Catalog(msgspec.Struct, gc=False):
    meshkit_version: str
    command: str
    schema: str
    registry: str
    today: str
    consumer_max_age_days: int
    contracts: list[Contract] = []  # each distinct contract once; entries name theirs by sha256
    entries: list[Entry] = []

    @property
    def projects(self) -> list[str]:
        return sorted({e.project for e in self.entries})

    @property
    def downstreams(self) -> list[str]:
        readers = {c.downstream for e in self.entries for c in e.consumers if c.problem is None}
        return sorted(readers - set(self.projects))

    @property
    def model_versions(self) -> int:
        sizes = {c.sha256: len(c.models) for c in self.contracts}
        return sum(sizes[e.sha256] for e in self.entries if e.sha256)


def _owners(manifest: Manifest) -> dict[str, str]:
    """Each group's owner, as people read it: the name, else the email."""
    found = {}
    for group in manifest.doc.groups.values():
        text = (group.owner or {}).get("name") or (group.owner or {}).get("email")
        if isinstance(text, str):
            found[group.name] = text
    return found


def _model(node: PageNode, owners: dict[str, str], today: date) -> Model:
    return Model(
        unique_id=node.unique_id,
        name=node.name,
        resource_type=node.resource_type,
        version=node.version_key,
        latest_version=node.latest_key,
        is_latest=node.is_latest,
        deprecation_date=node.deprecation_date[:10] if node.deprecation_date else None,
        deprecated=is_deprecated(node.deprecation_date, today),
        relation=str(node.relation),
        description=node.description or "",
        group=node.group,
        owner=owners.get(node.group) if node.group else None,
        materialized=node.materialized,
        contract_enforced=node.enforced,
        columns=list(node.columns.values()),
    )


def _provenance(uid: str, provenance: Provenance) -> NodeProvenance:
    columns = provenance.columns
    return NodeProvenance(
        uid,
        provenance.reaches,
        None if columns is None else [ColumnSources(c, columns[c]) for c in sorted(columns)],
    )


def _contract(sha256: str, project: str, manifest: Manifest, today: date) -> Contract:
    mark = manifest.doc.meshkit
    owners = _owners(manifest)
    return Contract(
        sha256,
        project,
        manifest.adapter,
        [_model(node, owners, today) for node in manifest.public_view(_PAGE_NODE)],
        [_provenance(uid, p) for uid, p in sorted(mark.provenance.items())] if mark else [],
    )


def _consumers(index: ConsumerIndex) -> list[Consumer]:
    found = []
    for status in index.statuses:
        record = status.record
        found.append(
            Consumer(
                status.downstream,
                status.key,
                record.repository if record else None,
                record.recorded_at if record else None,
                record.git_commit if record else None,
                record.contract_sha256 if record else None,
                status.age_days,
                status.stale,
                status.problem,
                list(record.uses) if record else [],
            )
        )
    return found


def _history(registry: Registry, project: str, env: str, today: date) -> list[Publish]:
    """Newest first, from each entry's small metadata.json.

    What changed since the entry before is recorded at publish time (`since_previous`, in check's words);
    only for entries a meshkit that merely counted wrote are both manifests read and compared here.
    Broken entries are listed with the reason.
    """
    prefix = f"{layout.env_root(project, env)}/history/"
    stored: dict[str, float] = {}  # each entry's manifest, written at (the store's clock)
    for item in registry.listing(prefix):
        stamp, _, name = item.key[len(prefix) :].partition("/")
        stored.setdefault(stamp, 0.0)
        if name == layout.MANIFEST:
            stored[stamp] = item.written_at
    entries: list[tuple[tuple[int, float, str], Publish]] = []
    for stamp, stored_at in stored.items():
        key = layout.history_key(project, env, stamp, layout.METADATA)
        blob = registry.get(key)
        try:
            if blob is None:
                raise IntegrityError("missing")
            metadata = parse_summary(blob, key)
        except IntegrityError:
            problem = Publish(stamp, None, None, None, None, 0, None, None, "metadata.json missing or corrupt")
            entries.append((publish_order(-1, stored_at, stamp), problem))
            continue
        since = metadata.since_previous if isinstance(metadata.since_previous, msgspec.Struct) else None
        publish = Publish(
            stamp,
            metadata.published_at,
            metadata.sha256,
            metadata.git_commit,
            metadata.dbt_version,
            len(metadata.public_models),
            since.changes if since else None,
            since.breaking if since else None,
            diff=since.listed if since else None,
            diff_source="recorded" if since and since.listed is not None else None,
        )
        entries.append((publish_order(metadata.based_on or 0, stored_at, stamp), publish))
    entries.sort(key=lambda pair: pair[0], reverse=True)  # newest first, by the rule latest moves by
    history = [publish for _, publish in entries]
    for index, publish in enumerate(history[:-1]):
        if publish.diff is None and publish.changes is not None and publish.sha256 and history[index + 1].sha256:
            from meshkit.report.history import diff_between  # only entries older meshkit wrote need a diff computed

            changes = diff_between(registry, project, env, history[index + 1].history_id, publish.history_id, today)
            if changes is not None:
                history[index] = msgspec.structs.replace(publish, diff=changes, diff_source="computed")
    return history


def _entry(
    registry: Registry,
    catalog: Catalog,
    manifests: dict[str, Manifest],
    contracts: set[str],
    project: str,
    env: str,
    today: date,
    consumer_max_age_days: int,
) -> Entry:
    """One env of one project. A contract already read for another env (the same sha256, confirmed by the pointer
    and a listing of its entry) is not read and decoded again: dev, staging and prod often hold the same one."""
    history = _history(registry, project, env, today)
    sha = latest_sha256(registry, project, env)
    latest = next((p for p in history if sha and p.sha256 == sha), None)
    if sha is None or sha not in manifests or latest is None:
        published = read_latest(registry, project, env)
        sha = published.sha256
        manifests.setdefault(sha, published.manifest)
        published_at, git_commit = published.metadata.published_at, published.metadata.git_commit
    else:
        published_at, git_commit = latest.published_at, latest.git_commit
    if sha not in contracts:
        contracts.add(sha)
        catalog.contracts.append(_contract(sha, project, manifests[sha], today))
    index = read_consumers(registry, project, env, today=today, max_age_days=consumer_max_age_days)
    what_if: list[ModelWhatIf] = []
    if index.trusted:  # what removing a column would break is check's analysis: loaded only when someone reads
        from meshkit.report.whatif import what_if as removals

        what_if = removals(manifests[sha], index, registry=registry, project=project, today=today)
    return Entry(
        project,
        env,
        sha,
        published_at,
        git_commit,
        history=history,
        consumers=_consumers(index),
        what_if=what_if,
    )


def build_catalog(
    registry: Registry, *, today: date, consumer_max_age_days: int = 30, envs: list[str] | None = None
) -> Catalog:
    catalog = Catalog(__version__, "catalog", CATALOG_SCHEMA, registry.url, today.isoformat(), consumer_max_age_days)
    manifests: dict[str, Manifest] = {}  # by sha256: each distinct contract decoded once
    contracts: set[str] = set()  # those in catalog.contracts
    for project, env in published_envs(registry):
        if envs and env not in envs:
            continue
        try:
            entry = _entry(registry, catalog, manifests, contracts, project, env, today, consumer_max_age_days)
            catalog.entries.append(entry)
        except (
            MeshkitError
        ) as problem:  # damaged, unreadable or refused: a problem entry, the rest of the mesh is shown
            catalog.entries.append(Entry(project, env, "", None, None, problem=str(problem)))
    return catalog


def catalog_json(catalog: Catalog) -> bytes:
    """The catalog as compact JSON: the explorer's data, and `meshkit catalog --format json`."""
    return msgspec.json.encode(catalog)

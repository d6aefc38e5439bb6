"""The mesh catalog: every project, env, public model, version, consumer and publish in one registry.

Everything here is read from the registry alone, so the page can be built by anyone
with read access and shows only what was published: never upstream SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import msgspec

from meshkit.contract.model import ChangeCounts, Node, is_deprecated, publish_order
from meshkit.errors import IntegrityError, MeshkitError
from meshkit.mesh.consumers import ConsumerStatus, read_consumers
from meshkit.registry import Registry, layout
from meshkit.registry.published import parse_metadata, published_envs, read_latest


class Column(msgspec.Struct, frozen=True, gc=False):
    """A Struct, not a dataclass: a 20,000-model mesh has hundreds of thousands of them."""

    name: str
    data_type: str | None
    description: str
    constraints: tuple[str, ...]

    @property
    def constraints_text(self) -> str:
        return ", ".join(self.constraints)


@dataclass(frozen=True)
class Reader:
    downstream: str
    via: str
    models: tuple[str, ...]
    stale: bool


@dataclass(frozen=True)
class ModelCard:
    unique_id: str
    name: str
    version: str | None
    is_latest: bool
    latest_version: str | None
    deprecation_date: str | None
    deprecated: bool
    relation: str
    description: str
    group: str | None
    materialized: str | None
    contract_enforced: bool
    columns: tuple[Column, ...]
    readers: tuple[Reader, ...]

    @property
    def search_text(self) -> str:
        """What the page's filter matches, lower-cased: everything the card shows by name.

        The consumers' models are listed on the card, so they are matched too: filtering on
        `legacy` must find the version that `legacy_customer_names` reads."""
        words = [self.unique_id, self.description, *(c.name for c in self.columns)]
        for reader in self.readers:
            words += [reader.downstream, *(model.split(".")[-1] for model in reader.models)]
        return " ".join(words).lower()


@dataclass(frozen=True)
class Publish:
    history_id: str
    published_at: str | None
    sha256: str | None
    git_commit: str | None
    dbt_version: str | None
    public_models: int
    changes: int | None  # since the previous entry; None when not compared
    breaking: int | None
    problem: str | None = None


@dataclass
class EnvEntry:
    project: str
    env: str
    sha256: str
    published_at: str | None
    git_commit: str | None
    models: list[ModelCard] = field(default_factory=list)
    history: list[Publish] = field(default_factory=list)
    consumers: list[ConsumerStatus] = field(default_factory=list)
    problem: str | None = None


@dataclass
class Catalog:
    registry: str
    today: str
    entries: list[EnvEntry] = field(default_factory=list)

    @property
    def projects(self) -> list[str]:
        return sorted({e.project for e in self.entries})

    @property
    def downstreams(self) -> list[str]:
        return sorted({s.downstream for e in self.entries for s in e.consumers if s.record} - set(self.projects))


def _card(node: Node, readers: tuple[Reader, ...], today: date) -> ModelCard:
    columns = tuple(
        Column(name, column.data_type, column.description or "", tuple(c.type for c in column.constraints))
        for name, column in node.columns.items()
    )
    return ModelCard(
        unique_id=node.unique_id,
        name=node.name,
        version=node.version_key,
        is_latest=node.is_latest,
        latest_version=node.latest_key,
        deprecation_date=node.deprecation_date[:10] if node.deprecation_date else None,
        deprecated=is_deprecated(node.deprecation_date, today),
        relation=str(node.relation),
        description=node.description or "",
        group=node.group,
        materialized=node.materialized,
        contract_enforced=node.enforced,
        columns=columns,
        readers=readers,
    )


def _readers(consumers: list[ConsumerStatus]) -> dict[str, list[Reader]]:
    found: dict[str, list[Reader]] = {}
    for status in consumers:
        if status.record is None:
            continue
        for use in status.record.uses:
            found.setdefault(use.unique_id, []).append(
                Reader(status.downstream, use.via, use.downstream_models, status.stale)
            )
    return found


def _history(registry: Registry, project: str, env: str) -> list[Publish]:
    """Newest first, from each entry's small metadata.json; the manifests themselves are never read.

    What changed since the entry before is counted at publish time (`since_previous`); entries written
    by meshkit versions that did not count it show no figures. Broken entries are listed with the reason.
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
            metadata = parse_metadata(blob, key)
        except IntegrityError:
            problem = Publish(stamp, None, None, None, None, 0, None, None, "metadata.json missing or corrupt")
            entries.append((publish_order(-1, stored_at, stamp), problem))
            continue
        since = metadata.since_previous if isinstance(metadata.since_previous, ChangeCounts) else None
        publish = Publish(
            stamp,
            metadata.published_at,
            metadata.sha256,
            metadata.git_commit,
            metadata.dbt_version,
            len(metadata.public_models),
            since.changes if since else None,
            since.breaking if since else None,
        )
        entries.append((publish_order(metadata.based_on or 0, stored_at, stamp), publish))
    entries.sort(key=lambda pair: pair[0], reverse=True)  # newest first, by the rule latest moves by
    return [publish for _, publish in entries]


def _entry(registry: Registry, project: str, env: str, today: date, consumer_max_age_days: int) -> EnvEntry:
    published = read_latest(registry, project, env)
    consumers = read_consumers(registry, project, env, today=today, max_age_days=consumer_max_age_days).statuses
    readers = _readers(consumers)
    entry = EnvEntry(
        project,
        env,
        published.sha256,
        published.metadata.published_at,
        published.metadata.git_commit,
        consumers=consumers,
    )
    for uid, node in published.manifest.public_models().items():
        entry.models.append(_card(node, tuple(readers.get(uid, ())), today))
    entry.history = _history(registry, project, env)
    return entry


def build_catalog(
    registry: Registry, *, today: date, consumer_max_age_days: int = 30, envs: list[str] | None = None
) -> Catalog:
    catalog = Catalog(registry=registry.url, today=today.isoformat())
    for project, env in published_envs(registry):
        if envs and env not in envs:
            continue
        try:
            catalog.entries.append(_entry(registry, project, env, today, consumer_max_age_days))
        except MeshkitError as problem:  # damaged, unreadable or refused: a problem card, the rest of the mesh is shown
            catalog.entries.append(EnvEntry(project, env, "", None, None, problem=str(problem)))
    return catalog

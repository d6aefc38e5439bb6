"""The mesh catalog: every project, env, public model, version, consumer and publish in one registry.

Everything here is read from the registry alone, so the page can be built by anyone
with read access and shows only what was published: never upstream SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import orjson

from meshkit.registry import layout
from meshkit.mesh.consumers import ConsumerStatus, read_consumers
from meshkit.contract.build import version_str
from meshkit.contract.diff import BREAKING, Surface, diff_surfaces
from meshkit.errors import MeshkitError, RegistryError
from meshkit.contract.manifest import parse_manifest
from meshkit.contract.names import is_env_name, is_project_name
from meshkit.registry.published import read_latest
from meshkit.registry import Registry

# Older history entries are listed but not diffed: each diff reads one more manifest.
HISTORY_DIFF_LIMIT = 50


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str | None
    description: str
    constraints: tuple[str, ...]


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


def _deprecated(raw: object, today: date) -> bool:
    try:
        return bool(raw) and date.fromisoformat(str(raw)[:10]) <= today
    except ValueError:
        return False


def _card(node: dict[str, Any], readers: tuple[Reader, ...], today: date) -> ModelCard:
    config = node.get("config") or {}
    version, latest = version_str(node.get("version")), version_str(node.get("latest_version"))
    columns = tuple(
        Column(str(name), column.get("data_type"), str(column.get("description") or ""),
               tuple(str(c.get("type")) for c in column.get("constraints") or []))
        for name, column in (node.get("columns") or {}).items()
    )
    relation = ".".join(str(p) for p in (node.get("database"), node.get("schema"), node.get("alias") or node.get("name")))
    deprecation = str(node["deprecation_date"])[:10] if node.get("deprecation_date") else None
    return ModelCard(
        unique_id=str(node.get("unique_id")), name=str(node.get("name")), version=version,
        is_latest=version is None or version == latest, latest_version=latest, deprecation_date=deprecation,
        deprecated=_deprecated(deprecation, today), relation=relation, description=str(node.get("description") or ""),
        group=node.get("group"), materialized=config.get("materialized"),
        contract_enforced=bool((node.get("contract") or config.get("contract") or {}).get("enforced")),
        columns=columns, readers=readers,
    )


def _readers(consumers: list[ConsumerStatus]) -> dict[str, list[Reader]]:
    found: dict[str, list[Reader]] = {}
    for status in consumers:
        if status.record is None:
            continue
        for use in status.record.uses:
            found.setdefault(use.unique_id, []).append(
                Reader(status.downstream, use.via, use.downstream_models, status.stale))
    return found


def _history(registry: Registry, project: str, env: str) -> list[Publish]:
    """Newest first, each compared with the entry before it; broken entries are listed with the reason."""
    prefix = f"{layout.env_root(project, env)}/history/"
    stamps = sorted({key[len(prefix):].split("/")[0] for key in registry.list(prefix)}, reverse=True)
    entries: list[Publish] = []
    surfaces: list[Surface | None] = []
    for index, stamp in enumerate(stamps):
        blob = registry.get(layout.history_key(project, env, stamp, layout.METADATA))
        try:
            metadata = orjson.loads(blob.data) if blob else None
            if not isinstance(metadata, dict):
                raise ValueError
        except (orjson.JSONDecodeError, ValueError):
            entries.append(Publish(stamp, None, None, None, None, 0, None, None, "metadata.json missing or corrupt"))
            surfaces.append(None)
            continue
        surface = None
        if index <= HISTORY_DIFF_LIMIT and metadata.get("kind", "contract") == "contract":
            manifest_blob = registry.get(layout.history_key(project, env, stamp))
            try:
                surface = Surface.of(parse_manifest(manifest_blob.data, stamp)) if manifest_blob else None
            except MeshkitError:
                surface = None  # a corrupt old entry is listed without a diff, not fatal to the page
        surfaces.append(surface)
        models = metadata.get("public_models")
        entries.append(Publish(
            stamp, _text(metadata.get("published_at")), _text(metadata.get("sha256")), _text(metadata.get("git_commit")),
            _text(metadata.get("dbt_version")), len(models) if isinstance(models, list) else 0, None, None))
    for index in range(len(entries) - 1):
        newer, older = surfaces[index], surfaces[index + 1]
        if newer is not None and older is not None:
            changes = diff_surfaces(base=older, current=newer, today=date.max)
            entries[index] = replace(entries[index], changes=len(changes),
                                     breaking=sum(1 for c in changes if c.severity == BREAKING))
    return entries


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _envs(registry: Registry) -> list[tuple[str, str]]:
    pairs = set()
    for key in registry.list(""):
        parts = key.split("/")
        if len(parts) == 4 and parts[2:] == ["latest", layout.METADATA]:
            if is_project_name(parts[0]) and is_env_name(parts[1]):
                pairs.add((parts[0], parts[1]))
    return sorted(pairs)


def build_catalog(registry: Registry, *, today: date, consumer_max_age_days: int = 30,
                  envs: list[str] | None = None) -> Catalog:
    catalog = Catalog(registry=registry.url, today=today.isoformat())
    for project, env in _envs(registry):
        if envs and env not in envs:
            continue
        try:
            published = read_latest(registry, project, env)
        except RegistryError as problem:
            catalog.entries.append(EnvEntry(project, env, "", None, None, problem=str(problem)))
            continue
        consumers = read_consumers(registry, project, env, today=today, max_age_days=consumer_max_age_days).statuses
        readers = _readers(consumers)
        entry = EnvEntry(project, env, published.sha256, _text(published.metadata.get("published_at")),
                         _text(published.metadata.get("git_commit")), consumers=consumers)
        for uid, node in published.manifest.public_models().items():
            entry.models.append(_card(node, tuple(readers.get(uid, ())), today))
        entry.history = _history(registry, project, env)
        catalog.entries.append(entry)
    return catalog

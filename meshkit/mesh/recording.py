"""Writing consumer records: what `validate --record-consumer` (and `publish --consumer`) resolved, per upstream env.

The record says, for each upstream public node the downstream reads, which downstream models read it and
which columns (from the project's column lineage). Kept apart from reading records (mesh.consumers), which
check and the catalog do without loading validation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone

from meshkit.contract.build import serialise
from meshkit.contract.manifest import Manifest
from meshkit.contract.model import Node, version_str
from meshkit.contract.names import check_env, check_project, is_project_name
from meshkit.lineage.graph import ProjectLineage
from meshkit.mesh.consumers import VIA_SOURCE, ConsumerRecord, Reader, Use, recorded_analyses
from meshkit.mesh.validate import ContractCache, Dependency, ProjectReport, ValidateReport, validate_loaded
from meshkit.registry import Registry, layout


def _follows_latest(consumer: Node | None, upstream: str, model: str) -> bool:
    """A downstream model whose ref to the upstream model names no version follows latest_version."""
    return consumer is not None and any(
        ref.name == model and ref.package == upstream and version_str(ref.version) is None for ref in consumer.refs
    )


def _readers(lineage: ProjectLineage | None, dep: Dependency, consumers: tuple[str, ...]) -> tuple[Reader, ...]:
    """The models reading dep for this use: its direct consumers, and the models reading through those."""
    readings = lineage.readers.get(dep.parent_id, {}) if lineage else {}
    chosen = set(consumers) & set(readings)
    grew = True
    while grew:  # a model reading through one of the chosen models reads the same version
        more = {m for m, r in readings.items() if m not in chosen and r.through & chosen}
        grew = bool(more)
        chosen |= more
    readers = [
        Reader(model, None if r.columns is None else sorted(r.columns), r.direct, sorted(r.through), r.reason)
        for model, r in readings.items()
        if model in chosen
    ]
    for consumer in consumers:  # exposures, analyses: not models lineage reads, so possibly every column
        if consumer not in readings:
            kind = consumer.partition(".")[0]
            readers.append(Reader(consumer, None, True, [], f"a {kind}, whose reads are not SQL meshkit reads"))
    return tuple(sorted(readers, key=lambda r: r.model))


def _uses(dep: Dependency, manifest: Manifest, contracts: ContractCache, lineage: ProjectLineage | None) -> list[Use]:
    """One use per dependency, split in two when some downstream models pin the version and others do not."""
    if dep.contract_id is None:
        return []  # unresolved: validate already reports it, and it cannot be impacted further
    published = contracts.get(dep.upstream, dep.env)
    node = published.manifest.nodes.get(dep.contract_id) if not isinstance(published, Exception) else None
    model = node.name if node else dep.contract_id.split(".")[2]

    def use(pinned: bool, columns: tuple[str, ...] | None, consumers: tuple[str, ...]) -> Use:
        readers = _readers(lineage, dep, consumers)
        return Use(
            dep.contract_id or "", model, dep.version, pinned, dep.via, dep.parent_id, columns, consumers, readers
        )

    if dep.via == VIA_SOURCE:
        source = manifest.sources.get(dep.parent_id)
        columns = tuple(sorted(source.columns)) if source and source.columns else None
        is_pinned = dep.version is None or (source.name if source else "") != model  # `m` is latest, `m_v1` is pinned
        return [use(is_pinned, columns, dep.consumers)]
    if dep.version is None:
        return [use(True, None, dep.consumers)]
    unpinned = tuple(c for c in dep.consumers if _follows_latest(manifest.nodes.get(c), dep.upstream, model))
    pinning = tuple(c for c in dep.consumers if c not in unpinned)
    return [use(pins, None, models) for pins, models in ((True, pinning), (False, unpinned)) if models]


def _stamp(now: datetime) -> str:
    return now.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def build_records(
    report: ProjectReport,
    manifest: Manifest,
    contracts: ContractCache,
    *,
    git_commit: str | None,
    now: datetime,
    repository: str | None = None,
) -> list[ConsumerRecord]:
    """One record per (upstream, env) the downstream reads."""
    grouped: dict[tuple[str, str], list[Use]] = defaultdict(list)
    for dep in report.dependencies:
        grouped[(dep.upstream, dep.env)].extend(_uses(dep, manifest, contracts, report.lineage))
    analyses = report.lineage.analyses if report.lineage else {}
    stamp = _stamp(now)
    records = []
    for (upstream, env), uses in sorted(grouped.items()):
        published = contracts.get(upstream, env)
        sha = None if isinstance(published, Exception) else published.sha256
        records.append(
            ConsumerRecord(
                report.project,
                upstream,
                env,
                stamp,
                git_commit,
                sha,
                tuple(sorted(uses, key=lambda u: (u.unique_id, u.node, u.pinned))),
                repository,
                {m: analyses[m] for u in uses for r in u.readers or () if (m := r.model) in analyses},
            )
        )
    return records


def write_records(
    registry: Registry,
    downstream: str,
    env: str,
    records: list[ConsumerRecord],
    *,
    now: datetime,
    git_commit: str | None,
    repository: str | None = None,
) -> list[str]:
    """Write each record, and empty ones for upstreams this downstream no longer reads."""
    check_project(downstream)
    check_env(env)
    written = []
    current = {(r.upstream, r.env) for r in records}
    stamp = _stamp(now)
    for key in registry.list(""):
        parts = key.split("/")
        mine = len(parts) == 4 and parts[1] == env and parts[2] == "consumers" and parts[3] == f"{downstream}.json"
        if mine and (parts[0], env) not in current and is_project_name(parts[0]):
            records = [*records, ConsumerRecord(downstream, parts[0], env, stamp, git_commit, None, (), repository)]
    for record in records:
        key = layout.consumer_key(record.upstream, record.env, downstream)
        registry.put(key, serialise(record.as_dict()))
        written.append(key)
    return written


def record_consumers(
    registry: Registry,
    report: ValidateReport,
    manifests: list[Manifest],
    contracts: ContractCache,
    *,
    now: datetime,
    git_commit: str | None,
    repository: str | None = None,
) -> list[str]:
    """Write every validated downstream's records; the keys written, in order."""
    written: list[str] = []
    for project_report, manifest in zip(report.projects, manifests, strict=True):
        records = build_records(
            project_report, manifest, contracts, git_commit=git_commit, now=now, repository=repository
        )
        written += write_records(
            registry, project_report.project, report.env, records, now=now, git_commit=git_commit, repository=repository
        )
    return written


@dataclass(frozen=True)
class Recording:
    """Who is recording, and when: what a consumer record says about the run that wrote it."""

    now: datetime
    git_commit: str | None
    repository: str | None = None


def validate_and_record(
    registry: Registry,
    manifests: list[Manifest],
    *,
    env: str,
    today: date,
    window_days: int = 30,
    skipped: list[str] | None = None,
    recording: Recording | None = None,
    fallback_for: Callable[[str], Sequence[str]] | None = None,
) -> tuple[ValidateReport, list[str]]:
    """Validate downstream manifests and, given a recording, write their consumer records from the same contracts.

    One flow for `meshkit validate --record-consumer` and `meshkit publish --consumer`: the records say
    exactly what the validation resolved, fetched once.
    """
    contracts = ContractCache(registry)
    caches = {m.project_name: recorded_analyses(registry, m.project_name) for m in manifests} if recording else None
    report = validate_loaded(
        manifests,
        contracts=contracts,
        env=env,
        today=today,
        window_days=window_days,
        skipped=skipped,
        fallback_for=fallback_for,
        caches=caches,
    )
    if recording is None:
        return report, []
    keys = record_consumers(
        registry,
        report,
        manifests,
        contracts,
        now=recording.now,
        git_commit=recording.git_commit,
        repository=recording.repository,
    )
    return report, keys

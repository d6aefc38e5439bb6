"""Publishing a project's contract: history first, latest last.

History entries are created with if-absent writes and latest with an if-match
on what we read at the start, so two publishers racing never silently overwrite
each other. An identical contract is not republished unless forced.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import msgspec

from meshkit import __version__
from meshkit.contract.build import build_contract, public_models_of, serialise, sha256_hex
from meshkit.contract.diff import Surface, diff_surfaces
from meshkit.contract.manifest import Manifest, load_manifest, parse_manifest, require_project
from meshkit.contract.model import ChangeCounts, ContractNode, PublicModel, PublishMetadata
from meshkit.contract.names import check_env, check_project
from meshkit.errors import ConflictError, MeshkitError
from meshkit.registry import Blob, Registry, layout
from meshkit.registry.published import read_latest_metadata


@dataclass(frozen=True)
class PublishRequest:
    project_dir: Path
    project: str
    env: str
    full: bool = False
    force: bool = False
    git_commit: str | None = None
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


@dataclass(frozen=True)
class PublishResult:
    status: str  # "published" or "unchanged"
    project: str
    env: str
    registry: str
    sha256: str
    kind: str
    history_id: str | None
    latest_key: str
    history_key: str | None
    public_models: list[PublicModel]

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "public_models": msgspec.to_builtins(self.public_models)}


def _check_names(nodes: Iterable[ContractNode]) -> None:
    for node in nodes:
        node.check_names()


def _since(previous: Blob | None, previous_kind: str | None, current: Manifest, today: date) -> ChangeCounts | None:
    """What changed since the previous publish, counted now so the catalog never reads old manifests."""
    if previous is None or previous_kind != "contract":
        return None
    try:
        base = Surface.of(parse_manifest(previous.data, "the previous contract", contract=True))
    except MeshkitError:
        return None  # a corrupt latest is replaced; there is nothing to count against
    changes = diff_surfaces(base=base, current=Surface.of(current), today=today)
    return ChangeCounts(changes=len(changes), breaking=sum(1 for c in changes if c.breaking))


def publish(request: PublishRequest, registry: Registry) -> PublishResult:
    project = check_project(request.project)
    env = check_env(request.env)
    manifest_path = request.project_dir / "target" / "manifest.json"
    manifest = load_manifest(manifest_path, build_hint=f"run `dbt build` in {request.project_dir} first")
    require_project(manifest, project)
    contract = build_contract(manifest)  # also rejects a project with no public models
    _check_names(contract["nodes"].values())
    if request.full:
        payload, kind = manifest_path.read_bytes(), "full"
    else:
        payload, kind = serialise(contract), "contract"
    digest = sha256_hex(payload)
    public = public_models_of(manifest)
    latest_key = layout.latest_key(project, env)

    previous, previous_manifest = read_latest_metadata(registry, project, env)
    if previous and previous.sha256 == digest and not request.force:
        return PublishResult(
            "unchanged",
            project,
            env,
            registry.url,
            digest,
            kind,
            previous.history_id,
            latest_key,
            None,
            public,
        )

    stamp = layout.history_stamp(request.now)
    metadata = serialise(
        PublishMetadata(
            meshkit_version=__version__,
            project=project,
            env=env,
            kind=kind,
            sha256=digest,
            size=len(payload),
            published_at=request.now.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
            history_id=stamp,
            git_commit=request.git_commit,
            dbt_version=manifest.dbt_version,
            dbt_schema_version=manifest.doc.metadata.dbt_schema_version,
            public_models=public,
            since_previous=_since(
                previous_manifest,
                previous.kind if previous else None,
                manifest,
                request.now.astimezone(timezone.utc).date(),
            ),
        )
    )
    history_manifest = layout.history_key(project, env, stamp)
    registry.put(history_manifest, payload, if_absent=True)
    registry.put(layout.history_key(project, env, stamp, layout.METADATA), metadata, if_absent=True)
    try:
        if previous_manifest is None:
            registry.put(latest_key, payload, if_absent=True)
        else:
            registry.put(latest_key, payload, if_match=previous_manifest.etag)
    except ConflictError:
        raise ConflictError(
            f"another publish of {project}/{env} landed while this one ran; "
            f"history entry {stamp} was kept but latest was not changed: rerun publish"
        ) from None
    registry.put(layout.latest_key(project, env, layout.METADATA), metadata)
    return PublishResult(
        "published",
        project,
        env,
        registry.url,
        digest,
        kind,
        stamp,
        latest_key,
        history_manifest,
        public,
    )

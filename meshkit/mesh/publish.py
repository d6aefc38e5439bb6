"""Publishing a project's contract: a complete history entry first, then one commit point (registry/commit.py).

An identical contract is not republished unless forced, but an unchanged publish still repairs
latest's copies and gives a registry from an older meshkit its pointer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import msgspec

from meshkit import __version__
from meshkit.contract.build import build_contract, public_models_of, require_public, serialise, sha256_hex
from meshkit.contract.diff import Surface, diff_surfaces, recorded
from meshkit.contract.manifest import Manifest, load_manifest, parse_manifest, require_project
from meshkit.contract.model import ChangeCounts, PublicModel, PublishMetadata
from meshkit.contract.names import check_env, check_project
from meshkit.contract.view import encode_view, view_of
from meshkit.errors import IntegrityError, MeshkitError
from meshkit.mesh.provenance import provenance_of
from meshkit.mesh.sources import table_index
from meshkit.registry import Blob, Registry, layout
from meshkit.registry.commit import Written, commit, converge_copies, pointer_to, sequence_of, sweep, write_entry
from meshkit.registry.published import Entry, read_current, read_entry


@dataclass(frozen=True)
class PublishRequest:
    project_dir: Path
    project: str
    env: str
    full: bool = False
    force: bool = False
    git_commit: str | None = None
    fallback: tuple[str, ...] = ()  # envs its own upstreams are read from after env, for provenance
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
    repaired: bool = False  # an unchanged publish rewrote latest's copies to match its pointer
    superseded_by: str | None = None  # a newer publish landed first: latest names that entry, ours is history
    based_on: int = 0  # the pointer sequence this publish saw when it started
    warnings: tuple[
        str, ...
    ] = ()  # public nodes left out; what failed after the commit point (the next publish repairs)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "public_models": msgspec.to_builtins(self.public_models),
            "warnings": list(self.warnings),
        }


def _since(previous: Blob | None, previous_kind: str | None, current: Manifest, today: date) -> ChangeCounts | None:
    """What changed since the previous publish, counted and worded now so the catalog never reads old manifests."""
    if previous is None or previous_kind != "contract":
        return None
    try:
        base = Surface.of(parse_manifest(previous.data, "the previous contract", contract=True))
    except MeshkitError:
        return None  # a corrupt latest is replaced; there is nothing to count against
    changes = diff_surfaces(base=base, current=Surface.of(current), today=today)
    return ChangeCounts(changes=len(changes), breaking=sum(1 for c in changes if c.breaking), listed=recorded(changes))


def publish(request: PublishRequest, registry: Registry) -> PublishResult:
    project = check_project(request.project)
    env = check_env(request.env)
    manifest_path = request.project_dir / "target" / "manifest.json"
    manifest = load_manifest(manifest_path, build_hint=f"run `dbt build` in {request.project_dir} first")
    require_project(manifest, project)
    require_public(manifest)  # before anything is read from the registry
    ignored = tuple(
        f"{uid} is marked public, but another project cannot ref() a {kind}: it is not published"
        for uid, kind in manifest.ignored_public()
    )
    table_index(manifest.public_models(), manifest.adapter)  # what sync would refuse, refused here
    if request.full:
        payload, kind = manifest_path.read_bytes(), "full"
    else:
        provenance = provenance_of(manifest, registry, env, request.fallback)
        payload, kind = serialise(build_contract(manifest, provenance)), "contract"
    digest = sha256_hex(payload)
    public = public_models_of(manifest)
    latest_key = layout.latest_key(project, env)

    sweep(registry, project, env)
    current = read_current(registry, project, env)
    based_on = sequence_of(current.pointer_blob, layout.latest_key(project, env, layout.POINTER))
    previous = current.entry
    if previous is not None and previous.metadata.sha256 == digest and not request.force:
        if current.pointer_blob is None:  # a registry from before the pointer: commit what latest holds
            _adopt(registry, project, env, previous)
        repaired = converge_copies(registry, project, env)
        return PublishResult(
            "unchanged",
            project,
            env,
            registry.url,
            digest,
            kind,
            previous.metadata.history_id,
            latest_key,
            None,
            public,
            repaired=repaired,
            based_on=based_on,
            warnings=ignored,
        )

    published_at = request.now.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    written_contract = manifest if kind == "full" else parse_manifest(payload, "the contract", contract=True)
    view = encode_view(view_of(written_contract, digest))  # what the explorer shows: from the bytes published
    since = _since(
        previous.manifest if previous else None,
        previous.metadata.kind if previous else None,
        manifest,
        request.now.astimezone(timezone.utc).date(),
    )

    def metadata(stamp: str) -> bytes:
        return serialise(
            PublishMetadata(
                meshkit_version=__version__,
                project=project,
                env=env,
                kind=kind,
                sha256=digest,
                size=len(payload),
                published_at=published_at,
                history_id=stamp,
                git_commit=request.git_commit,
                dbt_version=manifest.dbt_version,
                dbt_schema_version=manifest.doc.metadata.dbt_schema_version,
                public_models=public,
                since_previous=since,
                based_on=based_on,
                view_sha256=sha256_hex(view),
            )
        )

    written = write_entry(registry, project, env, request.now, payload, metadata, view)
    stamp = written.history_id
    latest = commit(registry, project, env, pointer_to(written, digest, kind, published_at, based_on))
    warnings = ignored
    try:
        converge_copies(registry, project, env)
    except MeshkitError as problem:  # after the commit point: the publish landed, the copies lag until the next one
        warnings += (
            f"latest's manifest.json and metadata.json copies were not updated ({problem}); "
            "the next publish repairs them",
        )
    return PublishResult(
        "published",
        project,
        env,
        registry.url,
        digest,
        kind,
        stamp,
        latest_key,
        layout.history_key(project, env, stamp),
        public,
        superseded_by=None if latest == stamp else latest,
        based_on=based_on,
        warnings=warnings,
    )


def _adopt(registry: Registry, project: str, env: str, entry: Entry) -> None:
    """Give a registry published by an older meshkit its pointer, naming the history entry latest copies."""
    try:
        read_entry(registry, project, env, entry.history_id, entry.metadata.sha256)
    except IntegrityError:
        return  # no intact entry to name: the latest pair keeps being read as before
    metadata = entry.metadata
    commit(
        registry,
        project,
        env,
        pointer_to(
            Written(entry.history_id, 0.0, len(entry.manifest.data)),
            metadata.sha256,
            metadata.kind,
            metadata.published_at,
            0,
        ),
    )

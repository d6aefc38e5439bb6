"""Writing (or checking) models/_mesh_<upstream>.yml from the registry's latest contract."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshkit.errors import InputError, IntegrityError
from meshkit.files import write_atomically
from meshkit.mesh.config import UpstreamRef
from meshkit.registry.published import read_latest
from meshkit.registry import Registry
from meshkit.mesh.sources import render_sources


@dataclass(frozen=True)
class SyncOutcome:
    upstream: str
    env: str
    path: str
    status: str  # written | unchanged | stale | missing | up-to-date
    sha256: str
    tables: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @property
    def is_finding(self) -> bool:
        return self.status in {"stale", "missing"}


def sync(
    project_dir: Path, upstreams: list[UpstreamRef], registry: Registry, *, check: bool, models_dir: str = "models"
) -> list[SyncOutcome]:
    if not (project_dir / "dbt_project.yml").is_file():
        raise InputError(f"{project_dir} is not a dbt project (no dbt_project.yml): pass --project-dir")
    if len({u.project for u in upstreams}) != len(upstreams):
        raise InputError("each upstream may be synced from one env only: its sources share one name")
    rendered: list[tuple[UpstreamRef, Path, bytes, str, int]] = []
    for upstream in upstreams:  # fetch everything before writing anything
        published = read_latest(registry, upstream.project, upstream.env)
        if published.manifest.project_name != upstream.project:
            raise IntegrityError(
                f"the registry entry {upstream.project}/{upstream.env} holds a manifest of project "
                f"{published.manifest.project_name!r}: republish it from the right project"
            )
        data, tables = render_sources(published)
        path = project_dir / models_dir / f"_mesh_{upstream.project}.yml"
        rendered.append((upstream, path, data, published.sha256, tables))
    outcomes = []
    for upstream, path, data, sha, tables in rendered:
        current = path.read_bytes() if path.is_file() else None
        if check:
            status = "up-to-date" if current == data else ("missing" if current is None else "stale")
        elif current == data:
            status = "unchanged"
        else:
            write_atomically(path, data)
            status = "written"
        outcomes.append(SyncOutcome(upstream.project, upstream.env, str(path), status, sha, tables))
    return outcomes

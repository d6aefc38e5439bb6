"""meshkit check: a PR's build against the registry's contract, with the consumers each change breaks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import msgspec

from meshkit.contract.dates import utc_today
from meshkit.contract.diff import BREAKING, INFO, PLANNED, WARNING, Change, Surface, diff_surfaces
from meshkit.contract.manifest import load_manifest, require_project
from meshkit.contract.names import check_env, check_project
from meshkit.errors import EXIT_FINDINGS, EXIT_OK, NotPublishedError
from meshkit.mesh.consumers import ConsumerStatus, read_consumers
from meshkit.mesh.fallback import resolve_env
from meshkit.mesh.impact import Impact, impacts_of
from meshkit.registry import Registry
from meshkit.registry.published import read_latest


@dataclass(frozen=True)
class Assessed:
    change: Change
    impacts: tuple[Impact, ...]


@dataclass
class CheckReport:
    project: str
    env: str
    registry: str
    manifest: str
    today: str
    warn_only: bool
    consumer_max_age_days: int
    base: dict[str, Any] | None  # the registry contract's metadata; None when never published
    requested_env: str = ""  # the env asked for; env is the one compared with (a fallback env when they differ)
    fallback_envs: list[str] = field(default_factory=list)
    assessed: list[Assessed] = field(default_factory=list)
    consumers: list[ConsumerStatus] = field(default_factory=list)

    def with_severity(self, severity: str) -> list[Assessed]:
        return [a for a in self.assessed if a.change.severity == severity]

    @property
    def breaking(self) -> list[Assessed]:
        return self.with_severity(BREAKING)

    @property
    def planned(self) -> list[Assessed]:
        return self.with_severity(PLANNED)

    @property
    def warnings(self) -> list[Assessed]:
        return self.with_severity(WARNING)

    @property
    def info(self) -> list[Assessed]:
        return self.with_severity(INFO)

    @property
    def stale_consumers(self) -> list[ConsumerStatus]:
        return [c for c in self.consumers if c.stale]

    @property
    def unreadable_consumers(self) -> list[ConsumerStatus]:
        return [c for c in self.consumers if c.record is None]

    @property
    def unread_breaking(self) -> list[Assessed]:
        """Breaking changes no recorded consumer reads: still contract changes, which the report says nobody reads."""
        return [a for a in self.breaking if not a.impacts]

    @property
    def broken_downstreams(self) -> list[str]:
        return sorted({i.downstream for a in self.breaking for i in a.impacts})

    @property
    def broken_consumers(self) -> list[str]:
        """The broken downstreams with their repositories, for people to read."""
        return sorted({i.label for a in self.breaking for i in a.impacts})

    @property
    def exit_code(self) -> int:
        return EXIT_FINDINGS if self.breaking and not self.warn_only else EXIT_OK


def check(
    *,
    registry: Registry,
    project_dir: Path,
    project: str,
    env: str,
    manifest_path: Path | None = None,
    today: date | None = None,
    warn_only: bool = False,
    consumer_max_age_days: int = 30,
    fallback: Sequence[str] = (),
) -> CheckReport:
    """fallback: envs to compare with, in order, when the project has no contract in env."""
    check_project(project)
    requested = check_env(env)
    today = today or utc_today()
    path = manifest_path or project_dir / "target" / "manifest.json"
    current = load_manifest(path, build_hint=f"run `dbt build` (or `dbt parse`) in {project_dir} first")
    require_project(current, project)
    try:
        env = resolve_env(registry, project, requested, fallback)
    except NotPublishedError:
        env = requested  # published in none of them: everything is new, as for a project never published
    report = CheckReport(
        project, env, registry.url, str(path), today.isoformat(), warn_only, consumer_max_age_days, None,
        requested_env=requested, fallback_envs=list(fallback),
    )  # fmt: skip
    try:
        published = read_latest(registry, project, env)
    except NotPublishedError:
        published = None
    base = Surface.of(published.manifest) if published else Surface(models={})
    if published:
        report.base = msgspec.to_builtins(published.metadata)
        report.base.pop("public_models", None)
    index = read_consumers(registry, project, env, today=today, max_age_days=consumer_max_age_days)
    report.consumers = index.statuses
    changes = diff_surfaces(base=base, current=Surface.of(current), today=today)
    report.assessed = [
        Assessed(change, impacts_of(change, index, registry=registry, project=project, today=today))
        for change in changes
    ]
    return report

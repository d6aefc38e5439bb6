"""Writing (or checking) models/_mesh_<upstream>.yml from the registry's latest contract.

By default the file declares only the tables the downstream reads: the tables its source() calls name
(meshkit.mesh.usage) plus the ones included by name. Where the project's use of an upstream cannot be
read statically, every table of that upstream is written, with a note saying where and why.

An unchanged sync does no needless work: when the file's stamp says it was rendered from the contract
sha256 the registry's small latest/pointer.json names (and the entry it names is there: listed, with its
metadata.json), for the same selection, and the file is intact, the manifest is never fetched and
nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from meshkit.errors import InputError
from meshkit.files import SMALL_FILE_LIMIT, is_regular_file, read_regular, write_atomically
from meshkit.mesh.config import UpstreamRef
from meshkit.mesh.fallback import resolve_env
from meshkit.mesh.sources import Selection, Stamp, read_stamp, render_sources
from meshkit.mesh.usage import Usage, scan_usage
from meshkit.registry import Registry
from meshkit.registry.published import latest_sha256, read_latest

_NOTED_PLACES = 5  # uncertain places named per upstream; the rest are counted


@dataclass(frozen=True)
class SyncOutcome:
    upstream: str
    env: str
    path: str
    status: str  # written | unchanged | stale | missing | up-to-date
    sha256: str
    tables: int  # declared in the file
    published: int = 0  # tables the contract has
    selection: str = "all"  # used: the tables the project reads (and includes) | all: every table
    unknown_tables: tuple[str, ...] = ()  # read or included, but not in the contract
    notes: tuple[str, ...] = ()  # why every table was written although by use; names the contract lacks
    requested_env: str = ""  # the env asked for; env is the one read (a fallback env when they differ)

    def as_dict(self) -> dict[str, Any]:
        document = dict(self.__dict__)
        document["unknown_tables"] = list(self.unknown_tables)
        document["notes"] = list(self.notes)
        document["requested_env"] = self.requested_env or self.env
        return document

    @property
    def is_finding(self) -> bool:
        return self.status in {"stale", "missing"}


@dataclass(frozen=True)
class _Plan:
    upstream: UpstreamRef
    path: Path
    selection: Selection
    notes: tuple[str, ...]
    current: bytes | None


def _plan(
    project_dir: Path, models_dir: str, upstream: UpstreamRef, usage: Usage, include: tuple[str, ...], every: bool
) -> _Plan:
    requested = usage.used(upstream.project) | frozenset(include)
    uncertain = usage.uncertain_for(upstream.project)
    notes: tuple[str, ...] = ()
    if uncertain and not every:
        places = [u.describe() for u in uncertain[:_NOTED_PLACES]]
        if len(uncertain) > _NOTED_PLACES:
            places.append(f"and {len(uncertain) - _NOTED_PLACES} more")
        notes = tuple(f"every {upstream.project} table is written: {place}" for place in places)
    path = project_dir / models_dir / f"_mesh_{upstream.project}.yml"
    try:
        current = read_regular(path, SMALL_FILE_LIMIT)
    except FileNotFoundError:
        current = None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    return _Plan(upstream, path, Selection(every=every or bool(uncertain), requested=requested), notes, current)


def _current_stamp(registry: Registry, plan: _Plan) -> tuple[str, Stamp] | None:
    """(sha256, stamp) when the file on disk is what this sync would write; from the pointer and its entry's listing."""
    stamp = read_stamp(plan.current) if plan.current is not None else None
    if stamp is None:
        return None
    sha = latest_sha256(registry, plan.upstream.project, plan.upstream.env)
    if sha is None:
        return None  # the full read below says what is missing
    if stamp.fingerprint != plan.selection.fingerprint(plan.upstream.project, plan.upstream.env, sha):
        return None
    return sha, stamp


def _unknown_notes(upstream: UpstreamRef, unknown: tuple[str, ...], usage: Usage) -> tuple[str, ...]:
    """A name the contract lacks cannot be written: dbt will say so at parse time, and validate after."""
    notes = []
    for table in unknown:
        where = usage.first_use.get((upstream.project, table))
        if where:
            notes.append(
                f"{where} reads source({upstream.project!r}, {table!r}), which the "
                f"{upstream.project}/{upstream.env} contract does not publish: not written"
            )
        else:
            notes.append(
                f"included table {table!r} is not in the {upstream.project}/{upstream.env} contract: not written"
            )
    return tuple(notes)


def sync(
    project_dir: Path,
    upstreams: list[UpstreamRef],
    registry: Registry,
    *,
    check: bool,
    models_dir: str = "models",
    include: dict[str, tuple[str, ...]] | None = None,
    every: bool = False,
    fallback: Sequence[str] = (),
) -> list[SyncOutcome]:
    """include: table names to write besides the used ones, per upstream project; every: write all tables;
    fallback: envs to read an upstream from, in order, when it has no contract in its own env."""
    if not is_regular_file(project_dir / "dbt_project.yml"):
        raise InputError(f"{project_dir} is not a dbt project (no dbt_project.yml): pass --project-dir")
    if len({u.project for u in upstreams}) != len(upstreams):
        raise InputError("each upstream may be synced from one env only: its sources share one name")
    include = include or {}
    stray = sorted(set(include) - {u.project for u in upstreams})
    if stray:
        raise InputError(
            f"tables are included for {', '.join(stray)}, which this sync does not read: "
            f"include tables of {', '.join(u.project for u in upstreams)} only"
        )
    usage = scan_usage(project_dir)
    results: list[tuple[_Plan, SyncOutcome, bytes | None]] = []
    for asked in upstreams:  # fetch everything before writing anything
        upstream = replace(asked, env=resolve_env(registry, asked.project, asked.env, fallback))
        plan = _plan(project_dir, models_dir, upstream, usage, include.get(upstream.project, ()), every)
        shortcut = _current_stamp(registry, plan)
        if shortcut is not None:
            sha, stamp = shortcut
            status = "up-to-date" if check else "unchanged"
            counts: tuple[int, int, tuple[str, ...]] = (stamp.tables, stamp.published, stamp.unknown)
            data = None
        else:
            published = read_latest(registry, upstream.project, upstream.env)
            rendered = render_sources(published, plan.selection)
            sha, counts = published.sha256, (rendered.tables, rendered.published, rendered.unknown)
            if plan.current == rendered.data:
                status = "up-to-date" if check else "unchanged"
            elif check:
                status = "missing" if plan.current is None else "stale"
            else:
                status = "written"
            data = rendered.data if status == "written" else None
        tables, published_tables, unknown = counts
        outcome = SyncOutcome(
            upstream.project,
            upstream.env,
            str(plan.path),
            status,
            sha,
            tables,
            published=published_tables,
            selection=plan.selection.mode,
            unknown_tables=unknown,
            notes=plan.notes + _unknown_notes(upstream, unknown, usage),
            requested_env=asked.env,
        )
        results.append((plan, outcome, data))
    for plan, _, data in results:
        if data is not None:
            write_atomically(plan.path, data)
    return [outcome for _, outcome, _ in results]

"""What changed between two publishes, for history entries whose publish recorded only counts.

Publishes since meshkit 0.3 record each change in their metadata (`since_previous.listed`); entries written
earlier are compared here, from both manifests, with the same `diff_surfaces` that check and publish use.
"""

from __future__ import annotations

from datetime import date

from meshkit.contract.diff import Surface, diff_surfaces, recorded
from meshkit.contract.manifest import parse_manifest
from meshkit.contract.model import RecordedChange
from meshkit.errors import MeshkitError
from meshkit.registry import Registry
from meshkit.registry.published import read_entry


def _day(stamp: str | None) -> date | None:
    try:
        return date.fromisoformat(stamp[:10]) if stamp else None
    except ValueError:
        return None


def diff_between(
    registry: Registry, project: str, env: str, older: str, newer: str, today: date
) -> list[RecordedChange] | None:
    """The changes from history entry older to newer; None when either is unreadable or not a contract."""
    try:
        before, after = (read_entry(registry, project, env, stamp) for stamp in (older, newer))
        if before.metadata.kind != "contract" or after.metadata.kind != "contract":
            return None
        base = parse_manifest(before.manifest.data, older, contract=True)
        current = parse_manifest(after.manifest.data, newer, contract=True)
    except MeshkitError:
        return None
    day = _day(after.metadata.published_at) or today  # as publish judged it, on its own day
    return recorded(diff_surfaces(base=Surface.of(base), current=Surface.of(current), today=day))

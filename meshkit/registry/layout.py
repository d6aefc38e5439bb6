"""Registry keys. The layout is the proof of concept's, kept so old readers (and dbt-loom) work.

{prefix}/{project}/{env}/history/{UTC timestamp}/manifest.json   immutable, written first
{prefix}/{project}/{env}/latest/pointer.json                     the commit point: names a history entry
{prefix}/{project}/{env}/latest/manifest.json                    a copy of what the pointer names
{prefix}/{project}/{env}/consumers/{downstream}.json
... and metadata.json beside each manifest.
"""

from __future__ import annotations

from datetime import datetime, timezone

from meshkit.contract.names import check_env, check_project

MANIFEST = "manifest.json"
METADATA = "metadata.json"
POINTER = "pointer.json"
_STAMP_FORMAT = "%Y%m%dT%H%M%S.%fZ"


def env_root(project: str, env: str) -> str:
    return f"{check_project(project)}/{check_env(env)}"


def latest_key(project: str, env: str, filename: str = MANIFEST) -> str:
    return f"{env_root(project, env)}/latest/{filename}"


def history_key(project: str, env: str, stamp: str, filename: str = MANIFEST) -> str:
    return f"{env_root(project, env)}/history/{stamp}/{filename}"


def history_stamp(moment: datetime) -> str:
    """Sortable, path-safe and unique to the microsecond."""
    return moment.astimezone(timezone.utc).strftime(_STAMP_FORMAT)


def stamp_time(stamp: str) -> datetime | None:
    """When a history entry was started, from its name; None for a name meshkit did not write."""
    try:
        return datetime.strptime(stamp, _STAMP_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def consumer_key(upstream: str, env: str, downstream: str) -> str:
    """Written by the downstream, one key per (upstream, env), so teams never share a key."""
    return f"{env_root(upstream, env)}/consumers/{check_project(downstream)}.json"

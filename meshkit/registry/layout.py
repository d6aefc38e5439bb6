"""Registry keys. The layout is the proof of concept's, kept so old readers (and dbt-loom) work.

{prefix}/{project}/{env}/history/{UTC timestamp}/manifest.json   immutable, written first
{prefix}/{project}/{env}/history/{UTC timestamp}/view.json       what the explorer shows of it (contract/view.py)
{prefix}/{project}/{env}/latest/pointer.json                     the commit point: names a history entry
{prefix}/{project}/{env}/latest/manifest.json                    a copy of what the pointer names
{prefix}/{project}/{env}/consumers/{downstream}.json
... and metadata.json beside each manifest, written last in a history entry: its mark of completeness.
"""

from __future__ import annotations

from datetime import datetime, timezone

from meshkit.contract.names import check_env, check_project
from meshkit.files import MANIFEST_LIMIT

MANIFEST = "manifest.json"
METADATA = "metadata.json"
POINTER = "pointer.json"
VIEW = "view.json"
_STAMP_FORMAT = "%Y%m%dT%H%M%S.%fZ"
# The most each kind of object may hold: a pointer is ~300 bytes, metadata ~100 bytes per public model,
# a consumer record ~300 bytes per use. Anything larger was not written by meshkit and is not read.
POINTER_LIMIT = 1 << 20
RECORD_LIMIT = 64 << 20


def size_limit(key: str) -> int:
    """How many bytes a reader accepts for the object at key (every backend's get enforces it)."""
    if key.endswith(f"/latest/{POINTER}"):
        return POINTER_LIMIT
    if key.endswith((f"/{MANIFEST}", f"/{VIEW}")):  # a view holds most of what its contract holds
        return MANIFEST_LIMIT
    return RECORD_LIMIT  # metadata.json, consumer records


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

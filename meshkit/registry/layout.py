"""Registry keys. The layout is the proof of concept's, kept exactly so old readers work.

{prefix}/{project}/{env}/latest/manifest.json
{prefix}/{project}/{env}/history/{UTC timestamp}/manifest.json
{prefix}/{project}/{env}/consumers/{downstream}.json
... and metadata.json beside each manifest.
"""

from __future__ import annotations

from datetime import datetime, timezone

from meshkit.contract.names import check_env, check_project

MANIFEST = "manifest.json"
METADATA = "metadata.json"


def env_root(project: str, env: str) -> str:
    return f"{check_project(project)}/{check_env(env)}"


def latest_key(project: str, env: str, filename: str = MANIFEST) -> str:
    return f"{env_root(project, env)}/latest/{filename}"


def history_key(project: str, env: str, stamp: str, filename: str = MANIFEST) -> str:
    return f"{env_root(project, env)}/history/{stamp}/{filename}"


def history_stamp(moment: datetime) -> str:
    """Sortable, path-safe and unique to the microsecond."""
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")


def consumer_key(upstream: str, env: str, downstream: str) -> str:
    """Written by the downstream, one key per (upstream, env), so teams never share a key."""
    return f"{env_root(upstream, env)}/consumers/{check_project(downstream)}.json"

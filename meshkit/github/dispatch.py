"""repository_dispatch: tell consumer repositories that a new contract is in the registry.

The payload names the contract (project, env, sha256, registry keys, commit) and never
carries it: consumers read the contract from the registry, integrity checked.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from meshkit.contract.names import check_repository
from meshkit.errors import GitHubError, InputError
from meshkit.registry import layout
from meshkit.registry.published import Published

if TYPE_CHECKING:  # requests is imported only when a request is sent
    from meshkit.github.api import GitHubClient

DEFAULT_EVENT_TYPE = "meshkit-upstream-published"
PAYLOAD_SCHEMA = "meshkit-dispatch/1"
DISPATCH_PERMISSION = "Contents: write on {repository} (fine-grained token or GitHub App)"
# GitHub rejects a repository_dispatch client_payload with more top-level properties.
MAX_PAYLOAD_KEYS = 10
_EVENT_TYPE = re.compile(r"[A-Za-z0-9._-]{1,100}")
_HISTORY_ID = re.compile(r"[0-9]{8}T[0-9]{6}\.[0-9]{6}Z")


def check_event_type(event_type: str) -> str:
    if not _EVENT_TYPE.fullmatch(event_type):
        shown = event_type if len(event_type) <= 40 else f"{event_type[:40]}… ({len(event_type)} characters)"
        raise InputError(f"event type {shown!r} is not allowed: use 1 to 100 letters, digits, '.', '_' or '-'")
    return event_type


def dispatch_payload(published: Published) -> dict[str, Any]:
    """What a consumer workflow needs to find the contract in the registry; ≤ 10 keys (GitHub's limit)."""
    metadata = published.metadata
    history_id = metadata.history_id
    history_key = None
    if history_id and _HISTORY_ID.fullmatch(history_id):
        history_key = layout.history_key(published.project, published.env, history_id)
    return {
        "schema": PAYLOAD_SCHEMA,
        "project": published.project,
        "env": published.env,
        "sha256": published.sha256,
        "key": layout.latest_key(published.project, published.env),
        "history_key": history_key,
        "commit": metadata.git_commit or None,
        "published_at": metadata.published_at or None,
    }


def send_dispatch(client: GitHubClient, repository: str, event_type: str, client_payload: dict[str, Any]) -> None:
    """POST /repos/{repository}/dispatches. A duplicate after a retried 5xx only reruns an idempotent sync."""
    check_repository(repository)
    check_event_type(event_type)
    if len(client_payload) > MAX_PAYLOAD_KEYS:
        raise GitHubError(f"client_payload has {len(client_payload)} top-level keys; GitHub allows {MAX_PAYLOAD_KEYS}")
    client.request(
        "POST",
        f"/repos/{repository}/dispatches",
        json={"event_type": event_type, "client_payload": client_payload},
        permission=DISPATCH_PERMISSION.format(repository=repository),
        subject=f"repository {repository}",
    )

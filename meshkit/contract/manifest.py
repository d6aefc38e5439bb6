"""Reading dbt manifests, which may be large, corrupt or from the wrong project."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from meshkit.errors import ManifestError

MANIFEST_SCHEMA_MARK = "/manifest/"


@dataclass(frozen=True)
class Manifest:
    """A parsed dbt manifest plus where it came from, for error messages."""

    data: dict[str, Any]
    origin: str

    @property
    def project_name(self) -> str:
        return self.data.get("metadata", {}).get("project_name") or ""

    @property
    def dbt_version(self) -> str:
        return self.data.get("metadata", {}).get("dbt_version") or ""

    @property
    def nodes(self) -> dict[str, dict[str, Any]]:
        return self.data.get("nodes") or {}

    @property
    def sources(self) -> dict[str, dict[str, Any]]:
        return self.data.get("sources") or {}

    @property
    def parent_map(self) -> dict[str, list[str]]:
        return self.data.get("parent_map") or {}

    def public_models(self) -> dict[str, dict[str, Any]]:
        return {uid: node for uid, node in sorted(self.nodes.items()) if is_public_model(node)}


def is_public_model(node: dict[str, Any]) -> bool:
    access = node.get("access") or (node.get("config") or {}).get("access")
    return node.get("resource_type") == "model" and access == "public"


def parse_manifest(raw: bytes, origin: str) -> Manifest:
    """Parse bytes that should be a dbt manifest; every failure is one clear line."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ManifestError(
            f"{origin} is not valid JSON ({exc}); it may be truncated or corrupt: rebuild it with dbt"
        ) from None
    if not isinstance(data, dict):
        raise ManifestError(f"{origin} is not a dbt manifest (top level is not an object)")
    metadata = data.get("metadata")
    schema = str(metadata.get("dbt_schema_version", "")) if isinstance(metadata, dict) else ""
    if MANIFEST_SCHEMA_MARK not in schema or not isinstance(data.get("nodes"), dict):
        raise ManifestError(
            f"{origin} is not a dbt manifest (no dbt manifest schema version in its metadata)"
        )
    return Manifest(data=data, origin=origin)


def load_manifest(path: Path, *, build_hint: str | None = None) -> Manifest:
    if not path.is_file():
        hint = build_hint or f"run `dbt build` (or `dbt parse`) in {path.parent.parent} first"
        raise ManifestError(f"no dbt manifest at {path}: {hint}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ManifestError(f"cannot read {path}: {exc.strerror}") from None
    return parse_manifest(raw, str(path))


def require_project(manifest: Manifest, expected: str) -> None:
    actual = manifest.project_name
    if actual != expected:
        raise ManifestError(
            f"{manifest.origin} belongs to dbt project {actual or '(unknown)'!r}, not {expected!r}: "
            f"point at the {expected} project or pass --project {actual}"
        )

"""The contract manifest: the public surface of a project and nothing else.

Consumers must never receive upstream SQL, and dbt-loom 0.9.6 injects every node it
is given, so only public models are kept, with code stripped and `depends_on`
dropped. Volatile fields (timestamps, invocation ids) are left out so that an
unchanged contract serialises to the same bytes and the same sha256.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from meshkit.errors import ManifestError
from meshkit.contract.manifest import Manifest

CONTRACT_FORMAT = "meshkit-contract/1"

_METADATA_KEYS = ("dbt_schema_version", "project_name", "project_id", "adapter_type")
_NODE_KEYS = (
    "name", "resource_type", "package_name", "unique_id", "fqn", "database", "schema",
    "alias", "relation_name", "version", "latest_version", "deprecation_date", "access",
    "group", "contract", "constraints", "primary_key", "description", "meta", "tags",
)
_CONFIG_KEYS = (
    "enabled", "materialized", "access", "group", "contract", "tags", "meta",
    "database", "schema", "alias",
)
_COLUMN_KEYS = ("name", "description", "data_type", "constraints", "meta", "tags", "quote")
_EMPTY_SECTIONS = (
    "sources", "macros", "docs", "exposures", "metrics", "selectors", "disabled",
    "parent_map", "child_map", "group_map", "semantic_models", "saved_queries", "unit_tests",
)


@dataclass(frozen=True)
class PublicModel:
    """What a consumer needs to know about one published model version."""

    unique_id: str
    name: str
    version: str | None
    latest_version: str | None
    deprecation_date: str | None
    relation_name: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "unique_id": self.unique_id,
            "name": self.name,
            "version": self.version,
            "latest_version": self.latest_version,
            "deprecation_date": self.deprecation_date,
            "relation_name": self.relation_name,
        }


def _pick(source: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: source[key] for key in keys if key in source}


def version_str(value: object) -> str | None:
    """dbt writes versions as int, float or str; consumers compare them as strings."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _contract_node(node: dict[str, Any]) -> dict[str, Any]:
    kept = _pick(node, _NODE_KEYS)
    kept["access"] = "public"
    kept["config"] = _pick(node.get("config") or {}, _CONFIG_KEYS)
    kept["columns"] = {
        name: _pick(column, _COLUMN_KEYS) for name, column in (node.get("columns") or {}).items()
    }
    return kept


def build_contract(manifest: Manifest) -> dict[str, Any]:
    public = manifest.public_models()
    if not public:
        raise ManifestError(
            f"dbt project {manifest.project_name!r} has no public models "
            "(set `access: public` on the models consumers may use); nothing to publish"
        )
    nodes = {uid: _contract_node(node) for uid, node in public.items()}
    used_groups = {node.get("group") for node in nodes.values()} - {None}
    groups = {
        uid: _pick(group, ("name", "unique_id", "owner", "description", "package_name", "resource_type"))
        for uid, group in sorted((manifest.data.get("groups") or {}).items())
        if group.get("name") in used_groups
    }
    contract: dict[str, Any] = {
        "metadata": _pick(manifest.data.get("metadata") or {}, _METADATA_KEYS),
        "meshkit": {"format": CONTRACT_FORMAT},
        "nodes": nodes,
        "groups": groups,
    }
    for section in _EMPTY_SECTIONS:
        contract[section] = {}
    return contract


def serialise(document: dict[str, Any]) -> bytes:
    """Deterministic bytes: identical input gives identical output and sha256."""
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def public_models_of(manifest: Manifest) -> list[PublicModel]:
    return [
        PublicModel(
            unique_id=uid,
            name=node.get("name", ""),
            version=version_str(node.get("version")),
            latest_version=version_str(node.get("latest_version")),
            deprecation_date=node.get("deprecation_date"),
            relation_name=node.get("relation_name"),
        )
        for uid, node in manifest.public_models().items()
    ]

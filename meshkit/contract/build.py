"""The contract manifest: the public surface of a project and nothing else.

Consumers must never receive upstream SQL, and dbt-loom 0.9.6 injects every node it
is given, so only public models are kept, with code stripped and `depends_on`
dropped. Volatile fields (timestamps, invocation ids) are left out so that an
unchanged contract serialises to the same bytes and the same sha256.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import msgspec

from meshkit.contract.manifest import Manifest
from meshkit.contract.model import ContractMetadata, ContractNode, Node, Provenance, PublicModel, version_str
from meshkit.errors import ManifestError

CONTRACT_FORMAT = "meshkit-contract/1"

# Sections a dbt manifest has and a contract leaves empty (dbt-loom and dbt expect them present).
_EMPTY_SECTIONS = (
    "sources",
    "macros",
    "docs",
    "exposures",
    "metrics",
    "selectors",
    "disabled",
    "parent_map",
    "child_map",
    "group_map",
    "semantic_models",
    "saved_queries",
    "unit_tests",
)
_CONTRACT_FIELDS = ContractNode.__struct_fields__
_ENCODER = msgspec.json.Encoder()


def _contract_node(node: Node) -> ContractNode:
    kept = ContractNode(**{name: getattr(node, name) for name in _CONTRACT_FIELDS})
    config = msgspec.structs.replace(node.config, column_types=msgspec.UNSET) if node.config else None
    return msgspec.structs.replace(kept, access="public", config=config)


def _check_latest_versions(manifest: Manifest, public: dict[str, Node]) -> None:
    """A versioned model's latest_version must be one of its versions, as dbt requires at parse time.

    Versions are read from the unique ids (`model.PACKAGE.NAME.vVERSION`), private versions included, so
    no node beyond the public ones is decoded."""
    versioned = [(uid, node) for uid, node in public.items() if node.version_key and node.latest_key]
    if not versioned:
        return
    versions: dict[str, set[str | None]] = {}
    for uid in manifest.nodes:
        parts = uid.split(".")
        if len(parts) >= 4 and parts[0] == "model" and parts[3].startswith("v"):
            suffix = ".".join(parts[3:])[1:]
            number = float(suffix) if suffix.replace(".", "", 1).isdigit() else suffix
            versions.setdefault(".".join(parts[1:3]), set()).add(version_str(number))
    for uid, node in versioned:
        if node.latest_key not in versions.get(f"{node.package_name}.{node.name}", set()):
            raise ManifestError(
                f"{uid} latest_version {node.latest_key!r} names no version of model {node.name!r}: "
                "fix latest_version in its yml and rebuild"
            )


def require_public(manifest: Manifest) -> dict[str, Node]:
    """The project's public nodes: with none (or a latest version that does not exist) there is nothing to publish."""
    public = manifest.public_models()
    if not public:
        raise ManifestError(
            f"dbt project {manifest.project_name!r} has no public models "
            "(set `access: public` on the models consumers may use); nothing to publish"
        )
    _check_latest_versions(manifest, public)
    return public


def build_contract(manifest: Manifest, provenance: Mapping[str, Provenance] | None = None) -> dict[str, Any]:
    """The contract: the public nodes as dbt-loom reads them; provenance (mesh.provenance), when there is
    any, beside them under `meshkit`, so a pure upstream's contract bytes do not change."""
    public = require_public(manifest)
    nodes = {uid: _contract_node(node) for uid, node in public.items()}
    used_groups = {node.group for node in nodes.values()} - {None}
    groups = {uid: group for uid, group in sorted(manifest.doc.groups.items()) if group.name in used_groups}
    metadata = manifest.doc.metadata
    contract: dict[str, Any] = {
        "metadata": ContractMetadata(**{name: getattr(metadata, name) for name in ContractMetadata.__struct_fields__}),
        "meshkit": {"format": CONTRACT_FORMAT, **({"provenance": dict(provenance)} if provenance else {})},
        "nodes": nodes,
        "groups": groups,
    }
    for section in _EMPTY_SECTIONS:
        contract[section] = {}
    return contract


def serialise(document: Any) -> bytes:
    """Deterministic bytes: identical input gives identical output and sha256 (Structs in field order).

    Two-space indented JSON, byte for byte what meshkit wrote before it decoded into Structs (floats aside,
    which msgspec writes without an exponent sign), so existing registries see no spurious change.
    """
    return msgspec.json.format(_ENCODER.encode(document), indent=2) + b"\n"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def public_models_of(manifest: Manifest) -> list[PublicModel]:
    return [
        PublicModel(
            unique_id=uid,
            name=node.name,
            version=node.version_key,
            latest_version=node.latest_key,
            deprecation_date=node.deprecation_date,
            relation_name=node.relation_name,
        )
        for uid, node in manifest.public_models().items()
    ]

"""Unit tests for meshkit.contract.build: only public models, no SQL, deterministic bytes."""

from __future__ import annotations

import copy
from pathlib import Path

import msgspec
import orjson
import pytest

from meshkit.contract.build import (
    CONTRACT_FORMAT,
    build_contract,
    public_models_of,
    serialise,
    sha256_hex,
)
from meshkit.contract.manifest import Manifest, parse_manifest
from meshkit.contract.model import version_str
from meshkit.errors import ManifestError
from support.nodes import manifest_of

DATA = Path(__file__).parents[1] / "data"
PUBLIC_IDS = ["model.shop.customers.v1", "model.shop.customers.v2", "model.shop.orders"]
FORBIDDEN_KEYS = {
    "raw_code",
    "compiled_code",
    "depends_on",
    "created_at",
    "build_path",
    "post-hook",
    "unrendered_config",
    "refs",
    "compiled_path",
    "patch_path",
    "generated_at",
    "invocation_id",
}


def _written(manifest: Manifest) -> dict:
    """The contract as it is written to the registry (and read by dbt-loom)."""
    return orjson.loads(serialise(build_contract(manifest)))


def _data() -> dict:
    return orjson.loads((DATA / "manifest_shop.json").read_bytes())


def _manifest(data: dict | None = None) -> Manifest:
    return manifest_of(data if data is not None else _data(), "fixture")


def _all_keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _all_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _all_keys(v)}
    return set()


def test_build_contract_keeps_only_public_models():
    contract = _written(_manifest())
    assert list(contract["nodes"]) == PUBLIC_IDS
    assert all(node["access"] == "public" for node in contract["nodes"].values())
    assert contract["meshkit"] == {"format": CONTRACT_FORMAT}
    for section in (
        "sources",
        "macros",
        "docs",
        "exposures",
        "metrics",
        "parent_map",
        "child_map",
        "group_map",
        "disabled",
        "selectors",
        "semantic_models",
        "saved_queries",
        "unit_tests",
    ):
        assert contract[section] == {}, section


def test_serialised_contract_has_no_code_or_volatile_fields():
    raw = serialise(build_contract(_manifest()))
    document = orjson.loads(raw)
    assert not (_all_keys(document) & FORBIDDEN_KEYS)
    for node in document["nodes"].values():
        assert "checksum" not in node  # the file checksum; contract.checksum is dbt's contract hash and is kept
    for needle in (
        b"SECRET_SQL",
        b"raw_code",
        b"compiled_code",
        b"depends_on",
        b"created_at",
        b"generated_at",
        b"invocation_id",
        b"do-not-publish",
        b"{{",
        b"stg_orders",
        b"int_secret",
        b"not_null_orders_order_id",
        b"raw_orders",
        b"marketing",
    ):
        assert needle not in raw, needle


def test_contract_metadata_keeps_only_stable_keys():
    contract = _written(_manifest())
    assert contract["metadata"] == {
        "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
        "project_name": "shop",
        "project_id": "5f1d2c3b4a5968778695a4b3c2d1e0f0",
        "adapter_type": "duckdb",
    }


def test_contract_node_exact_shape():
    node = _written(_manifest())["nodes"]["model.shop.orders"]
    assert set(node) == {
        "name",
        "resource_type",
        "package_name",
        "unique_id",
        "fqn",
        "database",
        "schema",
        "alias",
        "relation_name",
        "version",
        "latest_version",
        "deprecation_date",
        "access",
        "group",
        "contract",
        "constraints",
        "primary_key",
        "description",
        "meta",
        "tags",
        "config",
        "columns",
    }
    assert node["config"] == {
        "enabled": True,
        "materialized": "table",
        "access": "public",
        "group": "finance",
        "contract": {"enforced": True, "alias_types": True},
        "tags": [],
        "meta": {"owner": "finance"},
        "database": None,
        "schema": None,
        "alias": None,
    }
    assert node["relation_name"] == '"shop"."main"."orders"'
    assert list(node["columns"]) == ["order_id", "status", "amount"]  # upstream order, not sorted
    assert node["columns"]["order_id"] == {
        "name": "order_id",
        "description": "Order id (primary key).",
        "data_type": "integer",
        "constraints": [
            {
                "type": "not_null",
                "name": None,
                "expression": None,
                "warn_unenforced": True,
                "warn_unsupported": True,
                "to": None,
                "to_columns": [],
            }
        ],
        "meta": {},
        "tags": [],
        "quote": None,
    }
    assert node["columns"]["amount"]["data_type"] == "decimal(18,2)"


def test_contract_versioned_nodes():
    nodes = _written(_manifest())["nodes"]
    v1, v2 = nodes["model.shop.customers.v1"], nodes["model.shop.customers.v2"]
    assert (v1["version"], v1["latest_version"], v1["deprecation_date"]) == (1, 2, "2027-06-30T00:00:00+00:00")
    assert (v2["version"], v2["latest_version"], v2["deprecation_date"]) == (2, 2, None)
    assert list(v2["columns"]) == ["full_name", "customer_id"]


def test_contract_keeps_only_groups_of_public_models():
    groups = _written(_manifest())["groups"]
    assert groups == {
        "group.shop.finance": {
            "name": "finance",
            "resource_type": "group",
            "package_name": "shop",
            "unique_id": "group.shop.finance",
            "owner": {"email": "finance@example.com", "name": "Finance"},
            "description": None,
        }
    }


def test_access_from_config_only_is_published_as_public():
    data = _data()
    node = data["nodes"]["model.shop.stg_orders"]
    del node["access"]
    node["config"]["access"] = "public"
    contract = _written(_manifest(data))
    assert "model.shop.stg_orders" in contract["nodes"]
    assert contract["nodes"]["model.shop.stg_orders"]["access"] == "public"


def test_serialise_is_deterministic():
    first = serialise(build_contract(_manifest()))
    second = serialise(build_contract(_manifest()))
    assert first == second
    assert first.endswith(b"}\n")
    assert sha256_hex(first) == sha256_hex(second)


def test_serialise_ignores_node_insertion_order_and_volatile_metadata():
    baseline = serialise(build_contract(_manifest()))
    data = _data()
    data["nodes"] = dict(reversed(list(data["nodes"].items())))
    data["groups"] = dict(reversed(list(data["groups"].items())))
    data["metadata"]["generated_at"] = "2030-01-01T00:00:00Z"
    data["metadata"]["invocation_id"] = "another-run"
    for node in data["nodes"].values():
        node["created_at"] = 99.0
        node["raw_code"] = "select 2"
    shuffled = serialise(build_contract(_manifest(data)))
    assert shuffled == baseline


def test_contract_changes_when_public_surface_changes():
    baseline = serialise(build_contract(_manifest()))
    data = _data()
    data["nodes"]["model.shop.orders"]["columns"]["status"]["data_type"] = "text"
    assert serialise(build_contract(_manifest(data))) != baseline


def test_serialised_contract_parses_as_a_manifest():
    manifest = parse_manifest(serialise(build_contract(_manifest())), "contract.json")
    assert manifest.project_name == "shop"
    assert list(manifest.public_models()) == PUBLIC_IDS


def test_no_public_models_raises():
    data = _data()
    for node in data["nodes"].values():
        node["access"] = "protected"
        node.get("config", {}).pop("access", None)
    with pytest.raises(ManifestError) as caught:
        build_contract(_manifest(data))
    message = str(caught.value)
    assert "no public models" in message
    assert message.startswith("dbt project 'shop' has no public models")
    assert "\n" not in message


def test_build_contract_does_not_mutate_input():
    data = _data()
    before = copy.deepcopy(data)
    build_contract(_manifest(data))
    assert data == before


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, "1"), (1.0, "1"), (2.5, "2.5"), ("2", "2"), ("v3", "v3"), (0, "0"), (None, None), ("", None)],
)
def test_version_str(value, expected):
    assert version_str(value) == expected


def test_public_models_of():
    models = [msgspec.to_builtins(m) for m in public_models_of(_manifest())]
    assert models == [
        {
            "unique_id": "model.shop.customers.v1",
            "name": "customers",
            "version": "1",
            "latest_version": "2",
            "deprecation_date": "2027-06-30T00:00:00+00:00",
            "relation_name": '"shop"."main"."customers_v1"',
        },
        {
            "unique_id": "model.shop.customers.v2",
            "name": "customers",
            "version": "2",
            "latest_version": "2",
            "deprecation_date": None,
            "relation_name": '"shop"."main"."customers_v2"',
        },
        {
            "unique_id": "model.shop.orders",
            "name": "orders",
            "version": None,
            "latest_version": None,
            "deprecation_date": None,
            "relation_name": '"shop"."main"."orders"',
        },
    ]

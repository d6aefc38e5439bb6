"""Contract nodes for diff tests: a dbt manifest's model node, built by keyword."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import msgspec
import orjson

from meshkit.contract.diff import Change, Surface, diff_surfaces
from meshkit.contract.manifest import Manifest, parse_manifest
from meshkit.contract.model import Node

TODAY = date(2025, 1, 15)
PAST = "2025-01-01T00:00:00"  # before TODAY: a removal is planned
FUTURE = "2025-06-30T00:00:00"  # after TODAY: a removal is still breaking


def col(name: str, data_type: str | None = "integer", *constraints: str, description: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "data_type": data_type,
        "description": description,
        "constraints": [{"type": c} for c in constraints],
    }


def model(
    name: str,
    *,
    version: int | None = None,
    latest: int | None = None,
    columns: list[dict] | None = None,
    materialized: str = "table",
    enforced: bool = True,
    schema: str = "analytics",
    alias: str | None = None,
    access: str = "public",
    deprecation_date: str | None = None,
    constraints: list[dict] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    uid = f"model.shop.{name}" + (f".v{version}" if version is not None else "")
    node = {
        "unique_id": uid,
        "name": name,
        "resource_type": "model",
        "package_name": "shop",
        "access": access,
        "database": "warehouse",
        "schema": schema,
        "alias": alias or (f"{name}_v{version}" if version else name),
        "version": version,
        "latest_version": latest if latest is not None else version,
        "deprecation_date": deprecation_date,
        "contract": {"enforced": enforced},
        "config": {"materialized": materialized, "access": access, "contract": {"enforced": enforced}},
        "constraints": constraints or [],
        "columns": {c["name"]: c for c in (columns if columns is not None else [col("id"), col("email", "varchar")])},
        "patch_path": "shop://models/schema.yml",
        "original_file_path": f"models/{name}.sql",
        "description": "",
        "tags": [],
        "meta": {},
    }
    node.update(extra)
    return node


def typed(node: dict[str, Any]) -> Node:
    """The node as meshkit decodes it from a manifest (a wrong-typed field fails here, as it would there)."""
    return msgspec.convert(node, Node)


def surface(*nodes: dict[str, Any], adapter: str = "duckdb", others: tuple[dict[str, Any], ...] = ()) -> Surface:
    models = {n["unique_id"]: typed(n) for n in nodes}
    everything = {**models, **{n["unique_id"]: typed(n) for n in others}}
    return Surface(models=models, adapter=adapter, all_nodes=everything)


def diff(
    base: list[dict],
    current: list[dict],
    *,
    adapter: str = "duckdb",
    others: tuple[dict, ...] = (),
    today: date = TODAY,
) -> list[Change]:
    return diff_surfaces(base=surface(*base), current=surface(*current, adapter=adapter, others=others), today=today)


def codes(changes: list[Change]) -> list[tuple[str, str]]:
    return [(c.code, c.severity) for c in changes]


def changed(node: dict[str, Any], **updates: Any) -> dict[str, Any]:
    new = copy.deepcopy(node)
    new.update(updates)
    return new


def manifest_of(data: dict[str, Any], origin: str = "fixture") -> Manifest:
    """A manifest dict through the real decoder, as meshkit reads one from disk."""
    return parse_manifest(orjson.dumps(data), origin)

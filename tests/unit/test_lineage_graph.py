"""Column lineage across a project's own models (meshkit.lineage.graph), on hand-made manifests.

Each test names the upstream columns a model is a reader of, directly or through its own models, and
what happens where lineage is not known: a Python model, no compiled code, SQL that does not parse, and
the models reading those, which fall back to model level with the reason. A rerun reuses the analyses.
"""

from __future__ import annotations

from typing import Any

import orjson

from meshkit.contract.manifest import parse_manifest
from meshkit.lineage.graph import NO_CODE, PYTHON, ProjectLineage, Upstream, project_lineage

UP = "model.up.orders"
UP_COLUMNS = ("order_id", "customer_id", "status", "amount")


def _model(name: str, sql: str | None, parents: list[str], **extra: Any) -> tuple[str, dict[str, Any]]:
    uid = f"model.down.{name}"
    node = {
        "unique_id": uid, "name": name, "resource_type": "model", "package_name": "down",
        "database": "wh", "schema": "main", "alias": name, "compiled_code": sql,
        "depends_on": {"nodes": parents}, "config": {"materialized": extra.pop("materialized", "table")},
        "language": extra.pop("language", "sql"), "columns": {},
    }  # fmt: skip
    return uid, node


def _lineage(*models: tuple[str, dict[str, Any]], cache: Any = None) -> ProjectLineage:
    orders = {
        "unique_id": UP, "name": "orders", "resource_type": "model", "package_name": "up",
        "database": "wh", "schema": "up", "alias": "orders", "access": "public",
        "columns": {c: {"name": c} for c in UP_COLUMNS},
    }  # fmt: skip
    doc = {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
            "project_name": "down",
            "adapter_type": "duckdb",
        },
        "nodes": {UP: orders, **dict(models)},
        "parent_map": {uid: node["depends_on"]["nodes"] for uid, node in models},
    }
    manifest = parse_manifest(orjson.dumps(doc), "manifest.json")
    return project_lineage(manifest, {UP: Upstream(UP, UP_COLUMNS)}, cache)


def _columns(lineage: ProjectLineage, model: str) -> set[str] | None:
    reading = lineage.readers[UP][f"model.down.{model}"]
    return reading.columns


def test_a_staging_model_passing_a_column_on_makes_the_mart_a_transitive_reader() -> None:
    lineage = _lineage(
        _model("stg", 'select order_id, amount as paid, status from "wh"."up"."orders"', [UP]),
        _model("mart", 'select sum(paid) as revenue from "wh"."main"."stg"', ["model.down.stg"]),
    )
    assert _columns(lineage, "stg") == {"order_id", "amount", "status"}
    mart = lineage.readers[UP]["model.down.mart"]
    assert (mart.columns, mart.direct, mart.through) == ({"amount"}, False, {"model.down.stg"})
    assert lineage.outputs["model.down.mart"] == {"revenue": {UP: {"amount"}}}


def test_an_ephemeral_model_is_read_through_the_sql_it_inlines() -> None:
    inlined = 'with __dbt__cte__eph as (select customer_id, amount from "wh"."up"."orders")'
    lineage = _lineage(
        _model("eph", 'select customer_id, amount from "wh"."up"."orders"', [UP], materialized="ephemeral"),
        _model("mart", inlined + " select customer_id from __dbt__cte__eph", ["model.down.eph"]),
    )
    assert _columns(lineage, "mart") == {"customer_id"}


def test_where_lineage_is_unknown_the_model_and_its_readers_fall_back_with_the_reason() -> None:
    lineage = _lineage(
        _model("py", None, [UP], language="python"),
        _model("uncompiled", None, [UP]),
        _model("broken", 'select order_id from "wh"."up"."orders" where (((', [UP]),
        _model("after_py", 'select order_id from "wh"."main"."py"', ["model.down.py"]),
    )
    readers = lineage.readers[UP]
    assert (readers["model.down.py"].columns, readers["model.down.py"].reason) == (None, PYTHON)
    assert (readers["model.down.uncompiled"].columns, readers["model.down.uncompiled"].reason) == (None, NO_CODE)
    assert readers["model.down.broken"].columns is None
    assert "does not parse" in (readers["model.down.broken"].reason or "")
    after = readers["model.down.after_py"]
    assert after.columns is None and after.reason == "it reads model.down.py, whose column lineage is unknown"


def test_a_rerun_over_unchanged_sql_parses_nothing_and_a_changed_model_is_parsed_again() -> None:
    stg = _model("stg", 'select order_id, amount from "wh"."up"."orders"', [UP])
    mart = _model("mart", 'select amount from "wh"."main"."stg"', ["model.down.stg"])
    first = _lineage(stg, mart)
    assert first.parsed == 2
    again = _lineage(stg, mart, cache=first.analyses)
    assert again.parsed == 0 and again.readers == first.readers
    edited = _model("stg", 'select order_id, status as amount from "wh"."up"."orders"', [UP])
    third = _lineage(edited, mart, cache=first.analyses)
    assert third.parsed == 1  # the mart's SQL reads the same columns of stg: only composition changes
    assert _columns(third, "mart") == {"status"}

"""The breaking-change gate by column, on the demo mesh: each change names exactly the models that read it.

The table is issue 16's, plus three more changes: each row is a change to dbt_up's contract made as a
developer would (the YAML and the SQL), dbt parses the project, and `meshkit check --format json` must name
the models that read the changed column, as labelled by hand from the downstreams' SQL, and no other.
Consumers are recorded first by the real CLI, from the seed build's compiled SQL.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from support.dbt_edits import PublicModels, drop_select_column, retype_select_column
from support.helpers import dbt, meshkit

pytestmark = pytest.mark.dbt

Named = dict[str, list[str]]


def _drop(model: str, column: str) -> Any:
    def change(up: Path) -> None:
        models = PublicModels(up)
        models.drop_column(model, column)
        models.save()
        for sql in sorted((up / "models/marts").glob(f"{model}*.sql")):
            if re.search(rf"\) as {re.escape(column)},?$", sql.read_text(), re.MULTILINE):
                drop_select_column(up, sql.stem, column)

    return change


def _drop_from_version(model: str, version: int, column: str) -> Any:
    def change(up: Path) -> None:
        models = PublicModels(up)
        entry = next(v for v in models.model(model)["versions"] if v["v"] == version)
        entry["columns"][0]["exclude"].append(column)
        models.save()
        drop_select_column(up, f"{model}_v{version}", column)

    return change


def _retype(model: str, column: str, data_type: str) -> Any:
    def change(up: Path) -> None:
        models = PublicModels(up)
        models.column(model, column)["data_type"] = data_type
        models.save()
        retype_select_column(up, model, column, data_type)

    return change


# change -> the models reading the changed column, labelled by hand from the SQL of dbt_down and dbt_down_loom.
DEMO_TABLE: list[tuple[str, Any, Named]] = [
    ("drop public_orders.payment_count", _drop("public_orders", "payment_count"), {}),
    (
        "drop public_orders.order_date",
        _drop("public_orders", "order_date"),
        {"dbt_down_loom": ["loom_customer_orders"]},  # max(orders.order_date)
    ),
    (
        "drop public_orders.status",
        _drop("public_orders", "status"),
        {  # a group by, a filter clause on an aggregate
            "dbt_down": ["customer_lifetime_value", "orders_by_status"],
            "dbt_down_loom": ["loom_orders_by_status"],
        },
    ),
    (
        "drop first_order_date from public_customers v2",
        _drop_from_version("public_customers", 2, "first_order_date"),
        {"dbt_down": ["customer_lifetime_value"]},  # loom_customer_orders reads v2 but not this column
    ),
    (
        "drop public_customers.email (both versions)",
        _drop("public_customers", "email"),
        {"dbt_down_loom": ["loom_customer_orders", "loom_legacy_customers"]},
    ),
    (
        "retype public_orders.amount",
        _retype("public_orders", "amount", "double"),
        {
            "dbt_down": ["customer_lifetime_value", "orders_by_status"],
            "dbt_down_loom": ["loom_customer_orders", "loom_orders_by_status"],
        },
    ),
    (
        "drop public_customers.last_name (v1)",
        _drop("public_customers", "last_name"),
        {"dbt_down": ["legacy_customer_names"], "dbt_down_loom": ["loom_legacy_customers"]},
    ),
    (
        "drop public_orders.customer_id",
        _drop("public_orders", "customer_id"),
        {  # the join keys
            "dbt_down": ["customer_lifetime_value"],
            "dbt_down_loom": ["loom_customer_orders"],
        },
    ),
]


def _named(report: dict[str, Any]) -> Named:
    found: dict[str, set[str]] = {}
    for change in report["changes"]:
        for impact in change["impacts"]:
            short = {m.rsplit(".", 1)[-1] for m in impact["models"] + impact["may_break"]}
            found.setdefault(impact["downstream"], set()).update(short)
    return {downstream: sorted(models) for downstream, models in sorted(found.items()) if models}


def test_each_change_names_exactly_the_models_that_read_it(mesh: Path) -> None:
    recorded = meshkit("validate", "--all", "--registry", "registry", "--record-consumer", cwd=mesh)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    pristine = mesh / "dbt_up.pristine"
    shutil.copytree(mesh / "dbt_up", pristine, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*"))
    rows: list[tuple[str, Named, Named, int]] = []
    for label, change, expected in DEMO_TABLE:
        for name in ("models", "dbt_project.yml"):  # back to the published state, then one change
            target = mesh / "dbt_up" / name
            shutil.rmtree(target) if target.is_dir() else target.unlink()
            (shutil.copytree if (pristine / name).is_dir() else shutil.copy)(pristine / name, target)
        change(mesh / "dbt_up")
        parsed = dbt(mesh / "dbt_up", "parse")
        assert parsed.returncode == 0, parsed.stdout[-3000:]
        result = meshkit("check", "--project-dir", "dbt_up", "--registry", "registry", "--format", "json", cwd=mesh)
        assert "Traceback" not in result.stderr, result.stderr
        report = json.loads(result.stdout)
        assert report["summary"]["breaking"] >= 1, label  # the verdict is unchanged: every row is breaking
        rows.append((label, expected, _named(report), result.returncode))

    named = sum(len(models) for _, _, got, _ in rows for models in got.values())
    right = sum(len(set(got.get(d, [])) & set(models)) for _, want, got, _ in rows for d, models in want.items())
    wanted = sum(len(models) for _, want, _, _ in rows for models in want.values())
    print(f"\ndemo table: {len(rows)} changes, {named} models named, {right} of {wanted} readers named")
    for label, _, got, code in rows:
        print(f"  {label}: exit {code}, named {got or 'nobody'}")
    assert [(label, got) for label, _, got, _ in rows] == [(label, want) for label, _, want, _ in rows]
    assert all(code == 1 for *_, code in rows)

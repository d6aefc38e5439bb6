"""The proof of concept's commands, run verbatim, against real dbt builds on DuckDB."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from support.helpers import REPO, meshkit, run

pytestmark = pytest.mark.dbt


def rows(database: Path, table: str) -> int:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(f"select count(*) from main.{table}").fetchone()[0]


def parents(project_dir: Path) -> dict[str, list[str]]:
    return json.loads((project_dir / "target" / "manifest.json").read_text())["parent_map"]


def test_seed_steps_succeed_and_print_the_verified_lineage(seed_run: dict) -> None:
    assert seed_run["returncode"] == 0, seed_run["stderr"][-3000:]
    out = seed_run["stdout"]
    assert "published contract of dbt_up/prod" in out
    # The committed models/_mesh_dbt_up.yml already matches the demo contract, so sync leaves it alone.
    assert "dbt_up/prod (sha256 " in out and "already current (3 of 5 tables, used by the project): " in out
    assert "OK: 6 cross-project dependencies in 3 projects, 0 errors, 0 warnings" in out
    assert "[ok ] dbt-loom    model.dbt_up.public_orders" in out
    assert "[ok ] mesh-source source.dbt_down.dbt_up.public_orders = model.dbt_up.public_orders" in out


def test_registry_has_the_seed_layout(built_mesh: Path) -> None:
    env_root = built_mesh / "registry" / "dbt_up" / "prod"
    assert (env_root / "latest" / "manifest.json").is_file()
    assert (env_root / "latest" / "metadata.json").is_file()
    history = sorted((env_root / "history").iterdir())
    assert len(history) == 1
    assert (history[0] / "manifest.json").read_bytes() == (env_root / "latest" / "manifest.json").read_bytes()
    metadata = json.loads((env_root / "latest" / "metadata.json").read_text())
    assert metadata["history_id"] == history[0].name
    assert metadata["dbt_version"].startswith("1.11.")
    assert {(m["name"], m["version"]) for m in metadata["public_models"]} == {
        ("public_orders", None),
        ("public_payments", None),
        ("public_customers", "1"),
        ("public_customers", "2"),
    }


def test_contract_hides_upstream_code(built_mesh: Path) -> None:
    contract = json.loads((built_mesh / "registry/dbt_up/prod/latest/manifest.json").read_text())
    assert set(contract["nodes"]) == {
        "model.dbt_up.public_orders",
        "model.dbt_up.public_payments",
        "model.dbt_up.public_customers.v1",
        "model.dbt_up.public_customers.v2",
    }
    text = json.dumps(contract)
    for leaked in ("raw_code", "compiled_code", "stg_orders", "int_order_payments", "depends_on", "original_file_path"):
        assert leaked not in text
    orders = contract["nodes"]["model.dbt_up.public_orders"]
    assert orders["relation_name"] == '"dbt_up"."main"."public_orders"'
    assert orders["contract"]["enforced"] is True
    assert orders["columns"]["order_id"]["data_type"] == "integer"
    assert any(c["type"] == "not_null" for c in orders["columns"]["order_id"]["constraints"])
    v1 = contract["nodes"]["model.dbt_up.public_customers.v1"]
    assert v1["deprecation_date"].startswith("2027-06-30")
    assert (v1["version"], v1["latest_version"]) == (1, 2)


def test_downstreams_read_real_upstream_rows(built_mesh: Path) -> None:
    up = built_mesh / "dbt_up" / "dbt_up.duckdb"
    assert rows(up, "public_orders") == 100
    assert rows(up, "public_customers_v2") == 25
    loom = built_mesh / "dbt_down_loom" / "dbt_down_loom.duckdb"
    assert rows(loom, "loom_orders_by_status") == 4
    assert rows(loom, "loom_customer_orders") == 25
    assert rows(loom, "loom_legacy_customers") == 25
    native = built_mesh / "dbt_down" / "dbt_down.duckdb"
    assert rows(native, "orders_by_status") == 4
    assert rows(native, "customer_lifetime_value") == 25
    assert rows(native, "legacy_customer_names") == 25
    with duckdb.connect(str(loom), read_only=True) as con:
        assert con.execute("select sum(order_count) from main.loom_orders_by_status").fetchone()[0] == 100


def test_lineage_is_whole_in_parent_maps(built_mesh: Path) -> None:
    loom = parents(built_mesh / "dbt_down_loom")
    assert "model.dbt_up.public_orders" in loom["model.dbt_down_loom.loom_orders_by_status"]
    assert "model.dbt_up.public_customers.v1" in loom["model.dbt_down_loom.loom_legacy_customers"]
    assert "model.dbt_up.public_customers.v2" in loom["model.dbt_down_loom.loom_customer_orders"]
    native = parents(built_mesh / "dbt_down")
    assert native["model.dbt_down.orders_by_status"] == ["source.dbt_down.dbt_up.public_orders"]
    assert "source.dbt_down.dbt_up.public_customers_v1" in native["model.dbt_down.legacy_customer_names"]


@pytest.mark.parametrize(
    "target",
    [["--project", "dbt_down_loom"], ["--project", "dbt_down"], ["--manifest", "dbt_down/target/manifest.json"]],
)
def test_seed_validate_variants(built_mesh: Path, target: list[str]) -> None:
    result = run(["python3", "validate_lineage.py", *target], cwd=built_mesh)
    assert result.returncode == 0, result.stderr
    assert "OK: 3 cross-project dependencies in 1 project, 0 errors" in result.stdout


def test_committed_generated_sources_match_the_demo_contract(built_mesh: Path) -> None:
    """The repository's own models/_mesh_dbt_up.yml is what sync produces: CI's staleness guard."""
    generated = (built_mesh / "dbt_down/models/_mesh_dbt_up.yml").read_bytes()
    assert (REPO / "dbt_down/models/_mesh_dbt_up.yml").read_bytes() == generated
    check = meshkit(
        "sync", "--project-dir", "dbt_down", "--upstream", "dbt_up", "--registry", "registry", "--check", cwd=built_mesh
    )
    assert check.returncode == 0, check.stderr
    assert "up to date (3 of 5 tables, used by the project)" in check.stdout
    # what dbt_down's models read, and nothing else: public_payments is published but unread
    assert [line.strip() for line in generated.decode().splitlines() if line.startswith("  - name: ")] == [
        "- name: public_customers",
        "- name: public_customers_v1",
        "- name: public_orders",
    ]


def test_republishing_the_same_contract_adds_no_history(mesh: Path) -> None:
    again = run(["python3", "publish_manifest.py", "--local"], cwd=mesh / "dbt_up")
    assert again.returncode == 0, again.stderr
    assert "contract unchanged" in again.stdout
    assert len(list((mesh / "registry/dbt_up/prod/history").iterdir())) == 1
    forced = run(["python3", "publish_manifest.py", "--local", "--force"], cwd=mesh / "dbt_up")
    assert forced.returncode == 0, forced.stderr
    assert len(list((mesh / "registry/dbt_up/prod/history").iterdir())) == 2


def test_full_publish_ships_the_unstripped_manifest(mesh: Path) -> None:
    result = meshkit(
        "publish",
        "--project-dir",
        "dbt_up",
        "--registry",
        "registry",
        "--env",
        "dev",
        "--full",
        "--format",
        "json",
        cwd=mesh,
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["kind"] == "full" and payload["status"] == "published"
    latest = (mesh / "registry/dbt_up/dev/latest/manifest.json").read_bytes()
    assert latest == (mesh / "dbt_up/target/manifest.json").read_bytes()

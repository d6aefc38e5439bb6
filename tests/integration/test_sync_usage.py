"""meshkit sync writes the upstream tables dbt_down reads, and dbt parses the project with exactly those."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from support.helpers import dbt, latest_entry, meshkit, one_line_error, snapshot

pytestmark = pytest.mark.dbt

MESH_FILE = "dbt_down/models/_mesh_dbt_up.yml"
USED = ["public_customers", "public_customers_v1", "public_orders"]  # what dbt_down's three models read


def sync(mesh: Path, *args: str):
    return meshkit(
        "sync", "--project-dir", "dbt_down", "--upstream", "dbt_up", "--registry", "registry", *args, cwd=mesh
    )


def sync_json(mesh: Path, *args: str) -> dict:
    result = sync(mesh, *args, "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    [outcome] = json.loads(result.stdout)["upstreams"]
    return outcome


def written_tables(mesh: Path) -> list[str]:
    return [t["name"] for s in yaml.safe_load((mesh / MESH_FILE).read_bytes())["sources"] for t in s["tables"]]


def parsed_sources(mesh: Path, project: str = "dbt_down") -> list[str]:
    """dbt's own view: parse the project and list the dbt_up source tables in its manifest."""
    parsed = dbt(mesh / project, "parse", "--no-partial-parse")
    assert parsed.returncode == 0, parsed.stdout[-3000:]
    manifest = json.loads((mesh / project / "target" / "manifest.json").read_text())
    return sorted(s["name"] for s in manifest["sources"].values() if s["source_name"] == "dbt_up")


def add_model(mesh: Path, name: str, sql: str, folder: str = "models") -> None:
    path = mesh / "dbt_down" / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sql)


def test_the_built_mesh_declares_what_dbt_down_reads(built_mesh: Path) -> None:
    assert written_tables(built_mesh) == USED
    manifest = json.loads((built_mesh / "dbt_down/target/manifest.json").read_text())
    assert sorted(s["name"] for s in manifest["sources"].values()) == USED
    header = (built_mesh / MESH_FILE).read_text().splitlines()[2]
    assert header.startswith("# 3 of the contract's 5 tables: those the project reads")


def test_a_new_source_call_makes_the_file_stale_and_sync_adds_the_table(mesh: Path) -> None:
    add_model(
        mesh,
        "payments_by_method.sql",
        "select payment_method, count(*) as n\nfrom {{ source('dbt_up', 'public_payments') }}\ngroup by 1\n",
    )
    assert dbt(mesh / "dbt_down", "parse", "--no-partial-parse").returncode != 0  # dbt needs the table declared
    check = sync(mesh, "--check")
    assert check.returncode == 1 and "STALE" in check.stdout
    synced = sync(mesh)
    assert synced.returncode == 0, synced.stderr
    assert "wrote 4 of 5 source tables (used by the project)" in synced.stdout
    assert parsed_sources(mesh) == sorted([*USED, "public_payments"])


def test_includes_from_the_cli_and_meshkit_yml_and_all(mesh: Path) -> None:
    assert sync_json(mesh, "--include", "public_payments")["tables"] == 4
    assert parsed_sources(mesh) == sorted([*USED, "public_payments"])

    config = mesh / "meshkit.yml"
    config.write_text(
        config.read_text().replace(
            "  dbt_down:\n    upstreams:\n      - dbt_up\n",
            "  dbt_down:\n    upstreams:\n      - upstream: dbt_up\n        include: [public_customers_v2]\n",
        )
    )
    configured = meshkit("sync", "--project-dir", "dbt_down", "--registry", "registry", "--format", "json", cwd=mesh)
    assert configured.returncode == 0, configured.stderr
    [outcome] = json.loads(configured.stdout)["upstreams"]
    assert (outcome["status"], outcome["tables"], outcome["selection"]) == ("written", 4, "used")
    assert written_tables(mesh) == sorted([*USED, "public_customers_v2"])

    every = sync_json(mesh, "--all")
    assert (every["tables"], every["published"], every["selection"]) == (5, 5, "all")
    assert parsed_sources(mesh) == sorted([*USED, "public_customers_v2", "public_payments"])


def test_an_unresolvable_call_writes_every_table_and_says_where(mesh: Path) -> None:
    macro = "{% macro pick_table(name) %}\n  {{ return(source('dbt_up', name)) }}\n{% endmacro %}\n"
    add_model(mesh, "pick.sql", macro, folder="macros")
    synced = sync(mesh)
    assert synced.returncode == 0, synced.stderr
    assert "wrote 5 of 5 source tables (all)" in synced.stdout
    assert (
        "  note: every dbt_up table is written: macros/pick.sql:2 calls source('dbt_up', ...) with a table name "
        "that is not a constant"
    ) in synced.stdout
    assert len(parsed_sources(mesh)) == 5


def test_a_table_the_contract_lacks_is_reported_and_dbt_fails_as_it_always_did(mesh: Path) -> None:
    add_model(mesh, "refunds.sql", "select * from {{ source('dbt_up', 'public_refunds') }}\n")
    outcome = sync_json(mesh)
    assert (outcome["status"], outcome["tables"], outcome["unknown_tables"]) == ("written", 3, ["public_refunds"])
    assert outcome["notes"] == [
        "models/refunds.sql:1 reads source('dbt_up', 'public_refunds'), which the dbt_up/prod "
        "contract does not publish: not written"
    ]
    parsed = dbt(mesh / "dbt_down", "parse", "--no-partial-parse")
    assert parsed.returncode != 0
    assert "public_refunds" in parsed.stdout and "was not found" in parsed.stdout


def test_a_project_that_reads_no_table_gets_a_file_dbt_parses(mesh: Path) -> None:
    for model in ("orders_by_status", "customer_lifetime_value", "legacy_customer_names"):
        (mesh / "dbt_down/models" / f"{model}.sql").write_text("select 1 as x\n")
    outcome = sync_json(mesh)
    assert (outcome["status"], outcome["tables"], outcome["published"]) == ("written", 0, 5)
    [source] = yaml.safe_load((mesh / MESH_FILE).read_bytes())["sources"]
    assert source["tables"] == [] and source["meta"]["meshkit"]["upstream"] == "dbt_up"
    assert parsed_sources(mesh) == []


def test_an_unchanged_sync_needs_no_manifest(mesh: Path) -> None:
    """A current file is judged from latest/pointer.json and the entry it names (listed: its manifest is there at the
    recorded size; its small metadata.json records the same sha256): the manifest itself is never read."""
    manifest = latest_entry(mesh / "registry") / "manifest.json"
    original = manifest.read_bytes()
    manifest.write_bytes(b"x" * len(original))  # same size: only reading it would tell, and the shortcut does not
    before = (mesh / MESH_FILE).stat()
    result = sync(mesh)
    assert result.returncode == 0, result.stderr
    assert "already current (3 of 5 tables, used by the project)" in result.stdout
    after = (mesh / MESH_FILE).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    checked = sync(mesh, "--check")
    assert checked.returncode == 0 and "up to date (3 of 5 tables, used by the project)" in checked.stdout
    # a hand edit voids the shortcut: the full read then meets the bad manifest and says so
    (mesh / MESH_FILE).write_text((mesh / MESH_FILE).read_text().replace("Order status", "Order state"))
    refused = sync(mesh, "--check")
    assert refused.returncode == 2 and "manifest.json" in one_line_error(refused)


@pytest.mark.parametrize("damage", ["entry manifest deleted", "entry manifest truncated", "entry metadata deleted"])
def test_sync_check_is_never_up_to_date_on_an_entry_that_is_gone(mesh: Path, damage: str) -> None:
    """The pointer's sha256 alone is not enough: the entry it names must still be there, whole."""
    assert sync(mesh, "--check").returncode == 0
    entry = latest_entry(mesh / "registry")
    if damage == "entry manifest deleted":
        (entry / "manifest.json").unlink()
    elif damage == "entry manifest truncated":
        (entry / "manifest.json").write_bytes((entry / "manifest.json").read_bytes()[:100])
    else:
        (entry / "metadata.json").unlink()
    before = (mesh / MESH_FILE).read_bytes()
    for args in (("--check",), ()):
        result = sync(mesh, *args)
        assert result.returncode == 2, result.stdout
        assert f"{entry.name}/" in one_line_error(result) and "republish the contract" in one_line_error(result)
    assert (mesh / MESH_FILE).read_bytes() == before


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--include", "public-orders"), "--include 'public-orders': 'public-orders' is not a table name"),
        (
            ("--include", "dbt_nope.public_orders"),
            "--include 'dbt_nope.public_orders' names upstream 'dbt_nope', "
            "which this sync does not read (it reads dbt_up)",
        ),
        (("--include", "{{x}}.t"), "--include '{{x}}.t': --include upstream name '{{x}}' is not allowed"),
    ],
)
def test_bad_include_is_one_line_exit_2_and_writes_nothing(mesh: Path, args: tuple[str, ...], expected: str) -> None:
    (mesh / MESH_FILE).unlink()  # even a sync that would write stops first
    before = snapshot(mesh / "dbt_down")
    result = sync(mesh, *args)
    assert result.returncode == 2 and result.stdout == ""
    assert one_line_error(result).startswith(f"meshkit sync: error: {expected}")
    assert snapshot(mesh / "dbt_down") == before

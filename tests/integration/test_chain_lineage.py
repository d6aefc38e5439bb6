"""A three-project chain (tests/chain): sales_core → finance_mid → exec_reporting, built by dbt on DuckDB.

finance_mid reads sales_core through dbt-loom (a model through its staging model, and a public seed) and
publishes `revenue_daily`, whose contract records where its columns come from; exec_reporting reads it.
Dropping `sales_core.orders.amount` must name finance_mid's readers, and exec_reporting's reader of
`revenue_daily.amount` with its path, but not the model reading only `revenue_daily.order_count`: in a local
registry and in S3 (moto), with the same manifests. The chain is built once per run (shared by workers).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from support.helpers import REPO, clean_env, dbt, meshkit
from support.s3server import S3Bucket, moto_server, s3_bucket, s3_env  # noqa: F401
from support.schemas import assert_schema_valid

pytestmark = pytest.mark.dbt

CHAIN = REPO / "tests" / "chain"
ROUTE = "sales_core.orders.amount → finance_mid.revenue_daily.amount → exec_reporting.exec_revenue_summary"


def _env(registry: Path, **extra: str) -> dict[str, str]:
    return clean_env(MESHKIT_REGISTRY_PATH=str(registry), MESHKIT_ENV="prod", **extra)


def _ok(result: Any) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def _build(root: Path) -> None:
    """The chain as its teams run it on main: build, then publish (or record as a consumer), upstream first."""
    shutil.copytree(CHAIN, root)
    env = _env(root / "registry")
    _ok(dbt(root / "sales_core", "build", env=env))
    _ok(meshkit("publish", "--project-dir", "sales_core", "--registry", "registry", cwd=root, env=env))
    for project in ("finance_mid", "exec_reporting"):
        _ok(dbt(root / project, "build", env=env))
        manifest = f"{project}/target/manifest.json"
        _ok(
            meshkit(
                "validate", "--manifest", manifest, "--registry", "registry", "--record-consumer", cwd=root, env=env
            )
        )
        if project == "finance_mid":
            _ok(meshkit("publish", "--project-dir", project, "--registry", "registry", cwd=root, env=env))


@pytest.fixture(scope="session")
def built_chain(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent
    root = shared / "built_chain"
    with FileLock(str(shared / "built_chain.lock")):
        if not (root / "built").exists():
            shutil.rmtree(root, ignore_errors=True)
            _build(root)
            (root / "built").touch()
    return root


@pytest.fixture
def chain(built_chain: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "chain"
    shutil.copytree(built_chain, dest, ignore=shutil.ignore_patterns("logs"))
    return dest


def _drop_amount(root: Path) -> None:
    """The PR: sales_core drops orders.amount (YAML and SQL); dbt parses it, as the PR check does."""
    yml = root / "sales_core/models/_public.yml"
    yml.write_text(yml.read_text().replace("      - name: amount\n        data_type: decimal(18,2)\n", ""))
    sql = root / "sales_core/models/orders.sql"
    sql.write_text(sql.read_text().replace("    cast(amount as decimal(18,2)) as amount,\n", ""))
    _ok(dbt(root / "sales_core", "parse", env=_env(root / "registry")))


def _check(root: Path, registry: str, env: dict[str, str], fmt: str) -> tuple[int, str]:
    result = meshkit("check", "--project-dir", "sales_core", "--registry", registry, "--format", fmt, cwd=root, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout


def _assert_chain_named(root: Path, registry: str, env: dict[str, str]) -> None:
    code, out = _check(root, registry, env, "json")
    assert code == 1
    report = json.loads(out)
    [change] = report["changes"]
    assert (change["code"], change["model"], change["columns"]) == ("column-removed", "orders", ["amount"])
    named = {
        (i["downstream"], tuple(i["models"]), tuple(i["may_break"]), tuple(i["path"]), i["transitive"])
        for i in change["impacts"]
    }
    assert named == {
        ("finance_mid", ("model.finance_mid.revenue_daily", "model.finance_mid.stg_sales"), (), (), False),
        (
            "exec_reporting",
            ("model.exec_reporting.exec_revenue_summary",),
            (),
            ("sales_core.orders.amount", "finance_mid.revenue_daily.amount"),
            True,
        ),
    }  # exec_order_volume reads revenue_daily.order_count and order_date only: not named
    assert report["summary"]["broken_downstreams"] == ["exec_reporting", "finance_mid"]

    code, text = _check(root, registry, env, "text")
    assert code == 1 and f"(via {ROUTE.rsplit(' → ', 1)[0]})" in text
    code, markdown = _check(root, registry, env, "markdown")
    assert code == 1
    assert r"exec\_reporting: exec\_revenue\_summary (via sales\_core.orders.amount → " in markdown
    assert "-.->" in markdown  # the transitive hop is dashed in the Mermaid diagram


def test_finance_mid_records_its_provenance_and_only_its_own_nodes(built_chain: Path) -> None:
    contract = json.loads((built_chain / "registry/finance_mid/prod/latest/manifest.json").read_text())
    assert sorted(contract["nodes"]) == ["model.finance_mid.revenue_daily"]  # not sales_core's injected nodes
    provenance = contract["meshkit"]["provenance"]["model.finance_mid.revenue_daily"]
    orders, regions = "model.sales_core.orders", "seed.sales_core.regions"
    assert [(d["project"], d["node"]) for d in provenance["reaches"]] == [
        ("sales_core", orders),
        ("sales_core", regions),
    ]
    columns = {name: [(d["node"], d["column"]) for d in found] for name, found in provenance["columns"].items()}
    assert columns == {
        "amount": [(orders, "amount")],
        "order_count": [],  # count(*) reads no column
        "order_date": [(orders, "order_date")],  # through stg_sales's sold_on
        "region_name": [(regions, "region_name")],
    }
    pure = json.loads((built_chain / "registry/sales_core/prod/latest/manifest.json").read_text())
    assert pure["meshkit"] == {"format": "meshkit-contract/1"}  # a pure upstream's contract is unchanged
    assert pure["nodes"]["seed.sales_core.regions"]["columns"]["region_id"]["data_type"] == "integer"


def test_public_seed_is_read_through_dbt_loom_and_recorded(built_chain: Path) -> None:
    record = json.loads((built_chain / "registry/sales_core/prod/consumers/finance_mid.json").read_text())
    uses = {use["unique_id"]: use for use in record["uses"]}
    assert set(uses) == {"model.sales_core.orders", "seed.sales_core.regions"}
    readers = {r["model"]: r["columns"] for r in uses["seed.sales_core.regions"]["readers"]}
    assert readers == {"model.finance_mid.revenue_daily": ["region_id", "region_name"]}


def test_dropped_column_names_the_chain_with_its_path_in_a_local_registry(chain: Path) -> None:
    _drop_amount(chain)
    _assert_chain_named(chain, "registry", _env(chain / "registry"))


@pytest.mark.s3
def test_dropped_column_names_the_chain_with_its_path_in_s3(chain: Path, s3_bucket: S3Bucket) -> None:
    url = s3_bucket.url()
    env = s3_env(s3_bucket.endpoint, MESHKIT_REGISTRY_PATH=str(chain / "registry"), MESHKIT_ENV="prod")
    steps = [
        ("publish", "--project-dir", "sales_core"),
        ("validate", "--manifest", "finance_mid/target/manifest.json", "--record-consumer"),
        ("publish", "--project-dir", "finance_mid"),
        ("validate", "--manifest", "exec_reporting/target/manifest.json", "--record-consumer"),
    ]
    for step in steps:
        _ok(meshkit(*step, "--registry", url, cwd=chain, env=env))
    assert f"{s3_bucket.name}" and "registry/finance_mid/prod/latest/pointer.json" in s3_bucket.object_keys()
    _drop_amount(chain)
    _assert_chain_named(chain, url, env)


def test_validate_on_a_full_upstream_manifest_reports_only_the_downstreams_edges(chain: Path) -> None:
    """dbt-loom reading an unstripped manifest (`publish --full`) sees sales_core's own edges too."""
    env = _env(chain / "full")
    _ok(meshkit("publish", "--project-dir", "sales_core", "--registry", "full", "--full", cwd=chain, env=env))
    _ok(dbt(chain / "finance_mid", "parse", env=env))
    result = meshkit("validate", "--manifest", "finance_mid/target/manifest.json", "--registry", "full",
                     "--format", "json", cwd=chain, env=env)  # fmt: skip
    _ok(result)
    [project] = json.loads(result.stdout)["projects"]
    deps = sorted(d["contract_id"] for d in project["dependencies"])
    assert deps == ["model.sales_core.orders", "seed.sales_core.regions"]
    assert project["findings"] == []


def _lineage(root: Path, *args: str) -> Any:
    result = meshkit("lineage", *args, "--registry", "registry", cwd=root, env=_env(root / "registry"))
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_lineage_traces_a_column_up_and_down_the_chain(built_chain: Path) -> None:
    result = _lineage(built_chain, "finance_mid.revenue_daily.amount", "--format", "json")
    _ok(result)
    document = json.loads(result.stdout)
    assert_schema_valid(document)
    assert document["target"]["label"] == "finance_mid.revenue_daily.amount" and document["target"]["public"]
    assert document["upstream"] == [["sales_core.orders.amount", "finance_mid.revenue_daily.amount"]]
    assert [(i["downstream"], i["models"]) for i in document["downstream"]] == [
        ("exec_reporting", ["model.exec_reporting.exec_revenue_summary"])
    ]

    text = _lineage(built_chain, "orders.amount")  # the project is found when the model name is unique
    _ok(text)
    assert f"  {ROUTE}\n" in text.stdout
    assert "  finance_mid.stg_sales (dbt-loom)\n" in text.stdout and "exec_order_volume" not in text.stdout

    consumer = _lineage(built_chain, "exec_reporting.exec_order_volume")
    _ok(consumer)
    assert "  finance_mid.revenue_daily (dbt-loom): order_count, order_date\n" in consumer.stdout

    mermaid = _lineage(built_chain, "sales_core.orders.amount", "--format", "mermaid")
    _ok(mermaid)
    assert mermaid.stdout.startswith("```mermaid\nflowchart LR\n") and '["exec_revenue_summary"]' in mermaid.stdout


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("orders.nope", "sales_core.orders has no column 'nope' in its contract (it has: order_id,"),
        ("nothing_here", "no public model or recorded consumer model 'nothing_here' in env prod"),
        ("a.b.c.d", "cannot read 'a.b.c.d': name a model or a column as [PROJECT.]MODEL[.COLUMN]"),
    ],
)
def test_lineage_of_an_unknown_target_is_one_clear_line(built_chain: Path, target: str, message: str) -> None:
    result = _lineage(built_chain, target)
    assert result.returncode == 2 and result.stdout == ""
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1

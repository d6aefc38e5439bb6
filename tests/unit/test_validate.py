"""Unit tests for meshkit.mesh.validate with handcrafted downstream manifests and a local registry."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import orjson
import pytest

from meshkit.errors import InputError, ManifestError
from meshkit.mesh.publish import PublishRequest, publish
from meshkit.mesh.validate import Dependency, Finding, discover_manifests, validate
from meshkit.registry.local import LocalRegistry

DATA = Path(__file__).parents[1] / "data"
TODAY = date(2025, 1, 1)
LOOM_CHILD = "model.down_loom.customer_orders"
SOURCE_CHILD = "model.down.orders_by_status"
SOURCE_ID = "source.down.shop.orders"


def _registry(tmp_path: Path, envs: tuple[str, ...] = ("prod",)) -> tuple[LocalRegistry, str]:
    project = tmp_path / "upstream_shop"
    (project / "target").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: shop\n")
    (project / "target" / "manifest.json").write_bytes((DATA / "manifest_shop.json").read_bytes())
    registry = LocalRegistry(tmp_path / "reg")
    sha = ""
    for env in envs:
        request = PublishRequest(
            project_dir=project, project="shop", env=env, git_commit=None, now=datetime(2025, 1, 1, tzinfo=timezone.utc)
        )
        sha = publish(request, registry).sha256
    return registry, sha


def _loom() -> dict:
    return orjson.loads((DATA / "manifest_down_loom.json").read_bytes())


def _sources(sha: str) -> dict:
    return orjson.loads((DATA / "manifest_down_sources.json").read_bytes().replace(b"SHA_PLACEHOLDER", sha.encode()))


def _write(tmp_path: Path, data: dict, name: str = "down") -> Path:
    path = tmp_path / name / "target" / "manifest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(data))
    return path


def _inject(data: dict, uid: str, *, consumer: str = LOOM_CHILD, **extra) -> None:
    """Add a node the way dbt-loom injects it (no file paths) and make `consumer` read it."""
    parts = uid.split(".")
    node = {
        "unique_id": uid,
        "name": parts[2],
        "resource_type": "model",
        "package_name": parts[1],
        "original_file_path": "",
        "path": "",
        "access": "public",
    }
    node.update(extra)
    data["nodes"][uid] = node
    data["parent_map"].setdefault(consumer, []).append(uid)


def _run(
    registry: LocalRegistry,
    tmp_path: Path,
    data: dict,
    *,
    env: str = "prod",
    today: date = TODAY,
    window_days: int = 30,
):
    return validate(
        registry=registry,
        env=env,
        root=tmp_path,
        manifest_paths=[_write(tmp_path, data)],
        today=today,
        window_days=window_days,
    )


def _codes(report) -> list[tuple[str, str]]:
    return [(f.severity, f.code) for p in report.projects for f in p.findings]


# --- dbt-loom style -----------------------------------------------------------------------------


def test_loom_all_ok(tmp_path):
    registry, _ = _registry(tmp_path)
    report = _run(registry, tmp_path, _loom())
    assert report.exit_code == 0
    assert (report.env, report.registry, report.today, report.skipped) == ("prod", registry.url, "2025-01-01", [])
    [project] = report.projects
    assert project.project == "down_loom"
    assert project.manifest == str(tmp_path / "down" / "target" / "manifest.json")
    assert project.findings == []
    assert project.dependencies == [
        Dependency(
            upstream="shop",
            env="prod",
            parent_id="model.shop.orders",
            via="dbt-loom",
            consumers=(LOOM_CHILD,),
            contract_id="model.shop.orders",
            version=None,
        ),
    ]


def test_loom_consumers_are_sorted_unique_and_exclude_tests(tmp_path):
    registry, _ = _registry(tmp_path)
    data = _loom()
    data["parent_map"]["model.down_loom.a_first"] = ["model.shop.orders", "model.shop.orders"]
    data["parent_map"]["test.down_loom.only_test.1"] = ["model.shop.orders"]
    [dep] = _run(registry, tmp_path, data).projects[0].dependencies
    assert dep.consumers == ("model.down_loom.a_first", LOOM_CHILD)


def test_loom_parent_not_public(tmp_path):
    registry, _ = _registry(tmp_path)
    data = _loom()
    _inject(data, "model.shop.stg_orders", access="protected")
    report = _run(registry, tmp_path, data)
    assert report.exit_code == 1
    assert report.projects[0].findings == [
        Finding(
            "error",
            "not-public",
            "down_loom",
            "model.shop.stg_orders is not a public model of the shop/prod contract "
            "(removed, renamed or no longer public)",
            "model.shop.stg_orders",
            "models/customer_orders.sql",
        ),  # the downstream file reading it, for annotations
    ]
    deps = {d.parent_id: d for d in report.projects[0].dependencies}
    assert deps["model.shop.stg_orders"].contract_id is None
    assert deps["model.shop.orders"].contract_id == "model.shop.orders"


def test_loom_unknown_upstream(tmp_path):
    registry, _ = _registry(tmp_path)
    data = _loom()
    _inject(data, "model.other.thing")
    report = _run(registry, tmp_path, data)
    assert report.exit_code == 1
    assert [f.message for f in report.errors] == [
        "model.other.thing comes from 'other', which has no prod contract in the registry",
    ]
    assert _codes(report) == [("error", "unknown-upstream")]


def test_loom_upstream_published_in_another_env_only(tmp_path):
    registry, _ = _registry(tmp_path, envs=("staging",))
    report = _run(registry, tmp_path, _loom())
    assert _codes(report) == [("error", "unknown-upstream")]
    assert report.errors[0].message == "model.shop.orders comes from 'shop', which has no prod contract in the registry"
    assert _run(registry, tmp_path, _loom(), env="staging").exit_code == 0


def test_loom_stale_build_warning(tmp_path):
    registry, _ = _registry(tmp_path)
    data = _loom()
    data["nodes"]["model.shop.orders"]["relation_name"] = '"shop"."old"."orders"'
    report = _run(registry, tmp_path, data)
    assert report.exit_code == 0
    assert [(f.code, f.message) for f in report.warnings] == [
        (
            "stale-build",
            'model.shop.orders was built against an older contract (relation "shop"."old"."orders", '
            'now "shop"."main"."orders"): rebuild',
        )
    ]


def test_package_model_is_ignored(tmp_path):
    registry, _ = _registry(tmp_path)
    data = _loom()
    data["nodes"]["model.dbt_utils.helper"] = {
        "unique_id": "model.dbt_utils.helper",
        "name": "helper",
        "resource_type": "model",
        "package_name": "dbt_utils",
        "original_file_path": "models/helper.sql",
        "path": "helper.sql",
    }
    data["parent_map"][LOOM_CHILD].append("model.dbt_utils.helper")
    report = _run(registry, tmp_path, data)
    assert report.exit_code == 0
    assert [d.parent_id for d in report.projects[0].dependencies] == ["model.shop.orders"]


def test_a_model_of_its_own_project_is_not_cross_project_but_another_projects_seed_is(tmp_path):
    """dbt-loom lets a downstream ref() an upstream's public seed or snapshot: those are cross-project reads."""
    registry, _ = _registry(tmp_path)
    data = _loom()
    data["parent_map"][LOOM_CHILD] += ["model.down_loom.stg", "seed.shop.raw_orders", "snapshot.shop.snap"]
    report = _run(registry, tmp_path, data)
    found = {d.parent_id: d.contract_id for d in report.projects[0].dependencies}
    assert found == {"model.shop.orders": "model.shop.orders", "seed.shop.raw_orders": None, "snapshot.shop.snap": None}
    assert {f.code for f in report.projects[0].findings} == {"not-public"}  # the fixture's seed is protected


def test_only_the_downstreams_own_edges_count(tmp_path):
    """A manifest dbt-loom filled from a full upstream manifest holds the upstream's own edges too."""
    registry, _ = _registry(tmp_path)
    data = _loom()
    data["parent_map"]["model.shop.orders"] = ["model.shop.stg_orders"]
    data["parent_map"]["model.shop.customers.v2"] = ["model.shop.stg_orders", "seed.shop.raw_orders"]
    report = _run(registry, tmp_path, data)
    assert [d.parent_id for d in report.projects[0].dependencies] == ["model.shop.orders"]
    assert report.errors == []


@pytest.mark.parametrize(
    ("today", "window", "expected"),
    [
        (date(2027, 7, 1), 30, [("deprecated", "is past its deprecation date 2027-06-30: move to version 2")]),
        (
            date(2027, 6, 15),
            30,
            [("deprecation-soon", "will be deprecated on 2027-06-30 (in 15 days): move to version 2")],
        ),
        # one rule (meshkit.contract.model.is_deprecated): deprecated on the day itself, as dbt warns
        (date(2027, 6, 30), 30, [("deprecated", "is past its deprecation date 2027-06-30: move to version 2")]),
        (
            date(2027, 5, 31),
            30,
            [("deprecation-soon", "will be deprecated on 2027-06-30 (in 30 days): move to version 2")],
        ),
        (date(2027, 5, 30), 30, []),
        (date(2027, 6, 15), 10, []),
        (date(2025, 1, 1), 30, []),
    ],
)
def test_loom_deprecation(tmp_path, today, window, expected):
    registry, _ = _registry(tmp_path)
    data = _loom()
    _inject(data, "model.shop.customers.v1", name="customers", version=1, latest_version=2)
    report = _run(registry, tmp_path, data, today=today, window_days=window)
    assert report.exit_code == 0  # deprecation only ever warns
    assert report.errors == []
    assert [(f.code, f.message.removeprefix("model.shop.customers.v1 ")) for f in report.warnings] == expected
    assert all(f.node == "model.shop.customers.v1" for f in report.warnings)
    deps = {d.parent_id: d for d in report.projects[0].dependencies}
    assert deps["model.shop.customers.v1"].version == "1"


def test_latest_version_has_no_deprecation(tmp_path):
    registry, _ = _registry(tmp_path)
    data = _loom()
    _inject(data, "model.shop.customers.v2", name="customers", version=2, latest_version=2)
    report = _run(registry, tmp_path, data, today=date(2030, 1, 1))
    assert report.warnings == [] and report.errors == []


# --- mesh-source style --------------------------------------------------------------------------


def test_sources_all_ok(tmp_path):
    registry, sha = _registry(tmp_path)
    report = _run(registry, tmp_path, _sources(sha))
    assert report.exit_code == 0
    [project] = report.projects
    assert project.project == "down"
    assert project.findings == []
    assert project.dependencies == [
        Dependency(
            upstream="shop",
            env="prod",
            parent_id=SOURCE_ID,
            via="mesh-source",
            consumers=(SOURCE_CHILD,),
            contract_id="model.shop.orders",
            version=None,
        ),
    ]


def test_source_relation_mismatch(tmp_path):
    registry, sha = _registry(tmp_path)
    data = _sources(sha)
    data["sources"][SOURCE_ID]["identifier"] = "orders_old"
    report = _run(registry, tmp_path, data)
    assert report.exit_code == 1
    assert [(f.code, f.message) for f in report.errors] == [
        (
            "relation-mismatch",
            f"{SOURCE_ID} reads shop.main.orders_old but model.shop.orders is published at shop.main.orders: run meshkit sync",
        )
    ]


def test_source_column_missing_in_contract(tmp_path):
    registry, sha = _registry(tmp_path)
    data = _sources(sha)
    columns = data["sources"][SOURCE_ID]["columns"]
    columns["discount"] = {"name": "discount"}
    columns["ORDER_ID"] = columns.pop("order_id")  # case differences are not findings
    report = _run(registry, tmp_path, data)
    assert report.exit_code == 1
    assert [(f.code, f.message) for f in report.errors] == [
        (
            "column-missing",
            f"{SOURCE_ID} declares column 'discount', which model.shop.orders no longer publishes: run meshkit sync",
        )
    ]


def test_source_stale_sync_is_only_a_warning(tmp_path):
    registry, sha = _registry(tmp_path)
    report = _run(registry, tmp_path, _sources("0" * 64))
    assert report.exit_code == 0
    assert report.errors == []
    assert [(f.severity, f.code, f.message) for f in report.warnings] == [
        (
            "warning",
            "stale-sync",
            f"{SOURCE_ID} (and every shop source) was generated from contract 000000000000, "
            f"the registry now has {sha[:12]}: run meshkit sync",
        )
    ]


def test_stale_sync_is_reported_once_per_upstream(tmp_path):
    registry, _ = _registry(tmp_path)
    data = _sources("0" * 64)
    source = orjson.loads(orjson.dumps(data["sources"][SOURCE_ID]))
    source.update(
        name="customers",
        identifier="customers_v2",
        unique_id="source.down.shop.customers",
        columns={"customer_id": {"name": "customer_id"}},
    )
    for container in (source["meta"], source["config"]["meta"]):
        container["meshkit"]["unique_id"] = "model.shop.customers.v2"
    data["sources"]["source.down.shop.customers"] = source
    data["parent_map"][SOURCE_CHILD].append("source.down.shop.customers")
    report = _run(registry, tmp_path, data)
    assert [(f.code, f.node) for f in report.warnings] == [("stale-sync", "source.down.shop.customers")]
    assert len(report.projects[0].dependencies) == 2


def test_source_table_not_public(tmp_path):
    registry, sha = _registry(tmp_path)
    data = _sources(sha)
    source = data["sources"].pop(SOURCE_ID)
    source.update(name="stg_orders", identifier="stg_orders", unique_id="source.down.shop.stg_orders")
    for container in (source["meta"], source["config"]["meta"]):
        container["meshkit"]["unique_id"] = "model.shop.stg_orders"
    data["sources"]["source.down.shop.stg_orders"] = source
    data["parent_map"][SOURCE_CHILD] = ["source.down.shop.stg_orders"]
    report = _run(registry, tmp_path, data)
    assert report.exit_code == 1
    assert [(f.code, f.message) for f in report.errors] == [
        (
            "not-public",
            "source.down.shop.stg_orders names table 'stg_orders', which is not a public model of the shop/prod "
            "contract: run meshkit sync and fix the reference",
        )
    ]
    assert report.projects[0].dependencies[0].contract_id is None


def test_source_resolved_by_table_name_without_meta(tmp_path):
    """A source named after an upstream that is in the registry is checked even without meshkit meta."""
    registry, sha = _registry(tmp_path)
    data = _sources(sha)
    source = data["sources"][SOURCE_ID]
    for key in ("meta", "source_meta"):
        source[key] = {}
    source["config"]["meta"] = {}
    source["name"] = "customers"
    source["identifier"] = "customers_v2"
    source["columns"] = {"customer_id": {"name": "customer_id"}, "full_name": {"name": "full_name"}}
    report = _run(registry, tmp_path, data)
    assert report.exit_code == 0
    assert report.projects[0].dependencies[0].contract_id == "model.shop.customers.v2"
    assert report.projects[0].dependencies[0].version == "2"


def test_source_unknown_upstream(tmp_path):
    registry, sha = _registry(tmp_path)
    data = _sources(sha)
    source = data["sources"].pop(SOURCE_ID)
    source["source_name"] = "billing"
    data["sources"]["source.down.billing.orders"] = source
    data["parent_map"][SOURCE_CHILD] = ["source.down.billing.orders"]
    report = _run(registry, tmp_path, data)
    assert _codes(report) == [("error", "unknown-upstream")]
    assert report.errors[0].message == (
        "source.down.billing.orders comes from 'billing', which has no prod contract in the registry"
    )


def test_plain_raw_sources_are_ignored(tmp_path):
    registry, sha = _registry(tmp_path)
    data = _sources(sha)
    for name in ("raw", "raw-data", "3rd_party"):  # dbt accepts any source name; none is a meshkit project
        uid = f"source.down.{name}.events"
        data["sources"][uid] = {
            "unique_id": uid,
            "name": "events",
            "source_name": name,
            "resource_type": "source",
            "database": "down",
            "schema": name,
            "identifier": "events",
            "meta": {},
            "source_meta": {},
            "config": {"meta": {}},
        }
        data["parent_map"][SOURCE_CHILD].append(uid)
    report = _run(registry, tmp_path, data)
    assert report.exit_code == 0
    assert [d.parent_id for d in report.projects[0].dependencies] == [SOURCE_ID]


def test_source_env_comes_from_source_level_meta(tmp_path):
    """dbt merges source and table meta shallowly, so the synced env lives only in source_meta."""
    registry, sha = _registry(tmp_path, envs=("staging",))
    data = _sources(sha)
    data["sources"][SOURCE_ID]["source_meta"]["meshkit"]["env"] = "staging"
    report = _run(registry, tmp_path, data, env="prod")
    assert report.exit_code == 0, report.errors
    [dep] = report.projects[0].dependencies
    assert (dep.env, dep.contract_id) == ("staging", "model.shop.orders")


# --- what to validate ---------------------------------------------------------------------------


def test_nothing_to_validate(tmp_path):
    registry, _ = _registry(tmp_path)
    with pytest.raises(InputError) as caught:
        validate(registry=registry, env="prod", root=tmp_path)
    assert str(caught.value) == "nothing to validate: pass --all, --project NAME or --manifest PATH"


def test_all_without_built_projects(tmp_path):
    registry, _ = _registry(tmp_path)
    root = tmp_path / "repo"
    (root / "unbuilt").mkdir(parents=True)
    (root / "unbuilt" / "dbt_project.yml").write_text("name: unbuilt\n")
    with pytest.raises(InputError, match=r"^no built dbt project under .*: run `dbt build` in each project first$"):
        validate(registry=registry, env="prod", root=root, all_projects=True)


def test_all_discovers_and_skips(tmp_path):
    registry, sha = _registry(tmp_path)
    root = tmp_path / "repo"
    _write(root, _loom(), "down_loom")
    _write(root, _sources(sha), "down")
    for name in ("down", "down_loom", "unbuilt"):
        (root / name).mkdir(exist_ok=True)
        (root / name / "dbt_project.yml").write_text(f"name: {name}\n")
    found, unbuilt = discover_manifests(root)
    assert found == [root / "down" / "target" / "manifest.json", root / "down_loom" / "target" / "manifest.json"]
    assert unbuilt == ["unbuilt"]
    report = validate(registry=registry, env="prod", root=root, all_projects=True, today=TODAY)
    assert [p.project for p in report.projects] == ["down", "down_loom"]
    assert report.skipped == ["unbuilt"]
    assert report.exit_code == 0


def test_project_flag_checks_the_manifest_belongs_to_it(tmp_path):
    registry, _ = _registry(tmp_path)
    root = tmp_path / "repo"
    _write(root, _loom(), "down")  # folder `down` holds project down_loom
    with pytest.raises(ManifestError, match="belongs to dbt project 'down_loom', not 'down'"):
        validate(registry=registry, env="prod", root=root, projects=["down"], today=TODAY)


def test_project_flag_missing_manifest(tmp_path):
    registry, _ = _registry(tmp_path)
    with pytest.raises(ManifestError, match=r"no dbt manifest at .*: run `dbt build` in .*ghost first$"):
        validate(registry=registry, env="prod", root=tmp_path, projects=["ghost"], today=TODAY)


@pytest.mark.parametrize(("env", "projects"), [("../prod", []), ("prod", ["../x"])])
def test_unsafe_env_or_project(tmp_path, env, projects):
    registry, _ = _registry(tmp_path)
    with pytest.raises(InputError):
        validate(registry=registry, env=env, root=tmp_path, projects=projects, all_projects=True)

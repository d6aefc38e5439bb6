"""Every bad input: one clear line, exit 2, no traceback, nothing written."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

from support.helpers import latest_entry, meshkit, one_line_error, run, snapshot

pytestmark = pytest.mark.dbt


def publish(mesh: Path, *args: str):
    return meshkit("publish", "--project-dir", "dbt_up", "--registry", "registry", *args, cwd=mesh)


def assert_publish_fails(mesh: Path, expected: str, *args: str) -> None:
    before = snapshot(mesh / "registry")
    result = publish(mesh, *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert expected in one_line_error(result)
    assert snapshot(mesh / "registry") == before


def test_missing_manifest_names_the_command_to_run(repo_copy: Path) -> None:
    result = meshkit("publish", "--project-dir", "dbt_up", "--registry", "registry", cwd=repo_copy)
    assert result.returncode == 2
    line = one_line_error(result)
    assert "no dbt manifest at" in line and "run `dbt build` in dbt_up first" in line
    assert not (repo_copy / "registry").exists()
    seed = run(["python3", "publish_manifest.py", "--local"], cwd=repo_copy / "dbt_up")
    assert seed.returncode == 2 and "run `dbt build`" in one_line_error(seed)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_manifest(mesh: Path, damage: str) -> None:
    manifest = mesh / "dbt_up/target/manifest.json"
    data = manifest.read_bytes()
    manifest.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"\x00\xffnot json", "empty": b""}[damage])
    assert_publish_fails(mesh, "is not valid JSON")


def test_json_that_is_not_a_manifest(mesh: Path) -> None:
    (mesh / "dbt_up/target/manifest.json").write_text(
        json.dumps({"metadata": {"dbt_schema_version": "x/run-results/v6"}})
    )
    assert_publish_fails(mesh, "is not a dbt manifest")


def test_manifest_of_a_different_project(mesh: Path) -> None:
    shutil.copy(mesh / "dbt_down_loom/target/manifest.json", mesh / "dbt_up/target/manifest.json")
    assert_publish_fails(mesh, "belongs to dbt project 'dbt_down_loom', not 'dbt_up'")


def test_wrong_project_flag(mesh: Path) -> None:
    assert_publish_fails(mesh, "belongs to dbt project 'dbt_up', not 'dbt_shop'", "--project", "dbt_shop")


def test_upstream_with_no_public_models(mesh: Path) -> None:
    path = mesh / "dbt_up/target/manifest.json"
    manifest = json.loads(path.read_text())
    for node in manifest["nodes"].values():
        if node.get("access") == "public":
            node["access"] = "protected"
            node["config"]["access"] = "protected"
    path.write_text(json.dumps(manifest))
    assert_publish_fails(mesh, "has no public models")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "@acme/security-team"),
        ("name", "orders\n::error::pwned"),
        ("column", 'id" from x; --'),
        ("column", "amount'usd"),
        ("alias", 'orders"'),
        ("alias", "orders\\"),
        ("schema", "main\u202e"),
    ],
)
def test_unsafe_model_and_column_names_are_refused_at_publish(mesh: Path, field: str, value: str) -> None:
    """As documented: a name that is not a safe identifier never reaches the registry, whatever its kind."""
    path = mesh / "dbt_up/target/manifest.json"
    manifest = json.loads(path.read_text())
    node = next(n for n in manifest["nodes"].values() if n.get("access") == "public" and n["columns"])
    if field == "column":
        key = next(iter(node["columns"]))
        node["columns"][value] = {**node["columns"].pop(key), "name": value}
    else:
        node[field] = value
    path.write_text(json.dumps(manifest))
    before = snapshot(mesh / "registry")
    result = publish(mesh)
    assert result.returncode == 2, (result.stdout, result.stderr)
    line = one_line_error(result)
    refusal = "is not a safe SQL identifier" if field == "name" else "cannot be quoted safely as a SQL identifier"
    assert refusal in line and node["unique_id"] in line and "\n" not in line.strip()
    assert snapshot(mesh / "registry") == before


@pytest.mark.parametrize(
    "flag,value",
    [
        ("--project", "../dbt_up"),
        ("--project", "dbt_up/x"),
        ("--project", "a b"),
        ("--env", ".."),
        ("--env", "prod/../../etc"),
        ("--env", "prod;rm"),
        ("--env", ""),
    ],
)
def test_hostile_names_in_publish(mesh: Path, flag: str, value: str) -> None:
    assert_publish_fails(mesh, "is not allowed", flag, value)


@pytest.mark.parametrize("upstream", ["../dbt_up", "dbt_up/..", "dbt_up@../prod", "dbt_up@a/b", "{{x}}"])
def test_hostile_names_in_sync(mesh: Path, upstream: str) -> None:
    target = mesh / "dbt_down/models"
    before = snapshot(target)
    result = meshkit("sync", "--project-dir", "dbt_down", "--upstream", upstream, "--registry", "registry", cwd=mesh)
    assert result.returncode == 2
    assert "is not allowed" in one_line_error(result)
    assert snapshot(target) == before


def test_hostile_project_in_validate(built_mesh: Path) -> None:
    result = meshkit("validate", "--project", "../etc", "--registry", "registry", cwd=built_mesh)
    assert result.returncode == 2 and "is not allowed" in one_line_error(result)


def test_registry_without_the_project(mesh: Path) -> None:
    before = snapshot(mesh / "dbt_down")
    result = meshkit("sync", "--project-dir", "dbt_down", "--upstream", "dbt_nope", "--registry", "registry", cwd=mesh)
    assert result.returncode == 2
    line = one_line_error(result)
    assert "has no project 'dbt_nope'" in line and "dbt_up" in line
    assert snapshot(mesh / "dbt_down") == before


def test_registry_without_the_env(mesh: Path) -> None:
    result = meshkit(
        "sync",
        "--project-dir",
        "dbt_down",
        "--upstream",
        "dbt_up",
        "--env",
        "staging",
        "--registry",
        "registry",
        cwd=mesh,
    )
    assert result.returncode == 2
    assert "has project 'dbt_up' but not env 'staging' (it has: prod)" in one_line_error(result)


def test_unreachable_s3_endpoint_for_publish_and_sync(mesh: Path) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    env_args = ["--registry", "s3://meshkit-test/registry", "--endpoint-url", endpoint]
    from support.helpers import clean_env

    env = clean_env(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    before = snapshot(mesh)
    pub = meshkit("publish", "--project-dir", "dbt_up", *env_args, cwd=mesh, env=env)
    syn = meshkit("sync", "--project-dir", "dbt_down", "--upstream", "dbt_up", *env_args, cwd=mesh, env=env)
    for result in (pub, syn):
        assert result.returncode == 2
        assert f"cannot reach the S3 endpoint {endpoint}" in one_line_error(result)
    assert snapshot(mesh) == before


def test_corrupt_registry_entry_is_refused(mesh: Path) -> None:
    current = latest_entry(mesh / "registry") / "manifest.json"
    current.write_bytes(current.read_bytes().replace(b"public_orders", b"public_ordersX", 1))
    # A current file needs no manifest (test_sync_usage proves it); a file to (re)write reads and checks it.
    (mesh / "dbt_down/models/_mesh_dbt_up.yml").unlink()
    before = snapshot(mesh / "dbt_down")
    result = meshkit("sync", "--project-dir", "dbt_down", "--upstream", "dbt_up", "--registry", "registry", cwd=mesh)
    assert result.returncode == 2
    assert "does not match its recorded sha256" in one_line_error(result)
    assert snapshot(mesh / "dbt_down") == before


def test_validate_without_a_build(repo_copy: Path) -> None:
    result = meshkit("validate", "--project", "dbt_down", "--registry", "registry", cwd=repo_copy)
    assert result.returncode == 2
    assert "run `dbt build` in dbt_down first" in one_line_error(result)
    result = meshkit("validate", "--all", "--registry", "registry", cwd=repo_copy)
    assert result.returncode == 2 and "no built dbt project" in one_line_error(result)


def test_no_registry_configured(built_mesh: Path) -> None:
    result = meshkit("validate", "--all", cwd=built_mesh)
    assert result.returncode == 2
    assert "no registry given: pass --registry" in one_line_error(result)


# --- check, catalog and the consumer index --------------------------------------------------------


def check(mesh: Path, *args: str):
    return meshkit("check", "--project-dir", "dbt_up", "--registry", "registry", *args, cwd=mesh)


def test_check_without_a_build(repo_copy: Path) -> None:
    result = meshkit("check", "--project-dir", "dbt_up", "--registry", "registry", cwd=repo_copy)
    assert result.returncode == 2
    assert "run `dbt build` (or `dbt parse`) in dbt_up first" in one_line_error(result)


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (b"{truncated", "is not valid JSON"),
        (b'{"metadata": {"dbt_schema_version": "x/catalog/v1"}}', "is not a dbt manifest"),
    ],
)
def test_check_corrupt_manifest(mesh: Path, damage: bytes, expected: str) -> None:
    (mesh / "dbt_up/target/manifest.json").write_bytes(damage)
    result = check(mesh)
    assert result.returncode == 2 and expected in one_line_error(result)


def test_check_manifest_of_another_project(mesh: Path) -> None:
    result = check(mesh, "--manifest", "dbt_down/target/manifest.json")
    assert result.returncode == 2
    assert "belongs to dbt project 'dbt_down', not 'dbt_up'" in one_line_error(result)


@pytest.mark.parametrize(("flag", "value"), [("--env", "../prod"), ("--project", "x/../y")])
def test_check_hostile_names(built_mesh: Path, flag: str, value: str) -> None:
    result = meshkit("check", "--project-dir", "dbt_up", "--registry", "registry", flag, value, cwd=built_mesh)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    one_line_error(result)


def test_check_and_catalog_on_unreachable_registry(built_mesh: Path, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    from support.helpers import clean_env

    env = clean_env(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    remote = ["--registry", "s3://meshkit-test/registry", "--endpoint-url", f"http://127.0.0.1:{port}"]
    page = tmp_path / "catalog.html"
    for result in (
        meshkit("check", "--project-dir", built_mesh / "dbt_up", *remote, cwd=tmp_path, env=env),
        meshkit("catalog", *remote, "--output", page, cwd=tmp_path, env=env),
        meshkit("validate", "--root", built_mesh, "--all", "--record-consumer", *remote, cwd=tmp_path, env=env),
    ):
        assert result.returncode == 2, result.stderr
        assert "cannot reach the S3 endpoint" in one_line_error(result)
    assert not page.exists()


def test_catalog_output_in_a_missing_folder_writes_nothing(built_mesh: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = meshkit("catalog", "--registry", built_mesh / "registry", "--output", blocker / "page.html", cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot write" in one_line_error(result)
    assert blocker.read_text() == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_catalog_of_an_empty_registry_is_a_page_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "registry").mkdir()
    result = meshkit("catalog", "--registry", "registry", "--output", "-", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert '"contracts":[],"entries":[]' in result.stdout  # the explorer says so (test_explorer_browser.py)


def test_hostile_consumer_record_keys_are_not_trusted(mesh: Path) -> None:
    consumers = mesh / "registry/dbt_up/prod/consumers"
    consumers.mkdir(parents=True, exist_ok=True)
    (consumers / "evil;rm.json").write_text("{}")
    (consumers / "dbt_shop.json").write_bytes(b"\x00garbage")
    result = check(mesh, "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    problems = {c["downstream"]: c["problem"] for c in report["consumers"]}
    assert problems == {"evil;rm": "unsafe downstream name in key", "dbt_shop": "not JSON"}


@pytest.mark.parametrize("damage", ["latest deleted", "latest is a file"])
def test_a_registry_that_lost_its_latest_contract_fails_closed(mesh: Path, damage: str) -> None:
    """History and consumer records remain: check must not pass a PR as "no contract yet", nor sync call it empty."""
    latest = mesh / "registry/dbt_up/prod/latest"
    shutil.rmtree(latest)
    if damage == "latest is a file":
        latest.write_text("not a folder")
    assert any((mesh / "registry/dbt_up/prod/history").iterdir())
    before = snapshot(mesh)
    commands = {
        "check": ("check", "--project-dir", "dbt_up", "--registry", "registry"),
        "sync": ("sync", "--project-dir", "dbt_down", "--upstream", "dbt_up", "--registry", "registry"),
        "validate": ("validate", "--manifest", "dbt_down/target/manifest.json", "--registry", "registry"),
    }
    for name, args in commands.items():
        result = meshkit(*args, cwd=mesh)
        assert result.returncode == 2, (name, result.stdout, result.stderr)
        expected = "no readable latest contract" if damage == "latest deleted" else "the registry is damaged"
        assert expected in one_line_error(result), name
    assert snapshot(mesh) == before
    republished = publish(mesh)
    assert republished.returncode == 0 if damage == "latest deleted" else republished.returncode == 2, (
        republished.stderr
    )
    if damage == "latest deleted":
        assert meshkit(*commands["check"], cwd=mesh).returncode == 0

"""The S3 registry backend and dbt-loom `type: s3`, against moto in server mode on loopback.

Every command runs in a real child process with fake credentials and an explicit
http://127.0.0.1 endpoint (see s3server.py), so nothing can reach a cloud address.
Tests that only read the built mesh (publish, validate) use `built_mesh` directly;
tests that write into a project use a private copy.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from support.helpers import dbt, meshkit, one_line_error, run, snapshot
from support.s3server import S3Bucket, closed_endpoint, fake_session, moto_server, s3_bucket, s3_env  # noqa: F401

pytestmark = pytest.mark.s3

PREFIX = "registry"
LATEST = f"{PREFIX}/dbt_up/prod/latest/manifest.json"
LATEST_META = f"{PREFIX}/dbt_up/prod/latest/metadata.json"
POINTER = f"{PREFIX}/dbt_up/prod/latest/pointer.json"
HISTORY = f"{PREFIX}/dbt_up/prod/history/"
MESH_FILE = Path("models") / "_mesh_dbt_up.yml"
SENTINEL = b"# sentinel: a failed sync must leave this file alone\n"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def history_stamps(bucket: S3Bucket) -> list[str]:
    return sorted({key[len(HISTORY) :].split("/")[0] for key in bucket.object_keys(HISTORY)})


def publish_cli(project_dir: Path, bucket: S3Bucket, *extra: str, env: dict[str, str] | None = None) -> Any:
    return meshkit(
        "publish",
        "--project-dir",
        project_dir,
        "--registry",
        bucket.url(),
        *extra,
        cwd=project_dir,
        env=env if env is not None else s3_env(bucket.endpoint),
    )


def assert_ok(result: Any) -> None:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


@pytest.fixture
def down_project(built_mesh: Path, tmp_path: Path) -> Path:
    """A writable copy of the built dbt_down project's sources (no target, no database): enough for sync."""
    return Path(
        shutil.copytree(
            built_mesh / "dbt_down",
            tmp_path / "dbt_down",
            ignore=shutil.ignore_patterns("target", "logs", "*.duckdb", "*.duckdb.wal", "__pycache__"),
        )
    )


@pytest.fixture
def published(built_mesh: Path, s3_bucket: S3Bucket) -> S3Bucket:
    """s3_bucket with dbt_up's contract published under registry/ (publishing only reads the project)."""
    assert_ok(publish_cli(built_mesh / "dbt_up", s3_bucket))
    return s3_bucket


# --- publish -------------------------------------------------------------------------------------


def metadata_view_matches(view: bytes, metadata: bytes) -> bool:
    """The entry's view is the one its metadata records, and names the contract the metadata does."""
    recorded = json.loads(metadata)
    return sha256(view) == recorded["view_sha256"] and json.loads(view)["contract_sha256"] == recorded["sha256"]


def test_publish_writes_latest_and_one_history_entry(built_mesh: Path, s3_bucket: S3Bucket) -> None:
    result = publish_cli(built_mesh / "dbt_up", s3_bucket)
    assert_ok(result)
    assert "published contract of dbt_up/prod to s3://" in result.stdout

    stamps = history_stamps(s3_bucket)
    assert len(stamps) == 1
    assert s3_bucket.object_keys() == sorted(
        [
            LATEST,
            LATEST_META,
            POINTER,
            f"{HISTORY}{stamps[0]}/manifest.json",
            f"{HISTORY}{stamps[0]}/metadata.json",
            f"{HISTORY}{stamps[0]}/view.json",
        ]
    )
    assert metadata_view_matches(s3_bucket.read(f"{HISTORY}{stamps[0]}/view.json"), s3_bucket.read(LATEST_META))

    manifest_bytes = s3_bucket.read(LATEST)
    metadata = json.loads(s3_bucket.read(LATEST_META))
    assert metadata["sha256"] == sha256(manifest_bytes)
    assert metadata["size"] == len(manifest_bytes)
    assert (metadata["project"], metadata["env"], metadata["kind"]) == ("dbt_up", "prod", "contract")
    assert metadata["history_id"] == stamps[0]
    assert s3_bucket.read(f"{HISTORY}{stamps[0]}/manifest.json") == manifest_bytes
    assert s3_bucket.read(f"{HISTORY}{stamps[0]}/metadata.json") == s3_bucket.read(LATEST_META)

    # Only public models, and no SQL of any kind.
    contract = json.loads(manifest_bytes)
    built = json.loads((built_mesh / "dbt_up" / "target" / "manifest.json").read_bytes())
    public_ids = {
        uid
        for uid, node in built["nodes"].items()
        if node.get("resource_type") == "model" and node.get("access") == "public"
    }
    assert public_ids and set(contract["nodes"]) == public_ids
    assert len(public_ids) < len(built["nodes"])
    assert all(node["access"] == "public" for node in contract["nodes"].values())
    assert b'"raw_code"' not in manifest_bytes and b'"compiled_code"' not in manifest_bytes
    assert {m["unique_id"] for m in metadata["public_models"]} == public_ids

    # Same contract => same bytes as the local registry the seed steps published to.
    assert manifest_bytes == (built_mesh / "registry" / "dbt_up" / "prod" / "latest" / "manifest.json").read_bytes()


def test_republish_unchanged_is_a_no_op_unless_forced(built_mesh: Path, published: S3Bucket) -> None:
    before = published.snapshot()
    again = publish_cli(built_mesh / "dbt_up", published)
    assert_ok(again)
    assert "contract unchanged" in again.stdout
    assert published.snapshot() == before
    assert len(history_stamps(published)) == 1

    forced = publish_cli(built_mesh / "dbt_up", published, "--force")
    assert_ok(forced)
    stamps = history_stamps(published)
    assert len(stamps) == 2
    metadata = json.loads(published.read(LATEST_META))
    assert metadata["history_id"] == stamps[-1]
    assert published.read(LATEST) == published.read(f"{HISTORY}{stamps[0]}/manifest.json")


def test_endpoint_url_flag_without_env_var(built_mesh: Path, s3_bucket: S3Bucket) -> None:
    env = s3_env(None)  # fake credentials, no AWS_ENDPOINT_URL_S3
    assert "AWS_ENDPOINT_URL_S3" not in env and "AWS_ENDPOINT_URL" not in env
    result = publish_cli(built_mesh / "dbt_up", s3_bucket, "--endpoint-url", s3_bucket.endpoint, env=env)
    assert_ok(result)
    assert LATEST in s3_bucket.object_keys()


# The backend's conditional writes, prefix confinement and fail-closed run on every backend in
# test_cloud_registries.py. Racing publishers (8 real processes against moto, stalls and kills at every write) are in
# test_registry_faults.py.


# --- sync and validate ---------------------------------------------------------------------------


def test_sync_check_and_validate_against_s3(built_mesh: Path, published: S3Bucket, down_project: Path) -> None:
    env = s3_env(published.endpoint)
    expected = (built_mesh / "dbt_down" / MESH_FILE).read_bytes()
    (down_project / MESH_FILE).unlink()

    synced = meshkit(
        "sync",
        "--project-dir",
        down_project,
        "--upstream",
        "dbt_up",
        "--registry",
        published.url(),
        cwd=down_project,
        env=env,
    )
    assert_ok(synced)
    assert "wrote" in synced.stdout
    assert (down_project / MESH_FILE).read_bytes() == expected

    check = meshkit(
        "sync",
        "--project-dir",
        down_project,
        "--upstream",
        "dbt_up",
        "--registry",
        published.url(),
        "--check",
        cwd=down_project,
        env=env,
    )
    assert_ok(check)
    assert "up to date" in check.stdout

    (down_project / MESH_FILE).write_bytes(SENTINEL)
    stale = meshkit(
        "sync",
        "--project-dir",
        down_project,
        "--upstream",
        "dbt_up",
        "--registry",
        published.url(),
        "--check",
        cwd=down_project,
        env=env,
    )
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "STALE" in stale.stdout
    assert (down_project / MESH_FILE).read_bytes() == SENTINEL

    validated = meshkit(
        "validate", "--root", built_mesh, "--all", "--registry", published.url(), cwd=built_mesh, env=env
    )
    assert_ok(validated)
    assert f"registry {published.url()}" in validated.stdout


def test_seed_wrappers_over_s3(mesh: Path, s3_bucket: S3Bucket) -> None:
    env = s3_env(s3_bucket.endpoint)
    local_registry = snapshot(mesh / "registry")

    wrapped = run(["python3", "publish_manifest.py", "--bucket", s3_bucket.name], cwd=mesh / "dbt_up", env=env)
    assert_ok(wrapped)
    assert LATEST in s3_bucket.object_keys() and LATEST_META in s3_bucket.object_keys()
    assert all(key.startswith(f"{PREFIX}/") for key in s3_bucket.object_keys())
    assert snapshot(mesh / "registry") == local_registry  # --bucket means S3 only

    expected = (mesh / "dbt_down" / MESH_FILE).read_bytes()
    (mesh / "dbt_down" / MESH_FILE).unlink()
    synced = run(
        ["python3", "scripts/sync_mesh.py"], cwd=mesh / "dbt_down", env={**env, "DBT_MESH_BUCKET": s3_bucket.name}
    )
    assert_ok(synced)
    assert (mesh / "dbt_down" / MESH_FILE).read_bytes() == expected

    validated = run(["python3", "validate_lineage.py", "--all", "--bucket", s3_bucket.name], cwd=mesh, env=env)
    assert_ok(validated)
    assert f"s3://{s3_bucket.name}/{PREFIX}" in validated.stdout


@pytest.mark.dbt
def test_dbt_loom_reads_the_contract_from_s3(mesh: Path, s3_bucket: S3Bucket) -> None:
    import duckdb

    env = s3_env(s3_bucket.endpoint)
    assert_ok(publish_cli(mesh / "dbt_up", s3_bucket))
    shutil.rmtree(mesh / "registry")  # the file-based loom config could not work now
    loom = mesh / "dbt_down_loom"
    (loom / "target" / "manifest.json").unlink()
    (loom / "dbt_down_loom.duckdb").unlink()

    built = dbt(
        loom,
        "build",
        env={
            **env,
            "DBT_LOOM_CONFIG": "dbt_loom.s3.config.yml",
            "MESHKIT_S3_BUCKET": s3_bucket.name,
            "MESHKIT_S3_PREFIX": PREFIX,
            "MESHKIT_ENV": "prod",
        },
    )
    assert_ok(built)

    manifest = json.loads((loom / "target" / "manifest.json").read_bytes())
    assert "model.dbt_up.public_orders" in manifest["parent_map"]["model.dbt_down_loom.loom_orders_by_status"]
    with duckdb.connect(str(loom / "dbt_down_loom.duckdb"), read_only=True) as con:
        (rows,) = con.execute("select count(*) from main.loom_orders_by_status").fetchone()
    assert rows == 4


# --- errors: exit 2, one line, nothing written ---------------------------------------------------


def run_sync(project: Path, registry: str, *extra: str, upstream: str = "dbt_up", env: dict[str, str]) -> Any:
    return meshkit(
        "sync", "--project-dir", project, "--upstream", upstream, "--registry", registry, *extra, cwd=project, env=env
    )


@pytest.mark.parametrize("via", ["flag", "env"])
@pytest.mark.parametrize("command", ["publish", "sync"])
def test_unreachable_endpoint(
    command: str,
    via: str,
    built_mesh: Path,
    down_project: Path,
    s3_bucket: S3Bucket,
    closed_endpoint: str,
) -> None:
    if via == "flag":  # AWS_ENDPOINT_URL_S3 points at moto: the flag must win
        env, flag = s3_env(s3_bucket.endpoint), ["--endpoint-url", closed_endpoint]
    else:
        env, flag = s3_env(closed_endpoint), []
    (down_project / MESH_FILE).write_bytes(SENTINEL)
    started = time.monotonic()
    if command == "publish":
        result = publish_cli(built_mesh / "dbt_up", s3_bucket, *flag, env=env)
    else:
        result = run_sync(down_project, s3_bucket.url(), *flag, env=env)
    elapsed = time.monotonic() - started

    assert result.returncode == 2, result.stdout + result.stderr
    line = one_line_error(result)
    assert "cannot reach" in line and closed_endpoint in line
    assert elapsed < 20, f"giving up on an unreachable endpoint took {elapsed:.1f}s"
    assert s3_bucket.object_keys() == []
    assert (down_project / MESH_FILE).read_bytes() == SENTINEL


@pytest.mark.parametrize("command", ["publish", "sync"])
def test_missing_bucket(command: str, built_mesh: Path, down_project: Path, s3_bucket: S3Bucket) -> None:
    env = s3_env(s3_bucket.endpoint)
    missing = f"{s3_bucket.name}-missing"
    registry = f"s3://{missing}/{PREFIX}"
    buckets_before = {b["Name"] for b in s3_bucket.client.list_buckets()["Buckets"]}
    (down_project / MESH_FILE).write_bytes(SENTINEL)
    if command == "publish":
        result = meshkit(
            "publish",
            "--project-dir",
            built_mesh / "dbt_up",
            "--registry",
            registry,
            cwd=built_mesh / "dbt_up",
            env=env,
        )
    else:
        result = run_sync(down_project, registry, env=env)

    assert result.returncode == 2, result.stdout + result.stderr
    line = one_line_error(result)
    assert f"bucket {missing!r} does not exist" in line
    assert {b["Name"] for b in s3_bucket.client.list_buckets()["Buckets"]} == buckets_before
    assert (down_project / MESH_FILE).read_bytes() == SENTINEL


def test_sync_unknown_upstream(published: S3Bucket, down_project: Path) -> None:
    before = published.snapshot()
    (down_project / MESH_FILE).write_bytes(SENTINEL)
    result = run_sync(down_project, published.url(), upstream="nope", env=s3_env(published.endpoint))

    assert result.returncode == 2, result.stdout + result.stderr
    line = one_line_error(result)
    assert "no project 'nope'" in line and "dbt_up" in line
    assert published.snapshot() == before
    assert (down_project / MESH_FILE).read_bytes() == SENTINEL
    assert not (down_project / "models" / "_mesh_nope.yml").exists()


@pytest.mark.parametrize("url", ["s3:///x", "s3://"])
def test_publish_url_without_bucket(url: str, built_mesh: Path, s3_bucket: S3Bucket) -> None:
    buckets_before = s3_bucket.client.list_buckets()["Buckets"]
    result = meshkit(
        "publish",
        "--project-dir",
        built_mesh / "dbt_up",
        "--registry",
        url,
        cwd=built_mesh / "dbt_up",
        env=s3_env(s3_bucket.endpoint),
    )

    assert result.returncode == 2, result.stdout + result.stderr
    line = one_line_error(result)
    assert "has no bucket" in line and url in line
    assert s3_bucket.client.list_buckets()["Buckets"] == buckets_before
    assert s3_bucket.object_keys() == []


def test_sync_refuses_a_corrupted_latest_manifest(published: S3Bucket, down_project: Path) -> None:
    current = f"{HISTORY}{json.loads(published.read(POINTER))['history_id']}/manifest.json"
    tampered = published.read(current).replace(b'"public"', b'"private"', 1)
    assert tampered != published.read(current)
    json.loads(tampered)  # still valid JSON: only the sha256 can tell
    published.write(current, tampered)
    before = published.snapshot()
    (down_project / MESH_FILE).write_bytes(SENTINEL)

    result = run_sync(down_project, published.url(), env=s3_env(published.endpoint))

    assert result.returncode == 2, result.stdout + result.stderr
    line = one_line_error(result)
    assert "sha256" in line and current.split("/", 1)[1] in line
    assert published.snapshot() == before
    assert (down_project / MESH_FILE).read_bytes() == SENTINEL


# --- consumer index, check and catalog ------------------------------------------------------------


def test_consumer_index_check_and_catalog_over_s3(built_mesh: Path, published: S3Bucket, tmp_path: Path) -> None:
    env = s3_env(published.endpoint)
    recorded = meshkit(
        "validate",
        "--root",
        built_mesh,
        "--all",
        "--registry",
        published.url(),
        "--record-consumer",
        "--git-commit",
        "0123abcd",
        "--format",
        "json",
        cwd=built_mesh,
        env=env,
    )
    assert_ok(recorded)
    assert json.loads(recorded.stdout)["ok"] is True  # stdout stays pure JSON; the keys go to stderr
    keys = published.object_keys(f"{PREFIX}/dbt_up/prod/consumers/")
    assert keys == [
        f"{PREFIX}/dbt_up/prod/consumers/dbt_down.json",
        f"{PREFIX}/dbt_up/prod/consumers/dbt_down_loom.json",
    ]
    record = json.loads(published.read(keys[1]))
    assert record["format"] == "meshkit-consumer/2" and record["git_commit"] == "0123abcd"
    assert {u["unique_id"] for u in record["uses"]} == {
        "model.dbt_up.public_orders",
        "model.dbt_up.public_customers.v1",
        "model.dbt_up.public_customers.v2",
    }

    # The PR build: public_orders made protected (edit the manifest copy as a new build would have it).
    manifest = json.loads((built_mesh / "dbt_up" / "target" / "manifest.json").read_text())
    manifest["nodes"]["model.dbt_up.public_orders"]["access"] = "protected"
    pr_manifest = tmp_path / "manifest.json"
    pr_manifest.write_text(json.dumps(manifest))
    checked = meshkit(
        "check",
        "--project-dir",
        built_mesh / "dbt_up",
        "--manifest",
        pr_manifest,
        "--registry",
        published.url(),
        "--format",
        "json",
        cwd=built_mesh,
        env=env,
    )
    assert checked.returncode == 1, checked.stderr
    report = json.loads(checked.stdout)
    [change] = [c for c in report["changes"] if c["breaking"]]
    assert (change["code"], change["after"]) == ("access-lowered", "protected")
    assert {i["downstream"] for i in change["impacts"]} == {"dbt_down", "dbt_down_loom"}

    page = tmp_path / "catalog.html"
    cataloged = meshkit("catalog", "--registry", published.url(), "--output", page, cwd=tmp_path, env=env)
    assert_ok(cataloged)
    assert page.read_text().startswith("<!doctype html>")
    data = meshkit("catalog", "--registry", published.url(), "--format", "json", "--output", "-", cwd=tmp_path, env=env)
    assert_ok(data)
    [entry] = json.loads(data.stdout)["entries"]
    assert sorted(c["downstream"] for c in entry["consumers"]) == ["dbt_down", "dbt_down_loom"]
    [contract] = [c for c in json.loads(data.stdout)["contracts"] if c["sha256"] == entry["sha256"]]
    assert "model.dbt_up.public_orders" in {m["unique_id"] for m in contract["models"]}

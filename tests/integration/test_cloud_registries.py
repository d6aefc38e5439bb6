"""The same guarantees on every object-store registry: S3 (moto), GCS (fake-gcs-server) and Azure Blob (Azurite).

Each test runs once per backend against its emulator on loopback, through the real CLI in child
processes (fake credentials, explicit loopback endpoints): the backend's conditional writes, prefix
confinement, fail-closed on a damaged registry, the whole chain (publish, sync, validate recording the
consumers, a breaking check naming them, the catalog, dbt-loom's own client for that cloud), and one
clear line for an unreachable endpoint or a missing bucket or container. Racers, kills and stalls are
in test_registry_faults.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from meshkit.errors import ConflictError
from meshkit.registry import Blob
from support.cloudstores import Store, azurite, fake_gcs_server, moto_server, s3_bucket, store  # noqa: F401
from support.helpers import dbt, meshkit, one_line_error
from support.s3server import free_port

pytestmark = pytest.mark.cloud

PREFIX = "registry"
MESH_FILE = Path("models") / "_mesh_dbt_up.yml"
SENTINEL = b"# sentinel: a failed sync must leave this file alone\n"
# Objects beside the registry that no command may read or touch: a sibling whose name extends the prefix, too.
OUTSIDE = {
    "other/dbt_up/prod/latest/pointer.json": b'{"not": "ours"}',
    "registry-old/dbt_up/prod/latest/manifest.json": b"{}",
    "registryx.json": b"[]",
}


def assert_ok(result: Any) -> None:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def publish(project_dir: Path, store: Store, *extra: str, env: dict[str, str] | None = None) -> Any:
    return meshkit(
        "publish",
        "--project-dir",
        project_dir,
        "--registry",
        store.url(),
        *extra,
        cwd=project_dir,
        env=env or store.env(),
    )


@pytest.fixture
def down_project(built_mesh: Path, tmp_path: Path) -> Path:
    """A writable copy of the built dbt_down project's sources (no target, no database): enough for sync."""
    ignore = shutil.ignore_patterns("target", "logs", "*.duckdb", "*.duckdb.wal", "__pycache__")
    return Path(shutil.copytree(built_mesh / "dbt_down", tmp_path / "dbt_down", ignore=ignore))


def test_backend_conditional_writes_get_and_list(store: Store) -> None:
    registry = store.registry("reg/nested")
    assert registry.url == store.url("reg/nested")
    assert registry.get("p/prod/latest/manifest.json") is None
    assert registry.list("") == []

    registry.put("p/prod/latest/manifest.json", b"one", if_absent=True)
    first = registry.get("p/prod/latest/manifest.json")
    assert isinstance(first, Blob) and first.data == b"one" and first.etag
    with pytest.raises(ConflictError):
        registry.put("p/prod/latest/manifest.json", b"two", if_absent=True)
    assert store.read("reg/nested/p/prod/latest/manifest.json") == b"one"

    registry.put("p/prod/latest/manifest.json", b"two", if_match=first.etag)
    second = registry.get("p/prod/latest/manifest.json")
    assert second is not None and second.data == b"two" and second.etag != first.etag
    with pytest.raises(ConflictError):
        registry.put("p/prod/latest/manifest.json", b"three", if_match=first.etag)  # stale tag
    with pytest.raises(ConflictError):
        registry.put("p/prod/other.json", b"x", if_match=first.etag)  # the object it expected is gone
    assert registry.get("p/prod/latest/manifest.json") == second
    assert registry.get("p/prod/other.json") is None

    registry.put("p/prod/history/2/manifest.json", b"h2")
    registry.put("p/prod/history/1/manifest.json", b"h1")
    registry.put("q/prod/latest/manifest.json", b"q")
    store.write("outside/prefix.json", b"not ours")
    store.write("reg/nestedx/p/prod/latest/manifest.json", b"a sibling prefix")
    assert registry.list("") == [
        "p/prod/history/1/manifest.json",
        "p/prod/history/2/manifest.json",
        "p/prod/latest/manifest.json",
        "q/prod/latest/manifest.json",
    ]
    assert registry.list("p/prod/history/") == ["p/prod/history/1/manifest.json", "p/prod/history/2/manifest.json"]
    assert registry.list("nope/") == []
    registry.delete("p/prod/history/1/manifest.json")
    registry.delete("p/prod/history/1/manifest.json")  # already gone: not an error
    assert registry.list("p/prod/history/") == ["p/prod/history/2/manifest.json"]


def test_the_chain_stays_inside_its_prefix(built_mesh: Path, down_project: Path, store: Store, tmp_path: Path) -> None:
    """publish, sync, validate --record-consumer, a breaking check naming both consumers, the catalog."""
    for key, data in OUTSIDE.items():
        store.write(key, data)
    outside_before = {k: v for k, v in store.snapshot().items() if k in OUTSIDE}
    env = store.env()

    assert_ok(publish(built_mesh / "dbt_up", store))
    expected = (built_mesh / "dbt_down" / MESH_FILE).read_bytes()
    (down_project / MESH_FILE).unlink()
    synced = meshkit(
        "sync",
        "--project-dir",
        down_project,
        "--upstream",
        "dbt_up",
        "--registry",
        store.url(),
        cwd=down_project,
        env=env,
    )
    assert_ok(synced)
    assert (down_project / MESH_FILE).read_bytes() == expected

    recorded = meshkit(
        "validate", "--root", built_mesh, "--all", "--registry", store.url(), "--record-consumer",
        "--git-commit", "0123abcd", "--format", "json", cwd=built_mesh, env=env,
    )  # fmt: skip
    assert_ok(recorded)
    assert json.loads(recorded.stdout)["ok"] is True
    consumers = store.object_keys(f"{PREFIX}/dbt_up/prod/consumers/")
    assert consumers == [
        f"{PREFIX}/dbt_up/prod/consumers/dbt_down.json",
        f"{PREFIX}/dbt_up/prod/consumers/dbt_down_loom.json",
    ]

    manifest = json.loads((built_mesh / "dbt_up" / "target" / "manifest.json").read_text())
    manifest["nodes"]["model.dbt_up.public_orders"]["access"] = "protected"
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    checked = meshkit(
        "check", "--project-dir", built_mesh / "dbt_up", "--manifest", tmp_path / "manifest.json",
        "--registry", store.url(), "--format", "json", cwd=built_mesh, env=env,
    )  # fmt: skip
    assert checked.returncode == 1, checked.stderr
    [change] = [c for c in json.loads(checked.stdout)["changes"] if c["breaking"]]
    assert {i["downstream"] for i in change["impacts"]} == {"dbt_down", "dbt_down_loom"}

    page = tmp_path / "catalog.html"
    assert_ok(meshkit("catalog", "--registry", store.url(), "--output", page, cwd=tmp_path, env=env))
    assert page.read_text().startswith("<!doctype html>")
    data = meshkit("catalog", "--registry", store.url(), "--format", "json", "--output", "-", cwd=tmp_path, env=env)
    assert_ok(data)
    [entry] = json.loads(data.stdout)["entries"]
    assert sorted(c["downstream"] for c in entry["consumers"]) == ["dbt_down", "dbt_down_loom"]

    written = [key for key in store.object_keys() if key not in OUTSIDE]
    assert written and all(key.startswith(f"{PREFIX}/dbt_up/prod/") for key in written), written
    assert {k: v for k, v in store.snapshot().items() if k in OUTSIDE} == outside_before


@pytest.mark.dbt
@pytest.mark.parametrize("store", ["gcs", "azure"], indirect=True)
def test_dbt_loom_reads_the_contract_with_its_own_client(mesh: Path, store: Store) -> None:
    """dbt-loom's `gcs` and `azure` types (google-cloud-storage, azure-storage-blob) read what meshkit published."""
    import duckdb

    env = store.env()
    assert_ok(publish(mesh / "dbt_up", store))
    shutil.rmtree(mesh / "registry")  # the file-based loom config could not work now
    loom = mesh / "dbt_down_loom"
    (loom / "target" / "manifest.json").unlink()
    (loom / "dbt_down_loom.duckdb").unlink()
    if store.backend == "gcs":
        bucket = store.url().removeprefix("gs://").split("/")[0]
        loom_env = {"MESHKIT_GCS_BUCKET": bucket, "MESHKIT_GCS_PREFIX": PREFIX, "MESHKIT_GCP_PROJECT": "meshkit-test"}
    else:
        container = store.url().removeprefix("az://").split("/")[0]
        loom_env = {"MESHKIT_AZURE_ACCOUNT": "devstoreaccount1", "MESHKIT_AZURE_CONTAINER": container}
        loom_env["MESHKIT_AZURE_PREFIX"] = PREFIX
    config = f"dbt_loom.{store.backend}.config.yml"
    built = dbt(loom, "build", env={**env, **loom_env, "DBT_LOOM_CONFIG": config, "MESHKIT_ENV": "prod"})
    assert_ok(built)
    manifest = json.loads((loom / "target" / "manifest.json").read_bytes())
    assert "model.dbt_up.public_orders" in manifest["parent_map"]["model.dbt_down_loom.loom_orders_by_status"]
    with duckdb.connect(str(loom / "dbt_down_loom.duckdb"), read_only=True) as con:
        (rows,) = con.execute("select count(*) from main.loom_orders_by_status").fetchone()
    assert rows == 4


def test_a_registry_that_lost_its_latest_contract_fails_closed(
    built_mesh: Path, down_project: Path, store: Store
) -> None:
    """History and consumer records remain: check must not pass a PR as "no contract yet", nor sync call it empty."""
    assert_ok(publish(built_mesh / "dbt_up", store))
    for key in store.object_keys(f"{PREFIX}/dbt_up/prod/latest/"):
        store.delete(key)
    assert store.object_keys(f"{PREFIX}/dbt_up/prod/history/")
    before = store.snapshot()
    (down_project / MESH_FILE).write_bytes(SENTINEL)
    env = store.env()
    commands = {
        "check": ("check", "--project-dir", built_mesh / "dbt_up"),
        "sync": ("sync", "--project-dir", down_project, "--upstream", "dbt_up"),
        "validate": ("validate", "--manifest", built_mesh / "dbt_down" / "target" / "manifest.json"),
    }
    for name, args in commands.items():
        result = meshkit(*args, "--registry", store.url(), cwd=down_project, env=env)
        assert result.returncode == 2, (name, result.stdout, result.stderr)
        assert "no readable latest contract" in one_line_error(result), name
    assert store.snapshot() == before
    assert (down_project / MESH_FILE).read_bytes() == SENTINEL
    assert_ok(publish(built_mesh / "dbt_up", store))  # a plain republish repairs it
    assert_ok(meshkit(*commands["check"], "--registry", store.url(), cwd=down_project, env=env))


@pytest.mark.parametrize("command", ["publish", "sync"])
def test_unreachable_endpoint_is_one_line(command: str, built_mesh: Path, down_project: Path, store: Store) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    env = store.env(endpoint=closed)
    (down_project / MESH_FILE).write_bytes(SENTINEL)
    if command == "publish":
        result = publish(built_mesh / "dbt_up", store, env=env)
    else:
        args = ("sync", "--project-dir", down_project, "--upstream", "dbt_up", "--registry", store.url())
        result = meshkit(*args, cwd=down_project, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    line = one_line_error(result)
    assert "cannot reach" in line and closed in line, line
    assert store.object_keys() == []
    assert (down_project / MESH_FILE).read_bytes() == SENTINEL


@pytest.mark.parametrize("command", ["publish", "sync"])
def test_a_missing_bucket_or_container_is_one_line(
    command: str, built_mesh: Path, down_project: Path, store: Store
) -> None:
    scheme, _, rest = store.url().partition("://")
    name = rest.split("/")[0]
    missing = f"{scheme}://{name}-missing/{PREFIX}"
    (down_project / MESH_FILE).write_bytes(SENTINEL)
    if command == "publish":
        args = ("publish", "--project-dir", built_mesh / "dbt_up")
    else:
        args = ("sync", "--project-dir", down_project, "--upstream", "dbt_up")
    result = meshkit(*args, "--registry", missing, cwd=down_project, env=store.env())
    assert result.returncode == 2, result.stdout + result.stderr
    kind = "container" if store.backend == "azure" else "bucket"
    assert f"{kind} '{name}-missing' does not exist" in one_line_error(result)
    assert (down_project / MESH_FILE).read_bytes() == SENTINEL

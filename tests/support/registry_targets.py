"""Registries the registry tests run against (a local folder, moto's S3, fake-gcs-server, Azurite), and real
publishers to run on them.

A Target is one registry as child processes see it (a URL and an environment) and as the test reads it (a
Registry). Publishers are real `meshkit publish` processes. One can be stopped before its Nth registry write
(to kill or resume it): by tests/support/faults/sitecustomize.py inside the process for a local folder and S3
(boto3), by a proxy on the wire for GCS and Azure (support/faultproxy.py). The sitecustomize hook can also
fail every write from the Nth on (a full disk, a store that refuses writes). `faketime` (Debian's
libfaketime) gives a publisher a wrong clock.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from meshkit.contract.model import publish_order
from meshkit.registry import Registry
from meshkit.registry.local import LocalRegistry
from meshkit.registry.published import parse_metadata, read_entry, read_latest
from support.cloudstores import BACKENDS, Store, load, new_store
from support.faultproxy import FaultProxy
from support.helpers import REPO, clean_env, meshkit

FAULTS = REPO / "tests" / "support" / "faults"
# A publish's registry writes, in order: `at=N` stops a publisher before its Nth.
WRITES = ("history manifest", "history view", "history metadata", "pointer", "latest manifest", "latest metadata")
WRITES_PER_PUBLISH = len(WRITES)
BEFORE_METADATA = WRITES.index("history metadata") + 1  # the entry is written but not complete
BEFORE_POINTER = WRITES.index("pointer") + 1  # the entry is complete, the commit point not reached
AFTER_POINTER = WRITES.index("latest manifest") + 1  # committed; latest's copies not yet written
HISTORY = "dbt_up/prod/history/"
LATEST = "dbt_up/prod/latest/"


@dataclass
class Target:
    """A registry as the child processes see it (url, env) and as this process reads it."""

    url: str
    env: dict[str, str]
    registry: Registry
    local_root: Path | None = None
    store: Store | None = None
    proxies: list[FaultProxy] = field(default_factory=list)

    @property
    def hooked(self) -> bool:
        """Faults come from inside the publisher (local, boto3), not from a proxy on the wire."""
        return self.store is None or self.store.backend == "s3"

    def publisher_env(self, at: int, marker: Path | None, go: Path | None) -> dict[str, str]:
        """The environment of a publisher stopped before its at-th write: a hook inside it, or a proxy before GCS/Azure."""
        if not at or self.hooked:
            env = dict(self.env)
            env["PYTHONPATH"] = os.pathsep.join([str(FAULTS), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
            env.update(MESHKIT_FAULT_AT=str(at), MESHKIT_FAULT_MARKER=str(marker or ""), MESHKIT_FAULT_GO=str(go or ""))
            if self.store is not None:
                env["MESHKIT_FAULT_S3"] = "1"
            return env
        assert marker is not None and self.store is not None
        proxy = FaultProxy(self.store.endpoint, at=at, marker=marker, go=go).__enter__()
        self.proxies.append(proxy)
        return self.store.env(endpoint=proxy.url)


@pytest.fixture(params=["local", *BACKENDS])
def target(request: pytest.FixtureRequest, mesh: Path) -> Iterator[Target]:
    """The demo mesh's registry (dbt_up published), locally or copied into a fresh bucket or container."""
    if request.param == "local":
        yield Target("registry", clean_env(), LocalRegistry(mesh / "registry"), mesh / "registry")
        return
    with new_store(request, request.param) as store:
        load(store, mesh / "registry")
        target = Target(store.url(), store.env(), store.registry(), store=store)
        yield target
        for proxy in target.proxies:
            proxy.__exit__()


def variant(mesh: Path, name: str, word: str) -> Path:
    """A copy of dbt_up whose manifest differs in one public model's description: a different contract."""
    project = mesh / name
    if not project.exists():
        shutil.copytree(mesh / "dbt_up", project, ignore=shutil.ignore_patterns("logs", "*.duckdb"))
    path = project / "target" / "manifest.json"
    manifest = json.loads((mesh / "dbt_up" / "target" / "manifest.json").read_text())
    node = next(n for n in manifest["nodes"].values() if n.get("access") == "public")
    node["description"] = f"{node.get('description') or ''} ({word})"
    path.write_text(json.dumps(manifest))
    return project


def start_publish(
    target: Target,
    project: Path,
    cwd: Path,
    *,
    at: int = 0,
    marker: Path | None = None,
    go: Path | None = None,
    fail: bool = False,
    before_temp_file: bool = False,
    clock: str | None = None,
    extra: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    """A publisher. at/marker/go: stop before the at-th write; fail: instead, fail that write and every later one;
    before_temp_file: locally, stop where the write begins (outside the registry lock), not where it lands.

    clock: a faketime offset such as "+1h" or "-1d": the publisher's whole process runs with that clock."""
    env = target.publisher_env(at, marker, go)
    if fail or before_temp_file:
        assert target.hooked, "failing writes and temp-file boundaries are hooks inside local and boto3 publishers"
    if fail:
        env["MESHKIT_FAULT_FAIL"] = "1"
    if before_temp_file:
        env["MESHKIT_FAULT_TEMP"] = "1"
    env.update(extra or {})
    argv = [sys.executable, "-m", "meshkit", "publish", "--project-dir", str(project), "--project", "dbt_up"]
    argv += ["--registry", target.url, "--format", "json"]
    if clock:
        argv = ["faketime", "-f", clock, *argv]
    return subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def publish_now(target: Target, project: Path, cwd: Path, **options: object) -> dict[str, object]:
    """Run a publisher to the end; its JSON report. It must exit 0."""
    process = start_publish(target, project, cwd, **options)  # type: ignore[arg-type]
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def wait_for(path: Path, process: subprocess.Popen[str], timeout: float = 120) -> bool:
    """True once the publisher stopped at its boundary; False if it finished first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return True
        if process.poll() is not None:
            return path.exists()
        time.sleep(0.01)
    raise AssertionError("the publisher neither stopped nor finished")


def complete_entries(registry: Registry) -> dict[str, str]:
    """Every history entry that has its metadata, checked whole: id -> sha256. Raises on a damaged one."""
    stamps = sorted({key[len(HISTORY) :].split("/")[0] for key in registry.list(HISTORY)})
    found = {}
    for stamp in stamps:
        if registry.get(f"{HISTORY}{stamp}/metadata.json") is None:
            continue  # begun, never completed: never named by latest, swept later
        found[stamp] = read_entry(registry, "dbt_up", "prod", stamp).metadata.sha256
    return found


def entry_orders(registry: Registry) -> dict[str, tuple[int, float, str]]:
    """Each complete entry's publish_order: the sequence its publisher saw, the store's time of its manifest, its id."""
    stored = {item.key[len(HISTORY) :].split("/")[0]: item.written_at for item in registry.listing(HISTORY)
              if item.key.endswith("/manifest.json")}  # fmt: skip
    orders = {}
    for stamp in complete_entries(registry):
        blob = registry.get(f"{HISTORY}{stamp}/metadata.json")
        assert blob is not None
        based_on = parse_metadata(blob, stamp).based_on or 0
        orders[stamp] = publish_order(based_on, stored[stamp], stamp)
    return orders


def assert_readers_work(target: Target, mesh: Path, allowed: set[str]) -> str:
    """check, sync and an in-process read all see one whole contract, one of `allowed`."""
    sha = read_latest(target.registry, "dbt_up", "prod").sha256
    assert sha in allowed
    for args in (("check", "--project-dir", "dbt_up"), ("sync", "--project-dir", "dbt_down", "--upstream", "dbt_up")):
        result = meshkit(*args, "--registry", target.url, cwd=mesh, env=target.env)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    return sha


def assert_converged(target: Target) -> str:
    """latest names the newest complete entry (by publish_order), its copies match it, nothing half-written is left."""
    entries = complete_entries(target.registry)
    orders = entry_orders(target.registry)
    newest = max(entries, key=orders.__getitem__)
    pointer_blob = target.registry.get(f"{LATEST}pointer.json")
    assert pointer_blob is not None
    pointer = json.loads(pointer_blob.data)
    assert pointer["history_id"] == newest and pointer["sha256"] == entries[newest]
    copy = target.registry.get(f"{LATEST}manifest.json")
    assert copy is not None and hashlib.sha256(copy.data).hexdigest() == entries[newest]
    metadata_blob = target.registry.get(f"{LATEST}metadata.json")
    assert metadata_blob is not None
    metadata = json.loads(metadata_blob.data)
    assert (metadata["history_id"], metadata["sha256"]) == (newest, entries[newest])
    keys = target.registry.list(HISTORY)
    assert all(k.rsplit("/", 2)[1] in entries for k in keys), keys  # no incomplete entry survived the sweep
    if target.local_root is not None:
        assert not list(target.local_root.rglob(".tmp-*"))
    return newest


def latest_id(registry: Registry) -> str:
    blob = registry.get(f"{LATEST}pointer.json")
    assert blob is not None
    return str(json.loads(blob.data)["history_id"])


def replace_latest_contract(registry: Registry, data: bytes, project: str = "dbt_up", env: str = "prod") -> None:
    """Replace the current contract as a careful hand edit would, on any backend: every sha256 and size made to match."""
    latest = f"{project}/{env}/latest/"
    pointer_blob = registry.get(f"{latest}pointer.json")
    assert pointer_blob is not None
    entry = f"{project}/{env}/history/{json.loads(pointer_blob.data)['history_id']}/"
    digest = hashlib.sha256(data).hexdigest()
    for key in (f"{entry}metadata.json", f"{latest}metadata.json", f"{latest}pointer.json"):
        blob = registry.get(key)
        assert blob is not None
        document = json.loads(blob.data)
        document["sha256"] = digest
        if "size" in document:
            document["size"] = len(data)
        registry.put(key, json.dumps(document).encode())
    registry.put(f"{entry}manifest.json", data)
    registry.put(f"{latest}manifest.json", data)

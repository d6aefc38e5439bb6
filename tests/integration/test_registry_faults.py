"""A publish has one commit point: kills and stalls at every write boundary, racing publishers, random kills.

Each publisher is a real `meshkit publish` process against a local folder, moto's S3 server,
fake-gcs-server or Azurite. It is stopped before its Nth registry write, then killed with SIGKILL or
let go: locally and on S3 by tests/support/faults/sitecustomize.py (an audit hook and botocore's
before-send event), on GCS and Azure by tests/support/faultproxy.py, a loopback proxy that holds the
Nth write request on the wire (obstore's HTTP client is Rust, out of Python's reach). Afterwards
readers must work (never a torn contract), every complete history entry must be intact, and the next
publish must converge.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from meshkit.registry import Registry
from meshkit.registry.local import LocalRegistry
from meshkit.registry.published import read_entry, read_latest
from support.cloudstores import BACKENDS, Store, azurite, fake_gcs_server, load, moto_server, new_store, s3_bucket  # noqa: F401
from support.faultproxy import FaultProxy
from support.helpers import REPO, clean_env, meshkit

pytestmark = pytest.mark.dbt

FAULTS = REPO / "tests" / "support" / "faults"
WRITES_PER_PUBLISH = 5  # history manifest, history metadata, pointer, latest manifest, latest metadata
RACERS = 8


@dataclass
class Target:
    """A registry as the child processes see it (url, env) and as this process reads it."""

    url: str
    env: dict[str, str]
    registry: Registry
    local_root: Path | None = None
    store: Store | None = None
    proxies: list[FaultProxy] = field(default_factory=list)

    def faulted_env(self, at: int, marker: Path | None, go: Path | None) -> dict[str, str]:
        """The environment of a publisher stopped before its at-th write: a hook inside it, or a proxy before GCS/Azure."""
        if not at or self.store is None or self.store.backend == "s3":
            env = dict(self.env)
            env["PYTHONPATH"] = os.pathsep.join([str(FAULTS), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
            env.update(MESHKIT_FAULT_AT=str(at), MESHKIT_FAULT_MARKER=str(marker or ""), MESHKIT_FAULT_GO=str(go or ""))
            if self.store is not None:
                env["MESHKIT_FAULT_S3"] = "1"
            return env
        assert marker is not None
        proxy = FaultProxy(self.store.endpoint, at=at, marker=marker, go=go).__enter__()
        self.proxies.append(proxy)
        return self.store.env(endpoint=proxy.url)


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
    extra: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    env = target.faulted_env(at, marker, go)
    env.update(extra or {})
    argv = [
        sys.executable,
        "-m",
        "meshkit",
        "publish",
        "--project-dir",
        str(project),
        "--project",
        "dbt_up",
        "--registry",
        target.url,
        "--format",
        "json",
    ]
    return subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


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
    prefix = "dbt_up/prod/history/"
    stamps = sorted({key[len(prefix) :].split("/")[0] for key in registry.list(prefix)})
    found = {}
    for stamp in stamps:
        if registry.get(f"{prefix}{stamp}/metadata.json") is None:
            continue  # begun, never completed: never named by latest, swept later
        found[stamp] = read_entry(registry, "dbt_up", "prod", stamp).metadata.sha256
    return found


def assert_readers_work(target: Target, mesh: Path, allowed: set[str]) -> str:
    """check, sync and an in-process read all see one whole contract, one of `allowed`."""
    sha = read_latest(target.registry, "dbt_up", "prod").sha256
    assert sha in allowed
    for args in (("check", "--project-dir", "dbt_up"), ("sync", "--project-dir", "dbt_down", "--upstream", "dbt_up")):
        result = meshkit(*args, "--registry", target.url, cwd=mesh, env=target.env)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    return sha


def assert_converged(target: Target) -> str:
    """latest names the newest complete entry, its copies match it, nothing half-written is left."""
    entries = complete_entries(target.registry)
    newest = max(entries)
    pointer = json.loads(target.registry.get("dbt_up/prod/latest/pointer.json").data)
    assert pointer["history_id"] == newest and pointer["sha256"] == entries[newest]
    copy = target.registry.get("dbt_up/prod/latest/manifest.json")
    assert hashlib.sha256(copy.data).hexdigest() == entries[newest]
    metadata = json.loads(target.registry.get("dbt_up/prod/latest/metadata.json").data)
    assert (metadata["history_id"], metadata["sha256"]) == (newest, entries[newest])
    keys = target.registry.list("dbt_up/prod/history/")
    assert all(k.rsplit("/", 2)[1] in entries for k in keys), keys  # no incomplete entry survived the sweep
    if target.local_root is not None:
        assert not list(target.local_root.rglob(".tmp-*"))
    return newest


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


SWEEP_NOW = {"MESHKIT_SWEEP_AFTER_SECONDS": "0"}


@pytest.mark.parametrize("boundary", range(1, WRITES_PER_PUBLISH + 2))
def test_a_publisher_killed_at_each_write_boundary_tears_nothing(
    target: Target, mesh: Path, tmp_path: Path, boundary: int
) -> None:
    v1 = read_latest(target.registry, "dbt_up", "prod").sha256
    before = complete_entries(target.registry)
    marker = tmp_path / "stopped"
    process = start_publish(target, variant(mesh, "dbt_up_v2", "v2"), mesh, at=boundary, marker=marker)
    stopped = wait_for(marker, process)
    if stopped:
        process.send_signal(signal.SIGKILL)
    process.communicate(timeout=120)
    assert stopped == (boundary <= WRITES_PER_PUBLISH), marker.read_text() if stopped else process.returncode
    after = complete_entries(target.registry)
    assert before.items() <= after.items()  # no history lost or changed
    v2 = {sha for sha in after.values() if sha != v1}
    assert_readers_work(target, mesh, {v1} | v2)

    again = start_publish(target, variant(mesh, "dbt_up_v2", "v2"), mesh, extra=SWEEP_NOW)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    newest = assert_converged(target)
    assert complete_entries(target.registry)[newest] == json.loads(out)["sha256"]


def test_racing_publishers_all_land_and_latest_is_the_newest(target: Target, mesh: Path) -> None:
    projects = [variant(mesh, f"dbt_up_r{i}", f"racer {i}") for i in range(RACERS)]
    before = complete_entries(target.registry)
    racers = [start_publish(target, project, mesh) for project in projects]
    results = [(p.wait(timeout=600), *p.communicate()) for p in racers]
    assert [code for code, _, _ in results] == [0] * RACERS, [err for _, _, err in results]
    reports = [json.loads(out) for _, out, _ in results]
    after = complete_entries(target.registry)
    assert len(after) == len(before) + RACERS and {r["history_id"] for r in reports} <= set(after)
    newest = assert_converged(target)
    winners = [r for r in reports if r["superseded_by"] is None]
    assert newest in {r["history_id"] for r in winners}
    assert all(r["superseded_by"] > r["history_id"] for r in reports if r["superseded_by"])
    assert_readers_work(target, mesh, set(after.values()))


@pytest.mark.parametrize("boundary", [3, 4])  # before the pointer; after it, before the copies
def test_a_stalled_publisher_resumes_without_undoing_a_newer_one(
    target: Target, mesh: Path, tmp_path: Path, boundary: int
) -> None:
    """A stall inside the local registry's lock (boundary 3 there) makes the newer publisher wait, a bounded
    time; on S3 nothing waits. Either way both exit 0 and latest ends at the newer publish."""
    marker, go = tmp_path / "stopped", tmp_path / "go"
    stalled = start_publish(target, variant(mesh, "dbt_up_old", "older"), mesh, at=boundary, marker=marker, go=go)
    assert wait_for(marker, stalled)
    newer = start_publish(target, variant(mesh, "dbt_up_new", "newer"), mesh)
    with contextlib.suppress(subprocess.TimeoutExpired):
        newer.wait(timeout=5)  # locally it waits on the lock the stalled publisher holds
    go.touch()
    out, err = newer.communicate(timeout=300)
    assert newer.returncode == 0, err
    newer_id = json.loads(out)["history_id"]
    old_out, old_err = stalled.communicate(timeout=300)
    assert stalled.returncode == 0, old_err
    old = json.loads(old_out)
    assert old["history_id"] < newer_id and old["superseded_by"] in (None, newer_id)
    assert assert_converged(target) == newer_id


def test_random_kills_never_tear_the_contract(target: Target, mesh: Path, tmp_path: Path) -> None:
    rng = random.Random(12)
    v1 = read_latest(target.registry, "dbt_up", "prod").sha256
    seen = {v1}
    for round_ in range(8):
        marker = tmp_path / f"stopped-{round_}"
        at = rng.randint(1, WRITES_PER_PUBLISH) if round_ % 2 else 0  # at a boundary, or at a random moment
        process = start_publish(target, variant(mesh, "dbt_up_k", f"kill {round_}"), mesh, at=at, marker=marker)
        if at:
            wait_for(marker, process)
        else:
            time.sleep(rng.uniform(0.3, 1.2))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        seen |= set(complete_entries(target.registry).values())
        assert_readers_work(target, mesh, seen)
    final = start_publish(target, variant(mesh, "dbt_up_k", "final"), mesh, extra=SWEEP_NOW)
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err
    assert_converged(target)


def test_a_held_lock_is_waited_for_a_bounded_time(mesh: Path) -> None:
    import fcntl

    with open(mesh / "registry" / ".meshkit.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        env = clean_env(MESHKIT_LOCK_TIMEOUT_SECONDS="1")
        started = time.monotonic()
        result = meshkit(
            "publish",
            "--project-dir",
            variant(mesh, "dbt_up_v2", "v2"),
            "--project",
            "dbt_up",
            "--registry",
            "registry",
            cwd=mesh,
            env=env,
        )
        waited = time.monotonic() - started
    assert result.returncode == 2 and "was held for over 1 s" in result.stderr, result.stderr
    assert waited < 30
    assert meshkit("check", "--project-dir", "dbt_up", "--registry", "registry", cwd=mesh).returncode == 0


def test_a_bad_setting_is_one_line(mesh: Path) -> None:
    env = clean_env(MESHKIT_SWEEP_AFTER_SECONDS="soon")
    result = meshkit("publish", "--project-dir", "dbt_up", "--registry", "registry", cwd=mesh, env=env)
    assert result.returncode == 2 and "MESHKIT_SWEEP_AFTER_SECONDS='soon' is not a number" in result.stderr

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
import json
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from meshkit.registry.published import read_latest
from support.cloudstores import azurite, fake_gcs_server, moto_server, s3_bucket  # noqa: F401
from support.helpers import clean_env, meshkit
from support.registry_targets import (  # noqa: F401  (target is a fixture)
    AFTER_POINTER,
    BEFORE_POINTER,
    WRITES_PER_PUBLISH,
    Target,
    assert_converged,
    assert_readers_work,
    complete_entries,
    entry_orders,
    start_publish,
    target,
    variant,
    wait_for,
)

pytestmark = pytest.mark.dbt

RACERS = 8


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
    orders = entry_orders(target.registry)
    assert all(orders[r["superseded_by"]] > orders[r["history_id"]] for r in reports if r["superseded_by"])
    assert_readers_work(target, mesh, set(after.values()))


@pytest.mark.parametrize("boundary", [BEFORE_POINTER, AFTER_POINTER])
def test_a_stalled_publisher_resumes_without_undoing_a_newer_one(
    target: Target, mesh: Path, tmp_path: Path, boundary: int
) -> None:
    """A stall inside the local registry's lock (before the pointer there) makes the newer publisher wait, a bounded
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

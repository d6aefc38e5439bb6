"""The registry against what a real mesh meets: runners with wrong clocks, a full disk after the commit point,
JSON nested a thousand deep, registries left with only a pointer, entries readers must not trust.

Every test runs on a local folder and on moto's S3 (the `target` fixture), with real `meshkit` processes.
A wrong clock is a real one: the publisher runs under faketime (libfaketime), its whole process shifted.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from meshkit.registry import Registry
from support.helpers import clean_env, meshkit, one_line_error
from support.registry_targets import (  # noqa: F401  (target is a fixture)
    AFTER_POINTER,
    BEFORE_METADATA,
    BEFORE_POINTER,
    LATEST,
    Target,
    assert_converged,
    assert_readers_work,
    complete_entries,
    latest_id,
    publish_now,
    replace_latest_contract,
    start_publish,
    target,
    variant,
    wait_for,
)
from support.s3server import moto_server, s3_bucket  # noqa: F401

pytestmark = pytest.mark.dbt
# What issue 19 asked of the local and S3 registries; GCS and Azure share the commit point, and the fault suites
# (test_registry_faults.py, test_cloud_registries.py) run on all four.
LOCAL_AND_S3 = pytest.mark.parametrize("target", ["local", "s3"], indirect=True)

READERS = {
    "check": ("check", "--project-dir", "dbt_up"),
    "sync": ("sync", "--project-dir", "dbt_down", "--upstream", "dbt_up"),
    "validate": ("validate", "--manifest", "dbt_down/target/manifest.json"),
}


def run(target: Target, mesh: Path, *args: str):
    return meshkit(*args, "--registry", target.url, cwd=mesh, env=target.env)


def catalog_json(target: Target, mesh: Path) -> dict:
    result = run(target, mesh, "catalog", "--format", "json", "--output", "-")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def deep_json(depth: int = 1000) -> bytes:
    """The issue's document: a valid manifest head, then `x` nested `depth` arrays deep."""
    head = (
        '{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v12.json","project_name":"dbt_up"}'
    )
    return f'{head},"nodes":{{}},"x":{"[" * depth}{"]" * depth}}}'.encode()


# --- clocks --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("skew", ["+1h", "-1h", "+1d", "-1d"])
@LOCAL_AND_S3
def test_a_wrong_clock_never_freezes_latest(target: Target, mesh: Path, skew: str) -> None:
    """A runner an hour or a day off publishes; correct runners publish after it, and it publishes again:
    each later publish becomes latest, whatever either clock says (latest moved by history id alone froze)."""
    reports = [
        publish_now(target, variant(mesh, "dbt_up_a", "skewed one"), mesh, clock=skew),
        publish_now(target, variant(mesh, "dbt_up_b", "on time"), mesh),
        publish_now(target, variant(mesh, "dbt_up_c", "skewed two"), mesh, clock=skew),
        publish_now(target, variant(mesh, "dbt_up_d", "on time again"), mesh),
    ]
    for report in reports:
        assert (report["status"], report["superseded_by"]) == ("published", None), report
        assert report["based_on"] == reports[0]["based_on"] + reports.index(report)  # each saw the one before
    assert latest_id(target.registry) == reports[-1]["history_id"]
    assert assert_converged(target) == reports[-1]["history_id"]
    assert_readers_work(target, mesh, {reports[-1]["sha256"]})


def _move_entry(registry: Registry, stamp: str, to: str) -> None:
    for name in ("manifest.json", "metadata.json"):
        blob = registry.get(f"dbt_up/prod/history/{stamp}/{name}")
        assert blob is not None
        data = blob.data if name == "manifest.json" else blob.data.replace(stamp.encode(), to.encode())
        registry.put(f"dbt_up/prod/history/{to}/{name}", data)
        registry.delete(f"dbt_up/prod/history/{stamp}/{name}")
    for name in ("pointer.json", "metadata.json"):
        blob = registry.get(f"{LATEST}{name}")
        assert blob is not None
        registry.put(f"{LATEST}{name}", blob.data.replace(stamp.encode(), to.encode()))


@LOCAL_AND_S3
def test_an_entry_stamped_an_hour_ahead_does_not_freeze_latest(target: Target, mesh: Path) -> None:
    """The issue's reproduction: publish, move the new history entry to now + 1 h (fixing the pointer), then
    publish a changed contract. It lands; before, it reported `latest unchanged: a newer publish landed first`."""
    first = publish_now(target, variant(mesh, "dbt_up_a", "first"), mesh)
    ahead = time.strftime("%Y%m%dT%H%M%S.000000Z", time.gmtime(time.time() + 3600))
    _move_entry(target.registry, str(first["history_id"]), ahead)
    assert latest_id(target.registry) == ahead
    changed = publish_now(target, variant(mesh, "dbt_up_b", "changed"), mesh)
    assert (changed["status"], changed["superseded_by"]) == ("published", None)
    assert latest_id(target.registry) == changed["history_id"] < ahead
    assert_readers_work(target, mesh, {changed["sha256"]})
    text = run(target, mesh, "publish", "--project-dir", "dbt_up_b", "--project", "dbt_up")
    assert text.returncode == 0 and "unchanged" in text.stdout  # and it stays latest


@LOCAL_AND_S3
def test_a_stalled_publisher_with_a_fast_clock_does_not_undo_a_newer_one(
    target: Target, mesh: Path, tmp_path: Path
) -> None:
    """Both saw the same latest; the stalled one's clock is an hour ahead, so its history id is the greater.
    The store wrote the other's entry later, so that one is newer: the stalled one lands in history only."""
    marker, go = tmp_path / "stopped", tmp_path / "go"
    stalled = start_publish(
        target, variant(mesh, "dbt_up_old", "older"), mesh, at=BEFORE_POINTER, marker=marker, go=go, clock="+1h"
    )
    assert wait_for(marker, stalled)
    time.sleep(1.1)  # S3's LastModified has a resolution of one second
    newer = start_publish(target, variant(mesh, "dbt_up_new", "newer"), mesh)
    if target.local_root is not None:  # it holds the local lock for its rename: the newer one waits until it is let go
        time.sleep(2)
        go.touch()
    out, err = newer.communicate(timeout=300)
    go.touch()
    assert newer.returncode == 0, err
    newer_id = json.loads(out)["history_id"]
    old_out, old_err = stalled.communicate(timeout=300)
    assert stalled.returncode == 0, old_err
    old = json.loads(old_out)
    assert old["history_id"] > newer_id  # its clock says it is newer
    if target.local_root is None:  # on S3 nothing waited: the newer one committed first, the stalled one yields to it
        assert old["superseded_by"] == newer_id
    assert assert_converged(target) == newer_id


@LOCAL_AND_S3
def test_a_publisher_with_a_slow_clock_is_not_swept_while_it_writes(target: Target, mesh: Path, tmp_path: Path) -> None:
    """A publisher a day behind stalls before its history entry is complete; a correct one publishes meanwhile and sweeps.
    Its entry is seconds old by the store's clock, so it stays (by its stamp it was a day old, and was removed)."""
    marker, go = tmp_path / "stopped", tmp_path / "go"
    slow = start_publish(
        target,
        variant(mesh, "dbt_up_slow", "slow"),
        mesh,
        at=BEFORE_METADATA,
        marker=marker,
        go=go,
        clock="-1d",
        before_temp_file=True,
    )
    assert wait_for(marker, slow)
    newer = publish_now(target, variant(mesh, "dbt_up_new", "newer"), mesh)
    go.touch()
    out, err = slow.communicate(timeout=300)
    assert slow.returncode == 0, err
    report = json.loads(out)
    assert report["history_id"] in complete_entries(target.registry)
    assert assert_converged(target) == newer["history_id"]


# --- after the commit point ----------------------------------------------------------------------------------------


@LOCAL_AND_S3
def test_a_full_disk_after_the_commit_point_is_a_warning_not_a_failure(target: Target, mesh: Path) -> None:
    """The pointer landed; only latest's copies could not be written. The publish happened: exit 0, a warning,
    and every reader follows the pointer. The next publish, with room again, repairs the copies."""
    before = latest_id(target.registry)
    process = start_publish(target, variant(mesh, "dbt_up_v2", "v2"), mesh, at=AFTER_POINTER, fail=True)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    report = json.loads(out)
    assert report["status"] == "published" and report["superseded_by"] is None
    [warning] = report["warnings"]
    assert warning.startswith("latest's manifest.json and metadata.json copies were not updated (")
    assert warning.endswith(
        "No space left on device); the next publish repairs them"
        if target.local_root
        else "); the next publish repairs them"
    )
    assert latest_id(target.registry) == report["history_id"] != before
    assert_readers_work(target, mesh, {report["sha256"]})
    again = publish_now(target, variant(mesh, "dbt_up_v2", "v2"), mesh)
    assert (again["status"], again["repaired"]) == ("unchanged", True)
    assert_converged(target)


@LOCAL_AND_S3
def test_a_full_disk_before_the_commit_point_fails_and_changes_nothing(target: Target, mesh: Path) -> None:
    before = read_sha(target)
    process = start_publish(target, variant(mesh, "dbt_up_v2", "v2"), mesh, at=BEFORE_POINTER, fail=True)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 2 and "Traceback" not in err
    assert read_sha(target) == before
    assert_readers_work(target, mesh, {before})


def read_sha(target: Target) -> str:
    blob = target.registry.get(f"{LATEST}pointer.json")
    assert blob is not None
    return str(json.loads(blob.data)["sha256"])


# --- budgets and damage --------------------------------------------------------------------------------------------


@LOCAL_AND_S3
def test_json_nested_a_thousand_deep_is_one_line_and_publish_repairs_it(target: Target, mesh: Path) -> None:
    """In a registry entry it crashed every reader and `publish --force` (RecursionError, exit 3)."""
    replace_latest_contract(target.registry, deep_json())
    for name, args in READERS.items():
        result = run(target, mesh, *args)
        assert result.returncode == 2, (name, result.stdout, result.stderr)
        line = one_line_error(result)
        assert "nests JSON deeper than meshkit reads (about 1,000 levels)" in line, line
        assert line.endswith("republish the contract with meshkit publish"), line
    [entry] = catalog_json(target, mesh)["entries"]
    assert "nests JSON deeper than meshkit reads" in entry["problem"]
    forced = run(target, mesh, "publish", "--project-dir", "dbt_up", "--force")
    assert forced.returncode == 0, forced.stderr
    for args in READERS.values():
        assert run(target, mesh, *args).returncode == 0


@pytest.mark.parametrize("name", ["pointer.json", "metadata.json"])
@LOCAL_AND_S3
def test_a_deep_pointer_or_metadata_fails_closed_and_a_publish_repairs_it(
    target: Target, mesh: Path, name: str
) -> None:
    """Nested where the decoder skips (a field meshkit does not read), so the depth itself is what fails."""
    pointer = target.registry.get(f"{LATEST}pointer.json")
    assert pointer is not None
    stamp = json.loads(pointer.data)["history_id"]
    key = f"{LATEST}pointer.json" if name == "pointer.json" else f"dbt_up/prod/history/{stamp}/metadata.json"
    blob = target.registry.get(key)
    assert blob is not None
    target.registry.put(key, blob.data.rstrip()[:-1] + b', "unread": ' + b"[" * 5000 + b"]" * 5000 + b"}")
    result = run(target, mesh, *READERS["check"])
    assert result.returncode == 2 and "nests JSON deeper" in one_line_error(result)
    assert run(target, mesh, "publish", "--project-dir", "dbt_up", "--force").returncode == 0
    assert run(target, mesh, *READERS["check"]).returncode == 0


def test_a_deep_downstream_manifest_is_one_line(mesh: Path) -> None:
    (mesh / "deep" / "target").mkdir(parents=True)
    (mesh / "deep" / "target" / "manifest.json").write_bytes(deep_json())
    result = meshkit("validate", "--manifest", "deep/target/manifest.json", "--registry", "registry", cwd=mesh)
    assert result.returncode == 2
    assert one_line_error(result).endswith(
        "nests JSON deeper than meshkit reads (about 1,000 levels): rebuild it with dbt"
    )


@LOCAL_AND_S3
def test_a_registry_holding_only_pointers_is_read_by_every_command(target: Target, mesh: Path) -> None:
    """latest/ with pointer.json alone: what a first publish killed right after its pointer leaves."""
    for name in ("manifest.json", "metadata.json"):
        target.registry.delete(f"{LATEST}{name}")
    catalog = catalog_json(target, mesh)
    [entry], [contract] = catalog["entries"], catalog["contracts"]
    assert (entry["project"], entry["env"], entry["problem"], len(contract["models"])) == ("dbt_up", "prod", None, 4)
    for name, args in READERS.items():
        result = run(target, mesh, *args)
        assert result.returncode == 0, (name, result.stdout, result.stderr)
    missing = run(target, mesh, "check", "--project-dir", "dbt_up", "--env", "staging")
    assert missing.returncode == 0  # never published to staging: every model is new, and the listing says why not


@LOCAL_AND_S3
def test_a_first_publish_killed_after_its_pointer_leaves_a_readable_registry(
    target: Target, mesh: Path, tmp_path: Path
) -> None:
    for key in target.registry.list(""):
        target.registry.delete(key)
    marker = tmp_path / "stopped"
    process = start_publish(target, mesh / "dbt_up", mesh, at=AFTER_POINTER, marker=marker)
    assert wait_for(marker, process)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert sorted(k.rsplit("/", 1)[1] for k in target.registry.list(LATEST)) == ["pointer.json"]
    assert [(e["project"], e["problem"]) for e in catalog_json(target, mesh)["entries"]] == [("dbt_up", None)]
    for name, args in READERS.items():
        result = run(target, mesh, *args)
        assert result.returncode == 0, (name, result.stdout, result.stderr)


@LOCAL_AND_S3
def test_an_entry_that_does_not_parse_is_a_problem_card_not_a_failed_page(target: Target, mesh: Path) -> None:
    replace_latest_contract(target.registry, b"{not json")
    for fmt in ("html", "json"):
        result = run(target, mesh, "catalog", "--format", fmt, "--output", "-")
        assert result.returncode == 0, result.stderr
        assert "is not valid JSON" in result.stdout


def _contract(target: Target) -> dict:
    blob = target.registry.get(f"{LATEST}manifest.json")
    assert blob is not None
    return json.loads(blob.data)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("format", "is contract format 'meshkit-contract/99', which this meshkit (meshkit-contract/1) cannot read"),
        ("project", "holds a manifest of project 'dbt_other', not 'dbt_up': republish dbt_up from its own project"),
        ("schema", "is a dbt 0.19.1 manifest (schema v1), older than meshkit supports"),
    ],
)
@LOCAL_AND_S3
def test_readers_refuse_a_contract_they_cannot_trust(target: Target, mesh: Path, change: str, expected: str) -> None:
    contract = _contract(target)
    if change == "format":
        contract["meshkit"]["format"] = "meshkit-contract/99"
    elif change == "project":
        contract["metadata"]["project_name"] = "dbt_other"
    else:
        contract["metadata"]["dbt_schema_version"] = "https://schemas.getdbt.com/dbt/manifest/v1.json"
        contract["metadata"]["dbt_version"] = "0.19.1"
    replace_latest_contract(target.registry, json.dumps(contract).encode())
    for name, args in READERS.items():
        result = run(target, mesh, *args)
        assert result.returncode == 2, (name, result.stdout, result.stderr)
        assert expected in one_line_error(result), name
    [entry] = catalog_json(target, mesh)["entries"]
    assert expected in entry["problem"]


def test_check_refuses_a_project_path_that_is_a_file(mesh: Path) -> None:
    """Local only: S3 has no folders, so a key where a folder would be cannot happen there."""
    import shutil

    shutil.rmtree(mesh / "registry" / "dbt_up")
    (mesh / "registry" / "dbt_up").write_text("not a folder")
    result = meshkit(*READERS["check"], "--registry", "registry", cwd=mesh, env=clean_env())
    assert result.returncode == 2
    assert "a file stands where the registry needs a folder; the registry is damaged" in one_line_error(result)

"""dbt's partial parse kept between CI runs (.github/actions/parse-cache): the key sorts saved parses by
dbt version, adapter, profile target and project path, and dbt itself refuses a saved parse that no
longer fits. The second half runs real `dbt parse` to show that last point: the workflows may restore
any file under a matching prefix because dbt checks its own hashes, and a stale one costs a full parse.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import msgpack
import pytest

from support.helpers import REPO, clean_env, dbt

ACTION = REPO / ".github" / "actions" / "parse-cache"
FULL_PARSE = "Unable to do partial parsing because"


def key_outputs(
    tmp_path: Path, project: Path, *, stage: str = "key", env: dict[str, str] | None = None, **inputs: str
) -> dict[str, str]:
    """Run one stage of key.sh as a runner would, the project's parent as the workspace; inputs become its
    MESHKIT_* variables."""
    output = tmp_path / "output"
    output.write_text("")
    variables = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "GITHUB_ACTION_PATH": str(ACTION),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_WORKSPACE": str(project.parent),
        "RUNNER_OS": "Linux",
        "RUNNER_ARCH": "X64",
        "GITHUB_RUN_ID": "77",
        "GITHUB_RUN_ATTEMPT": "2",
        "MESHKIT_INPUT_MODE": inputs.pop("mode", "restore"),
        "MESHKIT_INPUT_PYTHON": inputs.pop("python", sys.executable),
        "MESHKIT_PROJECT_DIR": str(project),
        "MESHKIT_DBT_VERSION": inputs.pop("dbt_version", "1.11.16"),
        "MESHKIT_COMMAND": inputs.pop("command", "dbt parse"),
        "MESHKIT_PROFILES_DIR": inputs.pop("profiles_dir", ""),
        **(env or {}),
    }
    assert not inputs, inputs
    done = subprocess.run([str(ACTION / "key.sh"), stage], env=variables, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return read_outputs(output) | {"stdout": done.stdout}


def read_outputs(output: Path) -> dict[str, str]:
    """GITHUB_OUTPUT's NAME=value lines and NAME<<DELIMITER blocks."""
    found: dict[str, str] = {}
    lines = iter(output.read_text().splitlines())
    for line in lines:
        if "<<" in line and "=" not in line.split("<<", 1)[0]:
            name, delimiter = line.split("<<", 1)
            found[name] = "\n".join(iter(lambda: next(lines), delimiter))
        else:
            name, value = line.split("=", 1)
            found[name] = value
    return found


def project(root: Path, *, profile_target: str = "dev", target_path: str = "") -> Path:
    root.mkdir(parents=True)
    extra = f"target-path: {target_path}\n" if target_path else ""
    (root / "dbt_project.yml").write_text(f"name: shop\nprofile: shop\n{extra}")
    (root / "profiles.yml").write_text(
        "shop:\n"
        f"  target: {profile_target}\n"
        "  outputs:\n"
        "    dev: {type: duckdb, path: dev.duckdb}\n"
        "    prod: {type: postgres, host: db, user: u, password: p, dbname: d, schema: s, port: 5432}\n"
    )
    return root


def test_the_key_names_what_a_saved_parse_was_made_with(tmp_path: Path) -> None:
    root = project(tmp_path / "repo" / "shop")
    out = key_outputs(tmp_path, root)
    prefix = out["prefix"]
    assert prefix.startswith("meshkit-dbt-partial-parse-v1-Linux-X64-shop-")
    assert prefix.endswith("-dbt1.11.16-duckdb-dev-")
    assert out["key"] == f"{prefix}77-2"  # each run saves its own entry; restores take the newest under the prefix
    msgpack = root.resolve() / "target" / "partial_parse.msgpack"
    assert out["path"].splitlines() == [str(msgpack), str(msgpack.with_name("partial_parse.meshkit.json"))]
    assert out["exists"] == "false"


@pytest.mark.parametrize(
    ("command", "env", "profile_target", "expected"),
    [
        ("dbt parse --target prod", {}, "dev", "-postgres-prod-"),
        ("dbt build -t prod --fail-fast", {}, "dev", "-postgres-prod-"),
        ("dbt parse --target=prod", {}, "dev", "-postgres-prod-"),
        ("dbt parse", {"DBT_TARGET": "prod"}, "dev", "-postgres-prod-"),
        ("dbt parse", {}, "prod", "-postgres-prod-"),
        ("dbt parse", {}, "\"{{ env_var('SHOP_TARGET', 'prod') }}\"", "-postgres-prod-"),
        ("dbt parse", {"SHOP_TARGET": "dev"}, "\"{{ env_var('SHOP_TARGET', 'prod') }}\"", "-duckdb-dev-"),
        ("dbt parse", {}, "\"{{ 'dev' if true else 'prod' }}\"", "-unknown-unknown-"),
        ("dbt parse --target nowhere", {}, "dev", "-unknown-nowhere-"),
    ],
)
def test_the_key_follows_the_target_dbt_will_use(
    tmp_path: Path, command: str, env: dict[str, str], profile_target: str, expected: str
) -> None:
    root = project(tmp_path / "shop", profile_target=profile_target)
    assert key_outputs(tmp_path, root, command=command, env=env)["prefix"].endswith(expected)


def test_each_thing_dbt_checks_sorts_into_its_own_shelf(tmp_path: Path) -> None:
    first = project(tmp_path / "a" / "shop")
    base = key_outputs(tmp_path, first)["prefix"]
    assert key_outputs(tmp_path, first)["prefix"] == base
    assert key_outputs(tmp_path, first, dbt_version="1.10.3")["prefix"] != base
    assert key_outputs(tmp_path, project(tmp_path / "b" / "shop"))["prefix"] == base  # another checkout, same folder
    assert key_outputs(tmp_path, project(tmp_path / "a" / "shop2"))["prefix"] != base  # another project folder
    profiles = tmp_path / "elsewhere"
    profiles.mkdir()
    (profiles / "profiles.yml").write_text("shop:\n  target: ci\n  outputs:\n    ci: {type: snowflake}\n")
    assert key_outputs(tmp_path, first, profiles_dir=str(profiles))["prefix"].endswith("-snowflake-ci-")
    assert key_outputs(tmp_path, first, env={"DBT_PROFILES_DIR": str(profiles)})["prefix"].endswith("-snowflake-ci-")


def test_the_file_is_where_dbt_writes_it(tmp_path: Path) -> None:
    root = project(tmp_path / "shop", target_path="build/dbt")
    assert key_outputs(tmp_path, root)["path"].startswith(f"{root.resolve()}/build/dbt/partial_parse.msgpack\n")
    out = key_outputs(tmp_path, root, command="dbt parse --target-path out")
    assert out["path"].startswith(f"{root.resolve()}/out/partial_parse.msgpack\n")
    (root / "out").mkdir()
    (root / "out" / "partial_parse.msgpack").write_bytes(b"\x80")
    assert key_outputs(tmp_path, root, mode="save", command="dbt parse --target-path out")["exists"] == "true"


def test_an_unreadable_profile_still_keys_and_never_fails(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    root.mkdir()
    (root / "dbt_project.yml").write_text("name: shop\nprofile: [not, a, name]\n")
    (root / "profiles.yml").write_bytes(b"\xff\xfe: not yaml: [")
    out = key_outputs(tmp_path, root, command='dbt parse --vars "{unbalanced')
    assert out["prefix"].endswith("-dbt1.11.16-unknown-unknown-")


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"mode": "both"}, "input mode must be restore or save, not 'both'"),
        ({"python": ""}, "input python must be meshkit's virtualenv python (the setup action's python output), not ''"),
    ],
)
def test_bad_inputs_are_one_annotation(tmp_path: Path, inputs: dict[str, str], message: str) -> None:
    root = project(tmp_path / "shop")
    env = {
        "PATH": os.environ["PATH"],
        "GITHUB_ACTION_PATH": str(ACTION),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "MESHKIT_PROJECT_DIR": str(root),
        "MESHKIT_INPUT_MODE": inputs.get("mode", "restore"),
        "MESHKIT_INPUT_PYTHON": inputs.get("python", sys.executable),
    }
    done = subprocess.run([str(ACTION / "key.sh"), "key"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stdout.strip() == f"::error title=meshkit parse-cache::{message}"


def saved_in(tmp_path: Path, root: Path, *, seeds: int | None) -> Path:
    """A parse saved by a run in root: the file, the manifest beside it (with that many seeds) and the record."""
    target = root / "target"
    target.mkdir()
    (target / "partial_parse.msgpack").write_bytes(b"\x80")
    if seeds is not None:
        nodes = {f"seed.shop.s{i}": {"resource_type": "seed"} for i in range(seeds)} | {
            "model.shop.m": {"resource_type": "model"}
        }
        (target / "manifest.json").write_text(json.dumps({"nodes": nodes}))
    key_outputs(tmp_path, root, stage="record", mode="save")
    return target / "partial_parse.meshkit.json"


@pytest.mark.parametrize(("seeds", "kept"), [(0, True), (3, False), (None, False)])
def test_a_parse_made_in_another_folder_is_kept_only_without_seeds(
    tmp_path: Path, seeds: int | None, kept: bool
) -> None:
    """dbt keeps a seed's absolute root_path from the parse that made it; the guard throws such a parse away."""
    first = project(tmp_path / "runner-a" / "shop")
    record = saved_in(tmp_path, first, seeds=seeds)
    assert json.loads(record.read_text()) == {"project_root": str(first.resolve()), "seeds": seeds}
    moved = tmp_path / "runner-b" / "shop"
    shutil.copytree(first, moved)

    out = key_outputs(tmp_path, moved, stage="guard")

    assert (moved / "target" / "partial_parse.msgpack").exists() is kept
    assert (moved / "target" / "partial_parse.meshkit.json").exists() is kept
    if not kept:
        assert f"not reusing the saved parse: it was made in {first.resolve()}, not {moved.resolve()}" in out["stdout"]


def test_a_parse_made_in_the_same_folder_or_without_a_record_is_judged_by_dbt_or_dropped(tmp_path: Path) -> None:
    root = project(tmp_path / "shop")
    record = saved_in(tmp_path, root, seeds=2)
    key_outputs(tmp_path, root, stage="guard")
    assert (root / "target" / "partial_parse.msgpack").exists()
    record.unlink()
    key_outputs(tmp_path, root, stage="guard")
    assert not (root / "target" / "partial_parse.msgpack").exists()


# dbt decides: a saved parse from main is reused when it fits, and thrown away when it does not.


@pytest.fixture(scope="module")
def saved_parse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """dbt_up parsed once, as main's run leaves it: the project and its partial_parse.msgpack."""
    root = tmp_path_factory.mktemp("parse") / "dbt_up"
    shutil.copytree(REPO / "dbt_up", root, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb"))
    done = dbt(root, "parse", env=clean_env())
    assert done.returncode == 0, done.stdout[-3000:]
    assert f"{FULL_PARSE} saved manifest not found" in done.stdout
    return root, (root / "target" / "partial_parse.msgpack").read_bytes()


def parse_with(root: Path, saved: bytes, *args: str, **env: str) -> str:
    (root / "target" / "partial_parse.msgpack").write_bytes(saved)
    done = dbt(root, "parse", *args, env=clean_env(**env))
    assert done.returncode == 0, done.stdout[-3000:]
    return done.stdout


def test_dbt_reuses_a_saved_parse_that_fits_and_rereads_only_the_changed_file(saved_parse: tuple[Path, bytes]) -> None:
    root, saved = saved_parse
    model = next((root / "models").rglob("*.sql"))
    original = model.read_text()
    model.write_text(original + "\n-- a pull request's edit\n")
    try:
        output = parse_with(root, saved)
    finally:
        model.write_text(original)
    assert FULL_PARSE not in output
    log = (root / "logs" / "dbt.log").read_text()
    assert "Partial parsing enabled: 0 files deleted, 0 files added, 1 files changed." in log


@pytest.mark.parametrize(
    ("args", "env", "reason"),
    [
        (("--vars", "{orders_since: '2020-01-01'}"), {}, "config vars, config profile, or config target have changed"),
        ((), {"DBT_UP_DUCKDB_PATH": "elsewhere/dbt_up.duckdb"}, "profile has changed"),
    ],
    ids=["vars", "connection"],
)
def test_dbt_refuses_a_saved_parse_made_with_other_settings(
    saved_parse: tuple[Path, bytes], args: tuple[str, ...], env: dict[str, str], reason: str
) -> None:
    root, saved = saved_parse
    assert f"{FULL_PARSE} {reason}" in parse_with(root, saved, *args, **env)


def test_dbt_refuses_a_saved_parse_of_another_dbt_version(saved_parse: tuple[Path, bytes]) -> None:
    root, saved = saved_parse
    manifest = msgpack.unpackb(saved, strict_map_key=False)
    manifest["metadata"]["dbt_version"] = "1.10.0"
    assert f"{FULL_PARSE} of a version mismatch" in parse_with(root, msgpack.packb(manifest))


def test_dbt_does_not_check_where_a_saved_parse_was_made(saved_parse: tuple[Path, bytes], tmp_path: Path) -> None:
    """Why the guard exists: parsed elsewhere, the seeds still point at the first folder."""
    root, saved = saved_parse
    moved = tmp_path / "dbt_up"
    shutil.copytree(root, moved, ignore=shutil.ignore_patterns("logs"))
    assert FULL_PARSE not in parse_with(moved, saved)
    manifest = json.loads((moved / "target" / "manifest.json").read_text())
    seeds = [node for node in manifest["nodes"].values() if node["resource_type"] == "seed"]
    assert seeds and {node["root_path"] for node in seeds} == {str(root)}

"""Env fallback: a downstream on dev reads an upstream that has published only to prod, and says so.

The demo mesh's registry holds dbt_up at prod only. sync, validate and check, asked for dev with the
fallback dev → staging → prod (from --fallback-env or meshkit.yml), read prod; every report (text, JSON,
markdown) names the env read; consumer records go to prod, the env read; a project missing from every
env is today's one-line error; and a damaged dev fails closed instead of falling back.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from support.helpers import meshkit, one_line_error, snapshot
from support.schemas import assert_schema_valid as assert_valid

pytestmark = pytest.mark.dbt

FALLBACK = ("--env", "dev", "--fallback-env", "staging", "--fallback-env", "prod")
MESH_FILE = Path("dbt_down") / "models" / "_mesh_dbt_up.yml"


def test_without_a_fallback_dev_finds_nothing(mesh: Path) -> None:
    result = meshkit(
        "sync", "--project-dir", "dbt_down", "--upstream", "dbt_up", "--env", "dev", "--registry", "registry", cwd=mesh
    )
    assert result.returncode == 2
    assert "has project 'dbt_up' but not env 'dev' (it has: prod)" in one_line_error(result)


def test_sync_reads_prod_through_the_fallback_and_says_so(mesh: Path) -> None:
    expected = (mesh / MESH_FILE).read_bytes()  # generated from prod by the seed steps
    (mesh / MESH_FILE).unlink()
    args = ("sync", "--project-dir", "dbt_down", "--upstream", "dbt_up", *FALLBACK, "--registry", "registry")
    text = meshkit(*args, cwd=mesh)
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("dbt_up/prod (fallback: no dev contract) (sha256 "), text.stdout
    assert (mesh / MESH_FILE).read_bytes() == expected  # the same file: read from prod, stamped prod

    document = assert_valid(json.loads(meshkit(*args, "--check", "--format", "json", cwd=mesh).stdout), "sync")
    [upstream] = document["upstreams"]
    assert (upstream["env"], upstream["requested_env"], upstream["status"]) == ("prod", "dev", "up-to-date")

    only = meshkit(*args[:-2], "--only", "dbt_up@prod", "--registry", "registry", "--format", "json", cwd=mesh)
    assert [u["env"] for u in json.loads(only.stdout)["upstreams"]] == ["prod"], (
        only.stdout
    )  # a prod publish concerns it


def test_meshkit_yml_names_the_fallback_envs(mesh: Path) -> None:
    (mesh / "meshkit.yml").write_text(
        "version: 1\nprojects:\n  dbt_down:\n    upstreams: [dbt_up]\n    fallback_envs: [staging, prod]\n"
        "  dbt_down_loom:\n    fallback_envs: [prod]\n  dbt_up:\n    fallback_envs: [prod]\n"
    )
    synced = meshkit("sync", "--project-dir", "dbt_down", "--env", "dev", "--registry", "registry", cwd=mesh)
    assert synced.returncode == 0 and "dbt_up/prod (fallback: no dev contract)" in synced.stdout, synced.stderr
    validated = meshkit("validate", "--all", "--env", "dev", "--registry", "registry", "--format", "json", cwd=mesh)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    report = json.loads(validated.stdout)
    assert {d["env"] for p in report["projects"] for d in p["dependencies"]} == {"prod"}
    checked = meshkit("check", "--project-dir", "dbt_up", "--env", "dev", "--registry", "registry", cwd=mesh)
    assert checked.returncode == 0 and checked.stdout.startswith(
        "meshkit check: dbt_up/prod (fallback: no dev contract)"
    )


def test_validate_records_consumers_in_the_env_read(mesh: Path) -> None:
    consumers = mesh / "registry" / "dbt_up" / "prod" / "consumers"
    shutil.rmtree(consumers, ignore_errors=True)
    args = ("validate", "--project", "dbt_down_loom", *FALLBACK, "--registry", "registry")
    text = meshkit(*args, "--record-consumer", "--git-commit", "0123abcd", cwd=mesh)
    assert text.returncode == 0, text.stdout + text.stderr
    assert "  fallback envs: staging, prod\n  dbt_up read from prod (fallback: no dev contract)\n" in text.stdout
    assert sorted(p.name for p in consumers.iterdir()) == ["dbt_down_loom.json"]
    assert not (mesh / "registry" / "dbt_up" / "dev").exists()

    document = assert_valid(json.loads(meshkit(*args, "--format", "json", cwd=mesh).stdout), "validate")
    [project] = document["projects"]
    assert project["fallback_envs"] == ["staging", "prod"] and {d["env"] for d in project["dependencies"]} == {"prod"}
    markdown = meshkit(*args, "--format", "markdown", cwd=mesh).stdout
    assert "Read through the env fallback (`dev` → `staging` → `prod`)" not in markdown  # dev is the env asked
    assert (
        "Read through the env fallback (`staging` → `prod`), as there is no `dev` contract: `dbt_up` from `prod`."
        in markdown
    )


def test_check_compares_with_prod_and_names_it(mesh: Path, tmp_path: Path) -> None:
    manifest = json.loads((mesh / "dbt_up" / "target" / "manifest.json").read_text())
    manifest["nodes"]["model.dbt_up.public_orders"]["access"] = "protected"
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    args = (
        "check",
        "--project-dir",
        "dbt_up",
        "--manifest",
        tmp_path / "manifest.json",
        *FALLBACK,
        "--registry",
        "registry",
    )
    document = assert_valid(json.loads(meshkit(*args, "--format", "json", cwd=mesh).stdout), "check")
    assert (document["env"], document["requested_env"], document["fallback_envs"]) == (
        "prod",
        "dev",
        ["staging", "prod"],
    )
    assert document["summary"]["breaking"] == 1
    markdown = meshkit(*args, "--format", "markdown", cwd=mesh)
    assert markdown.returncode == 1
    assert "contract in the registry (the env fallback: there is no `dev` contract)" in markdown.stdout


def test_a_project_missing_from_every_env_is_todays_error(mesh: Path) -> None:
    before = snapshot(mesh / "dbt_down")
    result = meshkit(
        "sync", "--project-dir", "dbt_down", "--upstream", "nope", *FALLBACK, "--registry", "registry", cwd=mesh
    )
    assert result.returncode == 2
    line = one_line_error(result)
    assert "has no project 'nope' (it has: dbt_up): publish it first or fix the name" in line, line
    assert "nor has nope a contract in the fallback envs staging, prod" in line
    assert snapshot(mesh / "dbt_down") == before


def test_a_damaged_dev_fails_closed_instead_of_falling_back(mesh: Path) -> None:
    shutil.copytree(mesh / "registry" / "dbt_up" / "prod" / "history", mesh / "registry" / "dbt_up" / "dev" / "history")
    before = snapshot(mesh / "dbt_down")
    result = meshkit(
        "sync", "--project-dir", "dbt_down", "--upstream", "dbt_up", *FALLBACK, "--registry", "registry", cwd=mesh
    )
    assert result.returncode == 2
    assert "dbt_up/dev" in one_line_error(result) and "no readable latest contract" in one_line_error(result)
    assert snapshot(mesh / "dbt_down") == before

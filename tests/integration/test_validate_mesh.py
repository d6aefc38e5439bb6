"""meshkit validate and sync against real manifests when the upstream contract changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.helpers import dbt, meshkit

pytestmark = pytest.mark.dbt


def republish_after(mesh: Path, old: str, new: str) -> None:
    """Edit dbt_up's public YAML, re-parse with dbt and publish the new contract."""
    yml = mesh / "dbt_up/models/marts/_public.yml"
    text = yml.read_text()
    assert old in text
    yml.write_text(text.replace(old, new, 1))
    parsed = dbt(mesh / "dbt_up", "parse")
    assert parsed.returncode == 0, parsed.stdout[-3000:]
    published = meshkit("publish", "--project-dir", "dbt_up", "--registry", "registry", cwd=mesh)
    assert published.returncode == 0, published.stderr
    assert "published contract" in published.stdout


def validate(mesh: Path, *args: str):
    return meshkit("validate", "--root", ".", "--registry", "registry", *args, cwd=mesh)


def test_model_made_private_breaks_both_downstreams(mesh: Path) -> None:
    republish_after(mesh, "      access: public\n      group: finance", "      access: protected\n      group: finance")
    result = validate(mesh, "--all")
    assert result.returncode == 1, result.stdout
    assert "error: [not-public] model.dbt_up.public_orders is not a public model" in result.stdout
    assert "[ERR] dbt-loom    model.dbt_up.public_orders" in result.stdout
    assert result.stdout.count("warning: [stale-sync]") == 1
    assert "error: [not-public] source.dbt_down.dbt_up.public_orders names table 'public_orders'" in result.stdout
    assert result.stdout.rstrip().endswith("FAILED: 6 cross-project dependencies in 3 projects, 2 errors, 1 warning")


def test_changed_contract_makes_generated_sources_stale_until_synced(mesh: Path) -> None:
    republish_after(mesh, '"Number of payments for the order."', '"Number of payments for the order, all methods."')

    check = meshkit(
        "sync", "--project-dir", "dbt_down", "--upstream", "dbt_up", "--registry", "registry", "--check", cwd=mesh
    )
    assert check.returncode == 1
    assert "STALE" in check.stdout
    stale = validate(mesh, "--project", "dbt_down")
    assert stale.returncode == 0, stale.stdout
    assert "warning: [stale-sync]" in stale.stdout

    before = (mesh / "dbt_down/models/_mesh_dbt_up.yml").read_text()
    synced = meshkit("sync", "--project-dir", "dbt_down", "--upstream", "dbt_up", "--registry", "registry", cwd=mesh)
    assert synced.returncode == 0 and "wrote 3 of 5 source tables (used by the project)" in synced.stdout
    after = (mesh / "dbt_down/models/_mesh_dbt_up.yml").read_text()
    assert after != before and "Number of payments for the order, all methods." in after
    assert dbt(mesh / "dbt_down", "parse").returncode == 0
    fresh = validate(mesh, "--project", "dbt_down")
    assert fresh.returncode == 0 and "stale-sync" not in fresh.stdout


def test_deprecation_warnings_follow_the_date(built_mesh: Path) -> None:
    past = meshkit("validate", "--all", "--registry", "registry", "--today", "2027-07-01", cwd=built_mesh)
    assert past.returncode == 0, past.stdout
    assert (
        "warning: [deprecated] model.dbt_up.public_customers.v1 is past its deprecation date 2027-06-30: move to version 2"
        in past.stdout
    )
    soon = meshkit(
        "validate", "--project", "dbt_down", "--registry", "registry", "--today", "2027-06-10", cwd=built_mesh
    )
    assert "warning: [deprecation-soon]" in soon.stdout and "(in 20 days)" in soon.stdout
    far = meshkit("validate", "--all", "--registry", "registry", "--today", "2026-11-27", cwd=built_mesh)
    assert "deprecat" not in far.stdout.replace("no cross-project", "")


def test_json_and_markdown_formats(built_mesh: Path) -> None:
    result = meshkit("validate", "--all", "--registry", "registry", "--format", "json", cwd=built_mesh)
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert report["command"] == "validate" and report["ok"] is True and report["error_count"] == 0
    by_project = {p["project"]: p for p in report["projects"]}
    assert set(by_project) == {"dbt_up", "dbt_down", "dbt_down_loom"}
    vias = {d["parent_id"]: d["via"] for d in by_project["dbt_down_loom"]["dependencies"]}
    assert vias["model.dbt_up.public_orders"] == "dbt-loom"
    sources = {d["parent_id"]: d["contract_id"] for d in by_project["dbt_down"]["dependencies"]}
    assert sources["source.dbt_down.dbt_up.public_customers"] == "model.dbt_up.public_customers.v2"

    markdown = meshkit("validate", "--all", "--registry", "registry", "--format", "markdown", cwd=built_mesh)
    assert markdown.returncode == 0
    marker, heading = markdown.stdout.split("\n")[:2]
    assert marker == "<!-- meshkit:validate:dbt_down+dbt_down_loom+dbt_up -->"  # finds the PR comment to update
    assert heading.startswith("### ✅ meshkit validate: 6 cross-project dependencies resolve")
    assert "```mermaid\nflowchart LR\n" in markdown.stdout
    assert "| `model.dbt_up.public_orders` | dbt-loom | `model.dbt_up.public_orders` |" in markdown.stdout

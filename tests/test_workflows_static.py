"""The workflows and composite actions, read as files: the linters, and the security rules the
linters do not check (least-privilege permissions per job, pins, no expressions in scripts)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import BIN, REPO, run

GITHUB = REPO / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ACTIONS = sorted((GITHUB / "actions").glob("*/action.yml"))
ACTION_NAMES = {"setup", "publish", "sync", "validate", "check", "dispatch", "comment"}
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"uses:\s*\S+@[0-9a-f]{40} # v\d+(\.\d+)*$")


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    # PyYAML reads the bare key `on` as the boolean True (YAML 1.1).
    if True in document:
        document["on"] = document.pop(True)
    return document


def steps_of(path: Path) -> list[dict[str, Any]]:
    document = load(path)
    if "jobs" in document:
        return [step for job in document["jobs"].values() for step in job.get("steps", [])]
    return list(document["runs"].get("steps", []))


def test_zizmor_finds_nothing() -> None:
    result = run([BIN / "zizmor", "--offline", ".github"], cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_actionlint_finds_nothing() -> None:
    result = run([BIN / "actionlint"], cwd=REPO)
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


def test_shellcheck_finds_nothing_in_the_scripts() -> None:
    scripts = sorted(GITHUB.glob("actions/**/*.sh")) + sorted((REPO / "scripts").glob("*.sh"))
    assert len(scripts) >= 10
    result = run([BIN / "shellcheck", "-P", "SCRIPTDIR", "-x", *scripts], cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_linters_catch_a_planted_injection(tmp_path: Path) -> None:
    """Control: the two lint tests above could fail."""
    shutil.copytree(GITHUB, tmp_path / ".github")
    (tmp_path / ".github" / "workflows" / "planted.yml").write_text(
        "on: issues\npermissions: {}\njobs:\n  x:\n    runs-on: ubuntu-latest\n    permissions: {}\n"
        "    steps:\n      - run: echo \"${{ github.event.issue.title }}\"\n      - uses: actions/cache@v4\n"
    )
    zizmor = run([BIN / "zizmor", "--offline", ".github"], cwd=tmp_path)
    assert zizmor.returncode != 0 and "template-injection" in zizmor.stdout
    assert "unpinned-uses" in zizmor.stdout
    actionlint = run([BIN / "actionlint", "-no-color"], cwd=tmp_path)
    assert actionlint.returncode != 0
    planted = tmp_path / "planted.sh"
    planted.write_text("#!/usr/bin/env bash\nrm -rf $1/*\n")
    assert run([BIN / "shellcheck", planted], cwd=tmp_path).returncode != 0


def test_every_action_step_exists_and_is_a_documented_composite() -> None:
    assert {path.parent.name for path in ACTIONS} == ACTION_NAMES
    for path in ACTIONS:
        action = load(path)
        assert action["description"].strip(), path
        assert action["runs"]["using"] == "composite", path
        for name, spec in action.get("inputs", {}).items():
            assert spec.get("description", "").strip(), f"{path}: input {name}"
        for name, spec in action.get("outputs", {}).items():
            assert spec.get("description", "").strip(), f"{path}: output {name}"
        for step in action["runs"]["steps"]:
            if "run" in step:
                assert step.get("shell") == "bash", f"{path}: {step}"


@pytest.mark.parametrize("path", WORKFLOWS + ACTIONS, ids=lambda p: str(p.relative_to(GITHUB)))
def test_no_expression_reaches_a_script(path: Path) -> None:
    for step in steps_of(path):
        assert "${{" not in step.get("run", ""), f"{path}: pass values through env:, not into run: {step['run']!r}"


@pytest.mark.parametrize("path", WORKFLOWS + ACTIONS, ids=lambda p: str(p.relative_to(GITHUB)))
def test_remote_actions_are_pinned_by_sha_with_a_version_comment(path: Path) -> None:
    lines = [line.strip() for line in path.read_text().splitlines() if re.match(r"\s*(-\s+)?uses:", line)]
    for step in steps_of(path):
        uses = step.get("uses")
        if uses is None or uses.startswith("./"):
            continue
        assert PINNED.match(uses), f"{path}: {uses} is not pinned to a full commit SHA"
        assert any(uses in line and VERSION_COMMENT.search(line) for line in lines), f"{path}: {uses} has no # vX comment"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_permissions_are_least_privilege(path: Path) -> None:
    workflow = load(path)
    assert workflow["permissions"] == {}, "the workflow default must grant nothing"
    assert "pull_request_target" not in workflow["on"]
    for name, job in workflow["jobs"].items():
        permissions = job["permissions"]
        uses = [step.get("uses", "") for step in job["steps"]]
        assert permissions.get("contents") == "read", f"{path.name}/{name}"
        comments = "./.github/actions/comment" in uses
        assumes_role = any(u.startswith("aws-actions/configure-aws-credentials@") for u in uses)
        expected = {"contents": "read"}
        if comments:
            expected["pull-requests"] = "write"
        if assumes_role:
            expected["id-token"] = "write"
        assert permissions == expected, f"{path.name}/{name}: {permissions}"
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"{path.name}/{name}"


def test_a_job_holding_a_write_token_runs_no_pr_code() -> None:
    """The PR comment jobs take the report as a job output; the jobs that build PR code cannot write."""
    for path in WORKFLOWS:
        for name, job in load(path)["jobs"].items():
            if job["permissions"].get("pull-requests") == "write":
                runs = [step["run"] for step in job["steps"] if "run" in step]
                assert not any("dbt " in script for script in runs), f"{path.name}/{name}"


def test_repository_dispatch_jobs_are_guarded_by_event_type() -> None:
    """act (and a second dispatch type) would otherwise run them for any repository_dispatch."""
    downstream = load(GITHUB / "workflows" / "downstream.yml")
    assert downstream["on"]["repository_dispatch"]["types"] == ["meshkit-upstream-published"]
    for name, job in downstream["jobs"].items():
        condition = job.get("if", "")
        assert "github.event.action == 'meshkit-upstream-published'" in condition or \
            "github.event_name == 'pull_request'" in condition, f"downstream.yml/{name}"


def test_secrets_reach_actions_only_as_inputs() -> None:
    for path in WORKFLOWS:
        text = path.read_text()
        for line in text.splitlines():
            if "${{ secrets." in line:
                assert re.match(r"\s+token: \$\{\{ secrets\.\w+ \}\}$", line), f"{path.name}: {line.strip()}"

"""The workflows and composite actions, read as files: the linters, and the security rules the
linters do not check (least-privilege permissions per job, pins, no expressions in scripts)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.helpers import BIN, REPO, run

GITHUB = REPO / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ACTIONS = sorted((GITHUB / "actions").glob("*/action.yml"))
ACTION_NAMES = {
    "setup",
    "build",
    "parse-cache",
    "publish",
    "sync",
    "loom",
    "validate",
    "check",
    "dispatch",
    "comment",
    "bump-pr",
}
REUSABLE = {"meshkit-upstream.yml", "meshkit-downstream.yml"}
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
        '    steps:\n      - run: echo "${{ github.event.issue.title }}"\n      - uses: actions/cache@v4\n'
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
        assert any(uses in line and VERSION_COMMENT.search(line) for line in lines), (
            f"{path}: {uses} has no # vX comment"
        )


def _action(uses: str) -> str:
    """The name of one of meshkit's actions a step uses, however the workflow reaches it."""
    return uses.rsplit("/.github/actions/", 1)[1] if "/.github/actions/" in uses else ""


def needed_permissions(steps: list[dict[str, Any]]) -> dict[str, str]:
    """What a job's steps need: each action documents its permissions, this is that table."""
    uses = [step.get("uses", "") for step in steps]
    # Reading the repository needs contents: read; a job that only deploys an uploaded artifact reads none.
    needed = {"contents": "read"} if any(u.startswith("actions/checkout@") for u in uses) else {}
    if any(u.startswith("aws-actions/configure-aws-credentials@") for u in uses):
        needed["id-token"] = "write"
    if any(u.startswith("actions/deploy-pages@") for u in uses):
        needed.update({"pages": "write", "id-token": "write"})  # the Pages deployment and its OIDC token
    if any(_action(u) in ("comment", "bump-pr") for u in uses):
        needed["pull-requests"] = "write"
    if any(_action(u) == "bump-pr" for u in uses):
        needed["contents"] = "write"
    return needed


def _union(permissions: list[dict[str, str]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for entry in permissions:
        for scope, level in entry.items():
            if merged.get(scope) != "write":
                merged[scope] = level
    return merged


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_permissions_are_least_privilege(path: Path) -> None:
    workflow = load(path)
    assert workflow["permissions"] == {}, "the workflow default must grant nothing"
    assert "pull_request_target" not in workflow["on"]
    for name, job in workflow["jobs"].items():
        if "uses" in job:  # a caller: it grants what the called workflow's jobs declare, no more
            called = load(REPO / job["uses"])
            assert job["permissions"] == _union([j["permissions"] for j in called["jobs"].values()]), (
                f"{path.name}/{name}"
            )
            continue
        assert job["permissions"] == needed_permissions(job["steps"]), f"{path.name}/{name}: {job['permissions']}"
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"{path.name}/{name}"


def _write_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path.name, name, job)
        for path in WORKFLOWS
        for name, job in load(path)["jobs"].items()
        if "steps" in job and "write" in {job["permissions"].get("pull-requests"), job["permissions"].get("contents")}
    ]


def test_a_job_holding_a_write_token_runs_no_pr_code() -> None:
    """The comment jobs check out meshkit only; the bump job runs for publishes only; neither runs dbt."""
    jobs = _write_jobs()
    assert {(path, name) for path, name, _ in jobs} == {
        ("meshkit-upstream.yml", "comment"),
        ("meshkit-downstream.yml", "comment"),
        ("meshkit-downstream.yml", "bump"),
    }
    for path, name, job in jobs:
        for step in job["steps"]:
            assert _action(step.get("uses", "")) != "build" and "dbt " not in step.get("run", ""), f"{path}/{name}"
            if step.get("uses", "").startswith("actions/checkout@") and name == "comment":
                assert step["with"]["repository"] == "${{ inputs.meshkit-repository }}", f"{path}/{name}: {step}"
        if name == "bump":
            assert "pull_request" not in job["if"] and "github.event_name == 'repository_dispatch'" in job["if"]


def test_pull_request_jobs_hold_no_secret_and_no_write_role() -> None:
    """The jobs that run a PR's code (its dbt project's Jinja) never see a warehouse or dispatch secret."""
    for path in (GITHUB / "workflows" / name for name in sorted(REUSABLE)):
        document = load(path)
        check = document["jobs"]["check"]
        assert check["if"] == "github.event_name == 'pull_request'"
        assert "secrets." not in yaml.safe_dump(check), f"{path.name}/check"
        assert check["permissions"] == {"contents": "read", "id-token": "write"}
        [role] = [s for s in check["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]
        assert role["with"]["role-to-assume"] == "${{ inputs.aws-read-role || inputs.aws-role }}"
        assert [s["with"]["command"] for s in check["steps"] if _action(s.get("uses", "")) == "build"] == [
            "${{ inputs.check-command }}"
        ]
        assert document["on"]["workflow_call"]["inputs"]["check-command"]["default"] == "dbt parse"
        for name, job in document["jobs"].items():
            if name != "check":
                assert "pull_request" not in job["if"] or name == "comment", f"{path.name}/{name}"


def test_repository_dispatch_jobs_are_guarded_by_event_type() -> None:
    """act (and a second dispatch type) would otherwise run them for any repository_dispatch."""
    downstream = load(GITHUB / "workflows" / "downstream.yml")
    assert downstream["on"]["repository_dispatch"]["types"] == ["meshkit-upstream-published"]
    guard = "github.event.action == 'meshkit-upstream-published'"
    for name, job in downstream["jobs"].items():
        assert guard in job["if"], f"downstream.yml/{name}"
    for name, job in load(GITHUB / "workflows" / "meshkit-downstream.yml")["jobs"].items():
        condition = job["if"]
        assert "repository_dispatch" not in condition or guard in condition or "needs." in condition, name


def test_secrets_reach_actions_only_as_inputs() -> None:
    """Secrets are passed by name to the reusable workflows, and reach actions only as their inputs."""
    allowed = re.compile(
        r"\s+(token|warehouse-env|dispatch-token|bump-token): "
        r"\$\{\{ secrets\.[\w-]+( \|\| github\.token)? \}\}$"
    )
    for path in WORKFLOWS:
        for line in path.read_text().splitlines():
            if "${{ secrets." in line:
                assert allowed.match(line), f"{path.name}: {line.strip()}"


@pytest.mark.parametrize("name", ["meshkit-upstream.yml", "meshkit-downstream.yml"])
def test_the_comment_job_runs_no_pull_request_code(name: str) -> None:
    """The job holding pull-requests: write checks out only meshkit, at the base branch for meshkit's own repository
    (where meshkit-ref is the PR's commit) or at the caller's pin, and takes the report as data."""
    job = load(GITHUB / "workflows" / name)["jobs"]["comment"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    checkouts = [step for step in job["steps"] if str(step.get("uses", "")).startswith("actions/checkout@")]
    assert len(checkouts) == 1
    given = checkouts[0]["with"]
    assert given["repository"] == "${{ inputs.meshkit-repository }}" and given["path"] == ".meshkit"
    assert given["ref"] == (
        "${{ inputs.meshkit-repository == github.repository && github.event.pull_request.base.sha "
        "|| inputs.meshkit-ref }}"
    )
    local = [step["uses"] for step in job["steps"] if str(step.get("uses", "")).startswith("./")]
    assert local and all(uses.startswith("./.meshkit/.github/actions/") for uses in local)
    assert not any("run" in step for step in job["steps"])


@pytest.mark.parametrize("name", sorted(REUSABLE))
def test_only_the_default_branch_saves_dbt_partial_parse(name: str) -> None:
    """Every job that runs dbt restores the default branch's partial parse before it; only jobs of the default
    branch's runs save theirs after it, so a pull request's code never writes what a later run reads."""
    for job_name, job in load(GITHUB / "workflows" / name)["jobs"].items():
        steps = job["steps"]
        kinds = [_action(step.get("uses", "")) for step in steps]
        if "build" not in kinds:
            assert "parse-cache" not in kinds, f"{name}/{job_name}"
            continue
        caches = [(index, step) for index, step in enumerate(steps) if kinds[index] == "parse-cache"]
        build = kinds.index("build")
        [restore] = [index for index, step in caches if step["with"]["mode"] == "restore"]
        assert restore == build - 1, f"{name}/{job_name}: restore right before the dbt command"
        saves = [(index, step) for index, step in caches if step["with"]["mode"] == "save"]
        if "pull_request" in job["if"]:
            assert saves == [], f"{name}/{job_name}: a pull request job saves nothing"
            continue
        [(index, save)] = saves
        assert index == build + 1, f"{name}/{job_name}"
        assert save["if"].endswith(
            "github.event_name != 'pull_request' && github.ref_name == github.event.repository.default_branch"
        ), f"{name}/{job_name}"
        for step in (steps[restore], save):
            assert step["with"]["command"] == steps[build]["with"]["command"], f"{name}/{job_name}"
            assert step["with"]["python"] == "${{ steps.setup.outputs.python }}", f"{name}/{job_name}"


def test_the_docs_deploy_job_alone_writes_pages_and_runs_no_repository_code() -> None:
    """docs.yml builds on every pull request; only its deploy job, on main, holds pages: write and id-token: write,
    and it only deploys the artifact the build job uploaded (the explorer's workflow has its own deploy job)."""
    docs = load(GITHUB / "workflows" / "docs.yml")
    assert "pull_request" in docs["on"] and docs["on"]["push"]["branches"] == ["main"]
    on_main = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    build, deploy = docs["jobs"]["build"], docs["jobs"]["deploy"]
    assert build["permissions"] == {"contents": "read"}
    assert [step.get("run") for step in build["steps"] if "run" in step] == ["make docs"]
    [upload] = [step for step in build["steps"] if step.get("uses", "").startswith("actions/upload-pages-artifact@")]
    assert upload["if"] == on_main and upload["with"]["path"] == "site/"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["if"] == on_main and deploy["needs"] == "build"
    assert [step["uses"].split("@")[0] for step in deploy["steps"]] == ["actions/deploy-pages"]
    writers = [
        (path.name, name)
        for path in WORKFLOWS
        for name, job in load(path)["jobs"].items()
        if "pages" in (job.get("permissions") or {})
    ]
    assert writers == [("docs.yml", "deploy"), ("meshkit-explorer.yml", "deploy")]  # the explorer's: its own test

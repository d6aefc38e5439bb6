"""Run this repository's workflows with act in host mode (no Docker), the way GitHub would.

Each run gets its own git workspace (a copy of the repository with one commit on `main` and an
`origin` on github.com, so act derives GITHUB_REPOSITORY and GITHUB_SHA as GitHub does). Every
remote action the workflows pin is replaced by a stand-in from tests/act/ through
`--local-repository`; a pin with no stand-in fails the run before act starts, because act would
try to download it. All runs of a test session share one act HOME, so the setup action's
virtualenv lands once in that HOME's tool cache (and once in the stand-in Actions cache).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.helpers import BIN, REPO, copy_repo

ACT = BIN / "act"
STAND_INS = REPO / "tests" / "act"
# owner/repo of each pinned remote action -> its stand-in folder under tests/act/
STAND_IN_FOLDERS = {
    "actions/cache": "actions-cache",
    "actions/checkout": "checkout",
    "aws-actions/configure-aws-credentials": "configure-aws-credentials",
    "google-github-actions/auth": "google-auth",
    "azure/login": "azure-login",
    "actions/upload-pages-artifact": "upload-pages-artifact",
    "actions/deploy-pages": "deploy-pages",
}
_PINNED_USES = re.compile(r"^\s*(?:-\s+)?uses:\s*([\w.-]+/[\w.-]+)(?:/[\w./-]+)?@([0-9a-f]{40})\b", re.MULTILINE)
GITHUB_REPOSITORY = "meshkit-demo/mesh"
_PASSED_THROUGH = {"http_proxy", "https_proxy", "no_proxy", "ssl_cert_file", "requests_ca_bundle"}
_GIT = ["git", "-c", "user.name=meshkit-tests", "-c", "user.email=tests@meshkit.invalid", "-c", "commit.gpgsign=false"]


@dataclass(frozen=True)
class ActHome:
    """What all act runs of one session share: HOME (tool cache), the stand-in cache store."""

    home: Path
    cache_store: Path


@dataclass(frozen=True)
class ActRun:
    returncode: int
    log: str

    def _job_ended(self, job: str, outcome: str) -> bool:
        # act pads the job column to the longest job name of the run: "[downstream/loom   ]".
        return re.search(rf"^\[{re.escape(job)} *\] 🏁  Job {outcome}$", self.log, re.MULTILINE) is not None

    def job_succeeded(self, job: str) -> bool:
        return self._job_ended(job, "succeeded")

    def job_failed(self, job: str) -> bool:
        return self._job_ended(job, "failed")

    def job_ran(self, job: str) -> bool:
        return self.job_succeeded(job) or self.job_failed(job)


def local_repositories(*roots: Path, served: dict[str, Path] | None = None) -> list[str]:
    """`--local-repository` values for every pinned remote action or workflow under each root/.github.

    served maps OWNER/REPO@SHA to a local checkout that stands for that repository (a remote
    reusable workflow); every other pin needs a stand-in from tests/act/.
    """
    served = served or {}
    pins: set[tuple[str, str]] = set()
    for root in roots:
        for path in sorted((root / ".github").rglob("*.yml")):
            pins.update(_PINNED_USES.findall(path.read_text()))
    values = [f"{pin}={folder}" for pin, folder in sorted(served.items())]
    for repository, sha in sorted(pins):
        if f"{repository}@{sha}" in served:
            continue
        # act itself skips a checkout of the workflow's own repository; the stand-in serves the others.
        folder = STAND_IN_FOLDERS.get(repository)
        if folder is None:
            raise AssertionError(f"{repository}@{sha} has no stand-in in tests/act/: act would download it")
        values.append(f"{repository}@{sha}={STAND_INS / folder}")
    return values


def git(workspace: Path, *args: str) -> str:
    done = subprocess.run([*_GIT, *args], cwd=workspace, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def make_workspace(dest: Path, full_name: str = GITHUB_REPOSITORY) -> Path:
    """A copy of this repository as a git checkout of `main` at one commit, with origin on github.com."""
    copy_repo(dest)
    return make_git_repository(dest, full_name, "meshkit act test workspace")


def make_git_repository(dest: Path, full_name: str, message: str) -> Path:
    """Make a folder a git repository on `main` whose origin is github.com/full_name (act reads it)."""
    git(dest, "init", "--quiet", "--initial-branch=main")
    git(dest, "remote", "add", "origin", f"https://github.com/{full_name}.git")
    commit_all(dest, message)
    return dest


def step_seconds(log: str, job: str, step: str) -> list[float]:
    """How long each run of a step took in a job, from act's "✅  Success - Main STEP [1m2.3s]" lines."""
    found = re.findall(
        rf"^\[{re.escape(job)} *\]   ✅  Success - Main {re.escape(step)} \[([0-9.hms]+)\]$", log, re.MULTILINE
    )
    return [_seconds(text) for text in found]


def _seconds(text: str) -> float:
    total = 0.0
    for value, unit in re.findall(r"([0-9.]+)(h|ms|m|s)", text):
        total += float(value) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    return total


def commit_all(workspace: Path, message: str) -> str:
    git(workspace, "add", "--all")
    git(workspace, "commit", "--quiet", "--allow-empty", "-m", message)
    return git(workspace, "rev-parse", "HEAD")


def _host_path() -> str:
    """PATH without the test virtualenv: workflows must find meshkit and dbt through the setup action."""
    entries = os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
    return os.pathsep.join(entry for entry in entries if Path(entry) != BIN)


def run_act(
    workspace: Path,
    act_home: ActHome,
    *,
    event_name: str,
    workflow: str,
    event: dict[str, Any],
    env: dict[str, str],
    variables: dict[str, str],
    secrets: dict[str, str],
    repositories: dict[str, Path],
    served: dict[str, Path] | None = None,
    extra_roots: tuple[Path, ...] = (),
    verbose: bool = False,
    timeout: int = 900,
) -> ActRun:
    """repositories: OWNER/REPO -> local git checkout, for checkouts of other repositories (meshkit's own)."""
    event_file = workspace.parent / f"{workspace.name}-{event_name}-event.json"
    event_file.write_text(json.dumps(event))
    repos_dir = workspace.parent / f"{workspace.name}-repositories"
    shutil.rmtree(repos_dir, ignore_errors=True)
    for full_name, checkout in repositories.items():
        (repos_dir / full_name).parent.mkdir(parents=True, exist_ok=True)
        (repos_dir / full_name).symlink_to(checkout.resolve(), target_is_directory=True)
    workflow_env = {
        "MESHKIT_ACT_REPOSITORIES": str(repos_dir),
        "MESHKIT_ACT_CACHE_STORE": str(act_home.cache_store),
        "MESHKIT_ACT_PYTHON": sys.executable,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        **env,
    }
    command = [
        str(ACT),
        event_name,
        "-W",
        f".github/workflows/{workflow}",
        "-e",
        str(event_file),
        "-P",
        "ubuntu-latest=-self-hosted",
        "--pull=false",
        "--action-offline-mode",
    ]
    if verbose:
        command.append("--verbose")  # also logs why a job was skipped
    for value in local_repositories(workspace, *extra_roots, served=served):
        command += ["--local-repository", value]
    for flag, values in (("--env", workflow_env), ("--var", variables), ("--secret", secrets)):
        for name, value in values.items():
            command += [flag, f"{name}={value}"]
    process_env = {
        "HOME": str(act_home.home),
        "PATH": _host_path(),
        "LANG": "C.UTF-8",
        # pip's and uv's download caches stay the developer's, so a fresh act HOME does not refetch wheels.
        "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip")),
        "UV_CACHE_DIR": os.environ.get("UV_CACHE_DIR", str(Path.home() / ".cache" / "uv")),
    }
    # The machine's package-index settings (pip and uv options, proxies, CA bundle) still apply in workflows.
    for name, value in os.environ.items():
        if name.startswith(("PIP_", "UV_")) or name.lower() in _PASSED_THROUGH:
            process_env.setdefault(name, value)
    done = subprocess.run(command, cwd=workspace, env=process_env, capture_output=True, text=True, timeout=timeout)
    run = ActRun(done.returncode, done.stdout + done.stderr)
    keep = os.environ.get("MESHKIT_ACT_LOG_DIR")  # a developer's look at every run's whole log
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        serial = len(list(Path(keep).glob("*.log")))
        (Path(keep) / f"{serial:03d}-{workspace.name}-{event_name}-{workflow}.log").write_text(run.log)
    return run

"""Helpers shared by the test modules: run real processes, copy the repository, snapshot trees."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
_IGNORED_ANYWHERE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "target",
    "logs",
    "dbt_packages",
    "*.duckdb",
    "*.duckdb.wal",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    ".hypothesis",
    ".cache",
    "*.egg-info",
    ".user.yml",
    "node_modules",
)
# Build outputs at the top only: meshkit/registry/ is source code, registry/ is the demo's registry, site/ the docs.
_IGNORED_AT_ROOT = {"registry", "artifacts", "site"}


def _copy_ignore(directory: str, names: list[str]) -> set[str]:
    ignored = set(_IGNORED_ANYWHERE(directory, names))
    if Path(directory) == REPO:
        ignored |= _IGNORED_AT_ROOT.intersection(names)
    return ignored


# Variables a developer's shell may carry that would steer meshkit or boto3 away from the test's own setup.
_SCRUBBED = (
    "MESHKIT_REGISTRY",
    "DBT_MESH_BUCKET",
    "DBT_LOOM_CONFIG",
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "GITHUB_SHA",
    "DBT_UP_DUCKDB_PATH",
)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    env["DO_NOT_TRACK"] = "1"
    env.update(extra)
    return env


def run(
    cmd: list[str | Path], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def meshkit(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI in a child process, so exit codes and stderr are exactly what users see."""
    return run([sys.executable, "-m", "meshkit", *args], cwd=cwd, env=env)


def dbt(project_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run([BIN / "dbt", *args], cwd=project_dir, env=env)


def copy_repo(dest: Path) -> Path:
    shutil.copytree(REPO, dest, ignore=_copy_ignore)
    return dest


def snapshot(root: Path) -> dict[str, str]:
    """Every file under root with its sha256: compare before and after to prove nothing was written."""
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """Assert the failure is a single clear line with no traceback, and return it."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


def latest_entry(registry_root: Path, project: str = "dbt_up", env: str = "prod") -> Path:
    """The history entry folder that latest/pointer.json names: where the current contract lives."""
    pointer = json.loads((registry_root / project / env / "latest" / "pointer.json").read_text())
    return registry_root / project / env / "history" / pointer["history_id"]


def rewrite_latest_contract(registry_root: Path, data: bytes, project: str = "dbt_up", env: str = "prod") -> None:
    """Replace the current contract as a careful hand edit would: every recorded sha256 made to match."""
    entry = latest_entry(registry_root, project, env)
    latest = registry_root / project / env / "latest"
    digest = hashlib.sha256(data).hexdigest()
    for path in (entry / "metadata.json", latest / "metadata.json", latest / "pointer.json"):
        document = json.loads(path.read_text())
        document["sha256"] = digest
        path.write_text(json.dumps(document))
    (entry / "manifest.json").write_bytes(data)
    (latest / "manifest.json").write_bytes(data)

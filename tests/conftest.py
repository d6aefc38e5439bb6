"""Shared fixtures. The demo mesh is built once per test run and shared across xdist workers.

The build *is* the proof of concept's four steps, run verbatim in a copy of the
repository; tests that need to change things copy the built tree first.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from filelock import FileLock

from support.github_api import github_api  # noqa: F401  (the fake GitHub REST API fixture)
from support.goldens import Goldens
from support.helpers import clean_env, copy_repo, run

SEED_STEPS = """set -e
cd dbt_up && dbt build && python3 publish_manifest.py --local
cd ../dbt_down_loom && dbt build
cd ../dbt_down && python3 scripts/sync_mesh.py --local && dbt build
cd .. && python3 validate_lineage.py --all
"""


def _build(dest: Path) -> dict[str, object]:
    copy_repo(dest)
    result = run(["bash", "-c", SEED_STEPS], cwd=dest, env=clean_env(), timeout=900)
    return {"returncode": result.returncode, "stdout": result.stdout, "stderr": result.stderr}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update",
        "--update-goldens",
        action="store_true",
        dest="update_goldens",
        help="rewrite the golden files (tests/data/...) from the current output instead of comparing",
    )


@pytest.fixture
def goldens(request: pytest.FixtureRequest) -> Goldens:
    return Goldens(update=bool(request.config.getoption("update_goldens")))


@pytest.fixture(scope="session")
def built_mesh(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A repository copy where the seed's four steps have run. Treat it as read-only."""
    # Under xdist the workers' base temps share this run's parent folder; without xdist
    # the parent is shared by every run on the machine, so stay inside this run's own.
    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent
    root = shared / "built_mesh"
    record = shared / "built_mesh.json"
    with FileLock(str(shared / "built_mesh.lock")):
        if not record.exists():
            if root.exists():
                shutil.rmtree(root)
            record.write_text(json.dumps(_build(root)))
    outcome = json.loads(record.read_text())
    if outcome["returncode"] != 0:
        pytest.fail(f"the seed steps failed:\n{outcome['stdout'][-4000:]}\n{outcome['stderr'][-4000:]}")
    return root


@pytest.fixture(scope="session")
def seed_run(built_mesh: Path) -> dict[str, object]:
    """stdout, stderr and exit code of the seed's four steps."""
    return json.loads(built_mesh.with_suffix(".json").read_text())


@pytest.fixture
def mesh(built_mesh: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the built mesh (databases, manifests and registry included)."""
    dest = tmp_path / "mesh"
    shutil.copytree(built_mesh, dest, ignore=shutil.ignore_patterns("logs", "__pycache__"), symlinks=True)
    return dest


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A fresh, unbuilt copy of the repository."""
    return copy_repo(tmp_path / "repo")

"""`pip install` of the built wheel, then `meshkit init` with no meshkit flags, as a new user would.

The wheel is built from a clean git checkout of meshkit whose origin is github.com/meshkit-dev/meshkit;
setup.py's build hook records that repository and the commit in meshkit/_origin.json, so init pins the
caller to them in the `uses: …@SHA # vX.Y.Z` form Dependabot and Renovate update. A wheel built from a
modified tree records nothing, and init asks for the flags, as before. Needs PyPI (pip, setuptools).
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from meshkit import __version__
from support.helpers import BIN, clean_env, copy_repo, one_line_error, run

pytestmark = pytest.mark.compat

_GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run([*_GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def _wheel(source: Path, out: Path) -> Path:
    built = run([BIN / "uv", "build", "--wheel", "--python", sys.executable, "--out-dir", out, source], cwd=source)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    [wheel] = sorted(out.glob("meshkit-*.whl"))
    return wheel


def _origin(wheel: Path) -> dict[str, str] | None:
    with zipfile.ZipFile(wheel) as archive:
        return (
            json.loads(archive.read("meshkit/_origin.json")) if "meshkit/_origin.json" in archive.namelist() else None
        )


@pytest.fixture(scope="module")
def meshkit_checkout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    source = copy_repo(tmp_path_factory.mktemp("wheel") / "meshkit")
    _git(source, "init", "--quiet", "--initial-branch=main")
    _git(source, "remote", "add", "origin", "https://github.com/meshkit-dev/meshkit.git")
    _git(source, "add", "-A")
    _git(source, "commit", "--quiet", "-m", "meshkit release")
    return source, _git(source, "rev-parse", "HEAD")


def test_init_from_the_installed_wheel_pins_itself(meshkit_checkout: tuple[Path, str], tmp_path: Path) -> None:
    source, commit = meshkit_checkout
    wheel = _wheel(source, tmp_path / "dist")
    assert _origin(wheel) == {"repository": "meshkit-dev/meshkit", "commit": commit}

    venv = tmp_path / "venv"
    assert run([sys.executable, "-m", "venv", venv], cwd=tmp_path).returncode == 0
    installed = run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel], cwd=tmp_path, timeout=900)
    assert installed.returncode == 0, installed.stderr[-3000:]

    repo = tmp_path / "orders"
    (repo / "transform").mkdir(parents=True)
    (repo / "transform" / "dbt_project.yml").write_text("name: orders_core\nversion: '1.0'\nprofile: orders_core\n")
    _git(repo, "init", "--quiet", "--initial-branch=main")
    env = clean_env(PATH=f"{venv / 'bin'}:/usr/bin:/bin")
    args = ["init", "--role", "upstream", "--project-dir", "transform", "--registry", "s3://acme-mesh/contracts"]
    result = run([venv / "bin" / "meshkit", *args], cwd=repo, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"pinned to meshkit-dev/meshkit@{commit}" in result.stdout

    text = (repo / ".github" / "workflows" / "meshkit-orders_core.yml").read_text()
    assert f"uses: meshkit-dev/meshkit/.github/workflows/meshkit-upstream.yml@{commit} # v{__version__}\n" in text
    job = yaml.safe_load(text)["jobs"]["upstream"]
    assert (job["with"]["meshkit-repository"], job["with"]["meshkit-ref"]) == ("meshkit-dev/meshkit", commit)
    assert run([BIN / "actionlint", "-no-color", "-shellcheck="], cwd=repo).stdout == ""
    zizmor = run([BIN / "zizmor", "--offline", ".github"], cwd=repo)
    assert zizmor.returncode == 0 and "No findings to report" in zizmor.stdout, zizmor.stdout


def test_a_wheel_of_a_modified_tree_records_nothing_and_init_asks(
    meshkit_checkout: tuple[Path, str], tmp_path: Path
) -> None:
    source, _ = meshkit_checkout
    readme = source / "README.md"
    original = readme.read_text()
    readme.write_text(original + "\nlocal edit\n")
    try:
        wheel = _wheel(source, tmp_path / "dist")
    finally:
        readme.write_text(original)
    assert _origin(wheel) is None

    target = tmp_path / "site"
    unpacked = run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", target, wheel], cwd=tmp_path
    )
    assert unpacked.returncode == 0, unpacked.stderr
    repo = tmp_path / "repo"
    (repo / "up").mkdir(parents=True)
    (repo / "up" / "dbt_project.yml").write_text("name: shop\nversion: '1.0'\nprofile: shop\n")
    args = [
        "init",
        "--role",
        "upstream",
        "--project-dir",
        "up",
        "--registry",
        "s3://b-ucket/p",
        "--meshkit-repository",
        "a/b",
    ]
    result = run([sys.executable, "-m", "meshkit", *args], cwd=repo, env=clean_env(PYTHONPATH=str(target)))
    assert result.returncode == 2
    assert "pass --meshkit-ref with the full commit SHA" in one_line_error(result)

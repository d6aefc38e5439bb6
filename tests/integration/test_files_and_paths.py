"""Files and special paths: outputs keep the umask's permissions, special files are refused, nothing hangs."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from support.helpers import clean_env, one_line_error

pytestmark = pytest.mark.dbt


def meshkit_with_umask(umask: int, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meshkit", *map(str, args)],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        umask=umask,
    )


def modes(root: Path) -> set[int]:
    return {stat.S_IMODE(p.stat().st_mode) for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640)])
def test_written_files_get_the_umasks_permissions(mesh: Path, umask: int, mode: int) -> None:
    published = meshkit_with_umask(umask, "publish", "--project-dir", "dbt_up", "--registry", "team", cwd=mesh)
    assert published.returncode == 0, published.stderr
    assert modes(mesh / "team") == {mode}

    catalog = meshkit_with_umask(umask, "catalog", "--registry", "team", "--output", "out/catalog.html", cwd=mesh)
    assert catalog.returncode == 0, catalog.stderr
    assert stat.S_IMODE((mesh / "out/catalog.html").stat().st_mode) == mode

    sources = mesh / "dbt_down/models/_mesh_dbt_up.yml"
    sources.unlink()
    synced = meshkit_with_umask(
        umask, "sync", "--project-dir", "dbt_down", "--upstream", "dbt_up", "--registry", "team", cwd=mesh
    )
    assert synced.returncode == 0, synced.stderr
    assert stat.S_IMODE(sources.stat().st_mode) == mode


def test_an_existing_output_keeps_its_permissions(built_mesh: Path, tmp_path: Path) -> None:
    output = tmp_path / "catalog.html"
    output.write_text("old")
    output.chmod(0o604)
    result = meshkit_with_umask(
        0o077, "catalog", "--registry", built_mesh / "registry", "--output", output, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(output.stat().st_mode) == 0o604 and output.read_text().startswith("<!doctype html>")


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_an_output_that_is_not_a_regular_file_is_refused(built_mesh: Path, tmp_path: Path, kind: str) -> None:
    """A fifo, or a folder where the page goes (an existing folder's index.html): refused, nothing left behind."""
    target = tmp_path / "catalog.html" if kind == "fifo" else tmp_path / "site" / "index.html"
    target.parent.mkdir(exist_ok=True)
    os.mkfifo(target) if kind == "fifo" else target.mkdir()
    output = target if kind == "fifo" else target.parent
    result = meshkit_with_umask(
        0o022, "catalog", "--registry", built_mesh / "registry", "--output", output, cwd=tmp_path
    )
    assert result.returncode == 2
    assert "exists and is not a regular file" in one_line_error(result)
    assert stat.S_ISFIFO(target.stat().st_mode) if kind == "fifo" else target.is_dir()
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no temporary file left


def test_an_existing_folder_gets_the_page_as_its_index(built_mesh: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    result = meshkit_with_umask(0o022, "catalog", "--registry", built_mesh / "registry", "--output", site, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in site.iterdir()) == ["index.html"]
    assert (site / "index.html").read_text().startswith("<!doctype html>")


def test_dev_stdout_as_output_is_written_in_place(built_mesh: Path, tmp_path: Path) -> None:
    args = ("catalog", "--registry", built_mesh / "registry", "--output", "/dev/stdout")
    result = meshkit_with_umask(0o022, *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("<!doctype html>") and result.stdout.rstrip().endswith("</html>")


def special_input(tmp_path: Path, kind: str) -> Path:
    if kind == "fifo":
        path = tmp_path / "input"
        os.mkfifo(path)  # nobody ever writes to it: reading it would block for ever
        return path
    if kind == "folder":
        path = tmp_path / "input"
        path.mkdir()
        return path
    return Path("/dev/zero")  # endless


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder"])
def test_input_files_that_are_not_regular_are_refused_without_hanging(mesh: Path, tmp_path: Path, kind: str) -> None:
    special = special_input(tmp_path, kind)
    commands = {
        "validate": ("validate", "--manifest", special, "--registry", "registry"),
        "check": ("check", "--project-dir", "dbt_up", "--registry", "registry", "--manifest", special),
        "sync": (
            "sync",
            "--project-dir",
            "dbt_down",
            "--upstream",
            "dbt_up",
            "--registry",
            "registry",
            "--config",
            special,
        ),
    }
    for name, args in commands.items():
        result = meshkit_with_umask(0o022, *args, cwd=mesh)
        assert result.returncode == 2, (name, result.stdout, result.stderr)
        line = one_line_error(result)
        assert "not a regular file" in line and str(special) in line, (name, line)


def test_a_manifest_replaced_by_a_fifo_is_refused_by_publish(mesh: Path) -> None:
    manifest = mesh / "dbt_up/target/manifest.json"
    manifest.unlink()
    os.mkfifo(manifest)
    result = meshkit_with_umask(0o022, "publish", "--project-dir", "dbt_up", "--registry", "fresh", cwd=mesh)
    assert result.returncode == 2 and "not a regular file" in one_line_error(result)
    assert not (mesh / "fresh").exists()


def test_long_paths_are_one_clear_line(built_mesh: Path, tmp_path: Path) -> None:
    long = tmp_path / ("x" * 300) / "manifest.json"
    result = meshkit_with_umask(
        0o022, "validate", "--manifest", long, "--registry", built_mesh / "registry", cwd=tmp_path
    )
    assert result.returncode == 2 and "File name too long" in one_line_error(result)
    output = tmp_path / ("y" * 300 + ".html")
    result = meshkit_with_umask(
        0o022, "catalog", "--registry", built_mesh / "registry", "--output", output, cwd=tmp_path
    )
    assert result.returncode == 2 and "File name too long" in one_line_error(result)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args",
    [
        ("sync", "--upstream", "dbt_up", "--project-dir"),
        ("sync", "--project-dir"),
        ("publish", "--project-dir"),
        ("check", "--project-dir"),
        ("init", "--role", "upstream", "--project-dir"),
        ("validate", "--all", "--root"),
    ],
)
def test_a_5000_character_project_dir_is_one_clear_line(
    built_mesh: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    """Run from a folder without meshkit.yml, as the issue found: `sync` and `init` stopped with an OSError (exit 3)."""
    result = meshkit_with_umask(0o022, *args, "a" * 5000, "--registry", built_mesh / "registry", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert one_line_error(result).endswith("File name too long")
    assert list(tmp_path.iterdir()) == []


def test_an_undecodable_path_is_one_clear_line(built_mesh: Path, tmp_path: Path) -> None:
    undecodable = os.fsdecode(b"/tmp/registry-\xff\xfe")  # bytes no UTF-8 locale can decode
    for args in (
        ("catalog", "--registry", undecodable, "--format", "json", "--output", "-"),
        ("validate", "--manifest", undecodable, "--registry", built_mesh / "registry", "--format", "json"),
    ):
        result = meshkit_with_umask(0o022, *args, cwd=tmp_path)
        assert result.returncode == 2
        assert (
            one_line_error(result) == "meshkit: error: argument '/tmp/registry-\\xff\\xfe' is not UTF-8: "
            "rename the path (or pass it as UTF-8)"
        )

"""ruff (lint and format) and mypy --strict, as `make lint-python` runs them: a finding fails the suite."""

from __future__ import annotations

import shutil
from pathlib import Path

from support.helpers import BIN, REPO, run


def test_ruff_check_finds_nothing() -> None:
    result = run([BIN / "ruff", "check", "--no-cache", "."], cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_would_change_nothing() -> None:
    result = run([BIN / "ruff", "format", "--no-cache", "--check", "."], cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_finds_nothing() -> None:
    result = run([BIN / "mypy", "--no-incremental"], cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found"), result.stdout


def test_the_python_linters_catch_planted_problems(tmp_path: Path) -> None:
    """Control: the three tests above could fail, with this repository's settings."""
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    package = tmp_path / "meshkit"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "bad.py").write_text("import os\n\n\ndef half(value):\n    return value/2\n")
    assert run([BIN / "ruff", "check", "--no-cache", "."], cwd=tmp_path).returncode == 1  # unused import
    assert run([BIN / "ruff", "format", "--no-cache", "--check", "."], cwd=tmp_path).returncode == 1
    result = run([BIN / "mypy", "--no-incremental"], cwd=tmp_path)
    assert result.returncode == 1 and "Function is missing a type annotation" in result.stdout, result.stdout

"""Best-effort git commit for audit records; absence is normal outside a checkout."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

_SHA = re.compile(r"[0-9a-f]{7,64}")


def git_output(directory: Path, *args: str) -> str | None:
    """What a git command prints in directory, or None when git is missing or the command fails."""
    try:
        result = subprocess.run(
            ["git", "-C", str(directory), *args], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def current_commit(directory: Path) -> str | None:
    from_ci = os.environ.get("GITHUB_SHA", "").strip().lower()
    if _SHA.fullmatch(from_ci):
        return from_ci
    sha = git_output(directory, "rev-parse", "HEAD")
    return sha if sha and _SHA.fullmatch(sha) else None

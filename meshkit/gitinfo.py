"""Best-effort git commit for audit records; absence is normal outside a checkout."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

_SHA = re.compile(r"[0-9a-f]{7,64}")


def current_commit(directory: Path) -> str | None:
    from_ci = os.environ.get("GITHUB_SHA", "").strip().lower()
    if _SHA.fullmatch(from_ci):
        return from_ci
    try:
        result = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = result.stdout.strip()
    return sha if result.returncode == 0 and _SHA.fullmatch(sha) else None

"""The build hook: record in the wheel which GitHub repository and commit it was built from.

`meshkit init` pins the caller workflow to meshkit's reusable workflows at a commit. From a git
checkout it asks git; from an installed wheel there is no git, so this hook writes
meshkit/_origin.json into the wheel: the repository (from the `origin` remote on github.com) and the
commit HEAD names, only when the tracked files are exactly that commit. A build from an sdist, a
non-GitHub clone or a modified tree records nothing, and `init` then asks for --meshkit-repository and
--meshkit-ref. Everything else about the package is in pyproject.toml.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
GITHUB_REMOTE = re.compile(
    r"(?:https://github\.com/|git@github\.com:|ssh://git@github\.com/)([A-Za-z0-9-]+/[A-Za-z0-9._-]+?)(?:\.git)?/?"
)


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(HERE), *args], capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def origin() -> dict[str, str] | None:
    """{"repository": OWNER/REPO, "commit": SHA} of a clean GitHub checkout, else None."""
    if _git("rev-parse", "--show-toplevel") != str(HERE):
        return None  # not the root of a git checkout (an sdist, or a copy inside another repository)
    commit = _git("rev-parse", "HEAD") or ""
    found = GITHUB_REMOTE.fullmatch(_git("remote", "get-url", "origin") or "")
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    if not (re.fullmatch(r"[0-9a-f]{40}", commit) and found and dirty == ""):
        return None
    return {"repository": found.group(1), "commit": commit}


class BuildPyWithOrigin(build_py):
    def run(self) -> None:
        super().run()
        if self.dry_run:
            return
        recorded = origin()
        target = Path(self.build_lib) / "meshkit" / "_origin.json"
        target.unlink(missing_ok=True)  # a build/ folder kept from an earlier build must not vouch for this one
        if recorded is not None:
            target.write_text(json.dumps(recorded, sort_keys=True) + "\n")


setup(cmdclass={"build_py": BuildPyWithOrigin})

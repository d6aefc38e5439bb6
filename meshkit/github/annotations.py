"""GitHub Actions workflow commands: annotations and the step summary.

Escaping follows the runner's own rules (actions/toolkit `command.ts`): the message
escapes %, CR and LF; property values also escape ':' and ','. Without it a
model name holding a newline could inject a second workflow command.
"""

from __future__ import annotations

import os
from pathlib import Path

from meshkit.errors import InputError

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: str, message: str, *, title: str | None = None, file: str | None = None) -> str:
    """One `::error`/`::warning`/`::notice` line."""
    if level not in ("error", "warning", "notice"):
        raise ValueError(level)
    props = [f"{key}={escape_property(value)}" for key, value in (("file", file), ("title", title)) if value]
    head = f"::{level} {','.join(props)}" if props else f"::{level}"
    return f"{head}::{escape_data(message)}"


def repo_path(project_dir: Path, relative: str | None) -> str | None:
    """A project file as a path from the working directory, which in Actions is the repository root."""
    if not relative:
        return None
    path = Path(os.path.relpath((project_dir / relative).resolve(), Path.cwd().resolve()))
    return None if path.parts[:1] == ("..",) else path.as_posix()


def append_step_summary(markdown: str) -> bool:
    """Append to $GITHUB_STEP_SUMMARY when the runner provides one; False when it does not."""
    target = os.environ.get(STEP_SUMMARY_ENV)
    if not target:
        return False
    try:
        with open(target, "a", encoding="utf-8") as summary:
            summary.write(markdown if markdown.endswith("\n") else markdown + "\n")
    except OSError as exc:
        raise InputError(f"cannot append to ${STEP_SUMMARY_ENV} ({target}): {exc.strerror}") from None
    return True

"""What the act scenarios share, whichever store holds the registry: the demo's job names, the events
GitHub sends, a pull request's breaking edit, and the partial parses in the stand-in Actions cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.act_runner import ActHome, commit_all, git
from support.dbt_edits import PublicModels, drop_select_column

# act names a called workflow's job CALLER_JOB/WORKFLOW_NAME/JOB.
UP = "dbt_up/meshkit upstream"
DOWN = "dbt_down/meshkit downstream"
LOOM = "dbt_down_loom/meshkit downstream"


def pull_request_event(number: int, workspace: Path) -> dict[str, Any]:
    head = git(workspace, "rev-parse", "HEAD")
    branch = git(workspace, "rev-parse", "--abbrev-ref", "HEAD")
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {"number": number, "head": {"ref": branch, "sha": head}, "base": {"ref": "main"}},
    }


def commit_dropped_column(workspace: Path, model: str, column: str) -> None:
    """A PR commit dropping a public column from dbt_up, in its YAML contract and its SQL."""
    models = PublicModels(workspace / "dbt_up")
    models.drop_column(model, column)
    models.save()
    drop_select_column(workspace / "dbt_up", model, column)
    commit_all(workspace, f"drop {model}.{column}")


def saved_parses(act_home: ActHome) -> dict[str, int]:
    """The partial parses in the (stand-in) Actions cache, with their modification times."""
    return {path.name: path.stat().st_mtime_ns for path in act_home.cache_store.glob("meshkit-dbt-partial-parse-*")}

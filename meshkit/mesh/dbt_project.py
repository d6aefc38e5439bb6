"""Reading a dbt project folder's own settings: today its name, from dbt_project.yml."""

from __future__ import annotations

from pathlib import Path

from meshkit.errors import InputError


def project_name_from(project_dir: Path) -> str:
    """The `name` in dbt_project.yml: what dbt calls the project, and what meshkit keys it by."""
    import yaml

    path = project_dir / "dbt_project.yml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{project_dir} is not a dbt project (no dbt_project.yml): pass --project-dir") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text: fix the file") from None
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str):
        raise InputError(f"{path} has no project name: pass --project")
    return name

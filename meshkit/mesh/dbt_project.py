"""Reading a dbt project folder's own settings (dbt_project.yml): its name, and the folders it reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from meshkit.errors import InputError
from meshkit.files import read_regular_text


def yaml_loader() -> Any:
    """PyYAML's C loader where it is built, else the pure-Python one: same result, a tenth of the time."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def invalid_yaml(path: Path, exc: Exception) -> InputError:
    """One line for a YAML syntax error, with the line PyYAML stopped at."""
    mark = getattr(exc, "problem_mark", None)
    where = f" (line {mark.line + 1})" if mark is not None else ""
    return InputError(f"{path} is not valid YAML{where}: fix the file")


def read_dbt_project(project_dir: Path) -> dict[str, Any]:
    """dbt_project.yml as a mapping; a missing, unreadable or malformed file is one clear line."""
    import yaml

    path = project_dir / "dbt_project.yml"
    try:
        data = yaml.load(read_regular_text(path), Loader=yaml_loader())
    except FileNotFoundError:
        raise InputError(f"{project_dir} is not a dbt project (no dbt_project.yml): pass --project-dir") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text: fix the file") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise invalid_yaml(path, exc) from None
    if not isinstance(data, dict):
        raise InputError(f"{path} is not a dbt project file (not a mapping): fix the file")
    return data


def project_name_from(project_dir: Path) -> str:
    """The `name` in dbt_project.yml: what dbt calls the project, and what meshkit keys it by."""
    name = read_dbt_project(project_dir).get("name")
    if not isinstance(name, str):
        raise InputError(f"{project_dir / 'dbt_project.yml'} has no project name: pass --project")
    return name

"""Edits to dbt_up's public models, made the way a developer would: the YAML with PyYAML, the SQL by line.

The SQL files select one `cast(... as <type>) as <column>` per line, so a column is
dropped, retyped or added by editing its line; dbt's contract enforcement then proves
at build time that the YAML and the SQL still agree.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

PUBLIC_YML = Path("models/marts/_public.yml")
MARTS = Path("models/marts")


class PublicModels:
    """dbt_up's _public.yml, loaded for editing; call save() to write it back."""

    def __init__(self, project_dir: Path) -> None:
        self.project_dir = project_dir
        self.path = project_dir / PUBLIC_YML
        self.doc: dict[str, Any] = yaml.safe_load(self.path.read_text())

    def model(self, name: str) -> dict[str, Any]:
        for model in self.doc["models"]:
            if model["name"] == name:
                return model
        raise KeyError(name)

    def column(self, model: str, column: str) -> dict[str, Any]:
        for entry in self.model(model)["columns"]:
            if entry["name"] == column:
                return entry
        raise KeyError(f"{model}.{column}")

    def config(self, model: str) -> dict[str, Any]:
        return self.model(model).setdefault("config", {})

    def drop_column(self, model: str, column: str) -> None:
        entry = self.column(model, column)
        self.model(model)["columns"].remove(entry)

    def add_column(self, model: str, column: str, data_type: str, description: str) -> None:
        self.model(model)["columns"].append({"name": column, "description": description, "data_type": data_type})

    def drop_constraint(self, model: str, column: str, kind: str) -> None:
        entry = self.column(model, column)
        kept = [c for c in entry.get("constraints", []) if c.get("type") != kind]
        assert len(kept) < len(entry.get("constraints", [])), f"{model}.{column} has no {kind} constraint"
        entry["constraints"] = kept

    def drop_model(self, name: str) -> None:
        self.doc["models"].remove(self.model(name))
        (self.project_dir / MARTS / f"{name}.sql").unlink()

    def drop_version(self, name: str, version: int) -> None:
        model = self.model(name)
        kept = [v for v in model["versions"] if v["v"] != version]
        assert len(kept) < len(model["versions"]), f"{name} has no version {version}"
        model["versions"] = kept
        (self.project_dir / MARTS / f"{name}_v{version}.sql").unlink()

    def drop_data_tests_to(self, model: str, target: str) -> None:
        """Remove relationship tests pointing at `target`, which would not parse once it is gone."""
        for column in self.model(model)["columns"]:
            tests = column.get("data_tests")
            if tests:
                column["data_tests"] = [t for t in tests if target not in str(t)]

    def save(self) -> None:
        self.path.write_text(yaml.safe_dump(self.doc, sort_keys=False, allow_unicode=True))


def _select_line(lines: list[str], column: str) -> int:
    pattern = re.compile(rf"^\s*cast\(.*\) as {re.escape(column)},?\s*$")
    found = [i for i, line in enumerate(lines) if pattern.match(line)]
    assert len(found) == 1, f"expected one select line for {column}, found {len(found)}"
    return found[0]


def _sql(project_dir: Path, model: str) -> Path:
    return project_dir / MARTS / f"{model}.sql"


def drop_select_column(project_dir: Path, model: str, column: str) -> None:
    """Remove the column's select line, moving the comma off the new last line if it was last."""
    path = _sql(project_dir, model)
    lines = path.read_text().splitlines()
    index = _select_line(lines, column)
    was_last = not lines[index].rstrip().endswith(",")
    del lines[index]
    if was_last:
        lines[index - 1] = lines[index - 1].rstrip().rstrip(",")
    path.write_text("\n".join(lines) + "\n")


def retype_select_column(project_dir: Path, model: str, column: str, data_type: str) -> None:
    """`cast(x as integer) as column` -> `cast(x as <data_type>) as column`."""
    path = _sql(project_dir, model)
    lines = path.read_text().splitlines()
    index = _select_line(lines, column)
    retyped = re.sub(r" as [a-z0-9_ ]+(\([0-9, ]+\))?\) as ", f" as {data_type}) as ", lines[index], count=1)
    assert retyped != lines[index], lines[index]
    lines[index] = retyped
    path.write_text("\n".join(lines) + "\n")


def add_select_column(project_dir: Path, model: str, expression: str, data_type: str, column: str) -> None:
    """Append `cast(<expression> as <data_type>) as <column>` to the select list."""
    path = _sql(project_dir, model)
    lines = path.read_text().splitlines()
    index = max(i for i, line in enumerate(lines) if re.match(r"^\s*cast\(.*\) as \w+\s*$", line))
    lines[index] = lines[index].rstrip() + ","
    lines.insert(index + 1, f"    cast({expression} as {data_type}) as {column}")
    path.write_text("\n".join(lines) + "\n")

"""What meshkit's package declares, read from its files: only what it imports, as ranges, and lock
files that agree with each other.

The user's dbt-core, adapter and dbt-loom are theirs: a pin here would fight their resolver.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import tomllib

from support.helpers import REPO

# Import names of the distributions meshkit declares.
IMPORT_NAMES = {
    "jinja2": "Jinja2",
    "msgspec": "msgspec",
    "orjson": "orjson",
    "yaml": "PyYAML",
    "requests": "requests",
    "urllib3": "urllib3",
    "boto3": "boto3",
    "botocore": "botocore",
    "google": "google-auth",
    "obstore": "obstore",
    "sqlglot": "sqlglot",
}
# Each cloud's client is an extra, so the core install stays as small as a local registry needs.
EXTRAS = {"s3": {"boto3", "botocore"}, "gcs": {"google-auth"}, "azure": {"obstore"}}
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s\\;]+)", re.MULTILINE)
_RANGE = re.compile(r"^([A-Za-z0-9_.-]+)>=([0-9.]+),<([0-9]+)$")


def _project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _imported_distributions() -> set[str]:
    """Third-party top-level modules meshkit imports anywhere, lazily or not."""
    found: set[str] = set()
    for path in (REPO / "meshkit").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                else []
            )
            for name in names:
                top = name.split(".")[0]
                if top != "meshkit" and top not in sys.stdlib_module_names:
                    found.add(top)
    return found


def _pins(path: Path) -> dict[str, str]:
    return {name.lower().replace("_", "-"): version for name, version in _PIN.findall(path.read_text())}


def test_meshkit_declares_exactly_what_it_imports_as_compatible_ranges() -> None:
    project = _project()
    declared = {_RANGE.match(spec).group(1): spec for spec in project["dependencies"]}  # type: ignore[union-attr]
    optional = project["optional-dependencies"]
    extras = {_RANGE.match(spec).group(1): spec for specs in optional.values() for spec in specs}  # type: ignore[union-attr]
    assert _imported_distributions() == set(IMPORT_NAMES)
    assert set(declared) | set(extras) == set(IMPORT_NAMES.values())
    assert {name: {_RANGE.match(s).group(1) for s in specs} for name, specs in optional.items()} == EXTRAS  # type: ignore[union-attr]
    assert not set(declared) & set(extras), "a cloud's client is never a core dependency"
    for spec in [*declared.values(), *extras.values()]:
        assert _RANGE.match(spec), f"{spec} is not '>=tested,<next major'"
        lower, upper = _RANGE.match(spec).group(2, 3)  # type: ignore[union-attr]
        # urllib3 alone spans two majors: requests and botocore accept 1.26 as well as 2.x.
        assert int(upper) == int(lower.split(".")[0]) + (2 if spec.startswith("urllib3") else 1), spec


def test_no_dbt_in_meshkits_own_dependencies() -> None:
    project = _project()
    everything = [*project["dependencies"], *(s for specs in project["optional-dependencies"].values() for s in specs)]
    assert not [spec for spec in everything if spec.lower().startswith(("dbt", "duckdb"))]


def test_the_action_lock_is_hash_locked_and_agrees_with_the_demo_lock() -> None:
    """requirements-meshkit.txt (the setup action) holds the same versions as requirements.txt (the demo)."""
    action = REPO / "requirements-meshkit.txt"
    text = action.read_text()
    pins = _pins(action)
    assert pins and all(f"{name}==" in text.lower() for name in pins)
    for block in re.split(r"\n(?=[A-Za-z])", text.split("\n", 3)[3]):
        assert "--hash=sha256:" in block, block.splitlines()[0]
    demo = _pins(REPO / "requirements.txt")
    assert {name: demo.get(name) for name in pins} == pins
    assert {n.lower() for n in IMPORT_NAMES.values()} <= set(pins)
    assert not [name for name in pins if name.startswith("dbt")]

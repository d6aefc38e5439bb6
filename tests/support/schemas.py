"""The committed JSON Schemas of meshkit's `--format json` outputs (meshkit/schemas/<command>.schema.json).

`assert_schema_valid(document)` picks the schema by the document's `command` and fails with every
violation listed, so a test that parses a command's JSON checks it against its contract in one line.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from support.helpers import REPO

SCHEMA_DIR = REPO / "meshkit" / "schemas"
# Every command with a JSON output, and its schema's version string.
SCHEMAS = {
    "publish": "meshkit-publish/1",
    "sync": "meshkit-sync/1",
    "validate": "meshkit-validate/1",
    "check": "meshkit-check/2",
    "catalog": "meshkit-catalog/3",
    "lineage": "meshkit-lineage/1",
    "dispatch": "meshkit-dispatch/1",
    "comment": "meshkit-comment/1",
    "init": "meshkit-init/1",
    "bump-pr": "meshkit-bump-pr/1",
}


def schema_path(command: str) -> Path:
    return SCHEMA_DIR / f"{command}.schema.json"


@cache
def schema(command: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_path(command).read_text(encoding="utf-8"))
    return loaded


@cache
def validator(command: str) -> jsonschema.Draft202012Validator:
    """The schema's validator, with formats (date, ...) checked; the schema itself is checked first."""
    document = schema(command)
    jsonschema.Draft202012Validator.check_schema(document)
    return jsonschema.Draft202012Validator(document, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def schema_errors(document: Any, command: str | None = None) -> list[str]:
    """Every violation, as `path: message`; empty when the document is valid."""
    name = command or (document.get("command") if isinstance(document, dict) else None)
    assert name in SCHEMAS, f"no schema for command {name!r}"
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in sorted(validator(name).iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]


def assert_schema_valid(document: Any, command: str | None = None) -> Any:
    """Fail unless the document is valid against its command's schema; return it for chaining."""
    errors = schema_errors(document, command)
    assert not errors, "output does not match its JSON Schema:\n" + "\n".join(errors[:20])
    return document


def parse_valid(stdout: str, command: str | None = None) -> dict[str, Any]:
    """A command's stdout, parsed and checked against its schema."""
    document: dict[str, Any] = json.loads(stdout)
    assert_schema_valid(document, command)
    return document

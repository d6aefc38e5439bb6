"""Validation of names that become paths, registry keys or quoted SQL identifiers.

Project and env names build registry paths, so `/` and `..` must never pass.
dbt quotes identifiers without escaping an embedded `"`, so a database, schema or
table name from another team's manifest must be a plain identifier.
"""

from __future__ import annotations

import re

from meshkit.errors import UnsafeNameError

# dbt itself requires project names to be valid Python-ish identifiers.
_PROJECT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_ENV = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,254}")
# GitHub owner and repository names: they become API paths, so no "/" beyond the one, no "..".
_REPOSITORY = re.compile(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+")


def check_project(name: str, *, what: str = "project") -> str:
    if not isinstance(name, str) or not _PROJECT.fullmatch(name):
        raise UnsafeNameError(
            f"{what} name {name!r} is not allowed: use letters, digits and '_' "
            "(starting with a letter or '_'), as dbt project names do"
        )
    return name


def check_env(name: str) -> str:
    if not isinstance(name, str) or not _ENV.fullmatch(name):
        raise UnsafeNameError(
            f"env name {name!r} is not allowed: use letters, digits, '_' and '-' (for example prod, staging, dev)"
        )
    return name


def is_project_name(value: object) -> bool:
    """For skipping foreign folders in a shared registry rather than failing on them."""
    return isinstance(value, str) and _PROJECT.fullmatch(value) is not None


def is_env_name(value: object) -> bool:
    return isinstance(value, str) and _ENV.fullmatch(value) is not None


def is_safe_identifier(value: object) -> bool:
    return isinstance(value, str) and _IDENTIFIER.fullmatch(value) is not None


def check_identifier(value: object, *, what: str) -> str:
    if not is_safe_identifier(value):
        raise UnsafeNameError(
            f"{what} {value!r} is not a safe SQL identifier (letters, digits, '_' "
            "and '$', not starting with a digit); refusing to write it"
        )
    return value  # type: ignore[return-value]


def is_repository_name(name: object) -> bool:
    return isinstance(name, str) and _REPOSITORY.fullmatch(name) is not None and name.split("/")[1] not in (".", "..")


def check_repository(name: object, *, what: str = "repository") -> str:
    if not is_repository_name(name):
        raise UnsafeNameError(
            f"{what} {name!r} is not a GitHub repository: use OWNER/REPO (letters, digits, '-', '.', '_')"
        )
    return name  # type: ignore[return-value]


def unique_repositories(names: list[str]) -> list[str]:
    """First spelling of each repository, in order; GitHub names are case-insensitive."""
    seen: set[str] = set()
    unique = []
    for name in names:
        if name.lower() not in seen:
            seen.add(name.lower())
            unique.append(name)
    return unique

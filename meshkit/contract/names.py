"""Validation of names that become paths, registry keys or quoted SQL identifiers.

Project and env names build registry paths, so `/` and `..` must never pass.

A relation's database, schema and alias, and a column's name, come from another team's manifest and
end up quoted in the downstream's SQL. dbt quotes an identifier without escaping the quote character
inside it, and puts schema and table names into string literals when it reads the information schema,
and renders Jinja in a source's database, schema and identifier. So a name is refused when it holds
what could end any of those: the dialect's identifier quote, a string quote or backslash, a control or
line-breaking character, or a Jinja opener. Everything else the adapter accepts passes, BigQuery's
hyphenated project ids (`projeto-dbt-476300`) included. Resource names (a model's name, a source
table's name) stay plain identifiers: dbt and meshkit use them unquoted, in unique ids and in ref() calls.
"""

from __future__ import annotations

import re

from meshkit.errors import UnsafeNameError

# dbt itself requires project names to be valid Python-ish identifiers.
_PROJECT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_ENV = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,254}")
_PLAIN = _IDENTIFIER
QUOTED_MAX = 1024  # BigQuery's longest table name; every other adapter's limit is lower

# Ends a string literal or escapes in one (dbt's information-schema queries), breaks a line (or hides
# text in a terminal or a review: the bidirectional controls), or opens Jinja that dbt renders in sources.
_NEVER_QUOTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff'\\\\]|\\{[{%#]"
)
_DOUBLE, _BACKTICK, _BRACKETS = '"', "`", '"[]'
# Each adapter's identifier quotes (its `quote()`): a name holding one could close the quoting.
_DIALECT_QUOTES: dict[str, str] = {
    **dict.fromkeys(
        (
            "postgres",
            "redshift",
            "snowflake",
            "duckdb",
            "trino",
            "presto",
            "oracle",
            "vertica",
            "sqlite",
            "materialize",
            "exasol",
            "firebolt",
            "dremio",
            "teradata",
            "db2",
            "greenplum",
            "risingwave",
            "glue",
        ),
        _DOUBLE,
    ),
    **dict.fromkeys(
        ("bigquery", "databricks", "spark", "mysql", "mariadb", "hive", "impala", "singlestore", "starrocks", "doris"),
        _BACKTICK,
    ),
    **dict.fromkeys(("sqlserver", "fabric", "synapse", "fabricspark"), _BRACKETS),
    **dict.fromkeys(("athena", "clickhouse"), _DOUBLE + _BACKTICK),
}
_ANY_QUOTE = _BRACKETS + _BACKTICK  # an adapter meshkit does not know: refuse every quote it might use


def identifier_quotes(adapter: str | None) -> str:
    """The characters that would close an identifier's quoting on this adapter (all of them when unknown)."""
    return _DIALECT_QUOTES.get((adapter or "").lower(), _ANY_QUOTE)


def quoting_problem(value: object, adapter: str | None) -> str | None:
    """Why value cannot be written as a quoted identifier for adapter, or None when it can."""
    if not isinstance(value, str) or not value:
        return "it is empty" if value == "" else "it is not a string"
    if len(value) > QUOTED_MAX:
        return f"it is longer than {QUOTED_MAX} characters"
    bad = _NEVER_QUOTABLE.search(value)
    if bad:
        return f"it holds {bad.group(0)!r}"
    quote = next((char for char in identifier_quotes(adapter) if char in value), None)
    if quote:
        return f"it holds {quote!r}, which quotes identifiers on {adapter or 'an unknown adapter'}"
    return None


def check_quoted(value: object, *, what: str, adapter: str | None) -> str:
    """A database, schema, alias or column name that the adapter can quote safely; the value itself."""
    problem = quoting_problem(value, adapter)
    if problem:
        raise UnsafeNameError(
            f"{what} {value!r} cannot be quoted safely as a SQL identifier ({problem}); refusing to write it"
        )
    return value  # type: ignore[return-value]


def needs_quoting(value: str) -> bool:
    """True when dbt must quote the name for SQL to read it (a hyphen, a space, a leading digit...)."""
    return _PLAIN.fullmatch(value) is None


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

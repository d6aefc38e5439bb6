"""Unit tests for meshkit.contract.names: names that become paths, registry keys or quoted SQL identifiers."""

from __future__ import annotations

import pytest

from meshkit.contract.names import (
    check_env,
    check_identifier,
    check_project,
    check_quoted,
    is_safe_identifier,
    needs_quoting,
    quoting_problem,
)
from meshkit.errors import EXIT_INPUT, InputError, UnsafeNameError

HOSTILE = ["../x", "a/b", "..", "", "a b", 'x"y', "名前", "a\\b", "prod\n", "a.b", None, 7]


@pytest.mark.parametrize("name", ["dbt_up", "shop", "public_orders", "_private", "A1", "x" * 128])
def test_check_project_accepts_and_returns_name(name):
    assert check_project(name) == name


@pytest.mark.parametrize("name", [*HOSTILE, "1shop", "dev-eu", "x" * 129, "x" * 200])
def test_check_project_rejects(name):
    with pytest.raises(UnsafeNameError) as caught:
        check_project(name)
    assert caught.value.exit_code == EXIT_INPUT == 2
    assert isinstance(caught.value, InputError)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(f"project name {name!r} is not allowed")


def test_check_project_names_what_in_message():
    with pytest.raises(UnsafeNameError, match=r"^upstream name '\.\./x' is not allowed"):
        check_project("../x", what="upstream")


@pytest.mark.parametrize("name", ["prod", "staging", "dev", "dev-eu", "dev_eu", "2024", "p" * 64])
def test_check_env_accepts(name):
    assert check_env(name) == name


@pytest.mark.parametrize("name", [*HOSTILE, "-prod", "_prod", "p" * 65, "p" * 200])
def test_check_env_rejects(name):
    with pytest.raises(UnsafeNameError, match=r"^env name .* is not allowed") as caught:
        check_env(name)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("value", ["public_orders", "col$1", "_x", "Main", "dbt_up", "a" * 255])
def test_check_identifier_accepts(value):
    assert is_safe_identifier(value)
    assert check_identifier(value, what="alias") == value


@pytest.mark.parametrize("value", [*HOSTILE, "1col", "$x", 'main"; --', 'x"; drop table y; --', "a" * 256])
def test_check_identifier_rejects(value):
    assert not is_safe_identifier(value)
    with pytest.raises(UnsafeNameError) as caught:
        check_identifier(value, what="model.shop.x alias")
    message = str(caught.value)
    assert message.startswith(f"model.shop.x alias {value!r} is not a safe SQL identifier")
    assert "\n" not in message
    assert caught.value.exit_code == 2


# --- relation parts and columns: quoted by the adapter, so judged by its quoting ------------------------------------

BIGQUERY_PROJECTS = ["projeto-dbt-476300", "durham-weather-466502", "my-project-123"]


@pytest.mark.parametrize("value", [*BIGQUERY_PROJECTS, "analytics", "Order Lines", "名前", "a.b", "1col", "$x"])
@pytest.mark.parametrize("adapter", ["bigquery", "snowflake", "postgres", "duckdb", "databricks", "fabric", None])
def test_what_the_adapter_quotes_is_accepted(value, adapter):
    assert quoting_problem(value, adapter) is None
    assert check_quoted(value, what="model.shop.x database", adapter=adapter) == value


@pytest.mark.parametrize(
    ("value", "adapters"),
    [
        ('x"; drop table y; --', ["postgres", "snowflake", "duckdb", "redshift", "trino", "fabric", None]),
        ("x`; drop table y; --", ["bigquery", "databricks", "spark", "mysql", "athena", "clickhouse", None]),
        ("x]; drop table y; --", ["sqlserver", "fabric", "synapse", None]),
    ],
)
def test_the_dialects_own_quote_is_refused(value, adapters):
    for adapter in adapters:
        problem = quoting_problem(value, adapter)
        assert problem is not None and problem.startswith(f"it holds {value[1]!r}, which quotes identifiers on"), (
            adapter
        )


def test_a_quote_another_dialect_uses_is_accepted():
    """A backtick cannot close Postgres's double quotes, nor a double quote BigQuery's backticks."""
    assert quoting_problem("x`y", "postgres") is None
    assert quoting_problem('x"y', "bigquery") is None


@pytest.mark.parametrize(
    "value",
    [
        "o'brien",  # closes the string literal dbt's information-schema queries put schema and table names in
        "a\\b",  # escapes in BigQuery, Snowflake, MySQL and Spark string literals
        "a\nb",
        "a\rb",
        "a\x00b",
        "a\x1bb",
        "a\x85b",
        "a\u2028b",
        "a\u202eb",  # right-to-left override
        "a\u2066b",
        "a{{ env_var('X') }}",  # dbt renders Jinja in a source's database, schema and identifier
        "a{% if %}",
        "a{# x #}",
        "",
        "x" * 1025,
    ],
)
@pytest.mark.parametrize("adapter", ["bigquery", "snowflake", "duckdb", None])
def test_what_breaks_any_quoting_is_refused_everywhere(value, adapter):
    with pytest.raises(UnsafeNameError) as caught:
        check_quoted(value, what="model.shop.x alias", adapter=adapter)
    message = str(caught.value)
    assert message.startswith(f"model.shop.x alias {value!r} cannot be quoted safely as a SQL identifier (it ")
    assert message.endswith("); refusing to write it")


def test_a_brace_alone_is_not_jinja():
    assert quoting_problem("totals{2024}", "snowflake") is None


@pytest.mark.parametrize(
    ("value", "quoted"), [("orders", False), ("_x$1", False), ("order-lines", True), ("1st", True)]
)
def test_needs_quoting(value, quoted):
    assert needs_quoting(value) is quoted

"""Which sqlglot dialect reads which dbt adapter's SQL: the one place that knows.

An adapter meshkit does not list is read with sqlglot's default dialect, which parses most
ANSI SQL; when it cannot, the model falls back to model-level lineage and says why.
"""

from __future__ import annotations

_DIALECTS = {
    "athena": "athena",
    "bigquery": "bigquery",
    "clickhouse": "clickhouse",
    "databricks": "databricks",
    "doris": "doris",
    "dremio": "dremio",
    "duckdb": "duckdb",
    "exasol": "exasol",
    "fabric": "fabric",
    "glue": "spark",
    "hive": "hive",
    "materialize": "materialize",
    "mysql": "mysql",
    "oracle": "oracle",
    "postgres": "postgres",
    "presto": "presto",
    "redshift": "redshift",
    "risingwave": "risingwave",
    "singlestore": "singlestore",
    "snowflake": "snowflake",
    "spark": "spark",
    "sqlite": "sqlite",
    "sqlserver": "tsql",
    "starrocks": "starrocks",
    "synapse": "tsql",
    "teradata": "teradata",
    "trino": "trino",
}


def dialect_of(adapter: str | None) -> str:
    """The sqlglot dialect for a manifest's `adapter_type` ("" for sqlglot's default)."""
    return _DIALECTS.get((adapter or "").lower(), "")

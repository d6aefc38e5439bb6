"""meshkit: dbt Mesh for dbt-core, CI-native."""

__version__ = "0.2.0"

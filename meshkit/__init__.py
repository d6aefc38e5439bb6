"""meshkit: dbt Mesh for dbt-core, CI-native."""

__version__ = "0.1.0"

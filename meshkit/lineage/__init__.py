"""Column lineage: which upstream columns each model reads and derives from, read from its compiled SQL.

`sql` analyses one statement with sqlglot (imported only here), `dialects` maps dbt adapters to sqlglot
dialects, and `project` composes the per-model results across a project's own model graph.
"""

"""A BigQuery-style relation, `project-id.dataset.table`, across the mesh with real dbt builds on DuckDB.

BigQuery project ids hold hyphens (`projeto-dbt-476300`); meshkit refused them as unsafe identifiers, so no
such team could publish. The upstream here is built on DuckDB, whose dbt adapter cannot itself build into a
hyphenated catalog, so its manifest then names the relation as a BigQuery upstream's would:
`acme-data-476300`.`sales`.`orders`. One of its contract's columns is `order total` (quoted, as BigQuery's
flexible column names and Snowflake's quoted ones are). It is published, synced into a downstream that
attaches the upstream's file under that hyphenated name, and the downstream builds and reads the rows. The
hostile names stay refused (test_names.py, test_security.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import yaml

from support.helpers import clean_env, dbt, meshkit

pytestmark = pytest.mark.dbt

DATABASE = "acme-data-476300"

UPSTREAM = {
    "dbt_project.yml": "name: acme\nversion: '1.0'\nconfig-version: 2\nprofile: acme\n",
    "profiles.yml": "acme:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: acme.duckdb\n"
    "      schema: sales\n      threads: 1\n",
    "models/orders.sql": 'select 1 as id, 12.5::double as "order total" union all select 2, 7.5\n',
    "models/orders.yml": """models:
  - name: orders
    access: public
    config:
      materialized: table
      contract: {enforced: true}
    columns:
      - name: id
        data_type: integer
      - name: order total
        quote: true
        data_type: double
""",
}

DOWNSTREAM = {
    "dbt_project.yml": "name: reader\nversion: '1.0'\nconfig-version: 2\nprofile: reader\n",
    "profiles.yml": f"""reader:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: reader.duckdb
      schema: main
      threads: 1
      attach:
        - path: ../acme/acme.duckdb
          alias: '"{DATABASE}"'  # dbt-duckdb writes the alias into ATTACH as it is: quoted here
          read_only: true
""",
    "models/totals.sql": "{{ config(materialized='table') }}\nselect sum(\"order total\") as total from {{ source('acme', 'orders') }}\n",
}


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_a_hyphenated_database_and_a_quoted_column_cross_the_mesh(tmp_path: Path) -> None:
    upstream, downstream = _write(tmp_path / "acme", UPSTREAM), _write(tmp_path / "reader", DOWNSTREAM)
    env = clean_env()
    built = dbt(upstream, "build", env=env)
    assert built.returncode == 0, built.stdout[-3000:]
    path = upstream / "target" / "manifest.json"
    manifest = json.loads(path.read_text())
    for node in manifest["nodes"].values():  # as BigQuery names it: the project id is the database
        if node.get("database") == "acme":
            node["database"] = DATABASE
            node["relation_name"] = f'"{DATABASE}"."sales"."{node["alias"]}"'
    path.write_text(json.dumps(manifest))

    published = meshkit(
        "publish", "--project-dir", upstream, "--registry", "registry", "--format", "json", cwd=tmp_path
    )
    assert published.returncode == 0, published.stderr
    [model] = json.loads(published.stdout)["public_models"]
    assert model["relation_name"] == f'"{DATABASE}"."sales"."orders"'

    synced = meshkit("sync", "--project-dir", downstream, "--upstream", "acme", "--registry", "registry", cwd=tmp_path)
    assert synced.returncode == 0, synced.stderr
    [source] = yaml.safe_load((downstream / "models" / "_mesh_acme.yml").read_text())["sources"]
    assert (source["database"], source["schema"], source["quoting"]) == (DATABASE, "sales", {"database": True})
    [table] = source["tables"]
    assert [(c["name"], c.get("quote")) for c in table["columns"]] == [("id", None), ("order total", True)]

    reader = dbt(downstream, "build", env=env)
    assert reader.returncode == 0, reader.stdout[-3000:]
    with duckdb.connect(str(downstream / "reader.duckdb"), read_only=True) as connection:
        assert connection.execute("select total from main.totals").fetchall() == [(20.0,)]
    validated = meshkit("validate", "--project", "reader", "--root", tmp_path, "--registry", "registry", cwd=tmp_path)
    assert validated.returncode == 0, validated.stdout + validated.stderr

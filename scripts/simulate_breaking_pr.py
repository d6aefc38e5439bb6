#!/usr/bin/env python3
"""Make a copy of dbt_up as a pull request would change it: public_orders loses its `status` column.

Used by the demo to show `meshkit check` catching a breaking change; the real dbt_up is not touched.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def simulate(dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(REPO / "dbt_up", dest, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*"))
    public = dest / "models" / "marts" / "_public.yml"
    document = yaml.safe_load(public.read_text())
    for model in document["models"]:
        if model["name"] == "public_orders":
            model["columns"] = [c for c in model["columns"] if c["name"] != "status"]
    public.write_text(yaml.safe_dump(document, sort_keys=False))
    sql = dest / "models" / "marts" / "public_orders.sql"
    sql.write_text("".join(line for line in sql.read_text().splitlines(keepends=True) if " as status," not in line))
    return dest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dest", type=Path, help="folder to create (replaced if it exists)")
    print(simulate(parser.parse_args().dest))
    return 0


if __name__ == "__main__":
    sys.exit(main())

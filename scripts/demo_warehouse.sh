#!/usr/bin/env bash
# Demo only: the downstream projects read dbt_up's tables from dbt_up/dbt_up.duckdb (their
# profiles attach it read-only). In a real organisation the upstream's tables already live in
# the shared warehouse, and a downstream repository has no upstream code; drop this step there.
set -euo pipefail
cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../dbt_up"
if [[ -f dbt_up.duckdb ]]; then
  echo "demo warehouse: dbt_up/dbt_up.duckdb already exists"
else
  dbt build --quiet
  echo "demo warehouse: built dbt_up/dbt_up.duckdb"
fi

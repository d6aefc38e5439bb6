#!/usr/bin/env bash
# The whole mesh end to end, on embedded DuckDB with a local folder registry:
# build upstream, publish its contract, build the dbt-loom downstream, sync mesh
# sources, build the native downstream, validate, and print the verified lineage.
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
cd -- "$ROOT"
export MESHKIT_REGISTRY="$ROOT/registry"
export DBT_SEND_ANONYMOUS_USAGE_STATS=false

step() { printf '\n==> %s\n' "$*"; }

step "1/6 dbt build: dbt_up (upstream: seeds, staging, private and public contracted models)"
(cd dbt_up && dbt build --quiet)

step "2/6 meshkit publish: dbt_up's public contract -> $MESHKIT_REGISTRY"
meshkit publish --project-dir dbt_up

step "3/6 dbt build: dbt_down_loom (ref('dbt_up', ...) through dbt-loom)"
(cd dbt_down_loom && dbt build --quiet)

step "4/6 meshkit sync: dbt_down/models/_mesh_dbt_up.yml from the contract"
meshkit sync --project-dir dbt_down --upstream dbt_up

step "5/6 dbt build: dbt_down (source('dbt_up', ...) through generated sources)"
(cd dbt_down && dbt build --quiet)

step "6/6 meshkit validate: every cross-project dependency against the registry"
meshkit validate --all

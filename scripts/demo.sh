#!/usr/bin/env bash
# The whole mesh end to end, on embedded DuckDB with a local folder registry:
# build upstream, publish its contract, build the dbt-loom downstream, sync mesh
# sources, build the native downstream, validate and record what each downstream
# reads, then check a simulated breaking PR and write the mesh catalog page.
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
cd -- "$ROOT"
export MESHKIT_REGISTRY="$ROOT/registry"
export DBT_SEND_ANONYMOUS_USAGE_STATS=false
ARTIFACTS="$ROOT/artifacts"
mkdir -p -- "$ARTIFACTS"

step() { printf '\n==> %s\n' "$*"; }

step "1/9 dbt build: dbt_up (upstream: seeds, staging, private and public contracted models)"
(cd dbt_up && dbt build --quiet)

step "2/9 meshkit publish: dbt_up's public contract -> $MESHKIT_REGISTRY"
meshkit publish --project-dir dbt_up

step "3/9 dbt build: dbt_down_loom (ref('dbt_up', ...) through dbt-loom)"
(cd dbt_down_loom && dbt build --quiet)

step "4/9 meshkit sync: dbt_down/models/_mesh_dbt_up.yml from the contract"
meshkit sync --project-dir dbt_down --upstream dbt_up

step "5/9 dbt build: dbt_down (source('dbt_up', ...) through generated sources)"
(cd dbt_down && dbt build --quiet)

step "6/9 meshkit validate: every cross-project dependency, recorded as consumers in the registry"
meshkit validate --all --record-consumer

step "7/9 meshkit check: dbt_up as built against its published contract (nothing changed)"
meshkit check --project-dir dbt_up

step "8/9 meshkit check: a simulated PR that drops public_orders.status (expected to fail)"
PR_DIR=artifacts/pr/dbt_up
python3 scripts/simulate_breaking_pr.py "$PR_DIR" > /dev/null
(cd "$PR_DIR" && dbt parse --quiet)
status=0
meshkit check --project-dir "$PR_DIR" --format markdown > "$ARTIFACTS/pr-comment.md" || status=$?
if [ "$status" -ne 1 ]; then
  echo "expected meshkit check to find the breaking change (exit 1), got exit $status" >&2
  exit 1
fi
meshkit check --project-dir "$PR_DIR" --warn-only
echo "PR comment markdown: $ARTIFACTS/pr-comment.md"

step "9/9 meshkit catalog: the mesh explorer, one self-contained page"
meshkit catalog --output "$ARTIFACTS/mesh-catalog.html"

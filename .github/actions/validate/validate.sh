#!/usr/bin/env bash
export MESHKIT_ACTION_NAME="meshkit validate"
# shellcheck source=../lib.sh
source "$GITHUB_ACTION_PATH/../lib.sh"
require_meshkit
registry_args

project="${MESHKIT_INPUT_PROJECT:-}"
project_dir="${MESHKIT_INPUT_PROJECT_DIR:-}"
if [[ -n "$project_dir" ]]; then
  [[ -z "$project" ]] || die "give project or project-dir, not both"
  [[ -f "$project_dir/dbt_project.yml" ]] || die "project-dir '$project_dir' is not a dbt project (no dbt_project.yml)"
  target=(--manifest "$project_dir/target/manifest.json")
  project="$(cd -- "$project_dir" && basename -- "$(pwd -P)")"
  project="${project//[^A-Za-z0-9_]/_}"
else
  [[ -n "$project" ]] || die "give the project (a folder under root) or its project-dir"
  [[ "$project" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "project '$project' is not a dbt project name"
  target=(--project "$project" --root "${MESHKIT_INPUT_ROOT:-.}")
fi
window="${MESHKIT_INPUT_DEPRECATION_WINDOW_DAYS:-30}"
[[ "$window" =~ ^[0-9]+$ ]] || die "deprecation-window-days must be a whole number, not '$window'"
fail_on_findings="$(boolean_input fail-on-findings "${MESHKIT_INPUT_FAIL_ON_FINDINGS:-true}")"
report_file="$(report_dir)/validate-$project.md"

args=("${target[@]}" --env "${MESHKIT_INPUT_ENV:-prod}"
  --deprecation-window-days "$window" --format github --markdown-output "$report_file")
[[ -n "${MESHKIT_INPUT_GIT_COMMIT:-}" ]] && args+=(--git-commit "$MESHKIT_INPUT_GIT_COMMIT")
[[ "$(boolean_input record-consumer "${MESHKIT_INPUT_RECORD_CONSUMER:-false}")" == true ]] && args+=(--record-consumer)

rc=0
meshkit validate "${REGISTRY_ARGS[@]}" "${args[@]}" || rc=$?
output ok "$([[ $rc == 0 ]] && echo true || echo false)"
report_outputs "$rc" "$report_file" "$fail_on_findings"

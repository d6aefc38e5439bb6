#!/usr/bin/env bash
export MESHKIT_ACTION_NAME="meshkit build"
# shellcheck source=../lib.sh
source "$GITHUB_ACTION_PATH/../lib.sh"

project_dir="${MESHKIT_INPUT_PROJECT_DIR:-.}"
command="${MESHKIT_INPUT_COMMAND:-}"
fail_on_error="$(boolean_input fail-on-error "${MESHKIT_INPUT_FAIL_ON_ERROR:-true}")"
[[ -d "$project_dir" ]] || die "project-dir '$project_dir' is not a folder in the workspace"
[[ -f "$project_dir/dbt_project.yml" ]] || die "project-dir '$project_dir' is not a dbt project (no dbt_project.yml)"
[[ -n "${command//[[:space:]]/}" ]] || die "the command input is empty: e.g. 'dbt build' or 'dbt parse'"

# Variables a credentials secret must never set: they would take over the runner or this script.
reserved='^(PATH|HOME|SHELL|ENV|BASH_ENV|IFS|PYTHONPATH|PYTHONHOME|LD_[A-Z_]*|DYLD_[A-Z_]*|GITHUB_[A-Z_]*|RUNNER_[A-Z_]*|ACTIONS_[A-Z_]*|MESHKIT_[A-Z_]*)$'
names=()
values=()
line_number=0
while IFS= read -r line || [[ -n "$line" ]]; do
  line_number=$((line_number + 1))
  line="${line%$'\r'}"
  [[ -z "${line//[[:space:]]/}" || "$line" =~ ^[[:space:]]*# ]] && continue
  [[ "$line" =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] ||
    die "warehouse-env line $line_number is not NAME=value (the value is not shown: it may be a secret)"
  name="${BASH_REMATCH[1]}"
  value="${BASH_REMATCH[2]}"
  [[ ! "$name" =~ $reserved ]] || die "warehouse-env may not set $name: use your warehouse's own variable names"
  names+=("$name")
  values+=("$value")
  if [[ -n "$value" ]]; then echo "::add-mask::$value"; fi
done <<<"${MESHKIT_INPUT_WAREHOUSE_ENV:-}"

profiles_dir=""
if [[ -n "${MESHKIT_INPUT_PROFILES_DIR:-}" ]]; then
  [[ -f "$MESHKIT_INPUT_PROFILES_DIR/profiles.yml" ]] ||
    die "profiles-dir '$MESHKIT_INPUT_PROFILES_DIR' has no profiles.yml"
  profiles_dir="$(cd -- "$MESHKIT_INPUT_PROFILES_DIR" && pwd -P)"
fi

rc=0
(
  cd -- "$project_dir"
  for index in "${!names[@]}"; do export "${names[$index]}=${values[$index]}"; done
  if [[ -n "$profiles_dir" ]]; then export DBT_PROFILES_DIR="$profiles_dir"; fi
  if [[ -f packages.yml || -f dependencies.yml ]] && [[ ! -d dbt_packages ]]; then
    echo "meshkit build: dbt deps (the project declares packages)"
    dbt deps
  fi
  echo "meshkit build: $command (in $project_dir)"
  exec bash -c "$command"
) || rc=$?
output ok "$([[ $rc == 0 ]] && echo true || echo false)"
if ((rc != 0)); then
  printf '::error title=%s::%s\n' "meshkit build" "$(escape_message "'$command' failed in $project_dir (exit $rc): see its log above")"
  if [[ "$fail_on_error" == true ]]; then exit "$rc"; fi
fi

#!/usr/bin/env bash
export MESHKIT_ACTION_NAME="meshkit check"
# shellcheck source=../lib.sh
source "$GITHUB_ACTION_PATH/../lib.sh"
require_meshkit
registry_args

project_dir="${MESHKIT_INPUT_PROJECT_DIR:?}"
max_age="${MESHKIT_INPUT_CONSUMER_MAX_AGE_DAYS:-30}"
[[ "$max_age" =~ ^[0-9]+$ ]] || die "consumer-max-age-days must be a whole number, not '$max_age'"
fail_on_breaking="$(boolean_input fail-on-breaking "${MESHKIT_INPUT_FAIL_ON_BREAKING:-true}")"
report_file="$(report_dir)/check-$(basename -- "$project_dir").md"

args=(--project-dir "$project_dir" --env "${MESHKIT_INPUT_ENV:-prod}" --consumer-max-age-days "$max_age"
  --format github --markdown-output "$report_file")
[[ -n "${MESHKIT_INPUT_PROJECT:-}" ]] && args+=(--project "$MESHKIT_INPUT_PROJECT")
[[ "$(boolean_input warn-only "${MESHKIT_INPUT_WARN_ONLY:-false}")" == true ]] && args+=(--warn-only)

rc=0
meshkit check "${REGISTRY_ARGS[@]}" "${args[@]}" || rc=$?
output breaking "$([[ $rc == 1 ]] && echo true || echo false)"
report_outputs "$rc" "$report_file" "$fail_on_breaking"

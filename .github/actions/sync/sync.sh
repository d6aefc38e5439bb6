#!/usr/bin/env bash
export MESHKIT_ACTION_NAME="meshkit sync"
# shellcheck source=../lib.sh
source "$GITHUB_ACTION_PATH/../lib.sh"
require_meshkit
registry_args

project_dir="${MESHKIT_INPUT_PROJECT_DIR:?}"
args=(--project-dir "$project_dir" --env "${MESHKIT_INPUT_ENV:-prod}" --format json)
append_each --upstream "${MESHKIT_INPUT_UPSTREAMS:-}"
config="${MESHKIT_INPUT_CONFIG:-}"
if [[ -n "$config" && -f "$config" ]]; then
  args+=(--config "$config")
elif [[ -n "$config" && "$config" != meshkit.yml ]]; then
  die "config file '$config' not found"
fi
[[ -n "${MESHKIT_INPUT_ONLY:-}" ]] && args+=(--only "$MESHKIT_INPUT_ONLY")
check="$(boolean_input check "${MESHKIT_INPUT_CHECK:-false}")"
fail_on_stale="$(boolean_input fail-on-stale "${MESHKIT_INPUT_FAIL_ON_STALE:-true}")"
[[ "$check" == true ]] && args+=(--check)

rc=0
result="$(meshkit sync "${REGISTRY_ARGS[@]}" "${args[@]}")" || rc=$?
((rc <= 1)) || exit "$rc" # meshkit printed the one-line error
output changed "$(jq -r '[.upstreams[] | select(.status == "written" or .status == "stale" or .status == "missing")] | length > 0' <<<"$result")"
output_multiline upstreams "$(jq -r '.upstreams[] | "\(.upstream)@\(.env)"' <<<"$result")"
output_multiline contracts "$(jq -r '.upstreams[] | "\(.upstream)@\(.env) \(.sha256)"' <<<"$result")"
output_multiline files "$(jq -r '.upstreams[].path' <<<"$result")"
jq -r '.note // empty' <<<"$result"
jq -r '.upstreams[] | "meshkit sync: \(.upstream)@\(.env) \(.status): \(.path)"' <<<"$result"
if ((rc == 1)); then
  level="$([[ "$fail_on_stale" == true ]] && echo error || echo warning)"
  printf '::%s title=meshkit sync::%s\n' "$level" "$(escape_message "generated mesh sources are missing or stale: run 'meshkit sync' in $project_dir and commit the result (or merge the open contract-bump pull request)")"
  if [[ "$fail_on_stale" == true ]]; then exit 1; fi
fi

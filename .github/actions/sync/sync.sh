#!/usr/bin/env bash
export MESHKIT_ACTION_NAME="meshkit sync"
# shellcheck source=../lib.sh
source "$GITHUB_ACTION_PATH/../lib.sh"
require_meshkit
registry_args

args=(--project-dir "${MESHKIT_INPUT_PROJECT_DIR:?}" --env "${MESHKIT_INPUT_ENV:-prod}" --format json)
[[ -n "${MESHKIT_INPUT_UPSTREAMS//[[:space:]]/}" ]] ||
  die "no upstreams given: set the upstreams input, e.g. 'dbt_up' or 'dbt_up@staging'"
append_each --upstream "$MESHKIT_INPUT_UPSTREAMS"
check="$(boolean_input check "${MESHKIT_INPUT_CHECK:-false}")"
[[ "$check" == true ]] && args+=(--check)

rc=0
result="$(meshkit sync "${REGISTRY_ARGS[@]}" "${args[@]}")" || rc=$?
((rc <= 1)) || exit "$rc" # meshkit printed the one-line error
output changed "$(jq -r '[.upstreams[] | select(.status == "written" or .status == "stale" or .status == "missing")] | length > 0' <<<"$result")"
output_multiline files "$(jq -r '.upstreams[].path' <<<"$result")"
jq -r '.upstreams[] | "meshkit sync: \(.upstream)@\(.env) \(.status): \(.path)"' <<<"$result"
if ((rc == 1)); then
  echo "::error title=meshkit sync::generated mesh sources are missing or stale: run 'meshkit sync' in ${MESHKIT_INPUT_PROJECT_DIR} and commit the result"
fi
exit "$rc"

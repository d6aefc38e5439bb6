#!/usr/bin/env bash
export MESHKIT_ACTION_NAME="meshkit dispatch"
# shellcheck source=../lib.sh
source "$GITHUB_ACTION_PATH/../lib.sh"
require_meshkit
registry_args

dry_run="$(boolean_input dry-run "${MESHKIT_INPUT_DRY_RUN:-false}")"
allow_none="$(boolean_input allow-no-consumers "${MESHKIT_INPUT_ALLOW_NO_CONSUMERS:-false}")"
# Without consumers no token is needed; meshkit says so when there are consumers and no token.
[[ "$dry_run" == true || "$allow_none" == true || -n "${GITHUB_TOKEN:-}" ]] ||
  die "the token input is empty: pass a GitHub App token or a fine-grained token from a secret"
args=(--project "${MESHKIT_INPUT_PROJECT:?}" --env "${MESHKIT_INPUT_ENV:-prod}"
  --event-type "${MESHKIT_INPUT_EVENT_TYPE:-meshkit-upstream-published}" --format json)
config="${MESHKIT_INPUT_CONFIG:-}"
if [[ -n "$config" && -f "$config" ]]; then
  args+=(--config "$config")
elif [[ -n "$config" && "$config" != meshkit.yml ]]; then
  die "config file '$config' not found"
fi
append_each --repository "${MESHKIT_INPUT_REPOSITORIES:-}"
[[ "$dry_run" == true ]] && args+=(--dry-run)
[[ "$allow_none" == true ]] && args+=(--allow-no-consumers)

rc=0
result="$(meshkit dispatch "${REGISTRY_ARGS[@]}" "${args[@]}")" || rc=$?
if [[ -n "$result" ]]; then
  jq -r '.repositories[] | "meshkit dispatch: \(.repository) \(.status)\(if .error then ": " + .error else "" end)"' <<<"$result"
  output_multiline repositories "$(jq -r '.repositories[] | select(.status == "sent" or .status == "dry-run") | .repository' <<<"$result")"
fi
exit "$rc"

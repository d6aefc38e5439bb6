#!/usr/bin/env bash
export MESHKIT_ACTION_NAME="meshkit publish"
# shellcheck source=../lib.sh
source "$GITHUB_ACTION_PATH/../lib.sh"
require_meshkit
registry_args

args=(--project-dir "${MESHKIT_INPUT_PROJECT_DIR:?}" --env "${MESHKIT_INPUT_ENV:-prod}" --format json)
[[ -n "${MESHKIT_INPUT_PROJECT:-}" ]] && args+=(--project "$MESHKIT_INPUT_PROJECT")
[[ -n "${MESHKIT_INPUT_GIT_COMMIT:-}" ]] && args+=(--git-commit "$MESHKIT_INPUT_GIT_COMMIT")
[[ "$(boolean_input force "${MESHKIT_INPUT_FORCE:-false}")" == true ]] && args+=(--force)

result="$(meshkit publish "${REGISTRY_ARGS[@]}" "${args[@]}")"
status="$(jq -r '.status' <<<"$result")"
sha256="$(jq -r '.sha256' <<<"$result")"
output project "$(jq -r '.project' <<<"$result")"
output status "$status"
output sha256 "$sha256"
output latest-key "$(jq -r '.latest_key // ""' <<<"$result")"
output history-key "$(jq -r 'if .status == "unchanged" then "" else (.history_key // "") end' <<<"$result")"
echo "meshkit publish: $(jq -r '"\(.project)/\(.env)"' <<<"$result") $status (sha256 $sha256)"

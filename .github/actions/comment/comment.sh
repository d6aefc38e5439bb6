#!/usr/bin/env bash
export MESHKIT_ACTION_NAME="meshkit comment"
# shellcheck source=../lib.sh
source "$GITHUB_ACTION_PATH/../lib.sh"
require_meshkit

body_file="${MESHKIT_INPUT_BODY_FILE:-}"
if [[ -z "$body_file" ]]; then
  [[ -n "${MESHKIT_INPUT_BODY:-}" ]] || die "neither body-file nor body is set: pass the report of the check or validate action"
  body_file="$(report_dir)/comment-$$.md"
  printf '%s\n' "$MESHKIT_INPUT_BODY" >"$body_file"
fi
args=(--body-file "$body_file" --format json)
[[ -n "${MESHKIT_INPUT_REPOSITORY:-}" ]] && args+=(--repository "$MESHKIT_INPUT_REPOSITORY")
if [[ -n "${MESHKIT_INPUT_PR:-}" ]]; then
  [[ "$MESHKIT_INPUT_PR" =~ ^[1-9][0-9]*$ ]] || die "pr must be a pull request number, not '$MESHKIT_INPUT_PR'"
  args+=(--pr "$MESHKIT_INPUT_PR")
fi

result="$(meshkit comment "${args[@]}")"
action="$(jq -r '.action' <<<"$result")"
output action "$action"
output comment-id "$(jq -r '.comment_id // ""' <<<"$result")"
output url "$(jq -r '.url // ""' <<<"$result")"
echo "meshkit comment: $action $(jq -r '"\(.repository)#\(.pr) \(.url // "")"' <<<"$result")"

#!/usr/bin/env bash
export MESHKIT_ACTION_NAME="meshkit bump-pr"
# shellcheck source=../lib.sh
source "$GITHUB_ACTION_PATH/../lib.sh"
require_meshkit

[[ -n "${GITHUB_TOKEN:-}" ]] || die "the token input is empty: pass a token with contents and pull-requests write permission"
[[ -n "${MESHKIT_INPUT_BASE:-}" ]] || die "the base input is empty: name the branch the pull requests target"
failed="$(boolean_input validation-failed "${MESHKIT_INPUT_VALIDATION_FAILED:-false}")"
upstreams=()
read -r -d '' -a upstreams <<<"${MESHKIT_INPUT_UPSTREAMS:-}" || true
((${#upstreams[@]} > 0)) || die "no upstreams given: pass the sync action's upstreams output"

args=(--project-dir "${MESHKIT_INPUT_PROJECT_DIR:-.}" --base "$MESHKIT_INPUT_BASE" --format json)
[[ -n "${MESHKIT_INPUT_REPOSITORY:-}" ]] && args+=(--repository "$MESHKIT_INPUT_REPOSITORY")
[[ "$failed" == true ]] && args+=(--validation-failed)
if [[ -n "${MESHKIT_INPUT_VALIDATION:-}" ]]; then
  validation="$(report_dir)/bump-validation.md"
  printf '%s\n' "$MESHKIT_INPUT_VALIDATION" >"$validation"
  args+=(--validation "$validation")
fi

lines=()
for upstream in "${upstreams[@]}"; do
  result="$(meshkit bump-pr "${args[@]}" --upstream "$upstream")"
  line="$(jq -r '"\(.action) \(.url // "")"' <<<"$result")"
  lines+=("$upstream $line")
  echo "meshkit bump-pr: $upstream $line"
done
output_multiline pull-requests "$(printf '%s\n' "${lines[@]}")"

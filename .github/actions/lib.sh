# shellcheck shell=bash
# Sourced by every meshkit composite action's script: strict mode and the helpers they share.
# Inputs arrive as MESHKIT_INPUT_* environment variables (never as ${{ }} pasted into a script).
set -euo pipefail

# Escapes for workflow commands: a message may not hold a raw CR or LF (it would end the command
# and start another), and a property value may not hold ':' or ',' either.
escape_message() {
  local value="$1"
  value="${value//'%'/'%25'}"
  value="${value//$'\r'/'%0D'}"
  value="${value//$'\n'/'%0A'}"
  printf '%s' "$value"
}
escape_property() {
  local value
  value="$(escape_message "$1")"
  value="${value//':'/'%3A'}"
  value="${value//','/'%2C'}"
  printf '%s' "$value"
}

# One workflow-command error line, then exit 2 (meshkit's "usage or input error").
die() {
  printf '::error title=%s::%s\n' "$(escape_property "${MESHKIT_ACTION_NAME:-meshkit}")" "$(escape_message "$*")"
  exit 2
}

# Like die, with the annotation on FILE (shown beside that file in the run and the PR).
die_in_file() {
  local file="$1"
  shift
  file="${file#"${GITHUB_WORKSPACE:-}/"}"
  printf '::error file=%s,title=%s::%s\n' "$(escape_property "$file")" \
    "$(escape_property "${MESHKIT_ACTION_NAME:-meshkit}")" "$(escape_message "$*")"
  exit 2
}

# A single-line step output; multi-line values go through output_multiline.
output() {
  local name="$1" value="$2"
  [[ "$value" != *$'\n'* && "$value" != *$'\r'* ]] || die "output $name has a line break: use output_multiline"
  printf '%s=%s\n' "$name" "$value" >>"$GITHUB_OUTPUT"
}

# A multi-line step output, framed by a random heredoc delimiter so no value can end it early
# and smuggle in other outputs.
output_multiline() {
  local name="$1" value="$2" delimiter
  delimiter="meshkit_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  [[ "$value" != *"$delimiter"* ]] || die "output $name contains its delimiter"
  printf '%s<<%s\n%s\n%s\n' "$name" "$delimiter" "$value" "$delimiter" >>"$GITHUB_OUTPUT"
}

# "true" or "false", as GitHub passes boolean inputs; anything else is a typo worth failing on.
boolean_input() {
  local name="$1" value="$2"
  case "$value" in
    true | false) printf '%s' "$value" ;;
    *) die "input $name must be true or false, not '$value'" ;;
  esac
}

require_meshkit() {
  command -v meshkit >/dev/null 2>&1 || die "meshkit is not on PATH: run the meshkit setup action first"
}

# Append "FLAG WORD" to the caller's args array for each word of a list input (words separated by
# spaces or newlines, as YAML block scalars give them).
append_each() {
  local flag="$1" word words=()
  read -r -d '' -a words <<<"$2" || true # -d '': read the whole value, not its first line
  for word in "${words[@]}"; do args+=("$flag" "$word"); done
}

# --registry/--endpoint-url only when given, so an unset input falls back to MESHKIT_REGISTRY.
registry_args() {
  REGISTRY_ARGS=()
  if [[ -n "${MESHKIT_INPUT_REGISTRY:-}" ]]; then REGISTRY_ARGS+=(--registry "$MESHKIT_INPUT_REGISTRY"); fi
  if [[ -n "${MESHKIT_INPUT_ENDPOINT_URL:-}" ]]; then REGISTRY_ARGS+=(--endpoint-url "$MESHKIT_INPUT_ENDPOINT_URL"); fi
}

# After `meshkit check` or `meshkit validate`: exit 2 or 3 (meshkit printed the one-line reason)
# ends the step; exit 0 or 1 sets the report outputs, then fails the step only when asked to.
report_outputs() {
  local rc="$1" report_file="$2" fail="$3"
  ((rc <= 1)) || exit "$rc"
  output report-file "$report_file"
  output_multiline report "$(cat -- "$report_file")"
  if [[ "$fail" == true ]]; then exit "$rc"; fi
}

# Where an action keeps the report files it hands to later steps.
report_dir() {
  local dir="${RUNNER_TEMP:?RUNNER_TEMP is not set: run inside GitHub Actions}/meshkit"
  mkdir -p -- "$dir"
  printf '%s' "$dir"
}

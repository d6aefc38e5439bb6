#!/usr/bin/env bash
# Check the inputs, then run one stage of key.py (key, record or guard) with meshkit's python, for its
# YAML reader.
export MESHKIT_ACTION_NAME="meshkit parse-cache"
# shellcheck source=../lib.sh
source "$GITHUB_ACTION_PATH/../lib.sh"

mode="${MESHKIT_INPUT_MODE:-}"
[[ "$mode" == restore || "$mode" == save ]] || die "input mode must be restore or save, not '$mode'"
python="${MESHKIT_INPUT_PYTHON:-}"
[[ -n "$python" && -x "$python" ]] || die "input python must be meshkit's virtualenv python (the setup action's python output), not '$python'"
project_dir="${MESHKIT_PROJECT_DIR:-.}"
[[ -f "$project_dir/dbt_project.yml" ]] || die "project-dir '$project_dir' is not a dbt project (no dbt_project.yml)"

exec "$python" "$GITHUB_ACTION_PATH/key.py" "${1:-key}"

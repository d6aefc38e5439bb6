#!/usr/bin/env bash
# Name each virtualenv after what decides its contents: OS, architecture, Python version and the
# bytes of its lock file. The folders are then immutable, so concurrent jobs on one runner can
# share them, and their absolute paths (baked into console-script shebangs) are the same when a
# cache restores them.
export MESHKIT_ACTION_NAME="meshkit setup"
# shellcheck source=../lib.sh
source "$GITHUB_ACTION_PATH/../lib.sh"

python="${MESHKIT_INPUT_PYTHON:-python3}"
command -v "$python" >/dev/null 2>&1 || die "python interpreter '$python' not found: install Python 3.11+ or set the python input"
command -v jq >/dev/null 2>&1 || die "jq is not installed: the meshkit actions read meshkit's JSON output with it"
version="$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
# 3.11+: the hash-locked runtime (shared with the demo's lock) pins cryptography's cffi, whose pycparser needs 3.11.
[[ "$version" =~ ^3\.(1[1-9]|[2-9][0-9])\. ]] || die "meshkit's setup action needs Python 3.11 or newer, '$python' is $version"
tool_cache="${RUNNER_TOOL_CACHE:?RUNNER_TOOL_CACHE is not set: run inside GitHub Actions}"
platform="${RUNNER_OS:-Linux}-${RUNNER_ARCH:-X64}-py${version}"

root="$(cd -- "$GITHUB_ACTION_PATH/../../.." && pwd -P)"
lock="$root/requirements-meshkit.txt"
[[ -f "$lock" ]] || die "the lock file $lock is missing: use the action from a full meshkit checkout"
[[ -f "$root/requirements-uv.txt" ]] || die "the lock file $root/requirements-uv.txt is missing: use the action from a full meshkit checkout"
key="meshkit-venv-${platform}-$(sha256sum -- "$lock" | cut -c1-16)"
venv="$tool_cache/meshkit/$key"
output root "$root"
output key "$key"
output venv "$venv"
output ready "$([[ -f "$venv/.meshkit-complete" ]] && echo true || echo false)"

# The caller's dbt stack: a file in its own repository, so it must stay inside the workspace.
requirements="${MESHKIT_INPUT_DBT_REQUIREMENTS:-}"
if [[ -z "$requirements" ]]; then
  output dbt-venv ""
  exit 0
fi
workspace="$(cd -- "${GITHUB_WORKSPACE:-.}" && pwd -P)"
[[ "$requirements" != /* && "/$requirements/" != */../* ]] ||
  die "dbt-requirements '$requirements' must be a path inside the repository, relative to its root"
path="$workspace/$requirements"
[[ -e "$path" ]] || die "dbt-requirements file '$requirements' does not exist: commit it (e.g. dbt-postgres==1.11.0 and dbt-loom==0.9.6, one per line) or clear the input"
[[ -f "$path" ]] || die "dbt-requirements '$requirements' is not a regular file"
dbt_key="meshkit-dbt-${platform}-$(sha256sum -- "$path" | cut -c1-16)"
dbt_venv="$tool_cache/meshkit-dbt/$dbt_key"
output dbt-requirements "$path"
output dbt-key "$dbt_key"
output dbt-venv "$dbt_venv"
output dbt-ready "$([[ -f "$dbt_venv/.meshkit-complete" ]] && echo true || echo false)"

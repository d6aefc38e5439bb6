#!/usr/bin/env bash
# Name the virtualenv after what decides its contents: OS, architecture, Python version and the
# lock file. The folder is then immutable, so concurrent jobs on one runner can share it, and
# its absolute path (baked into console-script shebangs) is the same when the cache restores it.
export MESHKIT_ACTION_NAME="meshkit setup"
# shellcheck source=../lib.sh
source "$GITHUB_ACTION_PATH/../lib.sh"

python="${MESHKIT_INPUT_PYTHON:-python3}"
command -v "$python" >/dev/null 2>&1 || die "python interpreter '$python' not found: install Python 3.10+ or set the python input"
command -v jq >/dev/null 2>&1 || die "jq is not installed: the meshkit actions read meshkit's JSON output with it"
version="$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
[[ "$version" =~ ^3\.(1[0-9]|[2-9][0-9])\. ]] || die "meshkit needs Python 3.10 or newer, '$python' is $version"

root="$(cd -- "$GITHUB_ACTION_PATH/../../.." && pwd -P)"
lock="$root/requirements.txt"
[[ -f "$lock" ]] || die "the lock file $lock is missing: use the action from a full meshkit checkout"
lock_hash="$(sha256sum -- "$lock" | cut -c1-16)"
key="meshkit-venv-${RUNNER_OS:-Linux}-${RUNNER_ARCH:-X64}-py${version}-${lock_hash}"
venv="${RUNNER_TOOL_CACHE:?RUNNER_TOOL_CACHE is not set: run inside GitHub Actions}/meshkit/$key"

ready=false
[[ -f "$venv/.meshkit-complete" ]] && ready=true
output root "$root"
output key "$key"
output venv "$venv"
output ready "$ready"

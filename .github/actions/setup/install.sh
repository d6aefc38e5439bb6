#!/usr/bin/env bash
# Build each virtualenv unless the tool cache or the Actions cache already has it, then put a
# `meshkit` launcher (and, with a dbt stack, its `dbt`) on PATH. meshkit itself runs from the
# action's own checkout (PYTHONPATH), so its cached virtualenv holds only the hash-locked
# third-party runtime, and the caller's dbt stack lives apart from it: neither can break the other.
#
# The virtualenvs are built by uv, itself installed only when a build is needed, by pip from the
# hash-locked wheel in requirements-uv.txt: a few seconds instead of pip's resolve-download-install.
export MESHKIT_ACTION_NAME="meshkit setup"
# shellcheck source=../lib.sh
source "$GITHUB_ACTION_PATH/../lib.sh"

venv="${MESHKIT_VENV:?}"
root="${MESHKIT_ROOT:?}"
python="${MESHKIT_INPUT_PYTHON:-python3}"
dbt_venv="${MESHKIT_DBT_VENV:-}"
dbt_requirements="${MESHKIT_DBT_REQUIREMENTS:-}"
bin_dir="${RUNNER_TEMP:?}/meshkit-bin"
tool_cache="${RUNNER_TOOL_CACHE:?}"
mkdir -p -- "$bin_dir"
interpreter="$("$python" -c 'import sys; print(sys.executable)')"
export UV_PYTHON_DOWNLOADS=never # the interpreter is given: never fetch another

# uv reads its own settings, not pip's: a runner that points pip at a private index points uv there too.
if [[ -n "${PIP_INDEX_URL:-}" && -z "${UV_DEFAULT_INDEX:-}${UV_INDEX_URL:-}" ]]; then export UV_DEFAULT_INDEX="$PIP_INDEX_URL"; fi
if [[ -n "${PIP_EXTRA_INDEX_URL:-}" && -z "${UV_INDEX:-}${UV_EXTRA_INDEX_URL:-}" ]]; then export UV_INDEX="$PIP_EXTRA_INDEX_URL"; fi
# The runner's certificate store (where a self-hosted runner's proxy CA lives), as pip's PIP_CERT if it names one.
export UV_NATIVE_TLS="${UV_NATIVE_TLS:-true}"
if [[ -n "${PIP_CERT:-}" && -z "${SSL_CERT_FILE:-}" ]]; then export SSL_CERT_FILE="$PIP_CERT"; fi

# first_error LOG: the installer's last error line and its cause, as one line for an annotation.
first_error() {
  local found
  found="$(grep -E '^(ERROR|error)[: ]|^[[:space:]]+cause: ' -- "$1" | tail -n 2 | sed -E 's/^[[:space:]]*(cause|error|ERROR):?[[:space:]]*//' | paste -sd ' ' -)"
  printf '%s' "${found:-the installer failed: see its log above}"
}

# ensure_uv: UV set to uv from requirements-uv.txt, installed once per runner into the tool cache by pip
# with --require-hashes (no venv needed: pip's --target; a venv's own pip where the runner's Python has none).
ensure_uv() {
  local lock="$root/requirements-uv.txt" dir log
  dir="$tool_cache/meshkit-uv/$(sha256sum -- "$lock" | cut -c1-16)"
  UV="$dir/bin/uv"
  [[ -x "$UV" && -f "$dir/.meshkit-complete" ]] && return 0
  mkdir -p -- "$(dirname -- "$dir")"
  exec 8>"$dir.lock"
  flock 8
  if [[ ! -f "$dir/.meshkit-complete" ]]; then
    rm -rf -- "$dir"
    log="$(mktemp)"
    local pip=("$interpreter" -m pip)
    if ! "$interpreter" -m pip --version >/dev/null 2>&1; then
      "$interpreter" -m venv -- "$dir.pip" >"$log" 2>&1 || die "uv did not install: '$python' has neither pip nor venv"
      pip=("$dir.pip/bin/python" -m pip)
    fi
    if ! "${pip[@]}" install --disable-pip-version-check --no-input --progress-bar off --require-hashes --no-deps \
      --only-binary :all: --target "$dir" -r "$lock" >"$log" 2>&1; then
      cat -- "$log"
      rm -rf -- "$dir" "$dir.pip"
      die "uv did not install from $lock: $(first_error "$log")"
    fi
    rm -rf -- "$dir.pip"
    touch -- "$dir/.meshkit-complete"
  fi
  flock -u 8
}

# build_venv TARGET WHAT UV-PIP-ARGS...: sets BUILT to "true" when it built, "false" when the folder
# was already complete, or returns 1 with uv's error in BUILD_ERROR. A lock per folder: two jobs on
# one self-hosted runner must not build the same venv at once. uv's output goes to a log, shown in
# full only when the install fails. Files are copied (not linked) from uv's cache and compiled to
# bytecode, so the folder stands alone in the Actions cache and imports as fast as pip's install.
build_venv() {
  local target="$1" what="$2" log
  shift 2
  mkdir -p -- "$(dirname -- "$target")"
  exec 9>"$target.lock"
  flock 9
  BUILT=false
  if [[ ! -f "$target/.meshkit-complete" ]]; then
    rm -rf -- "$target"
    ensure_uv
    log="$(mktemp)"
    echo "::group::meshkit setup: installing $what into $target"
    if ! { "$UV" venv --quiet --no-project --python "$interpreter" -- "$target" &&
      "$UV" pip install --python "$target/bin/python" --no-progress --link-mode copy --compile-bytecode "$@"; } >"$log" 2>&1; then
      cat -- "$log"
      echo "::endgroup::"
      rm -rf -- "$target"
      flock -u 9
      BUILD_ERROR="$(first_error "$log")"
      return 1
    fi
    tail -n 3 -- "$log"
    echo "::endgroup::"
    touch -- "$target/.meshkit-complete"
    BUILT=true
  fi
  flock -u 9
}

# dbt-core's version as its own Python sees it (`dbt --version` asks PyPI and takes seconds). For
# the runner's own dbt, its interpreter is read from the script's first lines: a shebang, or the
# `'''exec' "/path/python"` trampoline pip writes when the path is too long for a shebang.
dbt_core_version() {
  local interpreter="$1"
  [[ -n "$interpreter" ]] || return 0
  "$interpreter" -c 'from importlib.metadata import version; print(version("dbt-core"))' 2>/dev/null || true
}
script_interpreter() {
  head -n 3 -- "$1" | grep -o -m 1 -E '/[^" ]*python[0-9.]*' | head -n 1 || true
}

build_venv "$venv" "meshkit's hash-locked runtime" --require-hashes --no-deps -r "$root/requirements-meshkit.txt" ||
  die "meshkit's runtime did not install: $BUILD_ERROR"
built="$BUILT"
# shellcheck disable=SC2016 # ${PYTHONPATH...} and "$@" belong to the launcher, not to this script
printf '#!/usr/bin/env bash\nPYTHONPATH=%q${PYTHONPATH:+:$PYTHONPATH} exec %q -m meshkit "$@"\n' \
  "$root" "$venv/bin/python" >"$bin_dir/meshkit"
chmod +x -- "$bin_dir/meshkit"
meshkit_version="$("$bin_dir/meshkit" --version)" || die "meshkit in $venv does not run: delete the folder and rerun"
meshkit_version="${meshkit_version#meshkit }"

dbt_built=""
if [[ -n "$dbt_venv" ]]; then
  build_venv "$dbt_venv" "the dbt stack of $dbt_requirements" -r "$dbt_requirements" ||
    die_in_file "$dbt_requirements" "the dbt stack in this file did not install: $BUILD_ERROR"
  dbt_built="$BUILT"
  [[ -x "$dbt_venv/bin/dbt" ]] ||
    die_in_file "$dbt_requirements" "this file installs no dbt executable: name dbt-core's adapter (e.g. dbt-postgres==1.11.0)"
  ln -sfn -- "$dbt_venv/bin/dbt" "$bin_dir/dbt"
fi
printf '%s\n' "$bin_dir" >>"$GITHUB_PATH"

dbt="$(PATH="$bin_dir:$PATH" command -v dbt || true)"
dbt_version=""
if [[ -n "$dbt" ]]; then
  if [[ -n "$dbt_venv" ]]; then
    dbt_version="$(dbt_core_version "$dbt_venv/bin/python")"
    [[ -n "$dbt_version" ]] || die_in_file "$dbt_requirements" "this file installs no dbt-core: name dbt-core's adapter (e.g. dbt-postgres==1.11.0)"
  else
    dbt_version="$(dbt_core_version "$(script_interpreter "$dbt")")"
  fi
fi

output python "$venv/bin/python"
output built "$built"
output cache-hit "$([[ "$built" == true ]] && echo false || echo true)"
output meshkit-version "$meshkit_version"
output dbt-built "$dbt_built"
dbt_cache_hit=""
if [[ -n "$dbt_built" ]]; then dbt_cache_hit="$([[ "$dbt_built" == true ]] && echo false || echo true)"; fi
output dbt-cache-hit "$dbt_cache_hit"
output dbt-version "$dbt_version"
echo "meshkit $meshkit_version ready ($([[ "$built" == true ]] && echo "fresh install" || echo "cached")): $venv"
if [[ -n "$dbt_venv" ]]; then
  echo "dbt $dbt_version ready ($([[ "$dbt_built" == true ]] && echo "fresh install" || echo "cached")): $dbt_venv"
elif [[ -n "$dbt" ]]; then
  echo "dbt ${dbt_version:-(version unknown)}: the runner's own ($dbt)"
else
  echo "no dbt on PATH: only meshkit commands will run (set dbt-requirements to install a dbt stack)"
fi

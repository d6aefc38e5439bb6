#!/usr/bin/env bash
# Build the virtualenv unless the tool cache or the Actions cache already has it, then put a
# `meshkit` launcher and the virtualenv's `dbt` on PATH. meshkit itself runs from the action's
# own checkout (PYTHONPATH), so the cached virtualenv holds only the pinned third-party lock.
export MESHKIT_ACTION_NAME="meshkit setup"
# shellcheck source=../lib.sh
source "$GITHUB_ACTION_PATH/../lib.sh"

venv="${MESHKIT_VENV:?}"
root="${MESHKIT_ROOT:?}"
python="${MESHKIT_INPUT_PYTHON:-python3}"
mkdir -p -- "$(dirname -- "$venv")"

built=false
# A lock per folder: two jobs on one self-hosted runner must not build the same venv at once.
exec 9>"$venv.lock"
flock 9
if [[ ! -f "$venv/.meshkit-complete" ]]; then
  rm -rf -- "$venv"
  echo "::group::meshkit setup: installing the pinned lock into $venv"
  "$python" -m venv -- "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$root/requirements.txt"
  echo "::endgroup::"
  touch -- "$venv/.meshkit-complete"
  built=true
fi
flock -u 9

launcher_dir="${RUNNER_TEMP:?}/meshkit-bin"
mkdir -p -- "$launcher_dir"
# shellcheck disable=SC2016 # ${PYTHONPATH...} and "$@" belong to the launcher, not to this script
printf '#!/usr/bin/env bash\nPYTHONPATH=%q${PYTHONPATH:+:$PYTHONPATH} exec %q -m meshkit "$@"\n' \
  "$root" "$venv/bin/python" >"$launcher_dir/meshkit"
chmod +x -- "$launcher_dir/meshkit"
printf '%s\n' "$launcher_dir" "$venv/bin" >>"$GITHUB_PATH"

meshkit_version="$("$launcher_dir/meshkit" --version)"
meshkit_version="${meshkit_version#meshkit }"
"$venv/bin/dbt" --version >/dev/null || die "dbt in $venv does not run: delete the folder and rerun"

cache_hit=true
[[ "$built" == true ]] && cache_hit=false
output python "$venv/bin/python"
output built "$built"
output cache-hit "$cache_hit"
output meshkit-version "$meshkit_version"
echo "meshkit $meshkit_version ready ($([[ "$built" == true ]] && echo "fresh install" || echo "cached")): $venv"

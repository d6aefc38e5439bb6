#!/usr/bin/env bash
# The last step of a job that reports before it fails (meshkit's reusable workflows): sets the
# step's ok output, and fails the job unless the build (MESHKIT_BUILT) and the validation
# (MESHKIT_VALID) both succeeded. A workflow step, not an action: it only reads its env.
set -euo pipefail
if [[ "${MESHKIT_BUILT:-}" == true && "${MESHKIT_VALID:-}" == true ]]; then
  echo "ok=true" >>"$GITHUB_OUTPUT"
else
  echo "ok=false" >>"$GITHUB_OUTPUT"
  echo "::error title=meshkit::the project does not build or its cross-project lineage is broken: see the job summary"
  exit 1
fi

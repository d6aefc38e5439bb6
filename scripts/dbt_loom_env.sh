#!/usr/bin/env bash
# Point dbt-loom (dbt_down_loom) at the registry in MESHKIT_REGISTRY and the env in MESHKIT_ENV,
# for the later steps of a GitHub Actions job (through GITHUB_ENV). dbt-loom reads its config
# with $VAR substitution and no defaults, so every variable its config names is set here.
set -euo pipefail

fail() { printf '::error title=dbt-loom config::%s\n' "$*"; exit 2; }

registry="${MESHKIT_REGISTRY:-}"
env="${MESHKIT_ENV:-prod}"
[[ -n "$registry" ]] || fail "MESHKIT_REGISTRY is not set: set vars.MESHKIT_REGISTRY to s3://BUCKET/PREFIX or a folder"
[[ "$env" =~ ^[A-Za-z0-9][A-Za-z0-9_-]*$ ]] || fail "MESHKIT_ENV '$env' is not a registry env name"
: "${GITHUB_ENV:?GITHUB_ENV is not set: run inside GitHub Actions}"

if [[ "$registry" == s3://* ]]; then
  location="${registry#s3://}"
  bucket="${location%%/*}"
  prefix="${location#"$bucket"}"
  prefix="${prefix#/}"
  prefix="${prefix%/}"
  [[ "$bucket" =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] || fail "'$bucket' is not an S3 bucket name"
  [[ "$prefix" =~ ^[A-Za-z0-9._/-]+$ ]] || fail "dbt-loom needs a key prefix in MESHKIT_REGISTRY (s3://$bucket/PREFIX)"
  printf '%s\n' "DBT_LOOM_CONFIG=dbt_loom.s3.config.yml" "MESHKIT_S3_BUCKET=$bucket" \
    "MESHKIT_S3_PREFIX=$prefix" "MESHKIT_ENV=$env" >>"$GITHUB_ENV"
  echo "dbt-loom reads s3://$bucket/$prefix/dbt_up/$env/latest/manifest.json"
else
  path="$(realpath -m -- "$registry")"
  [[ "$path" =~ ^[A-Za-z0-9._/-]+$ ]] || fail "registry folder '$path' has characters dbt-loom's config cannot carry"
  printf '%s\n' "DBT_LOOM_CONFIG=dbt_loom.local.config.yml" "MESHKIT_REGISTRY_PATH=$path" \
    "MESHKIT_ENV=$env" >>"$GITHUB_ENV"
  echo "dbt-loom reads $path/dbt_up/$env/latest/manifest.json"
fi

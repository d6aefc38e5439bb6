#!/usr/bin/env bash
export MESHKIT_ACTION_NAME="meshkit loom"
# shellcheck source=../lib.sh
source "$GITHUB_ACTION_PATH/../lib.sh"

registry="${MESHKIT_INPUT_REGISTRY:-${MESHKIT_REGISTRY:-}}"
env="${MESHKIT_INPUT_ENV:-prod}"
config="${MESHKIT_INPUT_CONFIG:-}"
[[ -n "$registry" ]] || die "no registry: set the registry input or MESHKIT_REGISTRY to s3://BUCKET/PREFIX or a folder"
[[ "$env" =~ ^[A-Za-z0-9][A-Za-z0-9_-]*$ ]] || die "env '$env' is not a registry env name"
[[ -z "$config" || "$config" =~ ^[A-Za-z0-9._/-]+$ ]] || die "config '$config' has characters dbt-loom's path cannot carry"
: "${GITHUB_ENV:?GITHUB_ENV is not set: run inside GitHub Actions}"

lines=("MESHKIT_ENV=$env")
if [[ "$registry" == s3://* ]]; then
  location="${registry#s3://}"
  bucket="${location%%/*}"
  prefix="${location#"$bucket"}"
  prefix="${prefix#/}"
  prefix="${prefix%/}"
  [[ "$bucket" =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] || die "'$bucket' is not an S3 bucket name"
  [[ "$prefix" =~ ^[A-Za-z0-9._/-]+$ ]] || die "dbt-loom needs a key prefix in the registry URL (s3://$bucket/PREFIX)"
  lines+=("MESHKIT_S3_BUCKET=$bucket" "MESHKIT_S3_PREFIX=$prefix")
  where="s3://$bucket/$prefix"
else
  path="$(realpath -m -- "$registry")"
  [[ "$path" =~ ^[A-Za-z0-9._/-]+$ ]] || die "registry folder '$path' has characters dbt-loom's config cannot carry"
  lines+=("MESHKIT_REGISTRY_PATH=$path")
  where="$path"
fi
if [[ -n "$config" ]]; then lines+=("DBT_LOOM_CONFIG=$config"); fi
endpoint="${MESHKIT_INPUT_ENDPOINT_URL:-}"
if [[ -n "$endpoint" ]]; then
  [[ "$endpoint" =~ ^https?://[A-Za-z0-9.:-]+(/[A-Za-z0-9._~/-]*)?$ ]] || die "endpoint-url '$endpoint' is not an http(s) URL"
  lines+=("AWS_ENDPOINT_URL_S3=$endpoint")
fi
printf '%s\n' "${lines[@]}" >>"$GITHUB_ENV"
echo "dbt-loom reads the registry at $where, env $env${config:+, config $config}"

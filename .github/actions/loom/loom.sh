#!/usr/bin/env bash
export MESHKIT_ACTION_NAME="meshkit loom"
# shellcheck source=../lib.sh
source "$GITHUB_ACTION_PATH/../lib.sh"

registry="${MESHKIT_INPUT_REGISTRY:-${MESHKIT_REGISTRY:-}}"
env="${MESHKIT_INPUT_ENV:-prod}"
config="${MESHKIT_INPUT_CONFIG:-}"
[[ -n "$registry" ]] || die "no registry: set the registry input or MESHKIT_REGISTRY to s3://, gs://, az:// BUCKET/PREFIX or a folder"
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
elif [[ "$registry" == gs://* ]]; then
  location="${registry#gs://}"
  bucket="${location%%/*}"
  prefix="${location#"$bucket"}"
  prefix="${prefix#/}"
  prefix="${prefix%/}"
  project="${MESHKIT_INPUT_GCP_PROJECT:-${GOOGLE_CLOUD_PROJECT:-}}"
  [[ "$bucket" =~ ^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$ ]] || die "'$bucket' is not a GCS bucket name"
  [[ "$prefix" =~ ^[A-Za-z0-9._/-]+$ ]] || die "dbt-loom needs an object prefix in the registry URL (gs://$bucket/PREFIX)"
  [[ "$project" =~ ^[a-z][a-z0-9-]{4,28}[a-z0-9]$ ]] ||
    die "dbt-loom's GCS client needs a Google Cloud project: set the gcp-project input (or GOOGLE_CLOUD_PROJECT)"
  lines+=("MESHKIT_GCS_BUCKET=$bucket" "MESHKIT_GCS_PREFIX=$prefix" "MESHKIT_GCP_PROJECT=$project")
  where="gs://$bucket/$prefix"
elif [[ "$registry" =~ ^(az://([a-z0-9-]{3,63})|abfss?://([a-z0-9-]{3,63})@([a-z0-9]{3,24})\.dfs\.core\.windows\.net)/(.+)$ ]]; then
  container="${BASH_REMATCH[2]:-${BASH_REMATCH[3]}}"
  account="${BASH_REMATCH[4]:-${AZURE_STORAGE_ACCOUNT_NAME:-}}"
  prefix="${BASH_REMATCH[5]%/}"
  [[ "$prefix" =~ ^[A-Za-z0-9._/-]+$ ]] || die "dbt-loom needs a blob prefix in the registry URL (az://$container/PREFIX)"
  [[ "$account" =~ ^[a-z0-9]{3,24}$ ]] ||
    die "dbt-loom's Azure client needs the storage account: set the azure-storage-account input (AZURE_STORAGE_ACCOUNT_NAME)"
  lines+=("MESHKIT_AZURE_ACCOUNT=$account" "MESHKIT_AZURE_CONTAINER=$container" "MESHKIT_AZURE_PREFIX=$prefix")
  where="az://$container/$prefix"
elif [[ "$registry" == *://* ]]; then
  die "registry '$registry' is not s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, az://CONTAINER/PREFIX or a folder"
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

"""The proof of concept's script flags, translated to meshkit CLI arguments.

The seed scripts (publish_manifest.py, sync_mesh.py, validate_lineage.py) must keep
working verbatim, so they parse the old flags here and hand over to `meshkit`.
`--local` means the folder registry at --registry-path (relative to the project
folder); otherwise `--bucket` or $DBT_MESH_BUCKET names an S3 registry under `registry/`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

BUCKET_ENV = "DBT_MESH_BUCKET"
S3_PREFIX = "registry"


def add_registry_flags(parser: argparse.ArgumentParser, *, default_registry_path: str) -> None:
    parser.add_argument("--local", action="store_true", help="use the local folder registry")
    parser.add_argument("--bucket", help=f"S3 bucket (default: ${BUCKET_ENV}); keys go under {S3_PREFIX}/")
    parser.add_argument("--env", default="prod", help="registry environment (default: prod)")
    parser.add_argument(
        "--registry-path",
        default=default_registry_path,
        help=f"local registry folder, relative to the project folder (default: {default_registry_path})",
    )
    parser.add_argument("--endpoint-url", help="S3-compatible endpoint (default: AWS_ENDPOINT_URL_S3)")


def registry_args(args: argparse.Namespace, project_folder: Path, *, local_by_default: bool) -> list[str]:
    bucket = args.bucket or (None if args.local else os.environ.get(BUCKET_ENV))
    if args.local or (local_by_default and not args.bucket):
        registry = str((project_folder / args.registry_path).resolve())
    elif bucket:
        registry = f"s3://{bucket}/{S3_PREFIX}"
    else:
        raise SystemExit(f"error: pass --local, or --bucket BUCKET (or set {BUCKET_ENV}) for the S3 registry")
    extra = ["--endpoint-url", args.endpoint_url] if args.endpoint_url else []
    return ["--registry", registry, "--env", args.env, *extra]

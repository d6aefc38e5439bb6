"""Unit tests for meshkit.mesh.seed_compat: the proof of concept's flags as meshkit arguments."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from meshkit.mesh.seed_compat import add_registry_flags, registry_args


def _args(**overrides) -> argparse.Namespace:
    values = {"local": False, "bucket": None, "env": "prod", "registry_path": "../registry", "endpoint_url": None}
    values.update(overrides)
    return argparse.Namespace(**values)


def test_local_resolves_relative_to_the_project_folder(tmp_path):
    project = tmp_path / "repo" / "dbt_up"
    assert registry_args(_args(local=True), project, local_by_default=False) == [
        "--registry",
        str((tmp_path / "repo" / "registry").resolve()),
        "--env",
        "prod",
    ]


def test_local_with_absolute_registry_path(tmp_path):
    args = _args(local=True, registry_path=str(tmp_path / "elsewhere"), env="dev")
    assert registry_args(args, tmp_path / "p", local_by_default=False) == [
        "--registry",
        str(tmp_path / "elsewhere"),
        "--env",
        "dev",
    ]


def test_bucket_gives_s3_registry(tmp_path):
    assert registry_args(_args(bucket="B"), tmp_path, local_by_default=False) == [
        "--registry",
        "s3://B/registry",
        "--env",
        "prod",
    ]


def test_bucket_with_endpoint_and_env(tmp_path):
    args = _args(bucket="mesh", endpoint_url="http://127.0.0.1:9000", env="staging")
    assert registry_args(args, tmp_path, local_by_default=True) == [
        "--registry",
        "s3://mesh/registry",
        "--env",
        "staging",
        "--endpoint-url",
        "http://127.0.0.1:9000",
    ]


def test_local_by_default_without_bucket(tmp_path):
    args = _args(registry_path="registry")
    assert registry_args(args, tmp_path, local_by_default=True) == [
        "--registry",
        str((tmp_path / "registry").resolve()),
        "--env",
        "prod",
    ]


def test_flags_parse_like_the_seed_scripts(tmp_path):
    parser = argparse.ArgumentParser()
    add_registry_flags(parser, default_registry_path="../registry")
    args = parser.parse_args(["--local", "--env", "dev"])
    assert registry_args(args, tmp_path / "dbt_up", local_by_default=False) == [
        "--registry",
        str((tmp_path / "registry").resolve()),
        "--env",
        "dev",
    ]


_PROBE = """
import argparse, json, sys
from pathlib import Path
from meshkit.mesh.seed_compat import registry_args
out = {}
for name, local, bucket, by_default in [
    ("none", False, None, False),
    ("none_local_default", False, None, True),
    ("local", True, None, False),
    ("bucket_flag", False, "FLAG", False),
]:
    args = argparse.Namespace(local=local, bucket=bucket, env="prod", registry_path="reg", endpoint_url=None)
    try:
        out[name] = registry_args(args, Path(sys.argv[1]), local_by_default=by_default)
    except SystemExit as exc:
        out[name] = {"SystemExit": exc.code}
print(json.dumps(out))
"""


def _probe(tmp_path: Path, **env_extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DBT_MESH_BUCKET"}
    env.update(env_extra)
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(tmp_path)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_no_flags_and_no_bucket_variable_exits_with_a_message(tmp_path):
    out = _probe(tmp_path)
    local = str((tmp_path / "reg").resolve())
    assert out == {
        "none": {"SystemExit": "error: pass --local, or --bucket BUCKET (or set DBT_MESH_BUCKET) for the S3 registry"},
        "none_local_default": ["--registry", local, "--env", "prod"],
        "local": ["--registry", local, "--env", "prod"],
        "bucket_flag": ["--registry", "s3://FLAG/registry", "--env", "prod"],
    }


def test_bucket_from_environment(tmp_path):
    bucket = "envbucket"
    out = _probe(tmp_path, DBT_MESH_BUCKET=bucket)
    local = str((tmp_path / "reg").resolve())
    assert out == {
        "none": ["--registry", f"s3://{bucket}/registry", "--env", "prod"],
        "none_local_default": ["--registry", local, "--env", "prod"],  # validate_lineage.py stays local
        "local": ["--registry", local, "--env", "prod"],  # --local beats the variable
        "bucket_flag": ["--registry", "s3://FLAG/registry", "--env", "prod"],  # --bucket beats it too
    }

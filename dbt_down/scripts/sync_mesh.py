#!/usr/bin/env python3
"""Seed-compatible wrapper: `python3 scripts/sync_mesh.py --local` == `meshkit sync`."""

import argparse
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
try:
    import meshkit  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(PROJECT.parent))

from meshkit.cli import main  # noqa: E402
from meshkit.mesh.seed_compat import add_registry_flags, registry_args  # noqa: E402

parser = argparse.ArgumentParser(description="Generate models/_mesh_<upstream>.yml (wraps `meshkit sync`).")
add_registry_flags(parser, default_registry_path="../registry")
parser.add_argument("--upstream", action="append", help="upstream project (default: dbt_up); repeatable")
parser.add_argument("--check", action="store_true", help="exit 1 if the generated file is stale; write nothing")
args = parser.parse_args()
upstreams = [arg for name in (args.upstream or ["dbt_up"]) for arg in ("--upstream", name)]
sys.exit(
    main(
        [
            "sync",
            "--project-dir",
            str(PROJECT),
            *upstreams,
            *registry_args(args, PROJECT, local_by_default=False),
            *(["--check"] if args.check else []),
        ]
    )
)

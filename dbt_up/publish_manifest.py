#!/usr/bin/env python3
"""Seed-compatible wrapper: `python3 publish_manifest.py --local` == `meshkit publish`."""

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
try:
    import meshkit  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(HERE.parent))

from meshkit.cli import main  # noqa: E402
from meshkit.mesh.seed_compat import add_registry_flags, registry_args  # noqa: E402

parser = argparse.ArgumentParser(description="Publish this project's public contract (wraps `meshkit publish`).")
add_registry_flags(parser, default_registry_path="../registry")
parser.add_argument("--project", default="dbt_up", help="project name (default: dbt_up)")
parser.add_argument("--force", action="store_true", help="republish even if the contract is unchanged")
parser.add_argument("--full", action="store_true", help="publish the unstripped manifest")
args = parser.parse_args()
sys.exit(
    main(
        [
            "publish",
            "--project-dir",
            str(HERE),
            "--project",
            args.project,
            *registry_args(args, HERE, local_by_default=False),
            *(["--force"] if args.force else []),
            *(["--full"] if args.full else []),
        ]
    )
)

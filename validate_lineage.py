#!/usr/bin/env python3
"""Seed-compatible wrapper: `python3 validate_lineage.py --all` == `meshkit validate --all`."""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
try:
    import meshkit  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

from meshkit.cli import main  # noqa: E402
from meshkit.mesh.seed_compat import add_registry_flags, registry_args  # noqa: E402

parser = argparse.ArgumentParser(description="Validate cross-project lineage (wraps `meshkit validate`).")
which = parser.add_mutually_exclusive_group(required=True)
which.add_argument("--all", action="store_true", help="every built dbt project in this repository")
which.add_argument("--project", help="one project folder in this repository")
which.add_argument("--manifest", help="a manifest.json path")
add_registry_flags(parser, default_registry_path="registry")
parser.add_argument("--format", choices=("text", "json", "markdown"), default="text")
args = parser.parse_args()
target = ["--all"] if args.all else ["--project", args.project] if args.project else ["--manifest", args.manifest]
sys.exit(
    main(
        [
            "validate",
            "--root",
            str(ROOT),
            *target,
            "--format",
            args.format,
            *registry_args(args, ROOT, local_by_default=True),
        ]
    )
)

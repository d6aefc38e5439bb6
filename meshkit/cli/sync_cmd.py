"""meshkit sync."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from meshkit.cli.common import add_format_option, add_registry_options, registry_from
from meshkit.errors import EXIT_FINDINGS, EXIT_OK
from meshkit.report import FORMATS_BASIC, render_sync
from meshkit.sync import UpstreamRef, sync


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "sync",
        help="generate dbt sources for upstream public models",
        description=(
            "Fetch the latest contract of each upstream and write models/_mesh_<upstream>.yml: "
            "one dbt source per upstream, one table per public model version (`m_v1`, `m_v2`, "
            "and `m` for the latest version). Output is deterministic."
        ),
    )
    parser.add_argument("--project-dir", type=Path, default=Path("."), help="downstream dbt project folder (default: .)")
    parser.add_argument(
        "--upstream", action="append", required=True, metavar="NAME[@ENV]",
        help="upstream project to sync; repeatable; @ENV overrides --env for that upstream",
    )
    add_registry_options(parser)
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a generated file is missing or stale (the CI guard)")
    parser.add_argument("--models-dir", default="models", help="folder inside the project for the files (default: models)")
    add_format_option(parser, FORMATS_BASIC)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    upstreams = [UpstreamRef.parse(text, args.env) for text in args.upstream]
    outcomes = sync(args.project_dir, upstreams, registry_from(args), check=args.check, models_dir=args.models_dir)
    sys.stdout.write(render_sync(outcomes, args.format))
    return EXIT_FINDINGS if any(o.is_finding for o in outcomes) else EXIT_OK
